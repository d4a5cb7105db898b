//! The proxy's own request and response: what the service needs of an HTTP exchange, without
//! the Lambda or API Gateway types (the [`crate::apigw`] adapter converts both ways).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::headers::ClientContext;

/// One client request as the proxy serves it.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// The method.
    pub method: Method,
    /// The path, without API Gateway's stage prefix.
    pub path: String,
    /// The query string as it is to be forwarded (already encoded), if any.
    pub query: Option<String>,
    /// The client's headers.
    pub headers: HeaderMap,
    /// The body, decoded.
    pub body: Bytes,
    /// Who asked (API Gateway's request id, the source address, the trace header).
    pub client: ClientContext,
    /// How long the proxy has to answer: the invocation's remaining time and API Gateway's
    /// 29 s, whichever ends first, less the margin to send the answer.
    pub budget: Duration,
    /// When Lambda ends the invocation, when it said (an emulator may not).
    pub deadline: Option<SystemTime>,
}

/// A response body, as Lambda carries it: text as a JSON string, binary base64-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body.
    Empty,
    /// A body that travels as text.
    Text(String),
    /// A body that travels as binary.
    Binary(Vec<u8>),
}

impl ResponseBody {
    /// The body's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ResponseBody::Empty => &[],
            ResponseBody::Text(text) => text.as_bytes(),
            ResponseBody::Binary(bytes) => bytes,
        }
    }
}

/// The proxy's answer to one request.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: ResponseBody,
}

impl ProxyResponse {
    /// A JSON answer.
    pub fn json(status: StatusCode, body: &serde_json::Value) -> ProxyResponse {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        ProxyResponse {
            status,
            headers,
            body: ResponseBody::Text(body.to_string()),
        }
    }
}
