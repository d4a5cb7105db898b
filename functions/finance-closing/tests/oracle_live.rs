//! The Oracle ERP adapter against a live database: every statement it sends (submit, poll,
//! list, disable, stop, fetch), the recovery of a half-done submit, and the guard that keeps a
//! second job of a date from being enabled while the first can run. Ignored unless run with `--ignored`
//! (`make test-oracle`) and `ORACLE_TEST_*` set; a missing variable then fails, never passes.
//!
//! The test user needs CREATE TABLE, CREATE PROCEDURE and CREATE JOB (the README's container
//! recipe grants them). The tests make their own procedure and result table, named
//! `ORABRIDGE_TEST_*`, and drop their jobs.

use std::time::Duration;

use finance_closing::closing::{ClosingDate, JobState};
use finance_closing::erp::OracleErp;
use finance_closing::erp::oracle::DateArgument;
use finance_closing::erp::{Erp, ErpError, ResultMessage, Submission, result_channel};
use orabridge_shared::oracle::{self as ora, ConnectOptions, easy_connect};
use secrecy::SecretString;

const PROCEDURE: &str = "ORABRIDGE_TEST_CLOSING";
const TABLE: &str = "ORABRIDGE_TEST_RESULTS";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name} to run the live Oracle tests"))
}

fn options() -> ConnectOptions {
    let port: u16 = var("ORACLE_TEST_PORT")
        .parse()
        .expect("ORACLE_TEST_PORT is a port");
    ConnectOptions {
        username: var("ORACLE_TEST_USERNAME"),
        password: SecretString::from(var("ORACLE_TEST_PASSWORD")),
        connect_string: easy_connect(
            &var("ORACLE_TEST_HOST"),
            port,
            &var("ORACLE_TEST_SERVICE_NAME"),
        ),
        call_timeout: Duration::from_secs(60),
        connect_timeout: ora::DEFAULT_CONNECT_TIMEOUT,
    }
}

fn adapter(date_argument: DateArgument) -> OracleErp {
    OracleErp::new(
        options(),
        PROCEDURE,
        &var("ORACLE_TEST_SCHEMA"),
        date_argument,
    )
    .expect("adapter")
}

/// The closing procedure the jobs run: it writes three result rows for its date, so a DATE
/// argument that arrived as anything else fails the job (ORA-01861) or writes the wrong day.
fn install_procedure(takes_text: bool) {
    let connection = ora::connect(&options()).expect("connect");
    let ddl = [
        format!(
            "BEGIN EXECUTE IMMEDIATE 'CREATE TABLE {TABLE} (closing_date DATE, account \
             VARCHAR2(20), amount NUMBER(12,2))'; EXCEPTION WHEN OTHERS THEN \
             IF SQLCODE != -955 THEN RAISE; END IF; END;"
        ),
        if takes_text {
            format!(
                "CREATE OR REPLACE PROCEDURE {PROCEDURE}(p_date IN VARCHAR2) AS BEGIN \
                 DELETE FROM {TABLE} WHERE closing_date = TO_DATE(p_date, 'YYYYMMDD'); \
                 FOR i IN 1..3 LOOP INSERT INTO {TABLE} VALUES (TO_DATE(p_date, 'YYYYMMDD'), \
                 'ACC-' || i, i * 10.5); END LOOP; COMMIT; END;"
            )
        } else {
            format!(
                "CREATE OR REPLACE PROCEDURE {PROCEDURE}(p_date IN DATE) AS BEGIN \
                 DELETE FROM {TABLE} WHERE closing_date = p_date; \
                 FOR i IN 1..3 LOOP INSERT INTO {TABLE} VALUES (p_date, 'ACC-' || i, i * 10.5); \
                 END LOOP; COMMIT; END;"
            )
        },
    ];
    for statement in ddl {
        connection.execute(&statement, &[]).expect("test objects");
    }
}

fn drop_job(job: &str) {
    let connection = ora::connect(&options()).expect("connect");
    let _ = connection.execute(
        "BEGIN DBMS_SCHEDULER.DROP_JOB(job_name => :1, force => TRUE); END;",
        &[&job],
    );
}

async fn wait_until_final(erp: &OracleErp, job: &str) -> JobState {
    for _ in 0..120 {
        let state = erp.poll(job).await.expect("poll").state;
        if state.is_final() {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("job {job} did not end within a minute");
}

async fn fetch_count(erp: &OracleErp, date: ClosingDate) -> usize {
    let (sender, mut receiver) = result_channel();
    let fetch = erp.fetch_results(TABLE, date, sender);
    let collect = async {
        let mut rows = 0;
        while let Some(message) = receiver.recv().await {
            match message {
                ResultMessage::Batch {
                    columns,
                    rows: batch,
                } => {
                    assert_eq!(columns.len(), 3);
                    assert!(batch.iter().all(|row| row.len() == 3));
                    rows += batch.len();
                }
                ResultMessage::End => return Some(rows),
            }
        }
        None
    };
    let (fetched, rows) = tokio::join!(fetch, collect);
    fetched.expect("fetch");
    rows.expect("the fetch ends with End")
}

fn test_date(offset_days: i64) -> ClosingDate {
    let today = chrono::Utc::now().date_naive();
    ClosingDate::parse(
        &(today - chrono::Duration::days(400 + offset_days))
            .format("%Y-%m-%d")
            .to_string(),
    )
    .expect("date")
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn the_scheduler_views_answer_for_an_unknown_job() {
    let err = adapter(DateArgument::Date)
        .poll("FC_19000101_A1")
        .await
        .expect_err("no such job");
    assert!(
        matches!(err, ErpError::Permanent(ref m) if m.contains("no scheduler job")),
        "{err:?}"
    );
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn a_closing_job_is_submitted_once_runs_with_a_date_and_its_rows_are_fetched() {
    install_procedure(false);
    let erp = adapter(DateArgument::Date);
    let date = test_date(0);
    let job = date.job_name(900);
    drop_job(&job);
    assert_eq!(
        erp.submit(&job, date).await.expect("submit"),
        Submission::Submitted
    );
    assert_eq!(
        erp.submit(&job, date).await.expect("again"),
        Submission::AlreadyExists
    );
    assert_eq!(wait_until_final(&erp, &job).await, JobState::Succeeded);
    assert_eq!(fetch_count(&erp, date).await, 3);
    erp.stop(&job)
        .await
        .expect("stopping an ended job is harmless");
    drop_job(&job);
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn a_disabled_job_left_by_an_interrupted_submit_is_recovered() {
    install_procedure(false);
    let erp = adapter(DateArgument::Date);
    let date = test_date(1);
    let job = date.job_name(901);
    drop_job(&job);
    // What a submit interrupted after CREATE_JOB (which commits by itself) leaves behind.
    ora::connect(&options())
        .expect("connect")
        .execute(
            "BEGIN DBMS_SCHEDULER.CREATE_JOB(job_name => :1, job_type => 'STORED_PROCEDURE', \
             job_action => :2, number_of_arguments => 1, enabled => FALSE, auto_drop => FALSE); END;",
            &[&job, &PROCEDURE],
        )
        .expect("half-done job");
    assert_eq!(
        erp.submit(&job, date).await.expect("submit"),
        Submission::Recovered
    );
    assert_eq!(wait_until_final(&erp, &job).await, JobState::Succeeded);
    assert_eq!(fetch_count(&erp, date).await, 3);
    drop_job(&job);
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn a_procedure_taking_text_gets_the_date_in_its_format() {
    install_procedure(true);
    let erp = adapter(DateArgument::Text("YYYYMMDD".into()));
    let date = test_date(2);
    let job = date.job_name(902);
    drop_job(&job);
    erp.submit(&job, date).await.expect("submit");
    assert_eq!(wait_until_final(&erp, &job).await, JobState::Succeeded);
    assert_eq!(fetch_count(&erp, date).await, 3);
    drop_job(&job);
    install_procedure(false);
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn an_unknown_procedure_fails_with_oracle_s_code_never_runs_on() {
    let erp = OracleErp::new(
        options(),
        "ORABRIDGE_NO_SUCH.PROCEDURE",
        &var("ORACLE_TEST_SCHEMA"),
        DateArgument::Date,
    )
    .expect("adapter");
    let date = test_date(3);
    let job = date.job_name(903);
    drop_job(&job);
    // The scheduler may refuse the job when it is enabled, or accept it and fail its run:
    // either way the closing ends with Oracle's code, never as a job that runs forever.
    match erp.submit(&job, date).await {
        Err(ErpError::Permanent(message)) => assert!(message.contains("ORA-"), "{message}"),
        Err(other) => panic!("expected a permanent error, got {other:?}"),
        Ok(_) => match wait_until_final(&erp, &job).await {
            JobState::Failed { error } => assert!(error.contains("ORA-"), "{error}"),
            other => panic!("expected the run to fail, got {other:?}"),
        },
    }
    drop_job(&job);
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn a_second_job_waits_while_the_first_can_run_and_a_stop_disables_a_pending_job() {
    install_procedure(false);
    let erp = adapter(DateArgument::Date);
    let date = test_date(50);
    let (first, second) = (date.job_name(1), date.job_name(2));
    drop_job(&first);
    drop_job(&second);
    // A job of the date that is enabled but not yet running: it starts in an hour.
    let connection = ora::connect(&options()).expect("connect");
    connection
        .execute(
            "BEGIN DBMS_SCHEDULER.CREATE_JOB(job_name => :1, job_type => 'PLSQL_BLOCK', \
             job_action => 'BEGIN NULL; END;', start_date => SYSTIMESTAMP + INTERVAL '1' HOUR, \
             enabled => TRUE, auto_drop => FALSE); END;",
            &[&first],
        )
        .expect("a pending job");
    assert_eq!(
        erp.submit(&second, date).await.expect("submit"),
        Submission::Blocked
    );
    let jobs = erp.jobs_of(date).await.expect("list");
    let names: Vec<&str> = jobs.iter().map(|seen| seen.job.as_str()).collect();
    assert_eq!(names, [first.as_str(), second.as_str()]);
    assert_eq!(jobs[0].state, JobState::Scheduled);
    assert_eq!(
        jobs[1].state,
        JobState::Disabled,
        "left DISABLED, not enabled"
    );
    // STOP_JOB alone answers ORA-27366 for it; the adapter disables it first.
    erp.stop(&first).await.expect("stopped");
    assert_eq!(
        erp.poll(&first).await.expect("poll").state,
        JobState::Disabled
    );
    assert_eq!(
        erp.submit(&second, date).await.expect("submit"),
        Submission::Recovered
    );
    assert_eq!(wait_until_final(&erp, &second).await, JobState::Succeeded);
    drop_job(&first);
    drop_job(&second);
}
