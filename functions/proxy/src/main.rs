//! Composition root of the `proxy` Lambda: configuration, clients and the proxy are built once
//! and shared by every invocation of the warm container.

// The runtime's service stack around the raw-event handler nests deeper than rustc's default
// limit when it lays out `main`'s future.
#![recursion_limit = "256"]

use lambda_runtime::Error;
use orabridge_shared::aws;
use orabridge_shared::clock::SystemClock;
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::idempotency::DynamoDbIdempotencyStore;
use orabridge_shared::params::SsmParameterSource;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::start::Start;
use proxy::Ports;
use proxy::client::HyperClient;
use proxy::config::ProxyConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = Start::new("proxy")?;
    let config = ProxyConfig::from_source(ProcessEnv)?;
    let sdk = start.sdk().await?;
    // SQS and DynamoDB are on the request's path: their calls get the short timeouts that let
    // ingestion plan them to end before the answer is due.
    let request_sdk = aws::for_requests(sdk);
    let ports = Ports {
        parameters: SsmParameterSource::new(aws::ssm_client(sdk)),
        upstreams: HyperClient::new(config.connect_timeout, config.response_limit)?,
        // Only the ingestion routes write to SQS: the first of them builds the client.
        queue: SqsQueue::lazy(&request_sdk),
        clock: SystemClock,
        idempotency: config
            .idempotency_table
            .clone()
            .map(|table| DynamoDbIdempotencyStore::new(aws::dynamodb_client(&request_sdk), table)),
    };
    start.serve(proxy::build(config, ports)).await
}
