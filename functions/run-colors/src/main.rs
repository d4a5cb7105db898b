//! Composition root of the `run-colors` Lambda function: logging, metrics, configuration and
//! clients, built once. The command line is `run-colors-cli` (`tools/run-colors-cli`).

use std::process::ExitCode;

use orabridge_shared::aws;
use orabridge_shared::clock::SystemClock;
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::start::Start;
use run_colors::config::RunColorsConfig;
use run_colors::function::Ports;
use run_colors::ports::ConfiguredRules;

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
    let start = Start::new("run-colors")?;
    let settings = start
        .settings(RunColorsConfig::settings(ProcessEnv))
        .await?;
    let config = RunColorsConfig::from_source(settings)?;
    let sdk = start.sdk().await?;
    let s3 = aws::s3_client(sdk);
    let ports = Ports {
        runs: S3ObjectStore::new(s3.clone(), config.bucket.clone()),
        rules: ConfiguredRules::new(
            &config.rules,
            // The store the settings were read through, when there was one: one SSM client.
            || {
                start
                    .take_parameter_store()
                    .unwrap_or_else(|| aws::ssm_parameter_store(sdk))
            },
            |bucket| S3ObjectStore::new(s3.clone(), bucket),
        ),
        colors: config.colors.clone(),
        clock: SystemClock,
    };
    start
        .serve(run_colors::function::build(config, ports)?)
        .await
}
