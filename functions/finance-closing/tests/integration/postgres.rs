//! The PostgreSQL side and the simulated ERP against the real PostgreSQL on this machine
//! (`ORABRIDGE_TEST_PG_URL` or the default): migrations, `closing_runs`, per-date replacement
//! of result rows, and simulated jobs that run, fail, stop and outlast their process.

use std::time::Duration;

use finance_closing::closing::{ClosingDate, ClosingReport, JobSeen, JobState, Phase, TableCopy};
use finance_closing::erp::scheduler::OracleState;
use finance_closing::erp::simulated::{SIMULATED_BATCH_ROWS, SIMULATED_ROWS, SubmitFault};
use finance_closing::erp::{
    Erp, ErpError, ResultMessage, SimulatedErp, Submission, result_channel,
};
use finance_closing::pg::{StoreError, pool};
use finance_closing::store::{ClosingStore, PostgresStore};
use orabridge_shared::testkit;

/// A fresh schema per test, dropped at the end, so tests never see each other's rows.
struct Db {
    pool: deadpool_postgres::Pool,
    schema: String,
}

impl Db {
    async fn new(tag: &str) -> Db {
        // Fails with how to get PostgreSQL when there is none: never a silent pass.
        testkit::postgres().await.expect("PostgreSQL for the tests");
        let (config, tls) = testkit::postgres_config().expect("url");
        let schema = format!("fc_test_{tag}_{}", std::process::id());
        let pool = pool(config, &tls, 4).expect("pool");
        let db = Db { pool, schema };
        db.drop_schema().await;
        db
    }

    /// The store in this schema, migrated with one result table, `gl_balances`.
    async fn store_with_gl_balances(&self) -> PostgresStore {
        let store = PostgresStore::new(self.pool.clone(), &self.schema).expect("store");
        store
            .migrate(&["gl_balances".to_owned()])
            .await
            .expect("migrate");
        store
    }

    async fn drop_schema(&self) {
        let client = self.pool.get().await.expect("connection");
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .expect("drop schema");
    }
}

fn day(text: &str) -> ClosingDate {
    ClosingDate::parse(text).expect("date")
}

fn report(date: ClosingDate, rows: u64) -> ClosingReport {
    ClosingReport {
        date,
        phase: Phase::Succeeded,
        job: date.job_name(1),
        erp_status: "SUCCEEDED".into(),
        started_at: Some("2026-11-20T18:00:00Z".into()),
        ended_at: Some("2026-11-21T00:00:00Z".into()),
        tables: vec![TableCopy {
            table: "gl_balances".into(),
            rows,
        }],
        duration_seconds: 21_600,
        error: None,
        jobs: vec![JobSeen {
            job: date.job_name(1),
            state: JobState::Succeeded,
        }],
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_closing_runs_round_trip() {
    let db = Db::new("runs").await;
    let store = PostgresStore::new(db.pool.clone(), &db.schema).expect("store");
    let tables = vec!["gl_balances".to_owned()];
    store.migrate(&tables).await.expect("first migration");
    store
        .migrate(&tables)
        .await
        .expect("second migration is a no-op");
    let date = day("2026-11-20");
    assert!(store.run_of(date).await.expect("lookup").is_none());
    store.record(&report(date, 40)).await.expect("record");
    store
        .record(&report(date, 41))
        .await
        .expect("record again replaces");
    let stored = store.run_of(date).await.expect("lookup").expect("stored");
    assert_eq!(stored.status, "succeeded");
    assert_eq!(stored.report, report(date, 41));
    db.drop_schema().await;
}

#[tokio::test]
async fn replacing_a_dates_results_never_duplicates_and_leaves_other_dates_alone() {
    let db = Db::new("rows").await;
    let store = db.store_with_gl_balances().await;
    let erp = simulator(&db, Duration::from_millis(1)).await;
    let (first, second) = (day("2026-11-19"), day("2026-11-20"));
    for _ in 0..3 {
        let copied = store
            .copy_from(&erp, "gl_balances", second)
            .await
            .expect("copy");
        assert_eq!(copied, u64::from(SIMULATED_ROWS));
    }
    store
        .copy_from(&erp, "gl_balances", first)
        .await
        .expect("copy");
    for date in [first, second] {
        assert_eq!(
            store
                .count_results("gl_balances", date)
                .await
                .expect("count"),
            i64::from(SIMULATED_ROWS)
        );
    }

    // The JSON rows carry the source columns, queryable by name.
    let client = db.pool.get().await.expect("connection");
    let amount: String = client
        .query_one(
            &format!(
                "SELECT data->>'AMOUNT' FROM {}.gl_balances WHERE closing_date = $1 AND row_no = 0",
                db.schema
            ),
            &[&second.date()],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(
        Some(amount),
        SimulatedErp::result_row("gl_balances", second, 0)[2].clone()
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn a_copy_spanning_many_batches_numbers_every_row_once() {
    let db = Db::new("batches").await;
    let store = db.store_with_gl_balances().await;
    // Two full batches and a partial one.
    let rows = 2 * SIMULATED_BATCH_ROWS as u64 + 17;
    let erp = simulator(&db, Duration::from_millis(1))
        .await
        .with_rows(rows);
    let date = day("2026-11-20");
    assert_eq!(
        store
            .copy_from(&erp, "gl_balances", date)
            .await
            .expect("copy"),
        rows
    );
    let client = db.pool.get().await.expect("connection");
    let row = client
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT row_no), min(row_no), max(row_no)
                 FROM {}.gl_balances WHERE closing_date = $1",
                db.schema
            ),
            &[&date.date()],
        )
        .await
        .expect("counts");
    let (count, distinct, min, max): (i64, i64, i32, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (count, distinct, min, max),
        (rows as i64, rows as i64, 0, rows as i32 - 1)
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn a_copy_whose_fetch_fails_midway_commits_nothing_and_keeps_the_old_rows() {
    let db = Db::new("midway").await;
    let store = db.store_with_gl_balances().await;
    let erp = simulator(&db, Duration::from_millis(1)).await;
    let date = day("2026-11-20");
    store
        .copy_from(&erp, "gl_balances", date)
        .await
        .expect("a first, complete copy");
    // A fetch that sends one batch and then fails (the connection to Oracle dropped).
    let (sender, receiver) = result_channel();
    let fetch = async move {
        sender
            .send(ResultMessage::Batch {
                columns: SimulatedErp::result_columns(),
                rows: vec![SimulatedErp::result_row("gl_balances", date, 0)],
            })
            .await
            .expect("send");
        drop(sender);
    };
    let (_, written) = tokio::join!(fetch, store.replace_results("gl_balances", date, receiver));
    assert!(
        matches!(written, Err(StoreError::Incomplete { copied: 1 })),
        "{written:?}"
    );
    assert_eq!(
        store
            .count_results("gl_balances", date)
            .await
            .expect("count"),
        i64::from(SIMULATED_ROWS),
        "the rolled-back copy left the earlier rows as they were"
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn names_that_are_not_identifiers_are_refused() {
    let db = Db::new("names").await;
    assert!(matches!(
        PostgresStore::new(db.pool.clone(), "reporting; drop table x"),
        Err(StoreError::InvalidIdentifier(_))
    ));
    let store = PostgresStore::new(db.pool.clone(), &db.schema).expect("store");
    let err = store
        .migrate(&["gl-balances".to_owned()])
        .await
        .expect_err("bad table");
    assert!(
        err.to_string()
            .contains("\"gl-balances\" is not a valid PostgreSQL identifier"),
        "{err}"
    );
    db.drop_schema().await;
}

async fn simulator(db: &Db, duration: Duration) -> SimulatedErp {
    let erp = SimulatedErp::new(db.pool.clone(), &db.schema, duration).expect("simulator");
    erp.migrate().await.expect("simulator tables");
    erp
}

async fn wait_until_final(erp: &SimulatedErp, job: &str) -> JobState {
    for _ in 0..200 {
        let status = erp.poll(job).await.expect("poll");
        if status.state.is_final() {
            return status.state;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {job} never ended");
}

#[tokio::test]
async fn a_simulated_job_runs_for_its_duration_then_succeeds_and_is_submitted_once() {
    let db = Db::new("sim_ok").await;
    let erp = simulator(&db, Duration::from_millis(400)).await;
    let date = day("2026-11-20");
    let job = date.job_name(1);
    assert_eq!(
        erp.submit(&job, date).await.expect("submit"),
        Submission::Submitted
    );
    assert_eq!(
        erp.submit(&job, date).await.expect("resubmit"),
        Submission::AlreadyExists
    );
    assert_eq!(erp.poll(&job).await.expect("poll").state, JobState::Running);
    assert_eq!(wait_until_final(&erp, &job).await, JobState::Succeeded);
    let status = erp.poll(&job).await.expect("poll");
    assert!(status.ended_at.expect("ended") > status.started_at.expect("started"));
    assert_eq!(erp.jobs_for(date).await.expect("count"), 1);

    // A second simulator (another process, after a restart) sees the same job.
    let restarted = simulator(&db, Duration::from_secs(3600)).await;
    assert_eq!(
        restarted.poll(&job).await.expect("poll").state,
        JobState::Succeeded
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn a_simulated_job_told_to_fail_reports_the_error_text() {
    let db = Db::new("sim_fail").await;
    let erp = simulator(&db, Duration::from_millis(100)).await;
    let date = day("2026-11-20");
    erp.fail_date(date, Some("ORA-20001: ledger GL-01 is out of balance"))
        .await
        .expect("arm failure");
    erp.submit(&date.job_name(1), date).await.expect("submit");
    assert_eq!(
        wait_until_final(&erp, &date.job_name(1)).await,
        JobState::Failed {
            error: "ORA-20001: ledger GL-01 is out of balance".into()
        }
    );
    erp.fail_date(date, None).await.expect("clear failure");
    erp.submit(&date.job_name(2), date)
        .await
        .expect("second attempt");
    assert_eq!(
        wait_until_final(&erp, &date.job_name(2)).await,
        JobState::Succeeded
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn stopping_a_running_simulated_job_ends_it_as_stopped_and_unknown_jobs_are_refused() {
    let db = Db::new("sim_stop").await;
    let erp = simulator(&db, Duration::from_secs(3600)).await;
    let date = day("2026-11-20");
    let job = date.job_name(1);
    erp.submit(&job, date).await.expect("submit");
    erp.stop(&job).await.expect("stop");
    erp.stop(&job).await.expect("stopping twice is harmless");
    assert_eq!(erp.poll(&job).await.expect("poll").state, JobState::Stopped);
    assert!(matches!(
        erp.poll("FC_NOPE").await,
        Err(ErpError::Permanent(_))
    ));
    let (sender, _receiver) = result_channel();
    assert!(matches!(
        erp.fetch_results("gl-balances", date, sender).await,
        Err(ErpError::Permanent(_))
    ));
    db.drop_schema().await;
}

#[tokio::test]
async fn a_submit_interrupted_at_any_step_is_finished_by_the_next_one_never_doubled() {
    // DBMS_SCHEDULER commits each call by itself, so an interrupted submit leaves what it had
    // done; the simulator keeps the same states, and the next submit must finish the job.
    let db = Db::new("sim_faults").await;
    let erp = simulator(&db, Duration::from_millis(100)).await;
    for (offset, point) in SubmitFault::ALL.into_iter().enumerate() {
        let date = day(&format!("2026-10-{:02}", 10 + offset));
        let job = date.job_name(1);
        erp.fail_submit(
            point,
            1,
            false,
            "ORA-03113: end-of-file on communication channel",
        )
        .await
        .expect("arm");
        let err = erp.submit(&job, date).await.expect_err("interrupted");
        assert!(matches!(err, ErpError::Transient(_)), "{point:?}: {err:?}");
        let left = erp.job_setup(&job).await.expect("lookup");
        let expected_left = match point {
            SubmitFault::BeforeCreate => None,
            SubmitFault::AfterCreate => Some((OracleState::Disabled, false)),
            SubmitFault::AfterArgument => Some((OracleState::Disabled, true)),
            // Enabled, and taken by a job slave at once (the simulator's default).
            SubmitFault::AfterEnable => Some((OracleState::Running, true)),
        };
        assert_eq!(left, expected_left, "{point:?}");
        let again = erp.submit(&job, date).await.expect("the retry");
        let expected = match point {
            SubmitFault::BeforeCreate => Submission::Submitted,
            SubmitFault::AfterCreate | SubmitFault::AfterArgument => Submission::Recovered,
            SubmitFault::AfterEnable => Submission::AlreadyExists,
        };
        assert_eq!(again, expected, "{point:?}");
        assert_eq!(
            wait_until_final(&erp, &job).await,
            JobState::Succeeded,
            "{point:?}"
        );
        assert_eq!(erp.jobs_for(date).await.expect("count"), 1, "{point:?}");
    }
    // A permanent fault (the procedure does not exist) is reported as such.
    erp.fail_submit(
        SubmitFault::AfterCreate,
        1,
        true,
        "ORA-27452: GENIUS.PKG_CLOSING.NOPE is an invalid name for a database object",
    )
    .await
    .expect("arm");
    let date = day("2026-10-20");
    let err = erp
        .submit(&date.job_name(1), date)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ErpError::Permanent(m) if m.starts_with("ORA-27452")),
        "{err:?}"
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn a_disabled_job_never_starts_which_is_why_submit_must_recover_it() {
    let db = Db::new("sim_disabled").await;
    let erp = simulator(&db, Duration::from_millis(1)).await;
    let date = day("2026-10-21");
    let job = date.job_name(1);
    erp.fail_submit(
        SubmitFault::AfterArgument,
        1,
        false,
        "ORA-03135: connection lost contact",
    )
    .await
    .expect("arm");
    erp.submit(&job, date).await.expect_err("interrupted");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        erp.poll(&job).await.expect("poll").state,
        JobState::Disabled
    );
    db.drop_schema().await;
}

#[test]
fn simulated_results_are_a_function_of_table_and_date() {
    let date = day("2026-11-20");
    let row = |table: &str, date, index| SimulatedErp::result_row(table, date, index);
    assert_eq!(row("gl_balances", date, 3), row("gl_balances", date, 3));
    assert_ne!(
        row("gl_balances", date, 3),
        row("gl_balances", day("2026-11-19"), 3)
    );
    assert_ne!(row("gl_balances", date, 3), row("claims_reserves", date, 3));
    assert_ne!(row("gl_balances", date, 3), row("gl_balances", date, 4));
    assert_eq!(
        row("gl_balances", date, 3)[0].as_deref(),
        Some("2026-11-20")
    );
    assert_eq!(
        row("gl_balances", date, 0).len(),
        SimulatedErp::result_columns().len()
    );
}
