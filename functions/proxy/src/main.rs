//! Composition root of the `proxy` Lambda: configuration, clients and the proxy are built once
//! and shared by every invocation of the warm container.

use std::sync::Arc;

use lambda_http::{Error, service_fn};
use orabridge_shared::clock::SystemClock;
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::params::SsmParameterSource;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::{aws, logging, metrics};
use proxy::Proxy;
use proxy::client::HyperClient;
use proxy::config::ProxyConfig;

// One thread: Lambda hands a function one event at a time, and below 1,769 MB of memory it has
// less than one vCPU; the I/O still overlaps on this thread, blocking work goes to
// `spawn_blocking`, and no worker threads are started during the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(&ProcessEnv, "proxy"))?;
    let config = ProxyConfig::from_source(ProcessEnv)?;
    let sdk = aws::load_sdk_config().await?;
    let client = HyperClient::new(config.connect_timeout, config.response_limit)?;
    let source = SsmParameterSource::new(aws::ssm_client(&sdk));
    // Only the ingestion routes write to SQS: the first of them builds the client.
    let queue = SqsQueue::lazy(&sdk);
    let proxy = Arc::new(Proxy::new(config, source, client, queue, SystemClock));
    metrics::run_http(
        metrics,
        service_fn(move |request| {
            let proxy = Arc::clone(&proxy);
            async move { Ok::<_, Error>(proxy.handle(request).await) }
        }),
    )
    .await
}
