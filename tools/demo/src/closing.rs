//! The finance-closing part of `make demo`: the workflow served by the real binary
//! (`FINANCE_CLOSING_MODE=service`, over HTTP), registered with the demo's restate-server, and
//! one short closing, started by the daily trigger's sample event, run on the SIMULATED ERP
//! with results copied to PostgreSQL.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use orabridge_shared::testkit::{self, RestateServer, http_request};
use serde_json::Value;

/// The demo's schema for `closing_runs`, the result tables and the simulator's jobs.
pub const SCHEMA: &str = "orabridge_demo";
/// The result tables the demo's closings copy.
pub const TABLES: &str = "gl_balances,claims_reserves";

/// The service process; killed when dropped.
pub struct ClosingService {
    child: Child,
    address: SocketAddr,
}

impl Drop for ClosingService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ClosingService {
    /// Resets the demo's schemas and starts the service from its binary in `binaries` (see
    /// [`crate::built`]) on a free loopback port, logging to `log`.
    pub async fn start(binaries: &Path, log: &Path) -> Result<Self> {
        Self::start_binary(
            &crate::built::binary(binaries, "finance-closing")?,
            &[],
            log,
        )
        .await
    }

    /// Resets the demo's schemas and starts `binary` (under `runner`, a program and its
    /// arguments, when not empty: qemu-user for an arm64 build) as the service on a free
    /// loopback port, logging to `log`.
    pub async fn start_binary(binary: &Path, runner: &[String], log: &Path) -> Result<Self> {
        // Every demo closes for real: no closing_runs row or simulated job left from before.
        testkit::postgres()
            .await?
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; DROP SCHEMA IF EXISTS {SCHEMA}_erp CASCADE"
            ))
            .await?;
        let address = SocketAddr::from(([127, 0, 0, 1], testkit::free_port()));
        let log_file = std::fs::File::create(log)?;
        let mut command = crate::coldstart::command_under(runner, binary);
        command
            .env("FINANCE_CLOSING_MODE", "service")
            .env("FINANCE_CLOSING_HTTP_ADDR", address.to_string())
            .env("ERP_BACKEND", "simulated")
            .env("SIMULATOR_SCHEMA", format!("{SCHEMA}_erp"))
            .env("SIMULATED_JOB_DURATION", "4s")
            .env("POLL_INTERVAL", "1s")
            .env("CLOSING_RESULT_TABLES", TABLES)
            .envs(testkit::postgres_env()?)
            .env("PG_SCHEMA", SCHEMA)
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut service = Self { child, address };
        // Under qemu-user a release binary takes longer to listen: up to a minute.
        for _ in 0..1200 {
            if TcpStream::connect(address).is_ok() {
                return Ok(service);
            }
            if let Some(status) = service.child.try_wait()? {
                bail!(
                    "finance-closing exited ({status}) before listening; see {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "finance-closing never listened on {address}; see {}",
            log.display()
        )
    }

    /// Registers the service with restate-server (what `make restate-register` does).
    pub async fn register(&self, restate: &RestateServer) -> Result<()> {
        restate
            .register(&format!("http://{}", self.address), false)
            .await
            .map_err(|e| anyhow::anyhow!("registering with restate-server: {e}"))
    }

    /// The service's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

/// Waits for the workflow of `date` (started by the trigger) and returns its report.
pub async fn attach(restate: &RestateServer, date: &str) -> Result<Value> {
    let (status, body) = http_request(
        "GET",
        &format!(
            "{}/restate/workflow/FinanceClosing/{date}/attach",
            restate.ingress_url()
        ),
        None,
        &[],
    )
    .await
    .map_err(|e| anyhow::anyhow!("attaching to the workflow: {e}"))?;
    if status != 200 {
        bail!("the closing answered {status}: {body}");
    }
    Ok(serde_json::from_str(&body)?)
}

/// Rows in PostgreSQL for `date`, per result table, and the recorded status.
pub async fn stored(date: &str) -> Result<(String, Vec<(String, i64)>)> {
    let client = testkit::postgres().await?;
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")?;
    let status: String = client
        .query_one(
            &format!("SELECT status FROM {SCHEMA}.closing_runs WHERE closing_date = $1"),
            &[&day],
        )
        .await?
        .get(0);
    let mut rows = Vec::new();
    for table in TABLES.split(',') {
        let count: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {SCHEMA}.{table} WHERE closing_date = $1"),
                &[&day],
            )
            .await?
            .get(0);
        rows.push((table.to_owned(), count));
    }
    Ok((status, rows))
}
