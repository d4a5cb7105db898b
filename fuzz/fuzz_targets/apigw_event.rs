//! Any invocation event to the proxy, composed by `proxy::build` and invoked through
//! `Function::handle` (what `main` serves): answered in its payload format or refused as not
//! from API Gateway, within the memory bound, never a panic (libFuzzer aborts on a panic even
//! where the handler would have caught it, so a caught panic is a finding too).

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use orabridge_shared::clock::SystemClock;
use orabridge_shared::params::MemoryParameterSource;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::start::Function;
use proxy::Proxy;
use proxy::client::{SendError, UpstreamClient, UpstreamRequest, UpstreamResponse};
use proxy::config::ProxyConfig;

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

/// An upstream that answers every request with its own body.
struct Echo;

impl UpstreamClient for Echo {
    async fn send(
        &self,
        request: UpstreamRequest,
        _timeout: Duration,
    ) -> Result<UpstreamResponse, SendError> {
        Ok(UpstreamResponse {
            status: http::StatusCode::OK,
            headers: request.headers,
            body: Bytes::from(request.body.to_vec()),
        })
    }
}

type FuzzProxy = Proxy<MemoryParameterSource, Echo, MemoryQueue, SystemClock>;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
});

static PROXY: LazyLock<FuzzProxy> = LazyLock::new(|| {
    let config = ProxyConfig::from_source([
        ("SENSOR_QUEUE_URL", "memory://readings"),
        ("ALLOW_PLAIN_HTTP_UPSTREAM", "true"),
    ])
    .expect("config");
    let source = MemoryParameterSource::new();
    source
        .put(&config.upstream_param, "http://unified-api.invalid")
        .put(&config.internal_key_param, "fuzz-key");
    let ports = proxy::Ports {
        parameters: source,
        upstreams: Echo,
        queue: MemoryQueue::new(),
        clock: SystemClock,
        idempotency: None,
    };
    proxy::build(config, ports)
});

fuzz_target!(|data: &[u8]| {
    // The runtime hands the handler a JSON document; anything else never reaches it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(raw) = serde_json::value::RawValue::from_string(text.to_owned()) else {
        return;
    };
    let event = lambda_runtime::LambdaEvent::new(raw, lambda_runtime::Context::default());
    common::within_memory_limit(|| {
        if let Ok(answer) = RUNTIME.block_on(PROXY.handle(event)) {
            let _ = serde_json::to_vec(&answer).expect("every answer serialises");
        }
    });
});
