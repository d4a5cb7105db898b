//! The Oracle ERP adapter against a live database, read-only: the scheduler views answer for an
//! unknown job, and a result table is read for a date. Ignored unless run with `--ignored`
//! (`make test-oracle`) and `ORACLE_TEST_*` set; a missing variable then fails, never passes.

use std::time::Duration;

use finance_closing::closing::ClosingDate;
use finance_closing::erp::{Erp, ErpError};
use finance_closing::oracle_erp::OracleErp;
use orabridge_shared::oracle::{ConnectOptions, easy_connect};
use secrecy::SecretString;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name} to run the live Oracle tests"))
}

fn adapter() -> OracleErp {
    let port: u16 = var("ORACLE_TEST_PORT")
        .parse()
        .expect("ORACLE_TEST_PORT is a port");
    OracleErp::new(
        ConnectOptions {
            username: var("ORACLE_TEST_USERNAME"),
            password: SecretString::from(var("ORACLE_TEST_PASSWORD")),
            connect_string: easy_connect(
                &var("ORACLE_TEST_HOST"),
                port,
                &var("ORACLE_TEST_SERVICE_NAME"),
            ),
            call_timeout: Duration::from_secs(30),
        },
        "PKG_NOT_CALLED.RUN",
        &var("ORACLE_TEST_SCHEMA"),
    )
    .expect("adapter")
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
async fn the_scheduler_views_answer_for_an_unknown_job() {
    let err = adapter()
        .poll("FC_19000101_A1")
        .await
        .expect_err("no such job");
    assert!(
        matches!(err, ErpError::Permanent(ref m) if m.contains("no scheduler job")),
        "{err:?}"
    );
}

#[tokio::test]
#[ignore = "needs a live Oracle database: set ORACLE_TEST_* (and ORACLE_TEST_TABLE with a CLOSING_DATE column) and run make test-oracle"]
async fn a_result_table_is_read_for_one_date() {
    let date = ClosingDate::parse(
        &std::env::var("ORACLE_TEST_DATE").unwrap_or_else(|_| "2026-11-20".into()),
    )
    .expect("ORACLE_TEST_DATE is YYYY-MM-DD");
    let rows = adapter()
        .fetch_results(&var("ORACLE_TEST_TABLE"), date)
        .await
        .expect("fetch");
    assert!(!rows.columns.is_empty());
    assert!(rows.rows.iter().all(|row| row.len() == rows.columns.len()));
}
