//! Composition root of the `run-colors` Lambda function: logging, metrics, configuration and
//! clients, built once. The command line is `run-colors-cli` (`tools/run-colors-cli`).

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::{aws, lambda, metrics, oracle};
use run_colors::config::{ColorsSource, Config};
use run_colors::function::RunColors;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        // Someone running this binary by hand wants the command line: say where it is rather
        // than start a Lambda runtime loop that fails to reach its API.
        eprintln!(
            "run-colors is the Lambda function and takes no arguments; \
             the command line is run-colors-cli (cargo run -p run-colors-cli -- --help)"
        );
        return ExitCode::from(2);
    }
    match lambda().await {
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
    let metrics = lambda::init("run-colors")?;
    let sdk = aws::load_sdk_config().await?;
    let plan = Config::settings(ProcessEnv);
    let ssm = plan
        .needs_parameters()
        .then(|| aws::ssm_parameter_store(&sdk));
    let config = Config::from_source(plan.resolve(ssm.as_ref()).await?)?;
    if matches!(config.source, ColorsSource::Oracle(_)) {
        // Fail the init, naming the layer, rather than every scheduled run.
        oracle::load_client()?;
    }
    let s3 = aws::s3_client(&sdk);
    let store = S3ObjectStore::new(s3.clone(), config.bucket.clone());
    let parameters = ssm.or_else(|| {
        config
            .needs_parameters()
            .then(|| aws::ssm_parameter_store(&sdk))
    });
    let rules_bucket = config
        .rules_bucket()
        .map(|bucket| S3ObjectStore::new(s3.clone(), bucket));
    let function = Arc::new(RunColors::new(config, store, parameters, rules_bucket));
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
