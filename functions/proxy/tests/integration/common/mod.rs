//! Shared helpers for the proxy tests: invocation events built from the sample events in
//! `events/`, served through `Function::handle` (what `main` serves), and a proxy composed by
//! [`proxy::build`] over real loopback upstreams and a manual clock.

#![allow(dead_code)]

use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use orabridge_shared::clock::{Clock, ManualClock};
use orabridge_shared::idempotency::IdempotencyStore;
use orabridge_shared::params::{MemoryParameterSource, ParameterSource};
use orabridge_shared::queue::{MemoryQueue, MessageQueue};
use orabridge_shared::start::Function;
use proxy::client::{HyperClient, UpstreamClient};
use proxy::config::ProxyConfig;
use proxy::{Ports, Proxy};
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
    // The loopback upstreams speak plain HTTP.
    config.allow_plain_http = true;
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
    proxy_built(source, queue, clock, config, None)
}

/// A proxy as `main` composes it, over these ports and the upstream client `main` builds.
pub fn proxy_built<S: ParameterSource, Q: MessageQueue, I: IdempotencyStore>(
    source: S,
    queue: Q,
    clock: &ManualClock,
    config: ProxyConfig,
    idempotency: Option<I>,
) -> Proxy<S, HyperClient, Q, ManualClock, I> {
    let client = HyperClient::new(config.connect_timeout, config.response_limit).expect("client");
    let ports = Ports {
        parameters: source,
        upstreams: client,
        queue,
        clock: clock.clone(),
        idempotency,
    };
    proxy::build(config, ports)
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

/// An invocation: the API Gateway event and the Lambda context it comes with.
pub struct Event {
    /// The event as API Gateway sends it.
    pub json: Value,
    /// The invocation's context (its deadline).
    pub context: Context,
}

/// The function's answer, read back from the JSON Lambda would return: status, headers (v1
/// `multiValueHeaders`, v2 `headers` and `cookies` as `Set-Cookie`) and the decoded body.
pub type Answer = http::Response<Vec<u8>>;

/// The sample event `name` from `events/`.
pub fn sample(name: &str) -> Value {
    orabridge_shared::testkit::sample_event(name).expect("sample event")
}

/// Serves `event` through the function `main` serves, and reads its answer back.
pub async fn invoke<S, H, Q, C, I>(proxy: &Proxy<S, H, Q, C, I>, event: Event) -> Answer
where
    S: ParameterSource + 'static,
    H: UpstreamClient + 'static,
    Q: MessageQueue + 'static,
    C: Clock + Clone + 'static,
    I: IdempotencyStore + 'static,
{
    let raw = serde_json::value::RawValue::from_string(event.json.to_string()).expect("raw");
    let answer = proxy
        .handle(LambdaEvent::new(raw, event.context))
        .await
        .expect("an API Gateway event is always answered");
    read_answer(&serde_json::to_value(answer).expect("the answer serialises"))
}

/// The answer in `json` (either payload format) as an HTTP response.
pub fn read_answer(json: &Value) -> Answer {
    let mut response =
        http::Response::builder().status(json["statusCode"].as_u64().expect("statusCode") as u16);
    for field in ["multiValueHeaders", "headers"] {
        for (name, values) in json[field].as_object().into_iter().flatten() {
            let values = match values {
                Value::Array(values) => values.clone(),
                one => vec![one.clone()],
            };
            for value in values {
                response = response.header(name, value.as_str().expect("header value"));
            }
        }
    }
    for cookie in json["cookies"].as_array().into_iter().flatten() {
        response = response.header("set-cookie", cookie.as_str().expect("cookie"));
    }
    let base64 = json["isBase64Encoded"].as_bool() == Some(true);
    let body = json["body"].as_str().unwrap_or_default();
    let body = match base64 {
        true => orabridge_shared::encoding::base64_decode(body).expect("base64 body"),
        false => body.as_bytes().to_vec(),
    };
    response
        .extension(Base64Body(base64))
        .body(body)
        .expect("a response")
}

/// Whether an answer's body travelled base64-encoded (binary) rather than as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base64Body(pub bool);

/// Whether `response`'s body travelled base64-encoded.
pub fn is_base64(response: &Answer) -> bool {
    response.extensions().get::<Base64Body>() == Some(&Base64Body(true))
}

/// An HTTP API (v2) request, from `events/proxy-v2-get.json` with the given parts.
pub fn v2(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Event {
    let mut e = sample("proxy-v2-get.json");
    e["rawPath"] = path.into();
    e["requestContext"]["http"]["path"] = path.into();
    e["requestContext"]["http"]["method"] = method.into();
    e["rawQueryString"] = query.into();
    e.as_object_mut().map(|o| o.remove("queryStringParameters"));
    for (name, value) in headers {
        e["headers"][name.to_ascii_lowercase()] = (*value).into();
    }
    set_body(&mut e, body);
    Event {
        json: e,
        context: Context::default(),
    }
}

/// A REST API (v1) request, from `events/proxy-v1-health.json` with the given parts.
pub fn v1(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Event {
    let mut e = sample("proxy-v1-health.json");
    e["path"] = path.into();
    // As API Gateway sends them: the resource the path matched and its `{proxy+}` part.
    match path.strip_prefix("/api/v1/") {
        Some(rest) => {
            e["resource"] = "/api/v1/{proxy+}".into();
            e["pathParameters"] = serde_json::json!({ "proxy": rest });
        }
        None => {
            e["resource"] = path.into();
            e["pathParameters"] = Value::Null;
        }
    }
    e["httpMethod"] = method.into();
    e["requestContext"]["httpMethod"] = method.into();
    for (name, value) in headers {
        e["headers"][*name] = (*value).into();
        e["multiValueHeaders"][*name] = serde_json::json!([value]);
    }
    set_body(&mut e, body);
    Event {
        json: e,
        context: Context::default(),
    }
}

fn set_body(e: &mut Value, body: Option<&[u8]>) {
    if let Some(bytes) = body {
        e["body"] = orabridge_shared::encoding::base64_encode(bytes).into();
        e["isBase64Encoded"] = true.into();
    }
}

/// Gives the invocation a deadline `remaining` from now.
pub fn with_remaining_time(mut event: Event, remaining: Duration) -> Event {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    event.context.deadline = now_ms + remaining.as_millis() as u64;
    event
}

pub fn body_bytes(response: &Answer) -> Vec<u8> {
    response.body().clone()
}

pub fn body_json(response: &Answer) -> Value {
    serde_json::from_slice(response.body()).expect("JSON body")
}

/// Seeded random bytes, every byte value likely present.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    orabridge_shared::testkit::TestRng::new(seed).bytes(len)
}
