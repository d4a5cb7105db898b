//! The PostgreSQL side and the simulated ERP against the real PostgreSQL on this machine
//! (`ORABRIDGE_TEST_PG_URL` or the default): migrations, `closing_runs`, per-date replacement
//! of result rows, and simulated jobs that run, fail, stop and outlast their process.

use std::time::Duration;

use finance_closing::closing::{ClosingDate, ClosingReport, JobState, Phase, TableCopy};
use finance_closing::erp::{Erp, ErpError, SIMULATED_ROWS, SimulatedErp, Submission};
use finance_closing::store::{Store, StoreError, pool};
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
        let config: tokio_postgres::Config = testkit::postgres_url().parse().expect("url");
        let schema = format!("fc_test_{tag}_{}", std::process::id());
        let pool = pool(config, 4).expect("pool");
        let db = Db { pool, schema };
        db.drop_schema().await;
        db
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
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_closing_runs_round_trip() {
    let db = Db::new("runs").await;
    let store = Store::new(db.pool.clone(), &db.schema).expect("store");
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
    let store = Store::new(db.pool.clone(), &db.schema).expect("store");
    store
        .migrate(&["gl_balances".to_owned()])
        .await
        .expect("migrate");
    let (first, second) = (day("2026-11-19"), day("2026-11-20"));
    let rows = SimulatedErp::results_for("gl_balances", second);
    for _ in 0..3 {
        let copied = store
            .replace_results("gl_balances", second, &rows)
            .await
            .expect("copy");
        assert_eq!(copied, u64::from(SIMULATED_ROWS));
    }
    store
        .replace_results(
            "gl_balances",
            first,
            &SimulatedErp::results_for("gl_balances", first),
        )
        .await
        .expect("copy");
    assert_eq!(
        store
            .count_results("gl_balances", second)
            .await
            .expect("count"),
        i64::from(SIMULATED_ROWS)
    );
    assert_eq!(
        store
            .count_results("gl_balances", first)
            .await
            .expect("count"),
        i64::from(SIMULATED_ROWS)
    );

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
    assert_eq!(Some(amount), rows.rows[0][2].clone());
    db.drop_schema().await;
}

#[tokio::test]
async fn names_that_are_not_identifiers_are_refused() {
    let db = Db::new("names").await;
    assert!(matches!(
        Store::new(db.pool.clone(), "reporting; drop table x"),
        Err(StoreError::InvalidIdentifier(_))
    ));
    let store = Store::new(db.pool.clone(), &db.schema).expect("store");
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
    assert!(matches!(
        erp.fetch_results("gl-balances", date).await,
        Err(ErpError::Permanent(_))
    ));
    db.drop_schema().await;
}

#[test]
fn simulated_results_are_a_function_of_table_and_date() {
    let date = day("2026-11-20");
    let a = SimulatedErp::results_for("gl_balances", date);
    assert_eq!(a, SimulatedErp::results_for("gl_balances", date));
    assert_ne!(
        a,
        SimulatedErp::results_for("gl_balances", day("2026-11-19"))
    );
    assert_ne!(
        a.rows,
        SimulatedErp::results_for("claims_reserves", date).rows
    );
    assert_eq!(a.rows.len(), SIMULATED_ROWS as usize);
    assert!(
        a.rows
            .iter()
            .all(|row| row[0].as_deref() == Some("2026-11-20"))
    );
}
