//! The API Gateway adapter: the raw invocation event to the proxy's [`Request`], the proxy's
//! response back to the event's payload format.
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

use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use lambda_http::request::RequestContext;
use lambda_http::{Body, LambdaEvent, Request, RequestExt, Response};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

/// The proxy's request for an invocation event, with the Lambda context attached, and
/// whether it came from a REST API (v1).
pub fn into_request(event: LambdaEvent<Box<RawValue>>) -> Result<(Request, bool), EventError> {
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

/// The answer for `response` in the payload format of the event (`v1` or v2), as lambda_http
/// builds it: v1 headers in `multiValueHeaders` only (API Gateway merges both fields, which
/// would repeat them), v2 cookies apart from the other headers.
pub fn from_response(response: Response<Body>, v1: bool) -> ApiGatewayResponse {
    let (parts, body) = response.into_parts();
    let (is_base64_encoded, body) = match body {
        Body::Empty => (false, None),
        text @ Body::Text(_) => (false, Some(text)),
        binary => (true, Some(binary)),
    };
    let status_code = i64::from(parts.status.as_u16());
    let mut headers = parts.headers;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let (request, v1) = into_request(event(&text)).expect("v1 event");
        assert!(v1);
        assert_eq!(request.raw_http_path(), "/api/v1/orders");
        assert_eq!(
            request.uri().query(),
            Some("zone=Z1&after=2026-11-20T10%3A00%3A00%2B07%3A00&tag=a%20b&tag=c%26d&z=")
        );
    }

    #[test]
    fn a_rest_api_event_without_a_query_has_none() {
        for query in ["null", "{}"] {
            let (request, _) = into_request(event(&v1_event(query))).expect("v1 event");
            assert_eq!(request.uri().query(), None);
        }
    }

    #[test]
    fn an_http_api_query_stays_exactly_as_the_client_sent_it() {
        let mut e = sample_event("proxy-v2-get.json");
        e["rawQueryString"] = "b=2&a=%7e1+x".into();
        let (request, v1) = into_request(event(&e.to_string())).expect("v2 event");
        assert!(!v1);
        assert_eq!(request.uri().query(), Some("b=2&a=%7e1+x"));
    }

    #[test]
    fn events_of_other_services_are_refused_with_a_clear_error() {
        let err = into_request(event(r#"{"Records": []}"#)).expect_err("not API Gateway");
        assert!(matches!(err, EventError::Unsupported(_)), "{err}");
        let malformed = v1_event(r#"{"a": "not a list"}"#);
        assert!(into_request(event(&malformed)).is_err());
    }

    #[test]
    fn answers_take_the_payload_format_of_their_event() {
        let mut response = Response::new(Body::Binary(vec![0, 255]));
        response
            .headers_mut()
            .append("set-cookie", "a=1".parse().unwrap());
        response
            .headers_mut()
            .append("content-type", "image/png".parse().unwrap());
        let v2 = serde_json::to_value(from_response(response, false)).unwrap();
        assert_eq!(v2["cookies"], serde_json::json!(["a=1"]));
        assert_eq!(v2["isBase64Encoded"], true);
        assert_eq!(v2["body"], "AP8=");
        assert!(v2["headers"].get("set-cookie").is_none());
        let v1 =
            serde_json::to_value(from_response(Response::new(Body::from("hi")), true)).unwrap();
        assert_eq!(
            (v1["statusCode"].clone(), v1["body"].clone()),
            (200.into(), "hi".into())
        );
        assert_eq!(v1["isBase64Encoded"], false);
    }
}
