//! Composition root of the `sensor-consumer` Lambda: logging, metrics, then the runtime loop.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::{logging, metrics};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(
        &ProcessEnv,
        "sensor-consumer",
    ))?;
    metrics::run(
        metrics,
        service_fn(|event: LambdaEvent<SqsEvent>| async move {
            Ok::<SqsBatchResponse, Error>(sensor_consumer::handle(&event.payload))
        }),
    )
    .await
}
