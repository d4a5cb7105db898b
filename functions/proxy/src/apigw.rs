//! The API Gateway adapter: the raw invocation event to the proxy's [`ProxyRequest`] (the
//! client's details, the time left from the Lambda context), the proxy's [`ProxyResponse`]
//! back to the event's payload format.
//!
//! lambda_http does both, but it reads a REST API (v1) event's query string into a hash map,
//! so `?b=2&a=1` reached the Unified API as `?a=1&b=2` or `?b=2&a=1` at random; an HTTP API
//! (v2) event keeps `rawQueryString` as the client sent it. The adapter reads the v1 event's
//! `multiValueQueryStringParameters` in document order and encodes them again per RFC 3986,
//! since a v1 event carries the values decoded and the client's own encoding is gone. That
//! order is the event's: API Gateway does not document whether it keeps the client's, and
//! SAM's emulator sorts every event's keys. A client whose query must arrive exactly as sent
//! (a signed URL) needs an HTTP API. Everything else is lambda_http's own conversion, and the
//! answer is built with the ecosystem's response types as lambda_http builds them.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use lambda_http::request::RequestContext;
use lambda_http::{Body, LambdaEvent, Request, RequestExt, Response};
use orabridge_shared::clock::Clock;
use orabridge_shared::idempotency::IdempotencyStore;
use orabridge_shared::params::ParameterSource;
use orabridge_shared::queue::MessageQueue;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Proxy;
use crate::client::UpstreamClient;
use crate::config::API_GATEWAY_LIMIT;
use crate::exchange::{ProxyRequest, ProxyResponse, ResponseBody};
use crate::headers::ClientContext;

/// An invocation event that is not an API Gateway REST or HTTP API proxy event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not one of the two payload formats.
    #[error("not an API Gateway REST (v1) or HTTP API (v2) proxy event")]
    Unsupported(#[source] serde_json::Error),
    /// A v1 event whose query parameters are not a map of string lists.
    #[error("the REST API event's multiValueQueryStringParameters are malformed")]
    Query(#[source] serde_json::Error),
}

/// What the function answers: the payload format of the event it was given.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ApiGatewayResponse {
    /// A REST API (v1) proxy response.
    V1(ApiGatewayProxyResponse),
    /// An HTTP API (v2) response.
    V2(ApiGatewayV2httpResponse),
}

/// The proxy's request for an invocation event, its time left less `margin`, and whether it
/// came from a REST API (v1).
pub fn into_request(
    event: LambdaEvent<Box<RawValue>>,
    margin: Duration,
) -> Result<(ProxyRequest, bool), EventError> {
    let (request, v1) = into_lambda_request(event)?;
    Ok((proxy_request(request, margin), v1))
}

/// lambda_http's request for an invocation event (with the v1 query string in the event's
/// order), with the Lambda context attached, and whether it came from a REST API (v1).
pub fn into_lambda_request(
    event: LambdaEvent<Box<RawValue>>,
) -> Result<(Request, bool), EventError> {
    let raw = event.payload.get();
    let mut request = lambda_http::request::from_str(raw).map_err(EventError::Unsupported)?;
    let v1 = matches!(
        request.request_context_ref(),
        Some(RequestContext::ApiGatewayV1(_))
    );
    if v1 {
        let ordered: V1Query = serde_json::from_str(raw).map_err(EventError::Query)?;
        set_query(&mut request, &encode_query(&ordered.parameters));
    }
    Ok((request.with_lambda_context(event.context), v1))
}

/// The proxy's request for lambda_http's `request`: the path without the stage, the query,
/// the client's details and the time left, less `margin`, from its Lambda context.
pub fn proxy_request(request: Request, margin: Duration) -> ProxyRequest {
    let client = client_context(&request);
    let budget = time_budget(&request, margin);
    let path = request.raw_http_path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let (parts, body) = request.into_parts();
    let body = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    ProxyRequest {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
        client,
        budget,
    }
}

/// lambda_http's response for the proxy's `response`.
pub fn lambda_response(response: ProxyResponse) -> Response<Body> {
    let body = match response.body {
        ResponseBody::Empty => Body::Empty,
        ResponseBody::Text(text) => Body::Text(text),
        ResponseBody::Binary(bytes) => Body::Binary(bytes),
    };
    let mut answer = Response::new(body);
    *answer.status_mut() = response.status;
    *answer.headers_mut() = response.headers;
    answer
}

impl<S, H, Q, C, I> Proxy<S, H, Q, C, I>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
    I: IdempotencyStore,
{
    /// Serves lambda_http's view of an API Gateway request, as the Lambda does (the tests and
    /// the benchmark drive the proxy through this adapter).
    pub async fn handle_lambda(&self, request: Request) -> Response<Body> {
        let request = proxy_request(request, self.config().deadline_margin);
        lambda_response(self.handle(request).await)
    }
}

/// The answer for `response` in the payload format of the event (`v1` or v2), as lambda_http
/// builds it: v1 headers in `multiValueHeaders` only (API Gateway merges both fields, which
/// would repeat them), v2 cookies apart from the other headers.
pub fn from_response(response: ProxyResponse, v1: bool) -> ApiGatewayResponse {
    let (is_base64_encoded, body) = match response.body {
        ResponseBody::Empty => (false, None),
        ResponseBody::Text(text) => (false, Some(Body::Text(text))),
        ResponseBody::Binary(bytes) => (true, Some(Body::Binary(bytes))),
    };
    let status_code = i64::from(response.status.as_u16());
    let mut headers = response.headers;
    if v1 {
        let mut answer = ApiGatewayProxyResponse::default();
        answer.status_code = status_code;
        answer.multi_value_headers = headers;
        answer.body = body;
        answer.is_base64_encoded = is_base64_encoded;
        return ApiGatewayResponse::V1(answer);
    }
    let cookies = headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    headers.remove(http::header::SET_COOKIE);
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = status_code;
    answer.headers = headers;
    answer.cookies = cookies;
    answer.body = body;
    answer.is_base64_encoded = is_base64_encoded;
    ApiGatewayResponse::V2(answer)
}

/// A v1 event's query parameters in the order the event lists them (serde hands a map's
/// entries over in document order, whatever map type would have held them).
#[derive(Deserialize)]
struct V1Query {
    #[serde(
        rename = "multiValueQueryStringParameters",
        default,
        deserialize_with = "in_document_order"
    )]
    parameters: Vec<(String, Vec<String>)>,
}

fn in_document_order<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, Vec<String>)>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<(String, Vec<String>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of query parameter names to lists of values, or null")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
            let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(pair) = map.next_entry::<String, Vec<String>>()? {
                pairs.push(pair);
            }
            Ok(pairs)
        }
    }
    deserializer.deserialize_option(Ordered)
}

/// `name=value&...` in the given order, each part percent-encoded per RFC 3986 (everything
/// but the unreserved characters, so a space is `%20`).
fn encode_query(parameters: &[(String, Vec<String>)]) -> String {
    let mut query = String::new();
    for (name, values) in parameters {
        for value in values {
            if !query.is_empty() {
                query.push('&');
            }
            percent_encode(name, &mut query);
            query.push('=');
            percent_encode(value, &mut query);
        }
    }
    query
}

fn percent_encode(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// Replaces the request URI's query with `query` (none when empty), keeping its path.
fn set_query(request: &mut Request, query: &str) {
    let path = request.uri().path().to_owned();
    let path_and_query = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(value) = path_and_query.parse() {
        parts.path_and_query = Some(value);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

/// The API Gateway request id and client details of either payload version.
pub fn client_context(request: &Request) -> ClientContext {
    let (request_id, source_ip) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => {
            (ctx.request_id.clone(), ctx.identity.source_ip.clone())
        }
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.request_id.clone(), ctx.http.source_ip.clone())
        }
        _ => (None, None),
    };
    let trace_id = request
        .headers()
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            request
                .lambda_context_ref()
                .and_then(|c| c.xray_trace_id.clone())
        });
    ClientContext {
        request_id: request_id.unwrap_or_default(),
        source_ip,
        trace_id,
    }
}

/// What is left for this request: the Lambda's remaining time or API Gateway's 29 s, whichever
/// ends first, less a margin to send the answer.
fn time_budget(request: &Request, margin: Duration) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    budget(
        request.lambda_context_ref().map(|ctx| ctx.deadline),
        now_ms,
        margin,
    )
}

/// Deadlines before 2001 are not wall-clock times: Lambda sends epoch milliseconds, but some
/// emulators (`cargo lambda watch` sends `600000`) send a duration. Those are ignored rather
/// than read as "already expired", which would turn every request into a 504.
const EARLIEST_PLAUSIBLE_DEADLINE_MS: u64 = 978_307_200_000;

fn budget(deadline_ms: Option<u64>, now_ms: u64, margin: Duration) -> Duration {
    let lambda = deadline_ms
        .filter(|&deadline| deadline >= EARLIEST_PLAUSIBLE_DEADLINE_MS)
        .map(|deadline| Duration::from_millis(deadline.saturating_sub(now_ms)));
    lambda
        .map_or(API_GATEWAY_LIMIT, |l| l.min(API_GATEWAY_LIMIT))
        .saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_smaller_of_lambda_time_and_the_gateway_limit_less_the_margin() {
        let now = 1_795_000_000_000;
        let margin = Duration::from_millis(500);
        assert_eq!(
            budget(Some(now + 10_000), now, margin),
            Duration::from_millis(9_500)
        );
        assert_eq!(
            budget(Some(now + 900_000), now, margin),
            Duration::from_millis(28_500)
        );
        assert_eq!(budget(Some(now - 5), now, margin), Duration::ZERO);
        assert_eq!(budget(None, now, margin), Duration::from_millis(28_500));
    }

    #[test]
    fn a_deadline_that_is_not_a_wall_clock_time_is_ignored() {
        let now = 1_795_000_000_000;
        assert_eq!(
            budget(Some(600_000), now, Duration::ZERO),
            API_GATEWAY_LIMIT
        );
    }

    fn event(text: &str) -> LambdaEvent<Box<RawValue>> {
        LambdaEvent::new(
            RawValue::from_string(text.to_owned()).expect("raw JSON"),
            lambda_http::Context::default(),
        )
    }

    /// A sample event from `events/`.
    fn sample_event(name: &str) -> serde_json::Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("event")).expect("JSON")
    }

    /// The sample v1 event with `query` (JSON text, in the order given) as its query parameters.
    fn v1_event(query: &str) -> String {
        let mut event = sample_event("proxy-v1-health.json");
        event["path"] = "/api/v1/orders".into();
        // serde_json's maps sort their keys, so the query goes in as text.
        event["multiValueQueryStringParameters"] = "QUERY".into();
        event.to_string().replace("\"QUERY\"", query)
    }

    #[test]
    fn a_rest_api_query_keeps_the_order_of_the_event_and_is_encoded_per_rfc_3986() {
        let text = v1_event(
            r#"{"zone": ["Z1"], "after": ["2026-11-20T10:00:00+07:00"], "tag": ["a b", "c&d"], "z": [""]}"#,
        );
        let (request, v1) = into_request(event(&text), Duration::ZERO).expect("v1 event");
        assert!(v1);
        assert_eq!(request.path, "/api/v1/orders");
        assert_eq!(
            request.query.as_deref(),
            Some("zone=Z1&after=2026-11-20T10%3A00%3A00%2B07%3A00&tag=a%20b&tag=c%26d&z=")
        );
    }

    #[test]
    fn a_rest_api_event_without_a_query_has_none() {
        for query in ["null", "{}"] {
            let (request, _) =
                into_request(event(&v1_event(query)), Duration::ZERO).expect("v1 event");
            assert_eq!(request.query, None);
        }
    }

    #[test]
    fn an_http_api_query_stays_exactly_as_the_client_sent_it() {
        let mut e = sample_event("proxy-v2-get.json");
        e["rawQueryString"] = "b=2&a=%7e1+x".into();
        let (request, v1) = into_request(event(&e.to_string()), Duration::ZERO).expect("v2 event");
        assert!(!v1);
        assert_eq!(request.query.as_deref(), Some("b=2&a=%7e1+x"));
        assert_eq!(request.client.request_id, e["requestContext"]["requestId"]);
        assert_eq!(
            request.budget, API_GATEWAY_LIMIT,
            "no Lambda deadline in the sample"
        );
    }

    #[test]
    fn events_of_other_services_are_refused_with_a_clear_error() {
        let err =
            into_request(event(r#"{"Records": []}"#), Duration::ZERO).expect_err("not API Gateway");
        assert!(matches!(err, EventError::Unsupported(_)), "{err}");
        let malformed = v1_event(r#"{"a": "not a list"}"#);
        assert!(into_request(event(&malformed), Duration::ZERO).is_err());
    }

    #[test]
    fn answers_take_the_payload_format_of_their_event() {
        let mut response = ProxyResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: ResponseBody::Binary(vec![0, 255]),
        };
        response
            .headers
            .append("set-cookie", "a=1".parse().unwrap());
        response
            .headers
            .append("content-type", "image/png".parse().unwrap());
        let v2 = serde_json::to_value(from_response(response, false)).unwrap();
        assert_eq!(v2["cookies"], serde_json::json!(["a=1"]));
        assert_eq!(v2["isBase64Encoded"], true);
        assert_eq!(v2["body"], "AP8=");
        assert!(v2["headers"].get("set-cookie").is_none());
        let text = ProxyResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: ResponseBody::Text("hi".into()),
        };
        let v1 = serde_json::to_value(from_response(text, true)).unwrap();
        assert_eq!(
            (v1["statusCode"].clone(), v1["body"].clone()),
            (200.into(), "hi".into())
        );
        assert_eq!(v1["isBase64Encoded"], false);
    }
}
