//! The port to the Unified API ([`UpstreamClient`]) and its hyper adapter.
//!
//! What matters to failover is whether a failed request may have reached the upstream: a
//! connect error (refused, unreachable, connect timeout) means it never did, so even a POST may
//! move on; a timeout or a failure after connecting means it may have, so only idempotent
//! methods move on. [`SendError`] keeps that distinction.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orabridge_shared::errors::BoxError;

/// A request to one upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// The method.
    pub method: Method,
    /// The full URL (base + forwarded path + query).
    pub url: String,
    /// Headers, already cleaned and completed.
    pub headers: HeaderMap,
    /// The body, byte for byte.
    pub body: Bytes,
}

/// What an upstream answered.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers as received.
    pub headers: HeaderMap,
    /// The body, byte for byte.
    pub body: Bytes,
}

/// Why a request to one upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be made: the request was never sent.
    #[error("could not connect to the upstream")]
    Connect(#[source] BoxError),
    /// No complete answer in time: the request may have been executed.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer's body is larger than the proxy may return.
    #[error("the upstream's response body exceeds {limit} bytes")]
    ResponseTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Anything else after connecting: the request may have been executed.
    #[error("the upstream request failed")]
    Failed(#[source] BoxError),
}

/// Sends one request to one upstream within `timeout`.
pub trait UpstreamClient: Send + Sync {
    /// Sends `request`, giving up after `timeout`.
    fn send(
        &self,
        request: UpstreamRequest,
        timeout: Duration,
    ) -> impl Future<Output = Result<UpstreamResponse, SendError>> + Send;
}

/// How long an idle upstream connection is kept for reuse. The Unified API is a Node.js
/// server, which closes a keep-alive connection after 5 s idle (`server.keepAliveTimeout`,
/// Node.js `http` docs); a connection the client reuses just as the server closes it fails
/// the request, so the client lets go first.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(4);

/// The real client: hyper with a pooled, keep-alive connection per upstream (kept across warm
/// invocations), HTTP or HTTPS with the system's root certificates.
#[derive(Clone)]
pub struct HyperClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    max_response_bytes: usize,
}

impl HyperClient {
    /// A client whose connects give up after `connect_timeout` (reported as connect errors),
    /// which refuses response bodies above `max_response_bytes` and drops connections idle
    /// for [`IDLE_CONNECTION_TIMEOUT`].
    pub fn new(connect_timeout: Duration, max_response_bytes: usize) -> std::io::Result<Self> {
        Self::with_idle_timeout(connect_timeout, max_response_bytes, IDLE_CONNECTION_TIMEOUT)
    }

    /// [`Self::new`] with another idle timeout (tests use a short one).
    pub fn with_idle_timeout(
        connect_timeout: Duration,
        max_response_bytes: usize,
        idle_timeout: Duration,
    ) -> std::io::Result<Self> {
        let https = orabridge_shared::http::https_connector(connect_timeout)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(idle_timeout)
            .build(https);
        Ok(Self {
            client,
            max_response_bytes,
        })
    }
}

/// Whether a request failed because the server closed a reused keep-alive connection under
/// it (closed before the answer began, or before the request could be written): the request
/// may have arrived, so only an idempotent one is sent again.
fn closed_under_us(error: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            return hyper_error.is_incomplete_message() || hyper_error.is_canceled();
        }
        source = cause.source();
    }
    false
}

fn clone_request(request: &http::Request<Full<Bytes>>) -> http::Request<Full<Bytes>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

impl UpstreamClient for HyperClient {
    async fn send(
        &self,
        request: UpstreamRequest,
        timeout: Duration,
    ) -> Result<UpstreamResponse, SendError> {
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(&request.url);
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers;
        }
        let http_request = builder
            .body(Full::new(request.body))
            .map_err(|err| SendError::Failed(err.into()))?;
        let limit = self.max_response_bytes;
        let idempotent = is_idempotent(http_request.method());
        // Kept to send once more on a new connection (hyper takes the first one).
        let retry = idempotent.then(|| clone_request(&http_request));
        let exchange = async {
            let first = self.client.request(http_request).await;
            let response = match (first, retry) {
                (Err(err), Some(again)) if closed_under_us(&err) => {
                    tracing::info!("upstream closed a reused connection; sending once more");
                    self.client.request(again).await
                }
                (other, _) => other,
            }
            .map_err(|err| {
                if err.is_connect() {
                    SendError::Connect(err.into())
                } else {
                    SendError::Failed(err.into())
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        SendError::ResponseTooLarge { limit }
                    } else {
                        SendError::Failed(err)
                    }
                })?
                .to_bytes();
            Ok(UpstreamResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(SendError::Timeout(timeout)))
    }
}

/// Methods that may be sent twice without changing the outcome (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}
