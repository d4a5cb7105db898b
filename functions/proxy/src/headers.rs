//! Header hygiene in both directions.
//!
//! Hop-by-hop headers describe one connection and must not cross the proxy (RFC 9110 §7.6.1):
//! `Connection` and every header it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
//! `Transfer-Encoding`, `Upgrade`. `Host` and `Content-Length` are recomputed for the new hop.
//! A client-supplied `X-Internal-Key` is dropped, so only the key from SSM ever reaches the
//! upstream, and that value is marked sensitive so no `Debug` output shows it.
//!
//! The client's credentials for API Gateway (`x-api-key`, `Authorization`) stop here: the
//! Unified API never sees them. Who called goes upstream instead in [`CALLER`], from the
//! authorizer's context (the API key's id, or the JWT's `sub`); a client cannot set it, since
//! any value it sends is removed first.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// The header carrying the Unified API's internal key.
pub const INTERNAL_KEY: HeaderName = HeaderName::from_static("x-internal-key");
/// The header telling the Unified API who called: `api-key:<key id>` or `jwt:<sub>`.
pub const CALLER: HeaderName = HeaderName::from_static("x-orabridge-caller");
const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Who called, as API Gateway's authorizer established it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// The id (not the value) of the API key the usage plan accepted.
    ApiKey(String),
    /// The `sub` claim of the JWT the authorizer verified.
    Jwt(String),
}

impl Caller {
    /// The identity as one string: `api-key:<id>` or `jwt:<sub>`.
    pub fn identity(&self) -> String {
        match self {
            Caller::ApiKey(id) => format!("api-key:{id}"),
            Caller::Jwt(sub) => format!("jwt:{sub}"),
        }
    }
}

/// What the proxy adds about the client's request.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    /// API Gateway's request id.
    pub request_id: String,
    /// The client's address as API Gateway saw it.
    pub source_ip: Option<String>,
    /// The X-Ray trace header, when tracing is on.
    pub trace_id: Option<String>,
    /// Who called, when an authorizer said.
    pub caller: Option<Caller>,
}

/// A header the proxy adds cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The key from SSM is not a valid header value (a configuration error).
    #[error("the internal key is not a valid header value")]
    InvalidKey,
    /// A value taken from the request (request id, address, trace id) is not a valid header value.
    #[error("{name} would not be a valid header value")]
    InvalidValue {
        /// The header.
        name: &'static str,
    },
}

/// The `X-Internal-Key` value for `key`, marked sensitive so no `Debug` output shows it.
pub fn internal_key_value(key: &SecretString) -> Result<HeaderValue, HeaderError> {
    let mut value =
        HeaderValue::from_str(key.expose_secret()).map_err(|_| HeaderError::InvalidKey)?;
    value.set_sensitive(true);
    Ok(value)
}

fn value(name: &'static str, text: &str) -> Result<HeaderValue, HeaderError> {
    HeaderValue::from_str(text).map_err(|_| HeaderError::InvalidValue { name })
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    let proxy_headers: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy_headers {
        headers.remove(name);
    }
}

/// The headers sent upstream: the client's, cleaned, plus the proxy's own.
pub fn upstream_request_headers(
    incoming: &HeaderMap,
    client: &ClientContext,
    internal_key: &SecretString,
) -> Result<HeaderMap, HeaderError> {
    let mut headers = incoming.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(INTERNAL_KEY);
    headers.remove(CALLER);
    headers.remove(API_KEY);
    headers.remove(header::AUTHORIZATION);

    headers.insert(INTERNAL_KEY, internal_key_value(internal_key)?);
    if let Some(caller) = &client.caller {
        headers.insert(CALLER, value("X-Orabridge-Caller", &caller.identity())?);
    }
    if !client.request_id.is_empty() {
        headers.insert(REQUEST_ID, value("X-Request-Id", &client.request_id)?);
    }
    if let Some(ip) = &client.source_ip {
        let chain = forwarded_for(headers.get(&FORWARDED_FOR), ip);
        headers.insert(FORWARDED_FOR, value("X-Forwarded-For", &chain)?);
    }
    if !headers.contains_key(&FORWARDED_PROTO) {
        // API Gateway only listens on HTTPS.
        headers.insert(FORWARDED_PROTO, HeaderValue::from_static("https"));
    }
    if let Some(trace) = &client.trace_id {
        headers.insert(TRACE_ID, value("X-Amzn-Trace-Id", trace)?);
    }
    Ok(headers)
}

/// API Gateway already sends `X-Forwarded-For` ending with the client's address; append the
/// address only when it is not the last hop listed.
fn forwarded_for(existing: Option<&HeaderValue>, source_ip: &str) -> String {
    match existing.and_then(|v| v.to_str().ok()).map(str::trim) {
        Some(chain) if chain.rsplit(',').next().map(str::trim) == Some(source_ip) => {
            chain.to_owned()
        }
        Some(chain) if !chain.is_empty() => format!("{chain}, {source_ip}"),
        _ => source_ip.to_owned(),
    }
}

/// The headers returned to the client: the upstream's, minus hop-by-hop and length.
pub fn client_response_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = upstream.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::CONTENT_LENGTH);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn key() -> SecretString {
        SecretString::from("k-from-ssm")
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut headers = map(&[
            ("connection", "keep-alive, X-Custom-Hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic xyz"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "Expires"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("accept", "application/json"),
        ]);
        strip_hop_by_hop(&mut headers);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn a_client_supplied_internal_key_is_replaced_by_the_one_from_ssm() {
        let incoming = map(&[("X-Internal-Key", "forged"), ("accept", "*/*")]);
        let headers =
            upstream_request_headers(&incoming, &ClientContext::default(), &key()).unwrap();
        let keys: Vec<_> = headers.get_all(INTERNAL_KEY).iter().collect();
        assert_eq!(keys, [&HeaderValue::from_static("k-from-ssm")]);
        assert!(
            !format!("{headers:?}").contains("k-from-ssm"),
            "the key is marked sensitive"
        );
    }

    #[test]
    fn request_id_forwarding_and_trace_headers_are_added() {
        let incoming = map(&[("host", "api.example"), ("content-length", "3")]);
        let client = ClientContext {
            request_id: "req-1".into(),
            source_ip: Some("203.0.113.10".into()),
            trace_id: Some("Root=1-abc".into()),
            caller: None,
        };
        let headers = upstream_request_headers(&incoming, &client, &key()).unwrap();
        assert_eq!(headers["x-request-id"], "req-1");
        assert_eq!(headers["x-forwarded-for"], "203.0.113.10");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-amzn-trace-id"], "Root=1-abc");
        assert!(!headers.contains_key("host"));
        assert!(!headers.contains_key("content-length"));
    }

    #[test]
    fn client_credentials_stop_here_and_the_caller_goes_up_in_a_header_the_client_cannot_set() {
        let incoming = map(&[
            ("x-api-key", "client-key-123"),
            ("authorization", "Bearer eyJ.client.jwt"),
            ("x-orabridge-caller", "jwt:someone-else"),
        ]);
        let mut client = ClientContext::default();
        let headers = upstream_request_headers(&incoming, &client, &key()).unwrap();
        for name in ["x-api-key", "authorization", "x-orabridge-caller"] {
            assert!(!headers.contains_key(name), "{name}");
        }
        client.caller = Some(Caller::Jwt("user-42".into()));
        let headers = upstream_request_headers(&incoming, &client, &key()).unwrap();
        assert_eq!(
            headers.get_all(CALLER).iter().collect::<Vec<_>>(),
            ["jwt:user-42"]
        );
        client.caller = Some(Caller::ApiKey("k9x8".into()));
        let headers = upstream_request_headers(&incoming, &client, &key()).unwrap();
        assert_eq!(headers[CALLER], "api-key:k9x8");
    }

    #[test]
    fn a_bad_key_and_a_bad_request_value_are_told_apart() {
        let bad_key = SecretString::from("line\nbreak");
        assert_eq!(
            upstream_request_headers(&HeaderMap::new(), &ClientContext::default(), &bad_key),
            Err(HeaderError::InvalidKey)
        );
        let client = ClientContext {
            trace_id: Some("Root=1\r\nHost: evil".into()),
            ..ClientContext::default()
        };
        assert_eq!(
            upstream_request_headers(&HeaderMap::new(), &client, &key()),
            Err(HeaderError::InvalidValue {
                name: "X-Amzn-Trace-Id"
            })
        );
    }

    #[test]
    fn the_client_address_is_appended_to_forwarded_for_only_once() {
        let ip = "203.0.113.10";
        assert_eq!(
            forwarded_for(Some(&HeaderValue::from_static("203.0.113.10")), ip),
            "203.0.113.10"
        );
        assert_eq!(
            forwarded_for(Some(&HeaderValue::from_static("198.51.100.1")), ip),
            "198.51.100.1, 203.0.113.10"
        );
        assert_eq!(forwarded_for(None, ip), ip);
    }

    #[test]
    fn response_headers_lose_hop_by_hop_and_length_but_keep_the_rest() {
        let upstream = map(&[
            ("content-type", "image/png"),
            ("content-length", "10"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ]);
        let headers = client_response_headers(&upstream);
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(headers["content-type"], "image/png");
        assert!(
            !headers.contains_key("content-length") && !headers.contains_key("transfer-encoding")
        );
    }
}
