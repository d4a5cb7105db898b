//! The proxy's error contract: every failure maps to one status, one stable code and a fixed
//! message (`{"error", "message", "requestId"}`, plus the sender's own data where it helps);
//! the detail (addresses, SDK errors) goes to the log only.

use http::StatusCode;
use orabridge_shared::idempotency::{IdempotencyError, KeyError};
use orabridge_shared::params::ParameterError;
use serde_json::json;

use crate::exchange::ProxyResponse;
use crate::forward::ForwardError;
use crate::headers::HeaderError;
use crate::ingest::IngestError;
use crate::path::PathError;
use crate::upstreams::UpstreamListError;

/// An API Gateway event that cannot become a request (answered 400, never forwarded).
#[derive(Debug, thiserror::Error)]
pub enum BadEvent {
    /// The event does not read as its payload format (an invalid header name or value, method
    /// or field type).
    #[error("the event does not read as an API Gateway event of its payload format")]
    Unreadable(#[source] serde_json::Error),
    /// `isBase64Encoded` with a body that is not base64.
    #[error("the body is marked base64 but is not")]
    Base64,
    /// The cookies cannot make a `Cookie` header.
    #[error("the cookies cannot be sent as a Cookie header")]
    Cookies,
}

/// Everything that can go wrong, each mapped to one status and one client-facing code. The
/// detail (addresses, SDK errors) goes to the log; the client gets the code and a fixed text.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The path could leave `/api/v1/`.
    #[error("request path refused")]
    BadPath(#[source] PathError),
    /// The request body is over `MAX_BODY_BYTES`.
    #[error("request body of {size} bytes is over the {limit}-byte limit")]
    BodyTooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The route exists in the contract but is switched off or not built.
    #[error("route not available")]
    NotFound,
    /// SSM could not give the endpoints or the key (and nothing was cached).
    #[error("configuration unavailable")]
    Configuration(#[source] ParameterError),
    /// The endpoint list in SSM is not usable.
    #[error("upstream list in SSM is invalid")]
    UpstreamList(#[source] UpstreamListError),
    /// The key in SSM cannot be sent as a header value.
    #[error("internal key in SSM is not a valid header value")]
    InvalidKey,
    /// A client header cannot be forwarded.
    #[error("request header not forwardable")]
    BadHeader,
    /// `POST /ingest/sensor-data` did not enqueue every reading.
    #[error("sensor readings not ingested")]
    Ingest(#[source] IngestError),
    /// No upstream gave a usable answer.
    #[error("no upstream answered")]
    Upstream(#[source] ForwardError),
    /// The `Idempotency-Key` header is not a usable key.
    #[error("Idempotency-Key header refused")]
    IdempotencyKey(#[source] KeyError),
    /// Another invocation is still serving a request under the same key.
    #[error("a request under the same Idempotency-Key is in progress")]
    IdempotencyInFlight,
    /// The key was used before with a different body.
    #[error("Idempotency-Key reused with a different body")]
    IdempotencyKeyReused,
    /// The idempotency records could not be read or written; nothing was enqueued.
    #[error("idempotency records unavailable")]
    Idempotency(#[source] IdempotencyError),
    /// The API Gateway event cannot become a request.
    #[error("event cannot become a request")]
    BadEvent(#[source] BadEvent),
    /// Handling the request panicked (a bug): caught at the handler's edge.
    #[error("handling the request panicked")]
    Panicked,
}

impl From<HeaderError> for ProxyError {
    fn from(error: HeaderError) -> Self {
        match error {
            HeaderError::InvalidKey => ProxyError::InvalidKey,
            HeaderError::InvalidValue { .. } => ProxyError::BadHeader,
        }
    }
}

impl ProxyError {
    /// The status, code and message the client sees.
    pub fn public(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ProxyError::BadPath(_) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request path is not allowed",
            ),
            ProxyError::BadEvent(_) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request could not be read",
            ),
            ProxyError::Panicked => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the request failed inside the proxy",
            ),
            ProxyError::BadHeader => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "a request header cannot be forwarded",
            ),
            ProxyError::BodyTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            ),
            ProxyError::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such route"),
            ProxyError::Ingest(IngestError::TooMany { .. }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_readings",
                "too many readings in one request; nothing was queued: send them in smaller requests",
            ),
            ProxyError::Ingest(IngestError::Enqueue { .. }) => (
                StatusCode::BAD_GATEWAY,
                "enqueue_failed",
                "some readings could not be queued; resend the ones listed as failed",
            ),
            ProxyError::Ingest(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_readings",
                "the body must be valid sensor readings; nothing was queued",
            ),
            ProxyError::Configuration(_) | ProxyError::UpstreamList(_) | ProxyError::InvalidKey => {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "configuration_unavailable",
                    "the proxy's configuration is unavailable; try again shortly",
                )
            }
            ProxyError::Upstream(ForwardError::DeadlineExceeded { .. }) => (
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                "the upstream did not answer in time",
            ),
            ProxyError::Upstream(_) => (
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                "no upstream could serve the request",
            ),
            ProxyError::IdempotencyKey(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "the Idempotency-Key header must be 1 to 256 visible ASCII characters; nothing was queued",
            ),
            ProxyError::IdempotencyInFlight => (
                StatusCode::CONFLICT,
                "request_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ),
            ProxyError::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different body; a new request needs a new key",
            ),
            ProxyError::Idempotency(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "idempotency_unavailable",
                "the request could not be made safe to retry just now; nothing was queued: retry shortly",
            ),
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), where waiting helps.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ProxyError::IdempotencyInFlight | ProxyError::Idempotency(_) => Some(1),
            _ => None,
        }
    }

    /// The JSON body the client gets for this error.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        let (_, code, message) = self.public();
        let mut body = json!({"error": code, "message": message, "requestId": request_id});
        if let (Some(extra), Some(fields)) = (self.details(), body.as_object_mut()) {
            fields.extend(extra.as_object().cloned().unwrap_or_default());
        }
        body
    }

    /// Extra fields for the error body: the sender's own data, never internal detail.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            ProxyError::Ingest(IngestError::Invalid(invalid)) => Some(json!({ "errors": invalid })),
            ProxyError::Ingest(IngestError::TooMany { limit }) => Some(json!({ "limit": limit })),
            ProxyError::IdempotencyKey(reason) => Some(json!({ "reason": reason.to_string() })),
            ProxyError::Ingest(IngestError::Enqueue {
                accepted, failed, ..
            }) => Some(json!({
                "accepted": accepted.iter().map(|(index, id)| json!({"index": index, "messageId": id})).collect::<Vec<_>>(),
                "failed": failed,
            })),
            _ => None,
        }
    }

    /// The response the client gets: the JSON body, with `Retry-After` where waiting helps.
    pub fn response(&self, request_id: &str) -> ProxyResponse {
        let (status, _, _) = self.public();
        let mut response = ProxyResponse::json(status, &self.body(request_id));
        if let Some(seconds) = self.retry_after() {
            response
                .headers
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_the_contract_status() {
        let cases = [
            (ProxyError::BadPath(PathError::DotSegment), 400),
            (ProxyError::BodyTooLarge { size: 2, limit: 1 }, 413),
            (ProxyError::NotFound, 404),
            (ProxyError::InvalidKey, 503),
            (ProxyError::from(HeaderError::InvalidKey), 503),
            (
                ProxyError::from(HeaderError::InvalidValue {
                    name: "X-Request-Id",
                }),
                400,
            ),
            (
                ProxyError::Upstream(ForwardError::AllFailed { attempts: vec![] }),
                502,
            ),
            (
                ProxyError::Upstream(ForwardError::ResponseTooLarge { attempts: vec![] }),
                502,
            ),
            (
                ProxyError::Upstream(ForwardError::DeadlineExceeded { attempts: vec![] }),
                504,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.public().0.as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn a_busy_key_is_answered_with_retry_after_and_the_request_id() {
        let response = ProxyError::IdempotencyInFlight.response("req-1");
        assert_eq!(response.status, StatusCode::CONFLICT);
        assert_eq!(response.headers[http::header::RETRY_AFTER], "1");
        let body: serde_json::Value = serde_json::from_slice(response.body.as_bytes()).unwrap();
        assert_eq!(body["requestId"], "req-1");
        assert_eq!(body["error"], "request_in_progress");
    }
}
