//! The workflow through the real restate-server and PostgreSQL, against the simulated ERP:
//! a closing completes, a second start attaches, a failing job fails terminally with Oracle's
//! text, `cancel` stops the job, `force` replaces a day's rows; and one job per date whatever
//! fails: a re-run after a permanent poll failure, a cancel of a job still waiting for a job
//! slave, a cancel that arrives after the job ended.

use std::net::SocketAddr;
use std::time::Duration;

use finance_closing::closing::{ClosingDate, ClosingReport, Phase};
use finance_closing::config::{ServiceConfig, TriggerConfig};
use finance_closing::erp::SimulatedErp;
use finance_closing::erp::scheduler::{Job, OracleState, Slaves};
use finance_closing::erp::simulated::SIMULATED_ROWS;
use finance_closing::erp::simulated::SubmitFault;
use finance_closing::service::ServicePorts;
use finance_closing::store::{ClosingStore, PostgresStore};
use finance_closing::trigger::Trigger;
use lambda_runtime::LambdaEvent;
use orabridge_shared::start::Function;
use orabridge_shared::testkit::{self, RestateServer, http_request};
use restate_sdk::prelude::HttpServer;
use serde_json::{Value, json};

use crate::common;

/// The daily trigger `main` builds from `vars`.
fn daily_trigger(vars: &[(&str, &str)]) -> Trigger {
    let config = TriggerConfig::from_source(vars).expect("configuration");
    finance_closing::trigger::build(config).expect("trigger")
}

/// `payload` as the runtime hands it to the trigger.
fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, lambda_runtime::Context::default())
}

const TABLES: [&str; 2] = ["gl_balances", "claims_reserves"];

struct Stack {
    restate: RestateServer,
    store: PostgresStore,
    erp: SimulatedErp,
    pool: deadpool_postgres::Pool,
    schema: String,
}

impl Stack {
    async fn start(tag: &str, job_duration: Duration) -> Stack {
        Stack::start_with(tag, job_duration, Duration::from_secs(30)).await
    }

    /// With steps giving up on transient errors after `retry_for`.
    async fn start_with(tag: &str, job_duration: Duration, retry_for: Duration) -> Stack {
        Stack::start_polling(tag, job_duration, retry_for, Duration::from_millis(200)).await
    }

    /// With polls `poll_interval` apart.
    async fn start_polling(
        tag: &str,
        job_duration: Duration,
        retry_for: Duration,
        poll_interval: Duration,
    ) -> Stack {
        let pool = common::test_pool(8).await;
        let restate = RestateServer::start().await.expect("restate-server");
        let schema = format!("fc_wf_{tag}_{}", std::process::id());
        common::drop_schema(&pool, &schema).await;
        let store = PostgresStore::new(pool.clone(), &schema).expect("store");
        let tables: Vec<String> = TABLES.map(str::to_owned).to_vec();
        store.migrate(&tables).await.expect("migrate");
        let erp = SimulatedErp::new(pool.clone(), &schema, job_duration).expect("simulator");
        erp.migrate().await.expect("simulator tables");

        // The service's configuration as `main` reads it; the ports (the simulated ERP and the
        // store in this test's schema) are the test's own.
        let millis = |duration: Duration| format!("{}ms", duration.as_millis());
        let (poll, retry) = (millis(poll_interval), millis(retry_for));
        let config = ServiceConfig::from_source([
            ("ERP_BACKEND", "simulated"),
            ("PG_HOST", "127.0.0.1"),
            ("PG_DATABASE", "postgres"),
            ("PG_USER", "postgres"),
            ("CLOSING_RESULT_TABLES", &tables.join(",")),
            ("POLL_INTERVAL", &poll),
            ("MAX_DURATION", "60s"),
            ("RETRY_INITIAL_DELAY", "50ms"),
            ("RETRY_MAX_DELAY", "200ms"),
            ("RETRY_MAX_DURATION", &retry),
        ])
        .expect("configuration");
        let ports = ServicePorts {
            erp: erp.clone(),
            store: store.clone(),
        };
        let endpoint = finance_closing::service::build(&config, ports);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let address: SocketAddr = listener.local_addr().expect("address");
        tokio::spawn(HttpServer::new(endpoint).serve(listener));
        common::register(&restate, address).await;
        Stack {
            restate,
            store,
            erp,
            pool,
            schema,
        }
    }

    async fn call(&self, key: &str, handler: &str, body: Option<Value>) -> (u16, String) {
        http_request(
            "POST",
            &format!(
                "{}/FinanceClosing/{key}/{handler}",
                self.restate.ingress_url()
            ),
            body.as_ref(),
            &[],
        )
        .await
        .expect("ingress")
    }

    async fn send(&self, key: &str, body: Value) {
        let (status, text) = self.call(key, "run/send", Some(body)).await;
        assert!(status < 300, "send: {status} {text}");
    }

    async fn attach(&self, key: &str) -> (u16, String) {
        http_request(
            "GET",
            &format!(
                "{}/restate/workflow/FinanceClosing/{key}/attach",
                self.restate.ingress_url()
            ),
            None,
            &[],
        )
        .await
        .expect("attach")
    }

    async fn status(&self, key: &str) -> Value {
        let (status, body) = self.call(key, "status", None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("status json")
    }

    async fn rows(&self, date: ClosingDate) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in TABLES {
            counts.push(self.store.count_results(table, date).await.expect("count"));
        }
        counts
    }

    /// Waits until the simulator's job `job` is in `state`, or fails the test.
    async fn wait_for_job(&self, job: &str, state: OracleState) -> Job {
        for _ in 0..400 {
            if let Some(found) = self.erp.job(job).await.expect("simulator")
                && found.state == state
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("job {job} never reached {state:?}");
    }

    /// Waits until `status` shows `phase`, or fails the test.
    async fn wait_for_phase(&self, key: &str, phase: &str) {
        for _ in 0..200 {
            if self.status(key).await["phase"] == phase {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{key} never reached phase {phase}: {}",
            self.status(key).await
        );
    }

    /// One job of `date` was ever created and at no moment could two run; its rows.
    async fn one_job(&self, date: ClosingDate) -> Vec<i64> {
        assert_eq!(self.erp.jobs_for(date).await.expect("jobs"), 1);
        assert!(self.erp.peak_runnable(date).await.expect("peak") <= 1);
        self.rows(date).await
    }

    async fn drop_schema(&self) {
        common::drop_schema(&self.pool, &self.schema).await;
    }

    /// The `closing_runs` row of `date`, which must exist.
    async fn recorded(&self, date: ClosingDate) -> finance_closing::store::StoredRun {
        self.store
            .run_of(date)
            .await
            .expect("lookup")
            .expect("the closing is recorded")
    }

    /// `tools/closing.sh` (what `make closing-status` and `make closing-cancel` run) against
    /// this stack's ingress: its standard output, after checking it succeeded.
    async fn operator(&self, action: &str, key: &str) -> String {
        let script = testkit::workspace_root().join("tools/closing.sh");
        // Async: the workflow endpoint is served on this test's runtime.
        let output = tokio::process::Command::new("bash")
            .arg(script)
            .args([action, key])
            .env("RESTATE_INGRESS_URL", self.restate.ingress_url())
            .env("RESTATE_TOKEN", "operator-token-7731")
            .output()
            .await
            .expect("bash");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "closing.sh {action} {key}: {stderr}"
        );
        assert!(!stderr.contains("operator-token-7731"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

fn day(text: &str) -> ClosingDate {
    ClosingDate::parse(text).expect("date")
}

#[tokio::test]
async fn a_closing_completes_and_the_report_closing_runs_and_rows_agree() {
    let stack = Stack::start("full", Duration::from_millis(800)).await;
    let date = day("2026-11-20");
    let (status, body) = stack
        .call("2026-11-20", "run", Some(json!({"date": "2026-11-20"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(report.phase, Phase::Succeeded);
    assert_eq!(report.job, "FC_20261120_A1");
    assert_eq!(report.tables.len(), 2);
    assert!(
        report
            .tables
            .iter()
            .all(|t| t.rows == u64::from(SIMULATED_ROWS))
    );
    assert!(report.started_at.is_some() && report.ended_at.is_some());

    let stored = stack.recorded(date).await;
    assert_eq!(stored.status, "succeeded");
    assert_eq!(stored.report, report);
    assert_eq!(stack.rows(date).await, [i64::from(SIMULATED_ROWS); 2]);
    let status = stack.status("2026-11-20").await;
    assert_eq!(status["phase"], "succeeded");
    assert_eq!(status["rows_copied"], 2 * SIMULATED_ROWS);
    stack.drop_schema().await;
}

#[tokio::test]
async fn starting_the_same_date_twice_submits_one_job_and_copies_one_set_of_rows() {
    let stack = Stack::start("twice", Duration::from_millis(1500)).await;
    let date = day("2026-11-19");
    stack.send("2026-11-19", json!({})).await;
    stack.send("2026-11-19", json!({})).await;
    let (status, body) = stack.attach("2026-11-19").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stack.erp.jobs_for(date).await.expect("jobs"), 1);
    assert_eq!(stack.rows(date).await, [i64::from(SIMULATED_ROWS); 2]);
    // Restate refuses a second run of the key; the caller attaches to the first one instead.
    let (status, again) = stack.call("2026-11-19", "run", Some(json!({}))).await;
    assert_eq!(status, 409, "{again}");
    assert!(again.contains("already invoked"), "{again}");
    let (status, first) = stack.attach("2026-11-19").await;
    assert_eq!((status, first), (200, body));
    assert_eq!(stack.erp.jobs_for(date).await.expect("jobs"), 1);
    stack.drop_schema().await;
}

#[tokio::test]
async fn a_failing_job_fails_the_closing_terminally_with_the_oracle_text() {
    let stack = Stack::start("fail", Duration::from_millis(500)).await;
    let date = day("2026-11-18");
    stack
        .erp
        .fail_date(date, Some("ORA-20001: ledger GL-01 is out of balance"))
        .await
        .expect("arm failure");
    let (status, body) = stack.call("2026-11-18", "run", Some(json!({}))).await;
    assert!(
        status >= 400,
        "a failed closing is an error: {status} {body}"
    );
    assert!(
        body.contains("ORA-20001: ledger GL-01 is out of balance"),
        "{body}"
    );
    let stored = stack.recorded(date).await;
    assert_eq!(stored.status, "failed");
    assert_eq!(
        stored.report.error.as_deref(),
        Some("ORA-20001: ledger GL-01 is out of balance")
    );
    assert_eq!(stack.rows(date).await, [0, 0], "nothing copied");
    assert_eq!(stack.status("2026-11-18").await["phase"], "failed");
    stack.drop_schema().await;
}

#[tokio::test]
async fn cancel_stops_the_job_and_ends_the_closing_as_cancelled() {
    let stack = Stack::start("cancel", Duration::from_secs(3600)).await;
    let date = day("2026-11-17");
    stack.send("2026-11-17", json!({})).await;
    // Wait until the job is submitted and running.
    for _ in 0..100 {
        if stack.status("2026-11-17").await["phase"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stack.status("2026-11-17").await["phase"], "running");
    // Through the operator commands (`make closing-status` / `make closing-cancel`).
    let status_text = stack.operator("status", "2026-11-17").await;
    let shown: Value = serde_json::from_str(&status_text).expect("status json");
    assert_eq!(shown["phase"], "running");
    assert_eq!(shown["job"], date.job_name(1));
    let cancelled = stack.operator("cancel", "2026-11-17").await;
    assert!(cancelled.contains("cancel requested"), "{cancelled}");
    let (status, body) = stack.attach("2026-11-17").await;
    assert_eq!(status, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(report.phase, Phase::Cancelled);
    let job_state = {
        use finance_closing::erp::Erp;
        stack.erp.poll(&date.job_name(1)).await.expect("poll").state
    };
    assert_eq!(job_state, finance_closing::closing::JobState::Stopped);
    assert_eq!(stack.recorded(date).await.status, "cancelled");
    stack.drop_schema().await;
}

#[tokio::test]
async fn force_re_runs_a_succeeded_date_and_replaces_its_rows() {
    let stack = Stack::start("force", Duration::from_millis(400)).await;
    let date = day("2026-11-16");
    let (status, body) = stack.call("2026-11-16", "run", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    // Without force, a new workflow for the same date returns the stored report.
    let (status, body) = stack.call("2026-11-16+r2", "run", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let unforced: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(unforced.job, "FC_20261116_A1");
    assert_eq!(stack.erp.jobs_for(date).await.expect("jobs"), 1);
    // With force: a second job, the rows replaced, not appended.
    let (status, body) = stack
        .call("2026-11-16+r3", "run", Some(json!({"force": true})))
        .await;
    assert_eq!(status, 200, "{body}");
    let forced: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(forced.job, "FC_20261116_A2");
    assert_eq!(stack.erp.jobs_for(date).await.expect("jobs"), 2);
    assert_eq!(stack.rows(date).await, [i64::from(SIMULATED_ROWS); 2]);
    stack.drop_schema().await;
}

#[test]
fn the_operator_commands_refuse_bad_dates_and_say_what_is_missing() {
    let script = testkit::workspace_root().join("tools/closing.sh");
    let run = |args: &[&str], url: Option<&str>| {
        let mut command = std::process::Command::new("bash");
        command
            .arg(&script)
            .args(args)
            .env_remove("RESTATE_INGRESS_URL");
        if let Some(url) = url {
            command.env("RESTATE_INGRESS_URL", url);
        }
        let output = command.output().expect("bash");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["status", "yesterday"], Some("http://127.0.0.1:1"));
    assert_eq!(code, Some(2));
    assert!(err.contains("DATE must be YYYY-MM-DD"), "{err}");
    let (code, err) = run(&["status", "2026-11-20"], None);
    assert_eq!(code, Some(2));
    assert!(err.contains("RESTATE_INGRESS_URL"), "{err}");
    let closed: String = format!("http://127.0.0.1:{}", testkit::free_port());
    let (code, err) = run(&["cancel", "2026-11-20"], Some(&closed));
    assert_eq!(code, Some(1));
    assert!(err.contains("could not reach"), "{err}");
}

#[tokio::test]
async fn a_key_that_is_not_a_date_is_refused_terminally() {
    let stack = Stack::start("badkey", Duration::from_millis(100)).await;
    let (status, body) = stack.call("yesterday", "run", Some(json!({}))).await;
    assert!(status >= 400, "{status} {body}");
    assert!(body.contains("is not a calendar date"), "{body}");
    let (status, body) = stack
        .call("2026-11-20", "run", Some(json!({"date": "2026-11-21"})))
        .await;
    assert!(
        status >= 400 && body.contains("differs from the workflow key"),
        "{status} {body}"
    );
    stack.drop_schema().await;
}

#[tokio::test]
async fn the_daily_trigger_starts_a_date_once_and_reports_an_unreachable_or_refusing_ingress() {
    use finance_closing::trigger::TriggerError;
    let stack = Stack::start("trigger", Duration::from_millis(600)).await;
    let ingress = stack.restate.ingress_url();
    let trigger = daily_trigger(&[("RESTATE_INGRESS_URL", ingress.as_str())]);
    let first = trigger
        .handle(event(json!({"date": "2026-11-12"})))
        .await
        .expect("started");
    assert_eq!(first.status.as_deref(), Some("Accepted"), "{first:?}");
    let second = trigger
        .handle(event(json!({"date": "2026-11-12"})))
        .await
        .expect("started again");
    assert_eq!(
        second.status.as_deref(),
        Some("PreviouslyAccepted"),
        "{second:?}"
    );
    assert_eq!(first.invocation_id, second.invocation_id);
    let (status, body) = stack.attach("2026-11-12").await;
    assert_eq!(status, 200, "{body}");
    let date = day("2026-11-12");
    assert_eq!(stack.erp.jobs_for(date).await.expect("jobs"), 1);
    assert_eq!(stack.rows(date).await, [i64::from(SIMULATED_ROWS); 2]);

    let closed: String = format!("http://127.0.0.1:{}", testkit::free_port());
    let secret = "restate-token-9931";
    let err = daily_trigger(&[
        ("RESTATE_INGRESS_URL", closed.as_str()),
        ("RESTATE_TOKEN", secret),
    ])
    .handle(event(json!({"date": "2026-11-12"})))
    .await
    .expect_err("nothing listens there");
    assert!(matches!(err, TriggerError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&closed));
    // The admin API has no FinanceClosing route: a refusal, with its status.
    let admin = stack.restate.admin_url();
    let err = daily_trigger(&[
        ("RESTATE_INGRESS_URL", admin.as_str()),
        ("RESTATE_TOKEN", secret),
    ])
    .handle(event(json!({"date": "2026-11-12"})))
    .await
    .expect_err("refused");
    assert!(
        matches!(err, TriggerError::Refused { status: 404, .. }),
        "{err:?}"
    );
    assert!(!format!("{err:?} {err}").contains("restate-token-9931"));
    stack.drop_schema().await;
}

#[tokio::test]
async fn a_submit_interrupted_at_each_step_is_retried_into_one_running_job() {
    let stack = Stack::start("faults", Duration::from_millis(300)).await;
    for (offset, point) in SubmitFault::ALL.into_iter().enumerate() {
        let key = format!("2026-10-{:02}", 1 + offset);
        let date = day(&key);
        // Two interruptions in a row at this step, then the connection holds.
        stack
            .erp
            .fail_submit(
                point,
                2,
                false,
                "ORA-03113: end-of-file on communication channel",
            )
            .await
            .expect("arm");
        let (status, body) = stack.call(&key, "run", Some(json!({}))).await;
        assert_eq!(status, 200, "{point:?}: {body}");
        let report: ClosingReport = serde_json::from_str(&body).expect("report");
        assert_eq!(report.phase, Phase::Succeeded, "{point:?}");
        assert_eq!(report.job, date.job_name(1), "{point:?}");
        assert_eq!(
            stack.erp.jobs_for(date).await.expect("jobs"),
            1,
            "{point:?}"
        );
        assert_eq!(
            stack.rows(date).await,
            [i64::from(SIMULATED_ROWS); 2],
            "{point:?}"
        );
    }
    stack.drop_schema().await;
}

#[tokio::test]
async fn a_permanent_error_ends_the_closing_at_once_recorded_so_a_re_run_takes_a_new_job() {
    let stack = Stack::start("permanent", Duration::from_millis(200)).await;
    let date = day("2026-10-08");
    let refusal =
        "ORA-06550: line 1, column 7: PLS-00201: identifier 'GENIUS.PKG_CLOSING' must be declared";
    stack
        .erp
        .fail_submit(SubmitFault::AfterCreate, 1, true, refusal)
        .await
        .expect("arm");
    let (status, body) = stack.call("2026-10-08", "run", Some(json!({}))).await;
    assert!(status >= 400, "{status} {body}");
    assert!(
        body.contains("PLS-00201"),
        "Oracle's code and text reach the caller: {body}"
    );
    let stored = stack.recorded(date).await;
    assert_eq!(stored.status, "failed");
    assert_eq!(stored.report.job, date.job_name(1));
    assert!(
        stored
            .report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("PLS-00201"))
    );
    assert_eq!(stack.status("2026-10-08").await["phase"], "failed");
    // The fault was used once: a re-run of the date gets attempt 2 and succeeds.
    let (status, body) = stack.call("2026-10-08+r2", "run", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(report.job, date.job_name(2));
    assert_eq!(report.phase, Phase::Succeeded);
    stack.drop_schema().await;
}

#[tokio::test]
async fn transient_errors_that_outlast_the_retry_policy_end_the_closing_as_failed() {
    let stack = Stack::start_with(
        "exhausted",
        Duration::from_millis(200),
        Duration::from_secs(2),
    )
    .await;
    let date = day("2026-10-09");
    stack
        .erp
        .fail_submit(
            SubmitFault::BeforeCreate,
            1_000,
            false,
            "ORA-12170: TNS:Connect timeout occurred",
        )
        .await
        .expect("arm");
    let (status, body) = stack.call("2026-10-09", "run", Some(json!({}))).await;
    assert!(status >= 400, "{status} {body}");
    let stored = stack.recorded(date).await;
    assert_eq!(stored.status, "failed");
    assert_eq!(stack.status("2026-10-09").await["phase"], "failed");
    assert_eq!(stack.erp.jobs_for(date).await.expect("jobs"), 0);
    stack.drop_schema().await;
}

#[tokio::test]
async fn a_re_run_after_a_permanent_poll_failure_settles_the_running_job_and_copies_it_once() {
    let stack = Stack::start("repoll", Duration::from_millis(1500)).await;
    let date = day("2026-10-12");
    // The job hidden from the poll for a moment, as a missing column hides it on 11.2.
    stack
        .erp
        .fail_poll(1, true, "ORA-00904: \"ERRORS\": invalid identifier")
        .await
        .expect("arm");
    let (status, body) = stack.call("2026-10-12", "run", Some(json!({}))).await;
    assert!(
        status >= 400 && body.contains("ORA-00904"),
        "{status} {body}"
    );
    let failed = stack.recorded(date).await;
    assert_eq!(
        (failed.status.as_str(), failed.report.job.as_str()),
        ("failed", "FC_20261012_A1")
    );
    let running = stack.erp.job("FC_20261012_A1").await.expect("simulator");
    assert_eq!(
        running.map(|job| job.state),
        Some(OracleState::Running),
        "left as Oracle has it"
    );

    let (status, body) = stack.call("2026-10-12+r2", "run", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(
        (report.phase, report.job.as_str()),
        (Phase::Succeeded, "FC_20261012_A1")
    );
    assert_eq!(stack.one_job(date).await, [i64::from(SIMULATED_ROWS); 2]);
    assert_eq!(stack.recorded(date).await.status, "succeeded");
    stack.drop_schema().await;
}

#[tokio::test]
async fn a_cancel_of_a_job_waiting_for_a_slave_disables_it_and_it_never_runs() {
    let stack = Stack::start("pending", Duration::from_millis(300)).await;
    let date = day("2026-10-13");
    stack.erp.set_slaves(Slaves::Held).await.expect("no slaves");
    stack.send("2026-10-13", json!({})).await;
    stack.wait_for_phase("2026-10-13", "submitted").await;
    let shown = stack.status("2026-10-13").await;
    assert_eq!(
        shown["jobs"],
        json!([{"job": "FC_20261013_A1", "state": "scheduled"}]),
        "{shown}"
    );
    stack.operator("cancel", "2026-10-13").await;
    let (status, body) = stack.attach("2026-10-13").await;
    assert_eq!(status, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(
        (report.phase, report.erp_status.as_str()),
        (Phase::Cancelled, "DISABLED")
    );
    // Slaves come back: a job that was only told to stop (ORA-27366) would start now.
    stack
        .erp
        .set_slaves(Slaves::After(Duration::ZERO))
        .await
        .expect("slaves");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let job = stack
        .erp
        .job("FC_20261013_A1")
        .await
        .expect("simulator")
        .expect("job");
    assert_eq!(
        (job.state, job.enabled, job.started_at),
        (OracleState::Disabled, false, None)
    );
    assert_eq!(stack.one_job(date).await, [0, 0]);
    assert_eq!(stack.recorded(date).await.status, "cancelled");
    stack.drop_schema().await;
}

#[tokio::test]
async fn a_cancel_after_the_job_ended_copies_its_rows_and_records_it_as_succeeded() {
    // Polls a minute apart: the job ends long before the first one, and the cancel arrives
    // in between.
    let stack = Stack::start_polling(
        "lately",
        Duration::from_millis(300),
        Duration::from_secs(30),
        Duration::from_secs(60),
    )
    .await;
    let date = day("2026-10-14");
    stack.send("2026-10-14", json!({})).await;
    stack
        .wait_for_job("FC_20261014_A1", OracleState::Succeeded)
        .await;
    stack.operator("cancel", "2026-10-14").await;
    let (status, body) = stack.attach("2026-10-14").await;
    assert_eq!(status, 200, "{body}");
    let report: ClosingReport = serde_json::from_str(&body).expect("report");
    assert_eq!(report.phase, Phase::Succeeded, "{report:?}");
    assert_eq!(stack.one_job(date).await, [i64::from(SIMULATED_ROWS); 2]);
    assert_eq!(stack.recorded(date).await.status, "succeeded");
    stack.drop_schema().await;
}
