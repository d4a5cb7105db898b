//! Composition root of the `proxy` Lambda: configuration, clients and the proxy are built once
//! and shared by every invocation of the warm container.

// The runtime's service stack around the raw-event handler nests deeper than rustc's default
// limit when it lays out `main`'s future.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::clock::SystemClock;
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::idempotency::{DynamoDbIdempotencyStore, Idempotency};
use orabridge_shared::params::SsmParameterSource;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::{aws, lambda, metrics};
use proxy::client::HyperClient;
use proxy::config::ProxyConfig;
use proxy::{Proxy, apigw};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let metrics = lambda::init("proxy")?;
    let config = ProxyConfig::from_source(ProcessEnv)?;
    let sdk = aws::load_sdk_config().await?;
    let client = HyperClient::new(config.connect_timeout, config.response_limit)?;
    let source = SsmParameterSource::new(aws::ssm_client(&sdk));
    // SQS and DynamoDB are on the request's path: their calls get the short timeouts that let
    // ingestion plan them to end before the answer is due.
    let request_sdk = aws::for_requests(&sdk);
    // Only the ingestion routes write to SQS: the first of them builds the client.
    let queue = SqsQueue::lazy(&request_sdk);
    let idempotency = config.idempotency_table.clone().map(|table| {
        let store = DynamoDbIdempotencyStore::new(aws::dynamodb_client(&request_sdk), table);
        Idempotency::new(
            store,
            &config.idempotency_scope,
            config.idempotency_expires_after,
        )
    });
    let mut proxy = Proxy::new(config, source, client, queue, SystemClock);
    if let Some(idempotency) = idempotency {
        proxy = proxy.with_idempotency(idempotency);
    }
    let proxy = Arc::new(proxy);
    metrics::run(
        metrics,
        service_fn(
            move |event: LambdaEvent<Box<serde_json::value::RawValue>>| {
                let proxy = Arc::clone(&proxy);
                async move { apigw::handle_event(&proxy, event).await }
            },
        ),
    )
    .await
}
