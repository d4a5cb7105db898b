//! Exactly one closing job per date, whatever fails, on the in-memory tier: every state the
//! date's job can be in (waiting for a job slave, running, succeeded, failed, slow to stop)
//! × every way an attempt can end early (a permanent poll, copy or record failure followed by a
//! re-run, a cancel, `MAX_DURATION`) × a crash at every journal entry, before and after its
//! side effect, then a replay. The ERP is Oracle's scheduler as modelled in `erp::scheduler`
//! (its rules cited there), and it watches every moment: at most one job of the date is ever
//! enabled or running, at most one closing job ever succeeds, and none is left able to run.
//! A last re-run without faults then settles the date: a job that succeeded has its rows
//! copied and the date recorded as succeeded with that job (rows copied once: the copy
//! replaces the date's rows); otherwise nothing is copied and the date is recorded as failed or
//! cancelled.

use std::time::Duration;

use chrono::DateTime;
use finance_closing::closing::{ClosingDate, ClosingReport, Phase};
use finance_closing::durable::{MemoryJournal, StepFailed, StopPoint};
use finance_closing::erp::MemoryErp;
use finance_closing::erp::memory::Operation;
use finance_closing::erp::scheduler::{OracleState, Slaves};
use finance_closing::flow::{FinanceClosing, RetryPolicy, RunRequest, Timing};
use finance_closing::store::{ClosingStore, MemoryClosingStore};
use orabridge_shared::clock::ManualClock;

const TABLES: [&str; 2] = ["gl_balances", "claims_reserves"];
const KEY: &str = "2026-11-20";
const RE_RUN_KEY: &str = "2026-11-20+r2";
const LAST_RUN_KEY: &str = "2026-11-20+r3";
const POLL: Duration = Duration::from_secs(60);
const MAX_DURATION: Duration = Duration::from_secs(10 * 60);

/// Where the date's first job is when something happens to its attempt.
#[derive(Debug, Clone, Copy)]
enum JobBehaviour {
    /// Ends well after three minutes.
    Succeeds,
    /// Fails after three minutes with the procedure's error.
    Fails,
    /// Runs for two hours: past `MAX_DURATION`.
    RunsLong,
    /// Runs for two hours and takes five minutes to stop (ORA-27365 first).
    StopsSlowly,
    /// Waits for a job slave that never comes.
    NeverGetsASlave,
    /// Waits for a job slave that comes only before the re-run.
    GetsASlaveLate,
}

const BEHAVIOURS: [JobBehaviour; 6] = [
    JobBehaviour::Succeeds,
    JobBehaviour::Fails,
    JobBehaviour::RunsLong,
    JobBehaviour::StopsSlowly,
    JobBehaviour::NeverGetsASlave,
    JobBehaviour::GetsASlaveLate,
];

/// How the first attempt ends early, if it does.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// Nothing: the attempt runs to its end.
    Nothing,
    /// The poll of this number fails for good (ORA-00904, as on a database without the
    /// column), then the date is run again.
    PermanentPollError(usize),
    /// The copy fails for good, then the date is run again.
    PermanentCopyError,
    /// PostgreSQL refuses every record of the attempt, then the date is run again.
    RecordFails,
    /// A cancel arrives during this sleep (1-based); 0: before anything was submitted.
    Cancel(usize),
}

const EVENTS: [Event; 9] = [
    Event::Nothing,
    Event::PermanentPollError(1),
    Event::PermanentPollError(3),
    Event::PermanentCopyError,
    Event::RecordFails,
    Event::Cancel(0),
    Event::Cancel(1),
    Event::Cancel(4),
    Event::Cancel(8),
];

impl Event {
    fn re_runs(self) -> bool {
        matches!(
            self,
            Event::PermanentPollError(_) | Event::PermanentCopyError | Event::RecordFails
        )
    }
}

struct Scenario {
    behaviour: JobBehaviour,
    event: Event,
    clock: ManualClock,
    erp: MemoryErp,
    store: MemoryClosingStore,
    workflow: FinanceClosing<MemoryErp, MemoryClosingStore>,
}

impl Scenario {
    fn new(behaviour: JobBehaviour, event: Event) -> Scenario {
        let clock = ManualClock::at(
            DateTime::parse_from_rfc3339("2026-11-21T02:00:00Z")
                .expect("start")
                .to_utc(),
        );
        let run_time = match behaviour {
            JobBehaviour::RunsLong | JobBehaviour::StopsSlowly => Duration::from_secs(2 * 3600),
            _ => Duration::from_secs(3 * 60),
        };
        let erp = MemoryErp::new(clock.clone(), run_time);
        match behaviour {
            JobBehaviour::Fails => erp.fail_date(date(), "ORA-20001: GL period is closed"),
            JobBehaviour::StopsSlowly => erp.set_stop_time(Duration::from_secs(5 * 60)),
            JobBehaviour::NeverGetsASlave | JobBehaviour::GetsASlaveLate => {
                erp.set_slaves(Slaves::Held)
            }
            JobBehaviour::Succeeds | JobBehaviour::RunsLong => {}
        }
        let store = MemoryClosingStore::new();
        match event {
            Event::PermanentPollError(poll) => erp.fail_after(
                Operation::Poll,
                poll - 1,
                1,
                true,
                "ORA-00904: \"ERRORS\": invalid identifier",
            ),
            Event::PermanentCopyError => erp.fail_next(
                Operation::FetchResults,
                1,
                true,
                "ORA-00942: table or view does not exist",
            ),
            // The record step and the record of the failure, each tried three times.
            Event::RecordFails => store.fail_next_records(6),
            Event::Nothing | Event::Cancel(_) => {}
        }
        let workflow = FinanceClosing::new(
            erp.clone(),
            store.clone(),
            TABLES.map(str::to_owned).to_vec(),
            Timing {
                poll_interval: POLL,
                max_duration: MAX_DURATION,
                retry: RetryPolicy::default(),
            },
        )
        .with_clock(clock.clone());
        Scenario {
            behaviour,
            event,
            clock,
            erp,
            store,
            workflow,
        }
    }

    fn journal(&self) -> MemoryJournal {
        let journal = MemoryJournal::new(self.clock.clone(), 3);
        match self.event {
            Event::Cancel(0) => journal.cancel(),
            Event::Cancel(sleep) => journal.cancel_at_sleep(sleep),
            _ => {}
        }
        journal
    }

    /// Runs workflow `key` on `journal`, interrupted at `crash` and replayed if given.
    async fn run(
        &self,
        journal: &MemoryJournal,
        key: &str,
        crash: Option<(usize, StopPoint)>,
    ) -> Result<ClosingReport, StepFailed> {
        if let Some((entry, point)) = crash {
            journal.stop_at(entry, point);
            let first = journal
                .invoke(
                    self.workflow
                        .close_date(journal, key, RunRequest::default()),
                )
                .await;
            if let Some(outcome) = first {
                return outcome;
            }
        }
        journal
            .invoke(
                self.workflow
                    .close_date(journal, key, RunRequest::default()),
            )
            .await
            .expect("a replay is not interrupted")
    }

    /// The first attempt, crashed at `crash`; then, when the event calls for it, a re-run of
    /// the date (crashed at `re_run_crash`).
    async fn play(
        &self,
        crash: Option<(usize, StopPoint)>,
        re_run_crash: Option<(usize, StopPoint)>,
    ) -> usize {
        let journal = self.journal();
        let _ = self.run(&journal, KEY, crash).await;
        let entries = journal.len();
        if self.event.re_runs() {
            if let JobBehaviour::GetsASlaveLate = self.behaviour {
                self.erp.set_slaves(Slaves::After(Duration::ZERO));
            }
            let re_run = MemoryJournal::new(self.clock.clone(), 3);
            let _ = self.run(&re_run, RE_RUN_KEY, re_run_crash).await;
            return re_run.len();
        }
        entries
    }

    /// What holds at every moment, whatever happened.
    fn check_moment(&self, context: &str) {
        let date = date();
        assert!(
            self.erp.peak_runnable(date) <= 1,
            "{context}: two jobs of the date could run at once"
        );
        let jobs = self.erp.jobs_of_date(date);
        assert!(
            jobs.iter().all(|job| !job.can_run()),
            "{context}: a job is left able to run: {jobs:?}"
        );
        let succeeded = jobs
            .iter()
            .filter(|job| job.state == OracleState::Succeeded)
            .count();
        assert!(succeeded <= 1, "{context}: the closing ran twice: {jobs:?}");
    }

    /// A last run of the date without faults, then what the store must say of its jobs.
    async fn check_settled(&self, context: &str) {
        self.check_moment(context);
        self.erp.fail_next(Operation::Poll, 0, false, "");
        self.erp.fail_next(Operation::FetchResults, 0, false, "");
        self.store.fail_next_records(0);
        let last = MemoryJournal::new(self.clock.clone(), 3);
        let _ = self.run(&last, LAST_RUN_KEY, None).await;
        self.check_moment(&format!("{context}, after a last run"));
        let date = date();
        let jobs = self.erp.jobs_of_date(date);
        let succeeded = jobs.iter().find(|job| job.state == OracleState::Succeeded);
        let recorded = self
            .store
            .run_of(date)
            .await
            .expect("memory store")
            .map(|run| run.report);
        let rows: Vec<u64> = TABLES
            .iter()
            .map(|table| self.store.rows(table, date) as u64)
            .collect();
        match succeeded {
            Some(job) => {
                let recorded = recorded.unwrap_or_else(|| panic!("{context}: nothing recorded"));
                assert_eq!(recorded.phase, Phase::Succeeded, "{context}: {recorded:?}");
                assert_eq!(recorded.job, job.name, "{context}");
                assert_eq!(rows, [self.erp.rows_per_table(); 2], "{context}");
            }
            None => {
                assert_eq!(
                    rows,
                    [0, 0],
                    "{context}: rows of a closing that did not succeed"
                );
                let phase = recorded.map(|report| report.phase);
                assert!(
                    matches!(phase, Some(Phase::Failed | Phase::Cancelled)),
                    "{context}: recorded {phase:?}"
                );
            }
        }
    }
}

fn date() -> ClosingDate {
    ClosingDate::parse(KEY).expect("date")
}

/// Plays (behaviour, event) uninterrupted, then crashed at every entry of the attempt the
/// event hits, before and after the entry's effect, checking the guarantees each time.
async fn every_crash_of(behaviour: JobBehaviour, event: Event) {
    let reference = Scenario::new(behaviour, event);
    let entries = reference.play(None, None).await;
    reference
        .check_settled(&format!("{behaviour:?} × {event:?}, uninterrupted"))
        .await;
    let first_attempt_entries = {
        let scenario = Scenario::new(behaviour, event);
        let journal = scenario.journal();
        let _ = scenario.run(&journal, KEY, None).await;
        journal.len()
    };
    for entry in 0..first_attempt_entries {
        for point in [StopPoint::Before, StopPoint::AfterEffect] {
            let scenario = Scenario::new(behaviour, event);
            scenario.play(Some((entry, point)), None).await;
            scenario
                .check_settled(&format!(
                    "{behaviour:?} × {event:?}, attempt crashed at {entry} {point:?}"
                ))
                .await;
        }
    }
    if event.re_runs() {
        for entry in 0..entries {
            for point in [StopPoint::Before, StopPoint::AfterEffect] {
                let scenario = Scenario::new(behaviour, event);
                scenario.play(None, Some((entry, point))).await;
                scenario
                    .check_settled(&format!(
                        "{behaviour:?} × {event:?}, re-run crashed at {entry} {point:?}"
                    ))
                    .await;
            }
        }
    }
}

#[tokio::test]
async fn one_job_per_date_holds_for_every_job_state_event_and_crash_point() {
    for behaviour in BEHAVIOURS {
        for event in EVENTS {
            every_crash_of(behaviour, event).await;
        }
    }
}

#[tokio::test]
async fn a_re_run_after_a_permanent_poll_error_waits_for_the_running_job_and_adopts_it() {
    let scenario = Scenario::new(JobBehaviour::Succeeds, Event::PermanentPollError(1));
    let journal = scenario.journal();
    let first = scenario
        .run(&journal, KEY, None)
        .await
        .expect_err("poll refused");
    assert!(first.0.contains("ORA-00904"), "{first}");
    let failed = scenario
        .store
        .run_of(date())
        .await
        .expect("store")
        .expect("recorded");
    assert_eq!(
        (failed.report.phase, failed.report.job.as_str()),
        (Phase::Failed, "FC_20261120_A1")
    );
    let re_run = MemoryJournal::new(scenario.clock.clone(), 3);
    let report = scenario
        .run(&re_run, RE_RUN_KEY, None)
        .await
        .expect("adopted");
    assert_eq!(report.phase, Phase::Succeeded);
    assert_eq!(
        report.job, "FC_20261120_A1",
        "the first job's results, not a second closing"
    );
    assert_eq!(scenario.erp.jobs(), 1);
    assert_eq!(scenario.erp.calls(Operation::Submit), 1);
}

#[tokio::test]
async fn a_cancel_of_a_job_waiting_for_a_slave_disables_it_so_it_never_starts() {
    let scenario = Scenario::new(JobBehaviour::GetsASlaveLate, Event::Cancel(1));
    let journal = scenario.journal();
    let report = scenario.run(&journal, KEY, None).await.expect("cancelled");
    assert_eq!(
        (report.phase, report.erp_status.as_str()),
        (Phase::Cancelled, "DISABLED")
    );
    scenario.erp.set_slaves(Slaves::After(Duration::ZERO));
    scenario.clock.advance(Duration::from_secs(3600));
    let job = scenario.erp.job("FC_20261120_A1").expect("job");
    assert_eq!(
        (job.state, job.enabled, job.started_at),
        (OracleState::Disabled, false, None)
    );
}

#[tokio::test]
async fn a_cancel_after_the_job_ended_copies_and_records_the_success() {
    // The job ends after three minutes; the cancel arrives in the fourth sleep, before the
    // poll that would have seen it.
    let scenario = Scenario::new(JobBehaviour::Succeeds, Event::Cancel(4));
    let journal = scenario.journal();
    let report = scenario.run(&journal, KEY, None).await.expect("succeeded");
    assert_eq!(report.phase, Phase::Succeeded);
    assert_eq!(
        report.tables.iter().map(|t| t.rows).collect::<Vec<_>>(),
        [scenario.erp.rows_per_table(); 2]
    );
}

#[tokio::test]
async fn a_slow_stop_is_waited_for_and_max_duration_leaves_no_enabled_job() {
    let scenario = Scenario::new(JobBehaviour::StopsSlowly, Event::Nothing);
    let journal = scenario.journal();
    let err = scenario
        .run(&journal, KEY, None)
        .await
        .expect_err("too long");
    assert!(err.0.contains("MAX_DURATION"), "{err}");
    let job = scenario.erp.job("FC_20261120_A1").expect("job");
    assert_eq!((job.state, job.enabled), (OracleState::Stopped, false));
    // Stopped at the first poll past ten minutes; the stop took five more.
    let (started, ended) = (
        job.started_at.expect("started"),
        job.ended_at.expect("ended"),
    );
    assert_eq!((ended - started).num_minutes(), 11 + 5);
}

#[tokio::test]
async fn a_failed_record_does_not_make_the_re_run_meet_its_own_old_job() {
    let scenario = Scenario::new(JobBehaviour::Succeeds, Event::RecordFails);
    let journal = scenario.journal();
    scenario
        .run(&journal, KEY, None)
        .await
        .expect_err("record refused");
    assert!(
        scenario
            .store
            .run_of(date())
            .await
            .expect("store")
            .is_none()
    );
    let re_run = MemoryJournal::new(scenario.clock.clone(), 3);
    let report = scenario
        .run(&re_run, RE_RUN_KEY, None)
        .await
        .expect("adopted");
    assert_eq!(
        (report.phase, report.job.as_str()),
        (Phase::Succeeded, "FC_20261120_A1")
    );
    assert_eq!(scenario.erp.jobs(), 1);
}

#[tokio::test]
async fn two_workflows_of_one_date_at_once_run_one_job_at_a_time() {
    for force in [false, true] {
        let scenario = Scenario::new(JobBehaviour::Succeeds, Event::Nothing);
        let (first, second) = (scenario.journal(), scenario.journal());
        let request = RunRequest { date: None, force };
        let (a, b) = tokio::join!(
            first.invoke(
                scenario
                    .workflow
                    .close_date(&first, KEY, RunRequest::default())
            ),
            second.invoke(scenario.workflow.close_date(&second, RE_RUN_KEY, request)),
        );
        let (a, b) = (a.expect("first"), b.expect("second"));
        let (a, b) = (a.expect("first succeeded"), b.expect("second succeeded"));
        assert_eq!(scenario.erp.peak_runnable(date()), 1, "force {force}");
        assert_eq!(a.job, "FC_20261120_A1");
        // Unforced, the second waits for the first's job and adopts it; forced, it waits for
        // it to end, then closes the date again with its own.
        let expected = if force {
            "FC_20261120_A2"
        } else {
            "FC_20261120_A1"
        };
        assert_eq!(b.job, expected, "force {force}");
        assert_eq!(scenario.erp.jobs(), 1 + usize::from(force));
    }
}
