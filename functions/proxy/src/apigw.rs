//! The API Gateway adapter, and the function `main` serves: [`Proxy`]'s
//! [`Function::handle`] takes the raw invocation event and answers it in its own payload format
//! (REST API v1 or HTTP API v2); the tests, the fuzzer and the benchmark call it too.
//!
//! The event is read with the ecosystem's event types (`aws_lambda_events`), never through a
//! URI: an event whose Host or X-Forwarded-Proto could not be part of one (the Lambda console's
//! test event has neither) is still a request. Whatever the event holds, the client gets an
//! answer: one that cannot become a request is a JSON 400, and a panic anywhere in handling is
//! caught here, answered as a 500 in the error contract and counted (`ProxyPanics`). Only an
//! event that is not from API Gateway at all is an invocation error.
//!
//! What the adapter keeps of each format: a v1 event's repeated headers
//! (`multiValueHeaders`), its query in the event's order (`multiValueQueryStringParameters`,
//! else `queryStringParameters`), encoded again per RFC 3986 since a v1 event carries the
//! values decoded (API Gateway does not document whether it keeps the client's order, and
//! SAM's emulator sorts every event's keys: a client whose query must arrive exactly as sent,
//! a signed URL, needs an HTTP API); a v2 event's `rawQueryString` as sent, its path without
//! a named stage (`/Prod/api/v1/x` on the `Prod` stage is `/api/v1/x`), its cookies as one
//! `Cookie` header, and none when there are none.

use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue};
use lambda_runtime::{Context, LambdaEvent};
use orabridge_shared::clock::Clock;
use orabridge_shared::encoding::base64_decode;
use orabridge_shared::idempotency::IdempotencyStore;
use orabridge_shared::lambda::plausible_deadline;
use orabridge_shared::metrics::counter;
use orabridge_shared::params::ParameterSource;
use orabridge_shared::queue::MessageQueue;
use orabridge_shared::start::Function;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Proxy;
use crate::client::UpstreamClient;
use crate::config::API_GATEWAY_LIMIT;
use crate::error::{BadEvent, ProxyError};
use crate::exchange::{ProxyRequest, ProxyResponse, ResponseBody};
use crate::headers::{Caller, ClientContext};

/// An invocation event that is not an API Gateway REST or HTTP API proxy event.
#[derive(Debug, thiserror::Error)]
#[error("not an API Gateway REST (v1) or HTTP API (v2) proxy event")]
pub struct EventError;

impl From<EventError> for orabridge_shared::lambda::Diagnostic {
    fn from(error: EventError) -> Self {
        orabridge_shared::lambda::diagnostic("InvalidEvent", &error)
    }
}

/// The payload format of an event, which is the format of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// REST API, payload format 1.0.
    V1,
    /// HTTP API, payload format 2.0.
    V2,
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

/// The few fields that tell an event's format and request id, read without keeping the rest.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "httpMethod")]
    http_method: Option<IgnoredAny>,
    #[serde(default, rename = "requestContext")]
    request_context: Option<ProbeContext>,
}

#[derive(Deserialize)]
struct ProbeContext {
    #[serde(default, rename = "requestId")]
    request_id: Option<String>,
    #[serde(default)]
    http: Option<IgnoredAny>,
}

/// The format and API Gateway request id of `raw`, or [`EventError`] when it is not an API
/// Gateway proxy event.
fn probe(raw: &str) -> Result<(Format, Option<String>), EventError> {
    let probe: Probe = serde_json::from_str(raw).map_err(|_| EventError)?;
    let context = probe.request_context;
    let format = match (probe.version.as_deref(), &probe.http_method, &context) {
        (Some("2.0"), _, _) => Format::V2,
        (_, Some(_), _) => Format::V1,
        (_, None, Some(ProbeContext { http: Some(_), .. })) => Format::V2,
        _ => return Err(EventError),
    };
    Ok((format, context.and_then(|c| c.request_id)))
}

impl<S, H, Q, C, I> Function for Proxy<S, H, Q, C, I>
where
    S: ParameterSource + 'static,
    H: UpstreamClient + 'static,
    Q: MessageQueue + 'static,
    C: Clock + Clone + 'static,
    I: IdempotencyStore + 'static,
{
    type Event = Box<RawValue>;
    type Output = ApiGatewayResponse;
    type Error = EventError;

    /// Serves one invocation as the Lambda does: the event in, the answer in the event's
    /// payload format out. Only an event that is not from API Gateway is an error.
    async fn handle(
        &self,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<ApiGatewayResponse, EventError> {
        handle_event(self, event).await
    }
}

async fn handle_event<S, H, Q, C, I>(
    proxy: &Proxy<S, H, Q, C, I>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<ApiGatewayResponse, EventError>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
    I: IdempotencyStore,
{
    let raw = event.payload.get();
    let (format, request_id) = probe(raw)?;
    let request_id = request_id.unwrap_or_else(|| event.context.request_id.clone());
    let margin = proxy.config().deadline_margin;
    let served = AssertUnwindSafe(async {
        match into_request(raw, format, &event.context, margin) {
            Ok(request) => proxy.respond(request).await,
            Err(bad) => {
                tracing::warn!(error = %orabridge_shared::errors::chain(&bad), "event refused");
                ProxyError::BadEvent(bad).response(&request_id)
            }
        }
    })
    .catch_unwind()
    .await;
    let response = served.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "handling the request panicked");
        counter!("ProxyPanics").increment(1);
        ProxyError::Panicked.response(&request_id)
    });
    Ok(from_response(response, format))
}

/// The proxy's request for the API Gateway event `raw` of `format`, with the time left from
/// `context` less `margin`.
pub fn into_request(
    raw: &str,
    format: Format,
    context: &Context,
    margin: Duration,
) -> Result<ProxyRequest, BadEvent> {
    let now = SystemTime::now();
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let deadline = plausible_deadline(context.deadline);
    let budget = budget(deadline, now_ms, margin);
    let deadline = deadline.map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    let mut request = match format {
        Format::V1 => v1_request(raw)?,
        Format::V2 => v2_request(raw)?,
    };
    request.budget = budget;
    request.deadline = deadline;
    request.client.trace_id = request
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| context.xray_trace_id.clone());
    if request.path.is_empty() {
        request.path.push('/');
    }
    Ok(request)
}

/// A REST API (payload 1.0) event as the proxy's request, its time not yet set.
fn v1_request(raw: &str) -> Result<ProxyRequest, BadEvent> {
    let unreadable = BadEvent::Unreadable;
    let event: ApiGatewayProxyRequest = serde_json::from_str(raw).map_err(unreadable)?;
    let ordered: V1Query = serde_json::from_str(raw).map_err(unreadable)?;
    let parameters = match ordered.multi_value {
        Some(parameters) if !parameters.is_empty() => parameters,
        _ => ordered.single_value.unwrap_or_default(),
    };
    let mut headers = event.multi_value_headers;
    for (name, value) in &event.headers {
        if !headers.contains_key(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let identity = event.request_context.identity;
    let caller = identity
        .api_key_id
        .filter(|id| !id.is_empty())
        .map(Caller::ApiKey)
        .or_else(|| {
            let claims = event.request_context.authorizer.fields.get("claims")?;
            let sub = claims.get("sub")?.as_str()?;
            Some(Caller::Jwt(sub.to_owned()))
        });
    let path = resource_path(event.resource.as_deref(), &event.path_parameters)
        .or(event.path)
        .unwrap_or_else(|| "/".to_owned());
    Ok(ProxyRequest {
        method: event.http_method,
        path,
        query: Some(encode_query(&parameters)).filter(|query| !query.is_empty()),
        body: body(event.body, event.is_base64_encoded)?,
        client: ClientContext {
            request_id: event.request_context.request_id.unwrap_or_default(),
            source_ip: identity.source_ip,
            trace_id: None,
            caller,
        },
        headers,
        budget: Duration::ZERO,
        deadline: None,
    })
}

/// An HTTP API (payload 2.0) event as the proxy's request, its time not yet set.
fn v2_request(raw: &str) -> Result<ProxyRequest, BadEvent> {
    let event: ApiGatewayV2httpRequest = serde_json::from_str(raw).map_err(BadEvent::Unreadable)?;
    let context = event.request_context;
    let path = event.raw_path.or(context.http.path).unwrap_or_default();
    let mut headers = event.headers;
    let cookies = event.cookies.unwrap_or_default();
    if !cookies.is_empty() {
        let cookie = HeaderValue::from_str(&cookies.join("; ")).map_err(|_| BadEvent::Cookies)?;
        headers.insert(http::header::COOKIE, cookie);
    }
    let caller = context
        .authorizer
        .and_then(|authorizer| authorizer.jwt)
        .and_then(|jwt| jwt.claims.get("sub").cloned())
        .map(Caller::Jwt);
    Ok(ProxyRequest {
        method: context.http.method,
        path: without_stage(path, context.stage.as_deref()),
        query: event.raw_query_string.filter(|query| !query.is_empty()),
        body: body(event.body, event.is_base64_encoded)?,
        client: ClientContext {
            request_id: context.request_id.unwrap_or_default(),
            source_ip: context.http.source_ip,
            trace_id: None,
            caller,
        },
        headers,
        budget: Duration::ZERO,
        deadline: None,
    })
}

/// The path of a REST API request to one of the template's own resources, rebuilt from the
/// resource and its `{proxy+}` parameter. A custom domain's base path mapping puts its base
/// path in front of the event's `path` (API Gateway's payload format 1.0 keeps it there), so
/// `/v1/api/v1/x` through a mapping `v1` is still `/api/v1/x`. Other resources: `None`.
fn resource_path(
    resource: Option<&str>,
    parameters: &std::collections::HashMap<String, String>,
) -> Option<String> {
    match resource? {
        "/api/v1/{proxy+}" => Some(format!("/api/v1/{}", parameters.get("proxy")?)),
        own @ ("/health" | "/ingest/sensor-data") => Some(own.to_owned()),
        _ => None,
    }
}

/// An HTTP API on a named stage puts the stage in front of the path; the contract's routes
/// do not have it. `$default` adds nothing.
fn without_stage(path: String, stage: Option<&str>) -> String {
    let Some(stage) = stage.filter(|stage| !stage.is_empty() && *stage != "$default") else {
        return path;
    };
    match path
        .strip_prefix('/')
        .and_then(|rest| rest.strip_prefix(stage))
    {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => path,
    }
}

/// The request body: the event's text, or its base64 decoded.
fn body(text: Option<String>, base64: bool) -> Result<Bytes, BadEvent> {
    match (text, base64) {
        (None, _) => Ok(Bytes::new()),
        (Some(text), false) => Ok(Bytes::from(text)),
        (Some(text), true) => base64_decode(&text)
            .map(Bytes::from)
            .ok_or(BadEvent::Base64),
    }
}

/// The answer for `response` in the payload format of its event, as lambda_http builds it: v1 headers in `multiValueHeaders` only (API Gateway merges both fields, which
/// would repeat them), v2 cookies apart from the other headers.
pub fn from_response(response: ProxyResponse, format: Format) -> ApiGatewayResponse {
    let (is_base64_encoded, body) = match response.body {
        ResponseBody::Empty => (false, None),
        ResponseBody::Text(text) => (false, Some(Body::Text(text))),
        ResponseBody::Binary(bytes) => (true, Some(Body::Binary(bytes))),
    };
    let status_code = i64::from(response.status.as_u16());
    let mut headers = serializable(response.headers);
    if format == Format::V1 {
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
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok().map(str::to_owned))
        .collect();
    headers.remove(http::header::SET_COOKIE);
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = status_code;
    answer.headers = joined(headers);
    answer.cookies = cookies;
    answer.body = body;
    answer.is_base64_encoded = is_base64_encoded;
    ApiGatewayResponse::V2(answer)
}

/// `headers` without the values Lambda cannot carry: a response's headers travel as JSON
/// strings, and a value that is not UTF-8 (an upstream's Latin-1 file name, say) would fail the
/// whole answer's serialisation, an invocation error the client sees as API Gateway's bare
/// 502. Such a value is dropped, and said.
fn serializable(headers: HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::with_capacity(headers.len());
    let mut name = None;
    for (key, value) in headers {
        if let Some(key) = key {
            name = Some(key);
        }
        let Some(name) = &name else { continue };
        if std::str::from_utf8(value.as_bytes()).is_ok() {
            kept.append(name.clone(), value);
        } else {
            tracing::warn!(header = %name, "an upstream header value that is not UTF-8 was dropped from the answer");
        }
    }
    kept
}

/// A v2 answer's headers, one value per name: the HTTP API payload format takes repeated
/// values joined with commas (its `headers` hold one string each), so none is lost.
fn joined(headers: HeaderMap) -> HeaderMap {
    let mut one_each = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .collect();
        if let Ok(value) = HeaderValue::from_str(&values.join(", ")) {
            one_each.insert(name.clone(), value);
        }
    }
    one_each
}

/// A v1 event's query parameters in the order the event lists them (serde hands a map's
/// entries over in document order, whatever map type would have held them): the multi-value
/// ones, and the single-value ones for an event that has only those.
/// Query parameters in order: each name with its values.
type Parameters = Vec<(String, Vec<String>)>;

#[derive(Deserialize)]
struct V1Query {
    #[serde(
        rename = "multiValueQueryStringParameters",
        default,
        deserialize_with = "in_document_order"
    )]
    multi_value: Option<Parameters>,
    #[serde(
        rename = "queryStringParameters",
        default,
        deserialize_with = "in_document_order"
    )]
    single_value: Option<Parameters>,
}

fn in_document_order<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Parameters>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Option<Parameters>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of query parameter names to values or lists of values, or null")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Values {
                One(String),
                Many(Vec<String>),
            }
            let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
            while let Some((name, values)) = map.next_entry::<String, Values>()? {
                let values = match values {
                    Values::One(value) => vec![value],
                    Values::Many(values) => values,
                };
                pairs.push((name, values));
            }
            Ok(Some(pairs))
        }
    }
    deserializer.deserialize_option(Ordered)
}

/// `name=value&...` in the given order, each part percent-encoded per RFC 3986 (everything
/// but the unreserved characters, so a space is `%20`).
fn encode_query(parameters: &Parameters) -> String {
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

/// What is left for a request: the Lambda's remaining time or API Gateway's 29 s, whichever
/// ends first, less a margin to send the answer.
fn budget(deadline_ms: Option<u64>, now_ms: u64, margin: Duration) -> Duration {
    let lambda = deadline_ms
        .and_then(plausible_deadline)
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

    /// A sample event from `events/`.
    fn sample_event(name: &str) -> serde_json::Value {
        orabridge_shared::testkit::sample_event(name).expect("sample event")
    }

    fn request(event: &str) -> ProxyRequest {
        let (format, _) = probe(event).expect("an API Gateway event");
        into_request(event, format, &Context::default(), Duration::ZERO).expect("a request")
    }

    /// The sample v1 event with `field` set to `query` (JSON text, kept in the order given).
    fn v1_event(field: &str, query: &str) -> String {
        let mut event = sample_event("proxy-v1-health.json");
        event["path"] = "/api/v1/orders".into();
        event["resource"] = "/api/v1/{proxy+}".into();
        event["pathParameters"] = serde_json::json!({"proxy": "orders"});
        event["multiValueQueryStringParameters"] = serde_json::Value::Null;
        event["queryStringParameters"] = serde_json::Value::Null;
        // serde_json's maps sort their keys, so the query goes in as text.
        event[field] = "QUERY".into();
        event.to_string().replace("\"QUERY\"", query)
    }

    #[test]
    fn a_rest_api_query_keeps_the_order_of_the_event_and_is_encoded_per_rfc_3986() {
        let text = v1_event(
            "multiValueQueryStringParameters",
            r#"{"zone": ["Z1"], "after": ["2026-11-20T10:00:00+07:00"], "tag": ["a b", "c&d"], "z": [""]}"#,
        );
        let request = request(&text);
        assert_eq!(request.path, "/api/v1/orders");
        assert_eq!(
            request.query.as_deref(),
            Some("zone=Z1&after=2026-11-20T10%3A00%3A00%2B07%3A00&tag=a%20b&tag=c%26d&z=")
        );
    }

    #[test]
    fn a_rest_api_event_with_only_single_value_parameters_keeps_its_query() {
        let text = v1_event("queryStringParameters", r#"{"b": "2", "a": "x y"}"#);
        assert_eq!(request(&text).query.as_deref(), Some("b=2&a=x%20y"));
    }

    #[test]
    fn a_rest_api_event_without_a_query_has_none() {
        for query in ["null", "{}"] {
            let text = v1_event("multiValueQueryStringParameters", query);
            assert_eq!(request(&text).query, None);
        }
    }

    #[test]
    fn repeated_rest_api_headers_all_arrive() {
        let mut event = sample_event("proxy-v1-health.json");
        event["headers"] = serde_json::json!({"Accept": "text/csv"});
        event["multiValueHeaders"] =
            serde_json::json!({"Accept": ["application/json", "text/csv"], "X-Tag": ["a", "b"]});
        let request = request(&event.to_string());
        let accept: Vec<_> = request.headers.get_all("accept").iter().collect();
        assert_eq!(accept, ["application/json", "text/csv"]);
        assert_eq!(request.headers.get_all("x-tag").iter().count(), 2);
    }

    #[test]
    fn an_http_api_query_stays_exactly_as_the_client_sent_it() {
        let mut e = sample_event("proxy-v2-get.json");
        e["rawQueryString"] = "b=2&a=%7e1+x".into();
        let request = request(&e.to_string());
        assert_eq!(request.query.as_deref(), Some("b=2&a=%7e1+x"));
        assert_eq!(request.client.request_id, e["requestContext"]["requestId"]);
        assert_eq!(
            request.budget, API_GATEWAY_LIMIT,
            "no Lambda deadline in the sample"
        );
        assert_eq!(request.deadline, None);
    }

    #[test]
    fn a_named_stage_is_not_part_of_the_path() {
        let mut e = sample_event("proxy-v2-get.json");
        for (stage, raw, path) in [
            ("Prod", "/Prod/api/v1/x", "/api/v1/x"),
            ("Prod", "/Prod", "/"),
            ("Prod", "/Production/api/v1/x", "/Production/api/v1/x"),
            ("$default", "/api/v1/x", "/api/v1/x"),
        ] {
            e["rawPath"] = raw.into();
            e["requestContext"]["stage"] = stage.into();
            assert_eq!(request(&e.to_string()).path, path, "{stage} {raw}");
        }
    }

    #[test]
    fn cookies_make_one_cookie_header_and_none_makes_none() {
        let mut e = sample_event("proxy-v2-get.json");
        e["cookies"] = serde_json::json!([]);
        assert!(!request(&e.to_string()).headers.contains_key("cookie"));
        e["cookies"] = serde_json::json!(["a=1", "b=2"]);
        assert_eq!(request(&e.to_string()).headers["cookie"], "a=1; b=2");
    }

    #[test]
    fn events_of_other_services_are_refused_with_a_clear_error() {
        for other in [r#"{"Records": []}"#, "[]", "3", r#"{"detail-type": "x"}"#] {
            assert!(probe(other).is_err(), "{other}");
        }
        let malformed = v1_event("multiValueQueryStringParameters", r#"{"a": {"b": 1}}"#);
        let err = into_request(&malformed, Format::V1, &Context::default(), Duration::ZERO)
            .expect_err("not a query");
        assert!(matches!(err, BadEvent::Unreadable(_)), "{err}");
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
        let v2 = serde_json::to_value(from_response(response, Format::V2)).unwrap();
        assert_eq!(v2["cookies"], serde_json::json!(["a=1"]));
        assert_eq!(v2["isBase64Encoded"], true);
        assert_eq!(v2["body"], "AP8=");
        assert!(v2["headers"].get("set-cookie").is_none());
        let text = ProxyResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: ResponseBody::Text("hi".into()),
        };
        let v1 = serde_json::to_value(from_response(text, Format::V1)).unwrap();
        assert_eq!(
            (v1["statusCode"].clone(), v1["body"].clone()),
            (200.into(), "hi".into())
        );
        assert_eq!(v1["isBase64Encoded"], false);
    }

    #[test]
    fn an_answer_keeps_every_header_value_its_format_can_carry() {
        let mut response = ProxyResponse {
            status: http::StatusCode::OK,
            headers: HeaderMap::new(),
            body: ResponseBody::Empty,
        };
        response
            .headers
            .append("vary", HeaderValue::from_static("accept"));
        response
            .headers
            .append("vary", HeaderValue::from_static("origin"));
        let latin1 = HeaderValue::from_bytes(b"attachment; filename=\"caf\xe9.csv\"").unwrap();
        response.headers.append("content-disposition", latin1);
        let v2 =
            serde_json::to_value(from_response(response.clone(), Format::V2)).expect("serialises");
        assert_eq!(v2["headers"]["vary"], "accept, origin");
        assert!(v2["headers"].get("content-disposition").is_none());
        let v1 = serde_json::to_value(from_response(response, Format::V1)).expect("serialises");
        assert_eq!(
            v1["multiValueHeaders"]["vary"],
            serde_json::json!(["accept", "origin"])
        );
    }
}
