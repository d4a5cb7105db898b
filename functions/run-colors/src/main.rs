//! Composition root of `run-colors`: with arguments it is the command line (see `cli`), without
//! it is the Lambda function: logging, metrics, configuration and clients, built once.

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::params::{DEFAULT_TTL, ParameterStore, SsmParameterSource};
use orabridge_shared::{aws, logging, metrics, oracle};
use run_colors::cli;
use run_colors::function::{ColorsSource, Config, RunColors};

// One thread: Lambda hands a function one event at a time, and below 1,769 MB of memory it has
// less than one vCPU; the I/O still overlaps on this thread, blocking work goes to
// `spawn_blocking`, and no worker threads are started during the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        return match cli::parse(&args) {
            Err(usage) => {
                eprintln!("{usage}");
                ExitCode::from(2)
            }
            Ok(command) => exit_code(cli::execute(command).await.map_err(Into::into)),
        };
    }
    exit_code(lambda().await)
}

/// Success, or the whole error chain on stderr and a failure exit.
fn exit_code(result: Result<(), lambda_runtime::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "run-colors: {}",
                orabridge_shared::errors::chain(err.as_ref())
            );
            ExitCode::FAILURE
        }
    }
}

async fn lambda() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(
        &ProcessEnv,
        "run-colors",
    ))?;
    let config = Config::from_source(ProcessEnv)?;
    if matches!(config.source, ColorsSource::Oracle { .. }) {
        // Fail the init, naming the layer, rather than every scheduled run.
        oracle::load_client()?;
    }
    let sdk = aws::load_sdk_config().await?;
    let s3 = aws::s3_client(&sdk);
    let store = S3ObjectStore::new(s3.clone(), config.bucket.clone());
    let parameters = config
        .needs_parameters()
        .then(|| ParameterStore::new(SsmParameterSource::new(aws::ssm_client(&sdk)), DEFAULT_TTL));
    let function = Arc::new(RunColors::new(
        config,
        store,
        parameters,
        s3,
        Arc::new(ProcessEnv),
    ));
    metrics::run(
        metrics,
        service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let function = Arc::clone(&function);
            async move {
                function
                    .handle(&event.payload, chrono::Utc::now().timestamp_micros())
                    .await
            }
        }),
    )
    .await
}
