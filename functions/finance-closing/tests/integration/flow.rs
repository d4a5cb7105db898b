//! The closing's branches as unit tests: the workflow over the in-memory ERP and store and the
//! in-memory journal, on a virtual clock, so an eight-hour job, a cancel, a job that outruns
//! `MAX_DURATION` and a crash at every journal entry each take microseconds and need neither
//! restate-server nor PostgreSQL (those are `workflow.rs`, `crash.rs` and `postgres.rs`).
//!
//! The journal replays as Restate does after a crash: completed steps return their journaled
//! result without running, the interrupted one runs again ("Durable Execution",
//! https://docs.restate.dev/concepts/durable_execution), so its side effect may happen twice.

use std::time::Duration;

use chrono::DateTime;
use finance_closing::closing::{ClosingDate, ClosingReport, Phase};
use finance_closing::durable::{MemoryJournal, StepFailed, StopPoint};
use finance_closing::erp::MemoryErp;
use finance_closing::erp::memory::Operation;
use finance_closing::flow::{FinanceClosing, JOB, PHASE, RetryPolicy, RunRequest, Timing};
use finance_closing::store::{ClosingStore, MemoryClosingStore};
use orabridge_shared::clock::ManualClock;

const TABLES: [&str; 2] = ["gl_balances", "claims_reserves"];
const KEY: &str = "2026-11-20";
const POLL: Duration = Duration::from_secs(60);

struct Closing {
    clock: ManualClock,
    erp: MemoryErp,
    store: MemoryClosingStore,
    workflow: FinanceClosing<MemoryErp, MemoryClosingStore>,
    journal: MemoryJournal,
}

impl Closing {
    /// A closing whose job takes `job` of virtual time, stopped after `max_duration`.
    fn new(job: Duration, max_duration: Duration) -> Closing {
        let clock = ManualClock::at(
            DateTime::parse_from_rfc3339("2026-11-21T02:00:00Z")
                .expect("start")
                .to_utc(),
        );
        let erp = MemoryErp::new(clock.clone(), job);
        let store = MemoryClosingStore::new();
        let workflow = FinanceClosing::new(
            erp.clone(),
            store.clone(),
            TABLES.map(str::to_owned).to_vec(),
            Timing {
                poll_interval: POLL,
                max_duration,
                retry: RetryPolicy::default(),
            },
        )
        .with_clock(clock.clone());
        Closing {
            journal: MemoryJournal::new(clock.clone(), 3),
            clock,
            erp,
            store,
            workflow,
        }
    }

    fn six_hours() -> Closing {
        Closing::new(Duration::from_secs(6 * 3600), Duration::from_secs(8 * 3600))
    }

    /// One invocation with a fresh journal position; `None` when the journal stopped it.
    async fn invoke(&self, request: RunRequest) -> Option<Result<ClosingReport, StepFailed>> {
        self.journal
            .invoke(self.workflow.close_date(&self.journal, KEY, request))
            .await
    }

    async fn run(&self) -> Result<ClosingReport, StepFailed> {
        self.invoke(RunRequest::default())
            .await
            .expect("not interrupted")
    }

    async fn recorded(&self) -> ClosingReport {
        self.store
            .run_of(date())
            .await
            .expect("memory store")
            .expect("a recorded run")
            .report
    }
}

fn date() -> ClosingDate {
    ClosingDate::parse(KEY).expect("date")
}

#[tokio::test]
async fn a_six_hour_closing_polls_until_done_copies_every_table_and_records_once() {
    let closing = Closing::six_hours();
    let report = closing.run().await.expect("succeeded");
    assert_eq!(report.phase, Phase::Succeeded);
    assert_eq!(report.job, "FC_20261120_A1");
    let rows = closing.erp.rows_per_table();
    assert_eq!(
        report.tables.iter().map(|t| t.rows).collect::<Vec<_>>(),
        [rows, rows]
    );
    for table in TABLES {
        assert_eq!(closing.store.rows(table, date()) as u64, rows, "{table}");
    }
    // Six hours of one-minute sleeps: the job is done at the 360th poll.
    assert_eq!(closing.erp.calls(Operation::Poll), 360);
    assert_eq!(report.duration_seconds, 6 * 3600);
    assert_eq!(closing.store.records(), 1);
    assert_eq!(closing.recorded().await, report);
    assert_eq!(
        closing.journal.state::<Phase>(PHASE),
        Some(Phase::Succeeded)
    );
    assert_eq!(
        closing.journal.state::<String>(JOB).as_deref(),
        Some("FC_20261120_A1")
    );
}

#[tokio::test]
async fn a_date_that_succeeded_is_not_closed_again_unless_forced() {
    let closing = Closing::new(Duration::from_secs(120), Duration::from_secs(3600));
    let first = closing.run().await.expect("first");
    let again = Closing {
        journal: MemoryJournal::new(closing.clock.clone(), 3),
        ..closing
    };
    assert_eq!(again.run().await.expect("earlier report"), first);
    assert_eq!(again.erp.calls(Operation::Submit), 1, "not submitted again");

    let forced = Closing {
        journal: MemoryJournal::new(again.clock.clone(), 3),
        ..again
    };
    let rerun = forced
        .invoke(RunRequest {
            date: None,
            force: true,
        })
        .await
        .expect("not interrupted")
        .expect("forced re-run");
    assert_eq!(
        rerun.job, "FC_20261120_A2",
        "a forced re-run takes a new job"
    );
    assert_eq!(forced.erp.jobs(), 2);
    assert_eq!(forced.recorded().await, rerun);
}

#[tokio::test]
async fn a_cancel_before_the_submit_submits_nothing() {
    let closing = Closing::six_hours();
    closing.journal.cancel();
    let report = closing.run().await.expect("cancelled is not an error");
    assert_eq!((report.phase, report.job.as_str()), (Phase::Cancelled, ""));
    assert_eq!(report.erp_status, "NOT SUBMITTED");
    assert_eq!(closing.erp.calls(Operation::Submit), 0);
    assert_eq!(closing.erp.jobs(), 0);
    assert_eq!(closing.recorded().await.phase, Phase::Cancelled);
}

#[tokio::test]
async fn a_cancel_stops_the_job_and_records_the_closing_as_cancelled() {
    let closing = Closing::six_hours();
    closing.journal.cancel_at_sleep(1);
    let report = closing.run().await.expect("cancelled is not an error");
    assert_eq!(report.phase, Phase::Cancelled);
    assert_eq!(report.erp_status, "STOPPED");
    assert_eq!(closing.erp.calls(Operation::Stop), 1);
    assert_eq!(
        closing.erp.calls(Operation::Poll),
        1,
        "cancelled in the first sleep, then one poll to learn how the job ended"
    );
    assert!(report.tables.is_empty());
    assert_eq!(closing.recorded().await.phase, Phase::Cancelled);
}

#[tokio::test]
async fn a_job_running_past_max_duration_is_stopped_and_the_closing_fails() {
    let closing = Closing::new(
        Duration::from_secs(10 * 3600),
        Duration::from_secs(8 * 3600),
    );
    let err = closing.run().await.expect_err("ran too long");
    assert_eq!(
        err.0,
        "the closing job ran longer than MAX_DURATION (28800 s) and was stopped"
    );
    assert_eq!(closing.erp.calls(Operation::Stop), 1);
    let recorded = closing.recorded().await;
    assert_eq!(recorded.phase, Phase::Failed);
    assert_eq!(recorded.error.as_deref(), Some(err.0.as_str()));
    // The first poll past eight hours stops it (8 h of one-minute polls, plus one); one more
    // poll reads how the stop ended it.
    assert_eq!(closing.erp.calls(Operation::Poll), 8 * 60 + 2);
    assert_eq!(closing.store.rows(TABLES[0], date()), 0, "nothing copied");
}

#[tokio::test]
async fn a_failed_job_fails_the_closing_with_the_erps_text_and_copies_nothing() {
    let closing = Closing::six_hours();
    closing
        .erp
        .fail_date(date(), "ORA-20001: GL period 2026-11 is closed");
    let err = closing.run().await.expect_err("job failed");
    assert_eq!(
        err.0,
        "the closing of 2026-11-20 failed: ORA-20001: GL period 2026-11 is closed"
    );
    let recorded = closing.recorded().await;
    assert_eq!(recorded.phase, Phase::Failed);
    assert_eq!(recorded.erp_status, "FAILED");
    assert_eq!(closing.erp.calls(Operation::FetchResults), 0);
}

#[tokio::test]
async fn transient_erp_errors_are_retried_and_a_refusal_fails_the_attempt_on_record() {
    let closing = Closing::new(Duration::from_secs(120), Duration::from_secs(3600));
    closing.erp.fail_next(
        Operation::Poll,
        2,
        false,
        "ORA-03113: end-of-file on channel",
    );
    closing.erp.fail_next(
        Operation::FetchResults,
        1,
        false,
        "ORA-03135: connection lost",
    );
    let report = closing.run().await.expect("retried through");
    assert_eq!(report.phase, Phase::Succeeded);

    let refused = Closing::six_hours();
    refused.erp.fail_next(
        Operation::Submit,
        1,
        true,
        "ORA-06550: PKG_CLOSING.RUN_DAILY must be declared",
    );
    let err = refused.run().await.expect_err("refused");
    assert!(
        err.0
            .ends_with("ORA-06550: PKG_CLOSING.RUN_DAILY must be declared"),
        "{err}"
    );
    assert_eq!(
        refused.erp.calls(Operation::Submit),
        1,
        "a refusal is not retried"
    );
    let recorded = refused.recorded().await;
    assert_eq!(recorded.phase, Phase::Failed);
    assert_eq!(recorded.job, "FC_20261120_A1", "the next attempt takes A2");

    let exhausted = Closing::six_hours();
    exhausted.erp.fail_next(
        Operation::Submit,
        10,
        false,
        "ORA-12170: TNS:Connect timeout",
    );
    let err = exhausted.run().await.expect_err("retries exhausted");
    assert!(err.0.contains("ORA-12170"), "{err}");
    assert_eq!(
        exhausted.erp.calls(Operation::Submit),
        3,
        "the journal's three attempts"
    );
}

#[tokio::test]
async fn a_request_for_another_date_than_the_key_is_refused_before_any_step() {
    let closing = Closing::six_hours();
    let err = closing
        .invoke(RunRequest {
            date: Some("2026-11-19".into()),
            force: false,
        })
        .await
        .expect("not interrupted")
        .expect_err("mismatch");
    assert!(err.0.contains("differs from the workflow key"), "{err}");
    assert!(closing.journal.is_empty());
}

/// A closing interrupted at `entry` (at `point`) and invoked again ends exactly as one that
/// never was: same report, one job, every row copied once, the outcome recorded.
async fn interrupted_at(entry: usize, point: StopPoint, expected: &ClosingReport) {
    let closing = Closing::new(Duration::from_secs(180), Duration::from_secs(3600));
    closing.journal.stop_at(entry, point);
    assert!(
        closing.invoke(RunRequest::default()).await.is_none(),
        "stopped at entry {entry} ({point:?})"
    );
    let report = closing.run().await.expect("the replay completes");
    assert_eq!(&report, expected, "entry {entry} ({point:?})");
    assert_eq!(
        closing.erp.jobs(),
        1,
        "entry {entry}: one job, whatever the crash"
    );
    for table in TABLES {
        assert_eq!(
            closing.store.rows(table, date()) as u64,
            closing.erp.rows_per_table()
        );
    }
    assert_eq!(&closing.recorded().await, expected);
    // Only the `record` step, replayed after its effect, records a second time.
    let records = closing.store.records();
    assert!(records == 1 || (records == 2 && point == StopPoint::AfterEffect));
}

#[tokio::test]
async fn a_crash_at_any_journal_entry_resumes_to_the_same_outcome() {
    let reference = Closing::new(Duration::from_secs(180), Duration::from_secs(3600));
    let expected = reference.run().await.expect("uninterrupted");
    let entries = reference.journal.len();
    // check, started, jobs, the cancel peek, submit, 3 × (sleep, poll), 2 copies, finished,
    // record.
    assert_eq!(entries, 15, "{:?}", reference.journal.actions_run());
    for entry in 0..entries {
        for point in [StopPoint::Before, StopPoint::AfterEffect] {
            interrupted_at(entry, point, &expected).await;
        }
    }
}
