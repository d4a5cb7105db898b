//! `orabridge-demo sam` (run by `make test-sam`): the suite under SAM's own emulators.
//!
//! `tools/sam/test-sam.sh` readies Docker, the Lambda image and `sam build` of the real
//! `template.yaml`; this command starts the demo's local stack (moto, restate-server, the
//! PostgreSQL check, the Unified API stand-in behind a dead primary), seeds it under the SSM
//! names the template itself gives (its defaults: `/orabridge/dev/<function>/...`), and drives
//! the built template three ways:
//! 1. `sam local invoke` of each function with every sample event of the demo's plan, checked
//!    as the demo checks them, then what they left in S3, SQS and PostgreSQL;
//! 2. `sam local start-api`: real HTTP requests through SAM's REST API emulation of the proxy;
//! 3. `sam local start-lambda`: direct invocations through the AWS SDK's Lambda client, the way
//!    the Unified API invokes the consumer or run-colors.
//!
//! SAM hands a container only the variables the template declares. Their local values come
//! from an `--env-vars` file: queue URLs and the bucket (resources SAM cannot create), and
//! `AWS_ENDPOINT_URL`, which the template declares only when its `LocalAwsEndpoint` parameter is
//! set, so a deployed function never has it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream};
use orabridge_shared::testkit::{self, MotoServer, RestateServer};
use sha2::Digest;

use crate::closing;
use crate::emulator::{Outcome, ProcessGroup};
use crate::plan::{PLAN, Step};
use crate::stack::{BUCKET, Seeded};

/// Where the template puts each function's parameters with its defaults (`SsmRoot`, `Stage`).
const SSM_PREFIX: &str = "/orabridge/dev";

/// What `make test-sam` hands the command.
pub struct Options {
    /// The template `sam build` wrote (`.aws-sam/test-sam/build/template.yaml`).
    pub template: PathBuf,
    /// The image the functions run in (`--invoke-image`): provided.al2023 or its stand-in.
    pub image: String,
}

/// The template's logical id of the function a plan step names.
fn logical_id(function: &str) -> Result<&'static str> {
    Ok(match function {
        "proxy" => "ProxyFunction",
        "sensor-consumer" => "SensorConsumerFunction",
        "run-colors" => "RunColorsFunction",
        // The plan's finance-closing event is the daily schedule, which the trigger receives.
        "finance-closing" => "FinanceClosingTriggerFunction",
        other => bail!("no function {other:?} in template.yaml"),
    })
}

/// The architecture the functions were built for: this machine's (see `tools/sam/test-sam.sh`).
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x86_64",
    }
}

/// The pinned SAM CLI, run through `tools/sam/sam_host_network.py` so that
/// `--docker-network host` really puts each container on the host network.
struct Sam {
    root: PathBuf,
    template: PathBuf,
    image: String,
    env_vars: PathBuf,
    overrides: String,
}

impl Sam {
    fn command(&self, subcommand: &[&str]) -> Result<Command> {
        let python = testkit::installed_tool("python (make setup)", ".venv/bin/python")?;
        let mut command = Command::new(python);
        command
            .current_dir(&self.root)
            .arg(self.root.join("tools/sam/sam_host_network.py"))
            .args(subcommand)
            .arg("--template")
            .arg(&self.template)
            .args(["--invoke-image", &self.image, "--skip-pull-image"])
            .args(["--docker-network", "host"])
            .arg("--env-vars")
            .arg(&self.env_vars)
            .args(["--parameter-overrides", &self.overrides])
            .args(["--region", testkit::LOCAL_REGION])
            // SAM passes these credentials into the container; moto accepts any.
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", testkit::LOCAL_REGION)
            .env("SAM_CLI_TELEMETRY", "0");
        Ok(command)
    }

    /// `sam local invoke`: the function's answer is SAM's standard output.
    async fn invoke(&self, logical_id: &str, event_file: &Path, log: &Path) -> Result<Outcome> {
        let mut command = self.command(&["local", "invoke", logical_id])?;
        command.arg("--event").arg(event_file);
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .context("running `sam local invoke`")?;
        append_log(log, &output.stderr)?;
        ensure!(
            output.status.success(),
            "`sam local invoke {logical_id}` failed ({}); see {}",
            output.status,
            log.display()
        );
        outcome_of(&output.stdout)
            .with_context(|| format!("`sam local invoke {logical_id}`; see {}", log.display()))
    }

    /// `sam local start-api` or `start-lambda` on `port`, once it listens.
    async fn start(&self, what: &'static str, port: u16, log: &Path) -> Result<ProcessGroup> {
        let mut command = self.command(&["local", what])?;
        command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        // One container per function, kept warm between requests, as Lambda keeps them.
        command.args(["--warm-containers", "LAZY"]);
        // SAM stops its containers on Ctrl-C, so it is told to stop with SIGINT.
        let mut process = ProcessGroup::spawn(what, &mut command, log, "INT")?;
        process
            .wait_until_listening(([127, 0, 0, 1], port).into(), Duration::from_secs(90))
            .await?;
        Ok(process)
    }
}

/// A function's answer as SAM prints it: the response JSON, or Lambda's error document.
fn outcome_of(stdout: &[u8]) -> Result<Outcome> {
    let text = String::from_utf8_lossy(stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("the function's answer is not JSON: {text}"))?;
    if let (Some(error_type), Some(message)) =
        (value["errorType"].as_str(), value["errorMessage"].as_str())
    {
        return Ok(Outcome::Error {
            error_type: error_type.to_owned(),
            message: message.to_owned(),
        });
    }
    Ok(Outcome::Response(value))
}

fn append_log(log: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// The SSM parameters the template's functions read, under the tier's stage prefix: the Unified
/// API stand-in's endpoints, the rules, the Restate ingress, and placeholders for what the local
/// services do not check (PostgreSQL trusts loopback, the simulated ERP needs no Oracle
/// password).
fn ssm_parameters(
    root: &Path,
    endpoints: &str,
    restate: &RestateServer,
) -> Result<Vec<(String, String, bool)>> {
    let rules = std::fs::read_to_string(root.join("events/run-colors-rules.json"))?;
    let ingress = restate.ingress_url();
    let parameters = [
        ("proxy/upstreams", endpoints, false),
        ("proxy/internal-key", "sam-internal-key", true),
        (
            "sensor-consumer/thresholds",
            r#"{"water_level":{"level_cm":{"gt":200}}}"#,
            false,
        ),
        ("run-colors/rules", rules.as_str(), false),
        ("finance-closing/restate-ingress-url", &ingress, false),
        ("finance-closing/restate-token", "sam-local-token", true),
        (
            "finance-closing/pg-password",
            "unused-with-trust-auth",
            true,
        ),
        (
            "finance-closing/oracle-password",
            "unused-with-the-simulated-erp",
            true,
        ),
    ];
    Ok(parameters
        .into_iter()
        .map(|(name, value, secure)| (format!("{SSM_PREFIX}/{name}"), value.to_owned(), secure))
        .collect())
}

/// Runs the whole tier; answers whether everything was as expected.
pub async fn run(options: Options) -> Result<bool> {
    let (root, state_dir) = crate::stack::workspace_and_state_dir()?;
    let state_dir = state_dir.join("sam");
    std::fs::create_dir_all(&state_dir)?;
    let log = state_dir.join("sam.log");
    std::fs::write(&log, "")?;

    println!("orabridge SAM tier: the built template under SAM's emulators");
    println!("  image             {}", options.image);
    let moto = MotoServer::start().await?;
    println!("  ✓ moto server       {} (SSM, SQS, S3)", moto.endpoint());
    let restate = RestateServer::start().await?;
    println!("  ✓ restate-server    ingress {}", restate.ingress_url());
    testkit::postgres().await?;
    println!("  ✓ PostgreSQL        {}", testkit::postgres_url_redacted());
    let (unified_api, endpoints) = crate::stack::start_unified_api().await?;
    println!(
        "  ✓ Unified API       stand-in at {} (primary in SSM refuses connections)",
        unified_api.url()
    );
    let parameters = ssm_parameters(&root, &endpoints, &restate)?;
    let seeded = crate::stack::seed(&moto, &parameters).await?;
    let postgres: serde_json::Map<String, serde_json::Value> = testkit::postgres_env()?
        .into_iter()
        .map(|(name, value)| (name, value.into()))
        .collect();
    println!(
        "  ✓ seeded            {} SSM parameters under {SSM_PREFIX}/, bucket, queues",
        parameters.len()
    );

    let env_vars = state_dir.join("env-vars.json");
    std::fs::write(
        &env_vars,
        env_vars_json(&moto, &seeded, postgres).to_string(),
    )?;
    let sam = Sam {
        root: root.clone(),
        template: options.template,
        image: options.image,
        env_vars,
        overrides: format!(
            "Architecture={} LocalAwsEndpoint={} AllowPlainHttpUpstream=true",
            architecture(),
            moto.endpoint()
        ),
    };

    let binaries = crate::built::current(&root)?;
    let service =
        closing::ClosingService::start(&binaries, &state_dir.join("finance-closing.log")).await?;
    service.register(&restate).await?;
    println!(
        "  ✓ FinanceClosing    workflow served at {} (SIMULATED ERP), registered",
        service.address()
    );

    let invoked =
        invoke_checks(&sam, &root, &state_dir, &moto, &seeded, &service, &restate).await?;

    println!("\nsam local start-api (SAM's REST API emulation in front of the proxy)");
    let api = start_api_checks(&sam, &state_dir, &unified_api, &moto, &seeded).await?;

    println!(
        "\nsam local start-lambda (direct invocations through the AWS SDK; Restate invoking Lambda)"
    );
    let direct = start_lambda_checks(&sam, &root, &state_dir).await?;

    println!("\nSAM's logs: {}", state_dir.display());
    Ok(invoked && api && direct)
}

/// `sam local invoke` of the demo's plan, what the functions left behind, and the EMF metrics
/// the alarms read in the functions' output.
async fn invoke_checks(
    sam: &Sam,
    root: &Path,
    state_dir: &Path,
    moto: &MotoServer,
    seeded: &Seeded,
    service: &closing::ClosingService,
    restate: &RestateServer,
) -> Result<bool> {
    // The functions' output, which SAM writes to the log the tier opened.
    let log = &state_dir.join("sam.log");
    println!("\nsam local invoke (a container per invocation, about 10 s each)");
    let steps: Vec<&Step> = PLAN.iter().collect();
    let as_expected = crate::demo::run_steps(&steps, root, state_dir, async |step, event_file| {
        sam.invoke(logical_id(step.function)?, event_file, log)
            .await
    })
    .await?;
    println!(
        "  {as_expected} of {} invocations answered as the demo expects",
        steps.len()
    );
    let left_behind =
        crate::demo::side_effects(&steps, moto, seeded, Some((root, service, restate))).await?;

    // The alarms in template.yaml read these custom metrics; the functions' output must carry
    // them as EMF, the way CloudWatch receives them.
    const ALARM_METRICS: [&str; 4] = ["Failover", "ReadingsEnqueued", "Accepted", "RunPublished"];
    let metrics_seen = report(
        "EMF metrics the alarms read",
        emf_metrics_in(log, &ALARM_METRICS)
            .map(|()| format!("{} in the functions' output", ALARM_METRICS.join(", "))),
    );

    Ok(as_expected == steps.len() && left_behind && metrics_seen)
}

/// The `--env-vars` document: values for variables the template declares (SAM ignores the
/// others, such as `PG_PASSWORD` in `postgres`). `postgres` carries `PG_SSLMODE` too: the
/// template deploys verify-full, and the machine's PostgreSQL has a certificate no CA vouches
/// for; verify-full itself runs against the test kit's TLS-only cluster (finance-closing's
/// tests/integration/tls.rs).
fn env_vars_json(
    moto: &MotoServer,
    seeded: &Seeded,
    postgres: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    let mut closing = postgres;
    for (name, value) in [
        ("ERP_BACKEND", "simulated"),
        ("PG_SCHEMA", closing::SCHEMA),
        ("CLOSING_RESULT_TABLES", closing::TABLES),
        ("POLL_INTERVAL", "1s"),
    ] {
        closing.insert(name.into(), value.into());
    }
    serde_json::json!({
        "FinanceClosingFunction": closing,
        // Applied to every function that declares the variable.
        "Parameters": {
            "AWS_ENDPOINT_URL": moto.endpoint(),
            "METRICS_NAMESPACE": "OrabridgeSamLocal",
        },
        "ProxyFunction": { "SENSOR_QUEUE_URL": seeded.sensor_queue_url },
        "SensorConsumerFunction": {
            "BUCKET": BUCKET,
            "ALERT_QUEUE_URL": seeded.alert_queue_url,
        },
        // The sample CSV is copied into the function's folder after `sam build`: SAM mounts that
        // folder as /var/task.
        "RunColorsFunction": {
            "BUCKET": BUCKET,
            "COLORS_CSV": "/var/task/run-colors-sample.csv",
        },
    })
}

/// One check's line, printed; answers whether it passed.
fn report(name: &str, check: Result<String>) -> bool {
    match check {
        Ok(summary) => {
            println!("  ✓ {name:<34} {summary}");
            true
        }
        Err(err) => {
            println!("  ✗ {name:<34} {err:#}");
            false
        }
    }
}

async fn start_api_checks(
    sam: &Sam,
    state_dir: &Path,
    unified_api: &LoopbackUpstream,
    moto: &MotoServer,
    seeded: &Seeded,
) -> Result<bool> {
    let port = testkit::free_port();
    let _api = sam
        .start("start-api", port, &state_dir.join("start-api.log"))
        .await?;
    let base = format!("http://127.0.0.1:{port}");
    let mut all = true;

    all &= report(
        "GET with a query string",
        query_string_is_forwarded(&base, unified_api).await,
    );

    all &= report(
        "POST of a random binary body",
        binary_body_round_trips(&base, unified_api).await,
    );

    all &= report(
        "a path that tries to leave /api/v1/",
        path_escape_is_refused(&base).await,
    );

    all &= report(
        "a route the API does not have",
        missing_route_is_the_apis(&base).await,
    );

    all &= report("GET /health", health_names_the_secondary(&base).await);

    all &= report(
        "POST /ingest/sensor-data",
        readings_reach_the_queue(&base, moto, seeded).await,
    );
    Ok(all)
}

/// The start-api check "GET with a query string".
async fn query_string_is_forwarded(base: &str, unified_api: &LoopbackUpstream) -> Result<String> {
    let (status, headers, _) = http(
        "GET",
        &format!("{base}/api/v1/orders?status=open&limit=5&tag=a%20b"),
        &[],
        Bytes::new(),
    )
    .await?;
    ensure!(status == 200, "status {status}");
    ensure!(
        headers.get("x-upstream").and_then(|v| v.to_str().ok()) == Some("unified-api-stand-in"),
        "not answered by the stand-in: {headers:?}"
    );
    let forwarded = unified_api
        .requests()
        .last()
        .map(|r| r.path_and_query.clone())
        .unwrap_or_default();
    // The event's order, RFC 3986-encoded: a REST API event carries the values decoded, so
    // the proxy encodes them again (a space as %20). SAM's emulator writes every event with
    // its keys sorted (`json.dumps(event, sort_keys=True)` in samcli's
    // local_apigw_service.py), so here the event's order is alphabetical, where lambda_http
    // alone gave a random one.
    ensure!(
        forwarded == "/api/v1/orders?limit=5&status=open&tag=a%20b",
        "the stand-in received {forwarded:?}"
    );
    Ok(format!("200 from the stand-in, which received {forwarded}"))
}

/// The start-api check "POST of a random binary body".
async fn binary_body_round_trips(base: &str, unified_api: &LoopbackUpstream) -> Result<String> {
    unified_api.set_behavior(Behavior::Echo);
    let body = random_bytes(64 * 1024);
    // API Gateway turns a base64 proxy answer back into bytes when the request's Accept
    // header names a binary media type ("Return binary media from a Lambda proxy
    // integration", API Gateway Developer Guide); SAM's emulation does the same.
    let answer = http(
        "POST",
        &format!("{base}/api/v1/blobs"),
        &[
            ("content-type", "application/octet-stream"),
            ("accept", "application/octet-stream"),
        ],
        body.clone(),
    )
    .await;
    unified_api.set_behavior(crate::stack::unified_api_behavior());
    let (status, _, echoed) = answer?;
    let received = unified_api.requests().last().map(|r| r.body.clone());
    ensure!(status == 200, "status {status}");
    ensure!(
        received.as_ref() == Some(&body),
        "the upstream received other bytes"
    );
    ensure!(
        echoed == body,
        "the answer's {} bytes differ from the body sent",
        echoed.len()
    );
    Ok(format!(
        "{} bytes through API Gateway and back, byte for byte",
        body.len()
    ))
}

/// The start-api check "a path that tries to leave /api/v1/".
async fn path_escape_is_refused(base: &str) -> Result<String> {
    let (status, error) = get_json(&format!("{base}/api/v1/%2e%2e/admin")).await?;
    ensure!(
        status == 400 && error["error"] == "bad_request",
        "{status} {error}"
    );
    Ok("400 bad_request".to_owned())
}

/// The start-api check "a route the API does not have".
async fn missing_route_is_the_apis(base: &str) -> Result<String> {
    // A REST API answers a path it has no resource for itself, without invoking the
    // function: 403 {"message":"Missing Authentication Token"} (AWS Knowledge Center,
    // "API Gateway 403 Missing Authentication Token"). SAM's emulation does too, so the
    // proxy's own JSON 404 is reached only by direct invocation (the plan's
    // proxy-v2-unknown-route.json above).
    let (status, answer) = get_json(&format!("{base}/api/v2/orders")).await?;
    ensure!(
        status == 403 && answer["message"] == "Missing Authentication Token",
        "{status} {answer}"
    );
    Ok(format!(
        "{status} {answer}, answered by the API, not the proxy"
    ))
}

/// The start-api check "GET /health".
async fn health_names_the_secondary(base: &str) -> Result<String> {
    let (status, health) = get_json(&format!("{base}/health")).await?;
    ensure!(
        status == 200 && health["upstream"] == "secondary",
        "{status} {health}"
    );
    Ok("200, healthy upstream: secondary".to_owned())
}

/// The start-api check "POST /ingest/sensor-data".
async fn readings_reach_the_queue(
    base: &str,
    moto: &MotoServer,
    seeded: &Seeded,
) -> Result<String> {
    let readings = fresh_readings(2);
    let (status, _, body) = http(
        "POST",
        &format!("{base}/ingest/sensor-data"),
        &[("content-type", "application/json")],
        Bytes::from(readings.to_string()),
    )
    .await?;
    let answer = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
    ensure!(status == 202, "{status} {answer}");
    let ids: Vec<String> = answer["messageIds"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let queued = queued_message_ids(moto, &seeded.sensor_queue_url).await?;
    ensure!(
        ids.len() == 2 && ids.iter().all(|id| queued.contains(id)),
        "answered {ids:?}, the queue holds {queued:?}"
    );
    Ok(format!(
        "202, both readings on the queue in moto ({})",
        ids.join(", ")
    ))
}

async fn start_lambda_checks(sam: &Sam, root: &Path, state_dir: &Path) -> Result<bool> {
    let port = testkit::free_port();
    let _lambda = sam
        .start("start-lambda", port, &state_dir.join("start-lambda.log"))
        .await?;
    // (The functions' output, EMF metrics included, goes to start-lambda.log.)
    let sdk = testkit::local_sdk_config(&format!("http://127.0.0.1:{port}")).await;
    let client = aws_sdk_lambda::Client::new(&sdk);
    let mut all = true;
    for (function, event) in [
        ("SensorConsumerFunction", "sensor-direct-readings.json"),
        ("RunColorsFunction", "run-colors-direct-dry-run.json"),
    ] {
        let step = PLAN
            .iter()
            .find(|step| step.event == event)
            .context("the plan has no step for the event")?;
        let mut event_file = root.join("events").join(event);
        if step.fresh_readings {
            event_file = crate::stack::with_fresh_readings(&event_file, state_dir)?;
        }
        let payload = std::fs::read(&event_file)?;
        let check = async {
            let answer = client
                .invoke()
                .function_name(function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .with_context(|| format!("invoking {function} through the Lambda API"))?;
            let body = answer
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default();
            let outcome = outcome_of(&body)?;
            let verdict = (step.check)(&outcome);
            ensure!(
                verdict.as_expected,
                "{}; expected {}",
                verdict.summary,
                step.expected
            );
            Ok(verdict.summary)
        };
        all &= report(&format!("Invoke {function}"), check.await);
    }
    let log = state_dir.join("start-lambda.log");
    all &= report(
        "Restate runs the closing on Lambda",
        closing_through_lambda(&format!("http://127.0.0.1:{port}"), &log).await,
    );
    Ok(all)
}

/// The deployed shape of finance-closing: a restate-server whose Lambda client points at
/// `sam local start-lambda` registers `FinanceClosingFunction` by ARN (as
/// `make restate-register-aws` registers the published version), a closing is started through
/// its ingress, and Restate drives the workflow by invoking the function in SAM's emulator,
/// each durable step a Lambda invocation, until the results are in PostgreSQL.
async fn closing_through_lambda(lambda_endpoint: &str, lambda_log: &Path) -> Result<String> {
    // A date of its own: the demo's closing through the HTTP service used the trigger's date.
    const DATE: &str = "2026-11-18";
    // The simulator's default schema (SIMULATOR_SCHEMA is not a deployed setting): only local
    // runs use it, and a job left from an earlier run would be taken for this one.
    testkit::postgres()
        .await?
        .batch_execute("DROP SCHEMA IF EXISTS erp_simulator CASCADE")
        .await?;
    let restate = RestateServer::start_invoking_lambda_at(lambda_endpoint).await?;
    // `live` is the alias AutoPublishAlias keeps on the newest version; SAM resolves a
    // qualified ARN to the function.
    let arn = format!(
        "arn:aws:lambda:{}:123456789012:function:FinanceClosingFunction:live",
        testkit::LOCAL_REGION
    );
    restate
        .register_lambda(&arn)
        .await
        .map_err(|e| anyhow::anyhow!("registering {arn}: {e}"))?;
    let date =
        finance_closing::closing::ClosingDate::parse(DATE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ingress = restate.ingress_url();
    let config = finance_closing::config::TriggerConfig::from_source([(
        "RESTATE_INGRESS_URL",
        ingress.as_str(),
    )])?;
    finance_closing::trigger::build(config)?
        .start(date)
        .await
        .map_err(|e| anyhow::anyhow!("starting the closing: {e}"))?;
    let report = closing::attach(&restate, DATE).await?;
    let (status, rows) = closing::stored(DATE).await?;
    ensure!(
        report["phase"] == "succeeded" && status == "succeeded",
        "the closing of {DATE} ended as {} (closing_runs: {status})",
        report["phase"]
    );
    ensure!(
        rows.iter().all(|(_, count)| *count > 0),
        "no rows copied: {rows:?}"
    );
    // The workflow flushes its own metrics (Restate's Lambda endpoint has no end-of-invocation
    // hook): they must reach the function's output as EMF, which CloudWatch reads.
    emf_metrics_in(
        lambda_log,
        &["ClosingStarted", "ClosingPolls", "ClosingSucceeded"],
    )?;
    Ok(format!(
        "FinanceClosing/{DATE} on FinanceClosingFunction: job {}, {}; {}",
        report["job"].as_str().unwrap_or("-"),
        report["phase"].as_str().unwrap_or("-"),
        rows.iter()
            .map(|(t, n)| format!("{n} rows in {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Fails naming the first of `metrics` that no EMF document in the log file records.
fn emf_metrics_in(log: &Path, metrics: &[&str]) -> Result<()> {
    let output = std::fs::read_to_string(log)?;
    for metric in metrics {
        ensure!(
            emf_metric_recorded(&output, metric),
            "no EMF document with {metric} in {}",
            log.display()
        );
    }
    Ok(())
}

/// Whether some line of `output` is an EMF document that records `metric`.
fn emf_metric_recorded(output: &str, metric: &str) -> bool {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line.trim()).ok())
        .any(|document| {
            let declared = document["_aws"]["CloudWatchMetrics"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|set| set["Metrics"].as_array().into_iter().flatten())
                .any(|m| m["Name"] == metric);
            declared && document.get(metric).is_some()
        })
}

/// A GET and its answer's status and JSON body (null when the body is not JSON).
async fn get_json(url: &str) -> Result<(u16, serde_json::Value)> {
    let (status, _, body) = http("GET", url, &[], Bytes::new()).await?;
    Ok((status, serde_json::from_slice(&body).unwrap_or_default()))
}

/// One HTTP/1.1 request ([`testkit::http_exchange`]), given up after 60 s: the status, headers
/// and body of the answer.
async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(u16, http::HeaderMap, Bytes)> {
    tokio::time::timeout(
        Duration::from_secs(60),
        testkit::http_exchange(method, url, headers, body),
    )
    .await
    .with_context(|| format!("{method} {url} took over 60 s"))?
    .map_err(|err| anyhow::anyhow!("{method} {url}: {err}"))
}

/// `len` bytes that cover every byte value, from a SHA-256 chain seeded by the clock, so each
/// run sends other bytes.
fn random_bytes(len: usize) -> Bytes {
    let mut out: Vec<u8> = (0..=255u8).collect();
    let mut block = sha2::Sha256::digest(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes(),
    );
    while out.len() < len {
        out.extend_from_slice(&block);
        block = sha2::Sha256::digest(block);
    }
    out.truncate(len);
    Bytes::from(out)
}

/// `count` valid readings stamped a minute ago, as `{"readings": [...]}`.
fn fresh_readings(count: usize) -> serde_json::Value {
    let at =
        orabridge_shared::encoding::rfc3339_secs(chrono::Utc::now() - chrono::Duration::minutes(1));
    let readings: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "sensorId": format!("WL-SAM-{i}"),
                "sensorType": "water_level",
                "timestamp": at,
                "values": { "level_cm": 120.5 + i as f64, "battery_v": 3.7 },
                "zone": "Z1",
            })
        })
        .collect();
    serde_json::json!({ "readings": readings })
}

/// The ids of the messages waiting on a queue in moto (received, then left to reappear).
async fn queued_message_ids(moto: &MotoServer, queue_url: &str) -> Result<Vec<String>> {
    let sqs = orabridge_shared::aws::sqs_client(&moto.sdk_config().await);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .context("reading the sensor queue")?;
        if received.messages().is_empty() {
            break;
        }
        ids.extend(
            received
                .messages()
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned)),
        );
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_of_the_plan_is_a_function_of_the_template() {
        let template = std::fs::read_to_string(testkit::workspace_root().join("template.yaml"))
            .unwrap_or_default();
        for step in PLAN {
            let id = logical_id(step.function).unwrap_or_else(|err| panic!("{err}"));
            assert!(
                template.contains(&format!("\n  {id}:\n    Type: AWS::Serverless::Function")),
                "{id} is not a function of template.yaml"
            );
        }
        assert!(logical_id("nope").is_err());
    }

    #[test]
    fn sam_answers_are_read_as_responses_or_lambda_errors() {
        match outcome_of(br#"{"statusCode": 404, "body": "x"}"#) {
            Ok(Outcome::Response(value)) => assert_eq!(value["statusCode"], 404),
            other => panic!("unexpected {other:?}"),
        }
        match outcome_of(
            b"{\"errorType\": \"ConfigError\", \"errorMessage\": \"BUCKET is missing\"}\n",
        ) {
            Ok(Outcome::Error {
                error_type,
                message,
            }) => {
                assert_eq!(error_type, "ConfigError");
                assert_eq!(message, "BUCKET is missing");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(outcome_of(b"Error: container exited").is_err());
    }

    #[test]
    fn emf_documents_are_found_by_the_metrics_they_declare() {
        let output = concat!(
            "START RequestId: 1\n",
            r#"{"level":"INFO","message":"ClosingSucceeded is only a word here"}"#,
            "\n",
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["service"]],"Metrics":[{"Name":"ClosingPolls"}]}]},"service":"finance-closing","ClosingPolls":1}"#,
            "\n"
        );
        assert!(emf_metric_recorded(output, "ClosingPolls"));
        assert!(!emf_metric_recorded(output, "ClosingSucceeded"));
    }

    #[test]
    fn random_bodies_hold_every_byte_value_and_differ_between_runs() {
        let first = random_bytes(4096);
        assert_eq!(first.len(), 4096);
        assert!((0..=255u8).all(|b| first.contains(&b)));
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(first, random_bytes(4096));
    }
}
