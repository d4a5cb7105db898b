//! Composition root of the `run-colors` Lambda: logging, metrics, then the runtime loop.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::{logging, metrics};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(
        &ProcessEnv,
        "run-colors",
    ))?;
    metrics::run(
        metrics,
        service_fn(|event: LambdaEvent<serde_json::Value>| async move {
            run_colors::handle(&event.payload)
        }),
    )
    .await
}
