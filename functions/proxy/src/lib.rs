//! `proxy`: API Gateway (REST v1 and HTTP API v2) → the Unified API.
//!
//! This first cut recognises the contract's routes and answers in the contract's JSON error
//! shape; forwarding with failover, `/health` and `POST /ingest/sensor-data` arrive with the
//! proxy issue. Until then the routes the contract names answer `501 not_implemented`, so a
//! caller can never mistake this build for a working proxy.

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// The routes of the proxy contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `ANY /api/v1/{proxy+}`: forwarded to the Unified API.
    Forward,
    /// `GET /health`: the proxy's own view of its upstreams.
    Health,
    /// `POST /ingest/sensor-data`: validated readings enqueued to SQS.
    IngestSensorData,
    /// Anything else.
    Unknown,
}

/// Picks the route for a method and a path (without the API Gateway stage prefix).
pub fn route(method: &str, path: &str) -> Route {
    match (method, path) {
        (_, p) if p.starts_with("/api/v1/") => Route::Forward,
        ("GET", "/health") => Route::Health,
        ("POST", "/ingest/sensor-data") => Route::IngestSensorData,
        _ => Route::Unknown,
    }
}

/// The error body every failure answers with: `{"error", "message", "requestId"}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody<'a> {
    /// A stable machine-readable code.
    pub error: &'a str,
    /// A human-readable explanation, free of internal detail.
    pub message: &'a str,
    /// The API Gateway request id, to find the matching log lines.
    pub request_id: &'a str,
}

/// Handles one API Gateway request.
pub async fn handle(request: Request) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = api_request_id(&request);
    let path = request.raw_http_path().to_owned();
    let route = route(request.method().as_str(), &path);
    tracing::info!(method = %request.method(), path = %path, route = ?route, "request received");
    let (status, code, message) = match route {
        Route::Unknown => (StatusCode::NOT_FOUND, "not_found", "no such route"),
        Route::Forward | Route::Health | Route::IngestSensorData => (
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            "this route is part of the proxy contract but not built yet",
        ),
    };
    Ok(json_error(status, code, message, &request_id))
}

/// The API Gateway request id of either payload version (empty when absent).
pub fn api_request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

fn json_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response<Body> {
    let body = ErrorBody {
        error: code,
        message,
        request_id,
    };
    let text = serde_json::to_string(&body).unwrap_or_else(|_| format!(r#"{{"error":"{code}"}}"#));
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}
