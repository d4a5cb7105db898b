//! Composition root of the `sensor-consumer` Lambda: configuration, thresholds and clients are
//! built once and shared by every invocation of the warm container.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::{aws, lambda, metrics};
use sensor_consumer::config::ConsumerConfig;
use sensor_consumer::consumer::Consumer;
use sensor_consumer::thresholds::Thresholds;
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let metrics = lambda::init("sensor-consumer")?;
    let sdk = aws::load_sdk_config().await?;
    let plan = ConsumerConfig::settings(ProcessEnv);
    let ssm = plan
        .needs_parameters()
        .then(|| aws::ssm_parameter_store(&sdk));
    let config = ConsumerConfig::from_source(plan.resolve(ssm.as_ref()).await?)?;
    let thresholds = match &config.thresholds {
        Some(document) => Thresholds::parse(document)?,
        None => Thresholds::default(),
    };
    let store = S3ObjectStore::new(aws::s3_client(&sdk), config.bucket.clone());
    // Alerts are rare: the SQS client is built by the first batch that sends one.
    let queue = SqsQueue::lazy(&sdk);
    let consumer = Arc::new(Consumer::new(store, queue, thresholds, config.settings));
    metrics::run(
        metrics,
        // The raw text: a large batch is parsed once, straight into its final type.
        service_fn(move |event: LambdaEvent<Box<RawValue>>| {
            let consumer = Arc::clone(&consumer);
            async move {
                sensor_consumer::handle(
                    &consumer,
                    event.payload.get(),
                    &event.context,
                    chrono::Utc::now(),
                )
                .await
            }
        }),
    )
    .await
}
