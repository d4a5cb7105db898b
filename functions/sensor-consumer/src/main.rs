//! Composition root of the `sensor-consumer` Lambda: configuration, thresholds and clients are
//! built once and shared by every invocation of the warm container.

use lambda_runtime::Error;
use orabridge_shared::aws;
use orabridge_shared::clock::SystemClock;
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::start::Start;
use sensor_consumer::Ports;
use sensor_consumer::config::SensorConsumerConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = Start::new("sensor-consumer")?;
    let settings = start
        .settings(SensorConsumerConfig::settings(ProcessEnv))
        .await?;
    let config = SensorConsumerConfig::from_source(settings)?;
    let sdk = start.sdk().await?;
    let ports = Ports {
        lake: S3ObjectStore::new(aws::s3_client(sdk), config.bucket.clone()),
        // Alerts are rare: the SQS client is built by the first batch that sends one.
        alerts: SqsQueue::lazy(sdk),
        clock: SystemClock,
    };
    let function = sensor_consumer::build(config, ports)?;
    start.serve(function).await
}
