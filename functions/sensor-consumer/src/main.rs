//! Composition root of the `sensor-consumer` Lambda: configuration, thresholds and clients are
//! built once and shared by every invocation of the warm container.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::params::{DEFAULT_TTL, GetOptions, ParameterStore, SsmParameterSource};
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::{aws, logging, metrics};
use sensor_consumer::config::ConsumerConfig;
use sensor_consumer::consumer::Consumer;
use sensor_consumer::thresholds::Thresholds;
use serde_json::value::RawValue;

// One thread: Lambda hands a function one event at a time, and below 1,769 MB of memory it has
// less than one vCPU; the I/O still overlaps on this thread, blocking work goes to
// `spawn_blocking`, and no worker threads are started during the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(
        &ProcessEnv,
        "sensor-consumer",
    ))?;
    let config = ConsumerConfig::from_source(ProcessEnv)?;
    let sdk = aws::load_sdk_config().await?;
    let thresholds = match (&config.thresholds_json, &config.thresholds_param) {
        (Some(text), _) => Thresholds::parse(text)?,
        (None, Some(name)) => {
            let params =
                ParameterStore::new(SsmParameterSource::new(aws::ssm_client(&sdk)), DEFAULT_TTL);
            Thresholds::parse(params.get(name, GetOptions::plain()).await?.expose())?
        }
        (None, None) => Thresholds::default(),
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
                    &event.context.request_id,
                    chrono::Utc::now(),
                )
                .await
            }
        }),
    )
    .await
}
