//! The `demo` command (`make demo`, `make invoke-<function>`): the local stack, every function's
//! binary polling cargo-lambda's Lambda emulator and invoked with its sample events, each answer
//! checked against the plan, then what the functions left behind (the lake, the published run,
//! the simulated closing) read back.

use std::path::Path;

use anyhow::{Context, Result};
use orabridge_shared::testkit::{self, MotoServer, RestateServer};

use crate::built;
use crate::closing;
use crate::emulator::{self, LambdaEmulator};
use crate::plan::{PLAN, Step};
use crate::stack::*;

pub(crate) async fn run(only: Option<&str>) -> Result<bool> {
    let (root, state_dir) = workspace_and_state_dir()?;

    println!("orabridge demo: starting the local stack");
    let moto = MotoServer::start().await?;
    println!("  ✓ moto server       {} (SSM, SQS, S3)", moto.endpoint());
    let restate = RestateServer::start().await?;
    println!(
        "  ✓ restate-server    ingress {}, admin {}",
        restate.ingress_url(),
        restate.admin_url()
    );
    testkit::postgres().await?;
    println!("  ✓ PostgreSQL        {}", testkit::postgres_url_redacted());

    let (unified_api, endpoints) = start_unified_api().await?;
    println!(
        "  ✓ Unified API       stand-in at {} (primary in SSM refuses connections)",
        unified_api.url()
    );

    let seeded = seed(&moto, &proxy_parameters(&endpoints)).await?;
    println!(
        "  ✓ seeded            SSM {UPSTREAM_PARAM}, {INTERNAL_KEY_PARAM} (SecureString); bucket {BUCKET}; queues {SENSOR_QUEUE}, {ALERT_QUEUE}"
    );

    let binaries = built::current(&root)?;
    let env = function_env(&moto, Some(&restate), &seeded);
    let emulator = start_emulator(&root, &binaries, only, &env, &state_dir).await?;

    // The workflow the finance-closing trigger starts must be registered before it is invoked.
    let closing_service = if only.is_none_or(|f| f == "finance-closing") {
        let service =
            closing::ClosingService::start(&binaries, &state_dir.join("finance-closing.log"))
                .await?;
        service.register(&restate).await?;
        println!(
            "  ✓ FinanceClosing    workflow served at {} (SIMULATED ERP), registered with restate-server",
            service.address()
        );
        Some(service)
    } else {
        None
    };

    println!("\ninvocations");
    let steps: Vec<&Step> = PLAN
        .iter()
        .filter(|step| only.is_none_or(|f| step.function == f))
        .collect();
    let as_expected = run_steps(&steps, &root, &state_dir, async |step, event_file| {
        emulator.invoke(step.function, event_file).await
    })
    .await?;
    println!(
        "\n{as_expected} of {} invocations answered as this build should. Function logs: {}",
        steps.len(),
        emulator.log_dir().join("lambda-<function>.log").display()
    );
    let side_effects_as_expected = side_effects(
        &steps,
        &moto,
        &seeded,
        closing_service
            .as_ref()
            .map(|s| (root.as_path(), s, &restate)),
    )
    .await?;
    println!(
        "stopping the Lambda emulator, the Unified API stand-in, restate-server and moto server"
    );
    Ok(as_expected == steps.len() && side_effects_as_expected)
}

/// cargo-lambda's emulator with the plan's functions (`only` one of them, when given) from
/// `binaries`, each polling it with `env`.
async fn start_emulator(
    root: &Path,
    binaries: &Path,
    only: Option<&str>,
    env: &[(String, String)],
    state_dir: &Path,
) -> Result<LambdaEmulator> {
    let mut functions: Vec<&'static str> = PLAN
        .iter()
        .map(|step| step.function)
        .filter(|f| only.is_none_or(|only| only == *f))
        .collect();
    functions.dedup();
    let emulator = LambdaEmulator::start(root, binaries, &functions, env, state_dir).await?;
    println!(
        "  ✓ Lambda emulator   cargo lambda watch on {}, serving {} from {}",
        emulator.address(),
        functions.join(", "),
        binaries.display()
    );
    Ok(emulator)
}

/// Invokes each step's function with its sample event through `invoke`, prints each answer with
/// its verdict, and answers how many were as expected.
pub(crate) async fn run_steps(
    steps: &[&Step],
    root: &Path,
    state_dir: &Path,
    invoke: impl AsyncFn(&Step, &Path) -> Result<emulator::Outcome>,
) -> Result<usize> {
    let mut as_expected = 0;
    for step in steps {
        let mut event_file = root.join("events").join(step.event);
        if step.fresh_readings {
            event_file = with_fresh_readings(&event_file, state_dir)?;
        }
        let outcome = invoke(step, &event_file).await?;
        let verdict = (step.check)(&outcome);
        let mark = if verdict.as_expected { "✓" } else { "✗" };
        println!(
            "  {mark} {:<16} {:<42} → {}",
            step.function, step.event, verdict.summary
        );
        if verdict.as_expected {
            as_expected += 1;
        } else {
            println!(
                "      expected: {}\n      got:      {outcome}",
                step.expected
            );
        }
    }
    Ok(as_expected)
}

/// Checks what the invoked functions left behind, not only what they answered: the data lake
/// and the alert queue (sensor consumer), the published run followed from `latest.json`
/// (run-colors), and the closing the trigger started, followed to its end (finance-closing).
/// Prints a line each and answers whether all were as expected.
pub(crate) async fn side_effects(
    steps: &[&Step],
    moto: &MotoServer,
    seeded: &Seeded,
    closing: Option<(&Path, &closing::ClosingService, &RestateServer)>,
) -> Result<bool> {
    let mut lake_as_expected = true;
    if steps.iter().any(|s| s.function == "sensor-consumer") {
        // Check what the consumer left behind, not only what it answered.
        let lake = LakeContents::read(moto, seeded).await?;
        lake_as_expected = lake.readings > 0 && lake.quarantined == 3 && lake.alerts > 0;
        let mark = if lake_as_expected { "✓" } else { "✗" };
        println!(
            "  {mark} data lake        s3://{BUCKET}/lake: {} readings objects, {} quarantined messages (3 expected); {} alerts on {ALERT_QUEUE}",
            lake.readings, lake.quarantined, lake.alerts
        );
        // The same objects, queried as Athena would: the template's table and view in DuckDB.
        let query = lake_query(moto).await;
        lake_as_expected &= query.is_ok();
        match query {
            Ok(summary) => println!("  ✓ lake query       {summary}"),
            Err(err) => println!("  ✗ lake query       {err:#}"),
        }
    }
    let mut runs_as_expected = true;
    if steps.iter().any(|s| s.function == "run-colors") {
        // The published run, followed from latest.json as MarketPulse would.
        let check = published_run(moto).await;
        runs_as_expected = check.is_ok();
        match check {
            Ok(summary) => println!("  ✓ published run     {summary}"),
            Err(err) => println!("  ✗ published run     {err:#}"),
        }
    }
    let mut closing_as_expected = true;
    if let Some((root, service, restate)) = closing {
        let check = simulated_closing(root, service, restate).await;
        closing_as_expected = check.is_ok();
        match check {
            Ok(summary) => println!("  ✓ closing workflow  {summary}"),
            Err(err) => println!("  ✗ closing workflow  {err:#}"),
        }
    }
    Ok(lake_as_expected && runs_as_expected && closing_as_expected)
}

/// Downloads the lake's readings objects from moto and runs template.yaml's Glue table and
/// de-duplicating view over them in DuckDB (`tools/lake_query.py`).
pub(crate) async fn lake_query(moto: &MotoServer) -> Result<String> {
    let root = testkit::workspace_root();
    let python = testkit::installed_tool("DuckDB (make setup)", ".venv/bin/python")?;
    let s3 = orabridge_shared::aws::s3_client(&moto.sdk_config().await);
    let dir = tempfile::tempdir()?;
    testkit::download_objects(&s3, BUCKET, "lake/readings/", dir.path())
        .await
        .map_err(|err| anyhow::anyhow!("downloading the lake: {err}"))?;
    let output = tokio::process::Command::new(python)
        .arg(root.join("tools/lake_query.py"))
        .arg("--lake")
        .arg(dir.path().join("lake"))
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "tools/lake_query.py: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let kept = result["deduplicated"].as_array().map_or(0, Vec::len);
    Ok(format!(
        "DuckDB over those objects: {} lines in readings, {kept} in readings_deduplicated (one per readingId)",
        result["readings"]
    ))
}

/// The closing the trigger started, followed to its end through restate-server, then
/// PostgreSQL read back and compared with the report.
pub(crate) async fn simulated_closing(
    root: &Path,
    service: &closing::ClosingService,
    restate: &RestateServer,
) -> Result<String> {
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(
        root.join("events/scheduler-finance-closing-daily.json"),
    )?)?;
    let date = finance_closing::trigger::closing_date(&event)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    let started = std::time::Instant::now();
    let report = closing::attach(restate, &date).await?;
    let (status, rows) = closing::stored(&date).await?;
    anyhow::ensure!(
        report["phase"] == "succeeded" && status == "succeeded",
        "the closing of {date} ended as {} (closing_runs: {status})",
        report["phase"]
    );
    for (table, count) in &rows {
        let reported = report["tables"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["table"] == table.as_str()))
            .map(|t| t["rows"].clone());
        anyhow::ensure!(
            reported == Some((*count).into()),
            "{table}: the report says {reported:?}, PostgreSQL holds {count}"
        );
    }
    Ok(format!(
        "FinanceClosing/{date} (started by the trigger) on the SIMULATED ERP via {}: job {}, {} after {:.1} s more; {}; closing_runs agrees",
        service.address(),
        report["job"].as_str().unwrap_or("-"),
        report["phase"].as_str().unwrap_or("-"),
        started.elapsed().as_secs_f64(),
        rows.iter()
            .map(|(t, n)| format!("{n} rows in {}.{t}", closing::SCHEMA))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Follows `latest.json` to the run's manifest and checks every file's size and SHA-256.
pub(crate) async fn published_run(moto: &MotoServer) -> Result<String> {
    let s3 = orabridge_shared::aws::s3_client(&moto.sdk_config().await);
    let get = |key: String| {
        let s3 = s3.clone();
        async move {
            let object = s3
                .get_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .with_context(|| format!("reading s3://{BUCKET}/{key}"))?;
            anyhow::Ok(object.body.collect().await?.into_bytes().to_vec())
        }
    };
    let latest: serde_json::Value =
        serde_json::from_slice(&get(format!("{RUNS_PREFIX}/latest.json")).await?)?;
    let folder = latest["folder"]
        .as_str()
        .context("latest.json has no folder")?;
    let manifest: serde_json::Value = serde_json::from_slice(
        &get(latest["manifest"].as_str().unwrap_or_default().to_owned()).await?,
    )?;
    for file in manifest["files"]
        .as_array()
        .context("manifest has no files")?
    {
        let name = file["name"].as_str().unwrap_or_default();
        let body = get(format!("{folder}{name}")).await?;
        let digest = orabridge_shared::encoding::sha256_hex(&body);
        anyhow::ensure!(
            file["sha256"] == digest.as_str() && file["size"] == body.len(),
            "{name} does not match its manifest entry"
        );
    }
    Ok(format!(
        "s3://{BUCKET}/{folder}: {} securities, {} rows in, {} excluded; checksums verified",
        manifest["securities"], manifest["rows"]["input"], manifest["rows"]["excluded"]
    ))
}

/// What the sensor consumer wrote, read back from moto.
struct LakeContents {
    readings: usize,
    quarantined: usize,
    alerts: usize,
}

impl LakeContents {
    async fn read(moto: &MotoServer, seeded: &Seeded) -> Result<Self> {
        let sdk = moto.sdk_config().await;
        let listed = orabridge_shared::aws::s3_client(&sdk)
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix("lake/")
            .send()
            .await
            .context("listing the data lake")?;
        let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
        let alerts = orabridge_shared::aws::sqs_client(&sdk)
            .receive_message()
            .queue_url(&seeded.alert_queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .context("reading the alert queue")?
            .messages()
            .len();
        Ok(Self {
            readings: keys
                .iter()
                .filter(|k| k.starts_with("lake/readings/"))
                .count(),
            quarantined: keys
                .iter()
                .filter(|k| k.starts_with("lake/quarantine/"))
                .count(),
            alerts,
        })
    }
}
