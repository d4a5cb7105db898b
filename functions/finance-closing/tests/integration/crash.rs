//! The service process is killed (SIGKILL) while the closing job runs and started again: the
//! workflow resumes from its journal and completes, the job is not submitted again and no row
//! is duplicated. The real binary, restate-server and PostgreSQL, the simulated ERP.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use finance_closing::closing::{ClosingDate, ClosingReport, Phase};
use finance_closing::erp::SimulatedErp;
use finance_closing::erp::simulated::SIMULATED_ROWS;
use finance_closing::store::PostgresStore;
use orabridge_shared::testkit::{self, RestateServer, free_port, http_request};
use serde_json::{Value, json};

use crate::common;

/// Kills the service on drop, so a failing test leaves no process behind.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_service(address: SocketAddr, schema: &str) -> Service {
    let mut command = Command::new(env!("CARGO_BIN_EXE_finance-closing"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FINANCE_CLOSING_MODE", "service")
        .env("FINANCE_CLOSING_HTTP_ADDR", address.to_string())
        .env("ERP_BACKEND", "simulated")
        .env("SIMULATOR_SCHEMA", schema)
        .env("SIMULATED_JOB_DURATION", "4s")
        .env("POLL_INTERVAL", "300ms")
        .env("CLOSING_RESULT_TABLES", "gl_balances")
        .envs(testkit::postgres_env().expect("PostgreSQL settings"))
        .env("PG_SCHEMA", schema)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let service = Service(command.spawn().expect("start the service binary"));
    for _ in 0..200 {
        if TcpStream::connect(address).is_ok() {
            return service;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the service never listened on {address}");
}

async fn status(restate: &RestateServer, key: &str) -> Value {
    let (code, body) = http_request(
        "POST",
        &format!("{}/FinanceClosing/{key}/status", restate.ingress_url()),
        None,
        &[],
    )
    .await
    .expect("status");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

#[tokio::test]
async fn a_killed_service_resumes_without_resubmitting_or_duplicating() {
    let pool = common::test_pool(2).await;
    let restate = RestateServer::start().await.expect("restate-server");
    let schema = format!("fc_crash_{}", std::process::id());
    common::drop_schema(&pool, &schema).await;

    let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut service = start_service(address, &schema);
    common::register(&restate, address).await;
    let key = "2026-11-13";
    let (code, body) = http_request(
        "POST",
        &format!("{}/FinanceClosing/{key}/run/send", restate.ingress_url()),
        Some(&json!({})),
        &[],
    )
    .await
    .expect("start");
    assert!(code < 300, "{code} {body}");
    for _ in 0..100 {
        if status(&restate, key).await["phase"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&restate, key).await["phase"], "running");

    // SIGKILL: no shutdown hook, no flush, mid-sleep.
    service.0.kill().expect("kill");
    service.0.wait().expect("reap");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _restarted = start_service(address, &schema);

    let (code, body) = http_request(
        "GET",
        &format!(
            "{}/restate/workflow/FinanceClosing/{key}/attach",
            restate.ingress_url()
        ),
        None,
        &[],
    )
    .await
    .expect("attach");
    assert_eq!(code, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(report.phase, Phase::Succeeded);
    let date = ClosingDate::parse(key).expect("date");
    let simulator = SimulatedErp::new(pool.clone(), &schema, Duration::from_secs(1)).expect("sim");
    assert_eq!(
        simulator.jobs_for(date).await.expect("jobs"),
        1,
        "submitted once"
    );
    let store = PostgresStore::new(pool.clone(), &schema).expect("store");
    assert_eq!(
        store
            .count_results("gl_balances", date)
            .await
            .expect("rows"),
        i64::from(SIMULATED_ROWS),
        "one copy of the day's rows"
    );
    common::drop_schema(&pool, &schema).await;
}
