//! The function over memory ports: a table ranked through `Function::handle` as `main` serves
//! it, the colors a [`MemorySource`], the rules an object in a memory bucket, the run published
//! to a memory store.

use std::collections::BTreeMap;

use lambda_runtime::LambdaEvent;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::object_store::{MemoryObjectStore, ObjectStore};
use orabridge_shared::params::MemoryParameterSource;
use orabridge_shared::start::Function;
use run_colors::config::RunColorsConfig;
use run_colors::emit::Manifest;
use run_colors::function::{InvocationError, Ports, build};
use run_colors::ports::ConfiguredRules;
use run_colors::run::RunError;
use run_colors::sources::MemorySource;

/// The function's clock: a run without a time runs as of it.
pub const AS_OF: &str = "2026-11-20T16:00:00Z";

pub struct Outcome {
    pub manifest: Manifest,
    pub colors: String,
    pub json: serde_json::Value,
    pub excluded: String,
    /// The published run folder's files, by name.
    pub files: BTreeMap<String, Vec<u8>>,
}

pub fn run_table(columns: &[&str], rows: Vec<Vec<Option<String>>>, rules_json: &str) -> Outcome {
    try_run(columns, rows, rules_json).expect("test input")
}

/// Ranks `rows` by `rules_json` through the function `main` serves, composed over memory
/// ports: the colors a [`MemorySource`], the rules an object in a memory bucket, the run
/// published to a memory store, as of the function's clock.
pub fn try_run(
    columns: &[&str],
    rows: Vec<Vec<Option<String>>>,
    rules_json: &str,
) -> Result<Outcome, RunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(publish_table(columns, rows, rules_json))
}

async fn publish_table(
    columns: &[&str],
    rows: Vec<Vec<Option<String>>>,
    rules_json: &str,
) -> Result<Outcome, RunError> {
    let work = tempfile::tempdir().expect("work dir");
    let work_dir = work.path().to_str().expect("a UTF-8 path");
    let config = RunColorsConfig::from_source([
        ("BUCKET", "runs"),
        ("RUNS_PREFIX", "mp"),
        ("RULES_S3_URI", "s3://rules/run-colors.json"),
        ("COLORS_CSV", "the colors come from the memory source"),
        ("WORK_DIR", work_dir),
    ])
    .expect("configuration");
    let rules_bucket = MemoryObjectStore::new();
    rules_bucket
        .put(
            "run-colors.json",
            rules_json.as_bytes().to_vec(),
            "application/json",
        )
        .await
        .expect("rules object");
    let runs = MemoryObjectStore::new();
    let ports = Ports {
        runs: runs.clone(),
        rules: ConfiguredRules::<MemoryParameterSource, _>::new(
            &config.rules,
            || unreachable!("the rules are an object"),
            |_| rules_bucket,
        ),
        colors: MemorySource::new(columns, rows),
        clock: ManualClock::at(AS_OF.parse().expect("test input")),
    };
    let function = build(config, ports).expect("the function builds");
    let event = LambdaEvent::new(serde_json::json!({}), lambda_runtime::Context::default());
    let response = match function.handle(event).await {
        Ok(response) => response,
        Err(InvocationError::Run(err)) => return Err(err),
        Err(other) => panic!("not a run error: {other}"),
    };
    let folder = response.published.expect("published").folder;
    let files: BTreeMap<String, Vec<u8>> = runs
        .objects()
        .into_iter()
        .filter_map(|(key, body)| Some((key.strip_prefix(&folder)?.to_owned(), body)))
        .collect();
    let read = |name: &str| String::from_utf8(files[name].clone()).expect("test input");
    Ok(Outcome {
        manifest: response.manifest,
        colors: read("colors.csv"),
        json: serde_json::from_str(&read("colors.json")).expect("test input"),
        excluded: read("excluded.csv"),
        files,
    })
}
