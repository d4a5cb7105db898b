//! Shared helpers for the proxy tests: requests built from the sample events in `events/`, and a
//! proxy wired to real loopback upstreams with a manual clock.

#![allow(dead_code)]

use std::time::Duration;

use lambda_http::{Body, Request, RequestExt};
use orabridge_shared::clock::ManualClock;
use orabridge_shared::params::{MemoryParameterSource, ParameterSource};
use orabridge_shared::queue::{MemoryQueue, MessageQueue};
use proxy::Proxy;
use proxy::client::HyperClient;
use proxy::config::ProxyConfig;
use serde_json::Value;

pub const UPSTREAM_PARAM: &str = "/munbon/oracle-api-endpoint";
pub const KEY_PARAM: &str = "/munbon/internal-key";
pub const KEY: &str = "k-8d1f0c2e-live-secret";

/// Short timeouts so failure paths run in milliseconds.
pub fn test_config() -> ProxyConfig {
    let mut config = ProxyConfig::from_source([("UNUSED", "")]).expect("defaults");
    config.upstream_timeout = Duration::from_millis(400);
    config.connect_timeout = Duration::from_millis(300);
    config.max_body_bytes = 64 * 1024;
    // Room for an answer as large as the largest request, as in production (4.4 MB and 6 MB).
    config.response_limit = 96 * 1024;
    config
}

pub fn proxy_with<S: ParameterSource>(
    source: S,
    clock: &ManualClock,
) -> Proxy<S, HyperClient, MemoryQueue, ManualClock> {
    proxy_with_config(source, clock, test_config())
}

pub fn proxy_with_config<S: ParameterSource>(
    source: S,
    clock: &ManualClock,
    config: ProxyConfig,
) -> Proxy<S, HyperClient, MemoryQueue, ManualClock> {
    proxy_full(source, MemoryQueue::new(), clock, config)
}

/// A proxy over any parameter source and queue.
pub fn proxy_full<S: ParameterSource, Q: MessageQueue>(
    source: S,
    queue: Q,
    clock: &ManualClock,
    config: ProxyConfig,
) -> Proxy<S, HyperClient, Q, ManualClock> {
    let client = HyperClient::new(config.connect_timeout, config.response_limit).expect("client");
    Proxy::new(config, source, client, queue, clock.clone())
}

/// A proxy reading `upstreams` and the key from an in-memory parameter source.
pub fn proxy(
    upstreams: &[String],
) -> (
    Proxy<MemoryParameterSource, HyperClient, MemoryQueue, ManualClock>,
    MemoryParameterSource,
    ManualClock,
) {
    proxy_configured(upstreams, test_config())
}

/// Like [`proxy`], with an explicit configuration.
pub fn proxy_configured(
    upstreams: &[String],
    config: ProxyConfig,
) -> (
    Proxy<MemoryParameterSource, HyperClient, MemoryQueue, ManualClock>,
    MemoryParameterSource,
    ManualClock,
) {
    let source = MemoryParameterSource::new();
    source
        .put(UPSTREAM_PARAM, &upstreams.join(","))
        .put(KEY_PARAM, KEY);
    let clock = ManualClock::new();
    (
        proxy_with_config(source.clone(), &clock, config),
        source,
        clock,
    )
}

fn event(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("event file")).expect("event JSON")
}

/// An HTTP API (v2) request, from `events/proxy-v2-get.json` with the given parts.
pub fn v2(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Request {
    let mut e = event("proxy-v2-get.json");
    e["rawPath"] = path.into();
    e["requestContext"]["http"]["path"] = path.into();
    e["requestContext"]["http"]["method"] = method.into();
    e["rawQueryString"] = query.into();
    e.as_object_mut().map(|o| o.remove("queryStringParameters"));
    for (name, value) in headers {
        e["headers"][name.to_ascii_lowercase()] = (*value).into();
    }
    set_body(&mut e, body);
    lambda_http::request::from_str(&e.to_string()).expect("valid v2 event")
}

/// A REST API (v1) request, from `events/proxy-v1-health.json` with the given parts.
pub fn v1(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Request {
    let mut e = event("proxy-v1-health.json");
    e["path"] = path.into();
    e["httpMethod"] = method.into();
    e["requestContext"]["httpMethod"] = method.into();
    for (name, value) in headers {
        e["headers"][*name] = (*value).into();
        e["multiValueHeaders"][*name] = serde_json::json!([value]);
    }
    set_body(&mut e, body);
    lambda_http::request::from_str(&e.to_string()).expect("valid v1 event")
}

fn set_body(e: &mut Value, body: Option<&[u8]>) {
    if let Some(bytes) = body {
        e["body"] = base64(bytes).into();
        e["isBase64Encoded"] = true.into();
    }
}

/// Gives the request a Lambda context whose deadline is `remaining` from now.
pub fn with_remaining_time(request: Request, remaining: Duration) -> Request {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let mut context = lambda_runtime::Context::default();
    context.deadline = now_ms + remaining.as_millis() as u64;
    request.with_lambda_context(context)
}

pub fn body_bytes(response: &lambda_http::Response<Body>) -> Vec<u8> {
    response.body().as_ref().to_vec()
}

pub fn body_json(response: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("JSON body")
}

/// Deterministic pseudo-random bytes (xorshift), every byte value likely present.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Standard base64, as API Gateway encodes binary bodies.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
