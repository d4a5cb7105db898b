//! AWS's own sample API Gateway events (`events/aws-lambda-rust-runtime/`, copied unchanged
//! from awslabs/aws-lambda-rust-runtime) and the repository's own (`events/proxy-*.json`),
//! served through the function `main` serves: each is answered in its payload format, never
//! with an invocation error. Then the same events on the contract's routes: a named stage,
//! repeated headers and query values, a query without its multi-value form, the Lambda
//! console's test event (no headers, no Host), cookies, and the events that cannot become a
//! request (answered 400) or make the handling panic (answered 500).

use crate::common;

use std::time::Duration;

use common::{Event, invoke, proxy, sample};
use lambda_runtime::Context;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::params::MemoryParameterSource;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::start::Function;
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream};
use proxy::client::{SendError, UpstreamClient, UpstreamRequest, UpstreamResponse};
use serde_json::{Value, json};

/// Every API Gateway event AWS ships as a sample, and the repository's own.
fn every_api_gateway_event() -> Vec<(String, Value)> {
    let root = orabridge_shared::testkit::sample_events_dir()
        .display()
        .to_string();
    let mut events = Vec::new();
    for (dir, keep) in [("aws-lambda-rust-runtime", "apigw"), (".", "proxy-")] {
        let dir = format!("{root}/{dir}");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("events directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.contains(keep) && name.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("event");
            events.push((name, serde_json::from_str(&text).expect("JSON")));
        }
    }
    assert!(events.len() >= 20, "{} events", events.len());
    events
}

fn aws_sample(name: &str) -> Value {
    orabridge_shared::testkit::sample_event(&format!("aws-lambda-rust-runtime/{name}"))
        .expect("AWS sample")
}

fn event(json: Value) -> Event {
    Event {
        json,
        context: Context::default(),
    }
}

async fn echo() -> LoopbackUpstream {
    LoopbackUpstream::start("echo", Behavior::Echo)
        .await
        .expect("loopback upstream")
}

/// Whether `json` is an HTTP API (payload 2.0) event.
fn is_v2(json: &Value) -> bool {
    json["version"] == "2.0"
}

#[tokio::test]
async fn every_sample_event_is_answered_in_its_own_payload_format() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    for (name, json) in every_api_gateway_event() {
        let raw = serde_json::value::RawValue::from_string(json.to_string()).expect("raw");
        let answer = proxy
            .handle(lambda_runtime::LambdaEvent::new(raw, Context::default()))
            .await
            .unwrap_or_else(|err| panic!("{name}: an invocation error: {err}"));
        let answer = serde_json::to_value(answer).expect("serialises");
        let status = answer["statusCode"].as_u64().expect("status");
        assert!((200..600).contains(&status), "{name}: {answer}");
        // The ecosystem's v2 response carries `cookies`; its v1 response does not.
        assert_eq!(
            answer.get("cookies").is_some(),
            is_v2(&json),
            "{name}: {answer}"
        );
        if status >= 400 {
            let response = common::read_answer(&answer);
            let body = common::body_json(&response);
            assert!(
                body["error"].is_string() && body["requestId"].is_string(),
                "{name}: {body}"
            );
            assert_ne!(status, 500, "{name}: {body}");
        }
    }
}

#[tokio::test]
async fn events_of_other_services_are_an_invocation_error_naming_the_problem() {
    let (proxy, _, _) = proxy(&["https://unused.invalid".into()]);
    for name in ["example-sqs-event.json", "example-sqs-event-obj.json"] {
        let raw =
            serde_json::value::RawValue::from_string(aws_sample(name).to_string()).expect("raw");
        let err = proxy
            .handle(lambda_runtime::LambdaEvent::new(raw, Context::default()))
            .await
            .expect_err("not API Gateway");
        let diagnostic = orabridge_shared::lambda::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "InvalidEvent", "{name}");
    }
}

#[tokio::test]
async fn a_named_http_api_stage_is_not_part_of_the_route() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut json = aws_sample("apigw_v2_proxy_request_with_stage_in_path.json");
    json["rawPath"] = "/Prod/api/v1/gates".into();
    json["requestContext"]["http"]["path"] = "/Prod/api/v1/gates".into();
    let response = invoke(&proxy, event(json)).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let forwarded = upstream.requests().pop().expect("forwarded");
    assert!(
        forwarded.path_and_query.starts_with("/api/v1/gates"),
        "{}",
        forwarded.path_and_query
    );
}

#[tokio::test]
async fn repeated_rest_api_headers_and_query_values_arrive_whole() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut json = aws_sample("example-apigw-request-multi-value-parameters.json");
    json["path"] = "/api/v1/hello".into();
    let expected_headers = json["multiValueHeaders"].clone();
    let expected_query = json["multiValueQueryStringParameters"].clone();
    let response = invoke(&proxy, event(json)).await;
    assert_eq!(response.status(), 200);
    let forwarded = upstream.requests().pop().expect("forwarded");
    let mut repeated = 0;
    for (name, values) in expected_headers.as_object().expect("headers") {
        let sent: Vec<&str> = forwarded
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let dropped_on_purpose = [
            "host",
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-amzn-trace-id",
        ];
        if dropped_on_purpose.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let values: Vec<&str> = values
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(sent, values, "{name}");
        repeated += usize::from(values.len() > 1);
    }
    assert!(repeated > 0, "the fixture repeats a header");
    let query = forwarded
        .path_and_query
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    for (name, values) in expected_query.as_object().expect("query") {
        for value in values.as_array().expect("list") {
            let pair = format!("{name}={}", value.as_str().expect("text"));
            assert!(query.contains(&pair), "{pair} in {query}");
        }
    }
}

#[tokio::test]
async fn a_rest_api_query_without_its_multi_value_form_is_forwarded() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut json = aws_sample("apigw_proxy_request.json");
    json["path"] = "/api/v1/hello".into();
    assert!(
        json.get("multiValueQueryStringParameters")
            .is_none_or(Value::is_null)
    );
    let single = json["queryStringParameters"]
        .as_object()
        .expect("query")
        .clone();
    assert!(!single.is_empty());
    assert_eq!(invoke(&proxy, event(json)).await.status(), 200);
    let forwarded = upstream.requests().pop().expect("forwarded");
    for (name, value) in single {
        let pair = format!("{name}={}", value.as_str().expect("text"));
        assert!(
            forwarded.path_and_query.contains(&pair),
            "{pair} in {}",
            forwarded.path_and_query
        );
    }
}

#[tokio::test]
async fn the_console_test_event_and_hosts_no_uri_could_hold_are_requests_too() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut console = aws_sample("example-apigw-console-test-request.json");
    console["path"] = "/api/v1/myPath".into();
    assert!(console["headers"].is_null());
    assert_eq!(invoke(&proxy, event(console)).await.status(), 200);
    let mut odd = aws_sample("apigw_proxy_request.json");
    odd["path"] = "/api/v1/hello".into();
    odd["headers"]["Host"] = "bad host/with space".into();
    odd["headers"]["X-Forwarded-Proto"] = "not a scheme://".into();
    odd.as_object_mut().map(|o| o.remove("multiValueHeaders"));
    assert_eq!(invoke(&proxy, event(odd)).await.status(), 200);
    let forwarded = upstream.requests().pop().expect("forwarded");
    assert!(
        forwarded
            .headers
            .get("host")
            .is_none_or(|h| h != "bad host/with space")
    );
}

#[tokio::test]
async fn no_cookies_make_no_cookie_header_and_cookies_make_one() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut sam = aws_sample("apigw_v2_sam_local.json");
    assert_eq!(sam["cookies"], json!([]));
    sam["rawPath"] = "/api/v1/hello".into();
    sam["requestContext"]["http"]["path"] = "/api/v1/hello".into();
    assert_eq!(invoke(&proxy, event(sam)).await.status(), 200);
    assert!(
        upstream
            .requests()
            .pop()
            .expect("forwarded")
            .headers
            .get("cookie")
            .is_none()
    );
    let mut with = aws_sample("apigw_v2_proxy_request.json");
    with["rawPath"] = "/api/v1/my/path".into();
    assert_eq!(invoke(&proxy, event(with)).await.status(), 200);
    let forwarded = upstream.requests().pop().expect("forwarded");
    assert_eq!(
        forwarded.headers["cookie"],
        "cookie1=value1; cookie2=value2"
    );
}

#[tokio::test]
async fn an_event_that_cannot_become_a_request_is_answered_400_in_its_format() {
    let (proxy, _, _) = proxy(&["https://unused.invalid".into()]);
    let mut bad_header = aws_sample("example-apigw-request.json");
    bad_header["multiValueHeaders"]["X-Bad"] = json!(["a\u{1}b"]);
    let mut bad_body = sample("proxy-v2-get.json");
    bad_body["body"] = "not base64!".into();
    bad_body["isBase64Encoded"] = true.into();
    let mut bad_method = sample("proxy-v1-health.json");
    bad_method["httpMethod"] = "GET POST".into();
    for json in [bad_header, bad_body, bad_method] {
        let request_id = json["requestContext"]["requestId"].clone();
        let response = invoke(&proxy, event(json)).await;
        assert_eq!(response.status(), 400);
        let body = common::body_json(&response);
        assert_eq!(body["error"], "bad_request");
        assert_eq!(body["requestId"], request_id);
    }
}

/// An upstream client with a bug: it panics.
struct PanickingClient;

impl UpstreamClient for PanickingClient {
    async fn send(
        &self,
        _request: UpstreamRequest,
        _timeout: Duration,
    ) -> Result<UpstreamResponse, SendError> {
        panic!("a bug in the upstream client");
    }
}

#[tokio::test]
async fn a_panic_while_handling_is_answered_500_in_the_error_contract() {
    let source = MemoryParameterSource::new();
    source
        .put(common::UPSTREAM_PARAM, "https://unused.invalid")
        .put(common::KEY_PARAM, common::KEY);
    let ports: proxy::Ports<_, _, _, _> = proxy::Ports {
        parameters: source,
        upstreams: PanickingClient,
        queue: MemoryQueue::new(),
        clock: ManualClock::new(),
        idempotency: None,
    };
    let proxy = proxy::build(common::test_config(), ports);
    for json in [sample("proxy-v2-get.json"), sample("proxy-v1-health.json")] {
        let mut json = json;
        if is_v2(&json) {
            json["rawPath"] = "/api/v1/x".into();
        } else {
            json["path"] = "/api/v1/x".into();
        }
        let response = invoke(&proxy, event(json)).await;
        assert_eq!(response.status(), 500);
        let body = common::body_json(&response);
        assert_eq!(body["error"], "internal_error");
        assert!(
            !body.to_string().contains("a bug"),
            "no internal detail: {body}"
        );
    }
}

#[tokio::test]
async fn a_rest_api_behind_a_custom_domain_base_path_routes_by_its_resource() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut json = sample("proxy-v1-post.json");
    // A base path mapping `v1` on a custom domain: API Gateway keeps it in `path`.
    json["path"] = "/v1/api/v1/gates/GT-0003/commands".into();
    let response = invoke(&proxy, event(json)).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let forwarded = upstream.requests().pop().expect("forwarded");
    assert!(
        forwarded
            .path_and_query
            .starts_with("/api/v1/gates/GT-0003/commands"),
        "{}",
        forwarded.path_and_query
    );
}

#[tokio::test]
async fn the_caller_of_a_rest_api_is_its_api_key_id_or_its_cognito_sub_and_credentials_stop_here() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let mut json = sample("proxy-v1-post.json");
    json["headers"]["x-api-key"] = "client-secret-key".into();
    json["headers"]["Authorization"] = "Bearer eyJ.client".into();
    json["headers"]["X-Orabridge-Caller"] = "jwt:someone-else".into();
    json.as_object_mut().map(|o| o.remove("multiValueHeaders"));
    json["requestContext"]["identity"]["apiKeyId"] = "k7abc".into();
    assert_eq!(invoke(&proxy, event(json.clone())).await.status(), 200);
    let forwarded = upstream.requests().pop().expect("forwarded");
    assert_eq!(forwarded.headers["x-orabridge-caller"], "api-key:k7abc");
    assert_eq!(
        forwarded
            .headers
            .get_all("x-orabridge-caller")
            .iter()
            .count(),
        1
    );
    for name in ["x-api-key", "authorization"] {
        assert!(
            forwarded.headers.get(name).is_none(),
            "{name} reached the upstream"
        );
    }
    // A Cognito user pool authorizer: its claims in the authorizer context.
    json["requestContext"]["identity"]["apiKeyId"] = Value::Null;
    json["requestContext"]["authorizer"] = json!({"claims": {"sub": "user-42", "email": "a@b.c"}});
    assert_eq!(invoke(&proxy, event(json)).await.status(), 200);
    let forwarded = upstream.requests().pop().expect("forwarded");
    assert_eq!(forwarded.headers["x-orabridge-caller"], "jwt:user-42");
}
