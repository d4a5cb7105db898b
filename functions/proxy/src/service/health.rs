//! `GET /health`: the proxy's own view of its upstreams, probed in order (each upstream's own
//! `/health`, within the request's deadline): 200 at the first healthy one, 503 when none is,
//! with the age of the cached parameters either way.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use orabridge_shared::clock::Clock;
use orabridge_shared::errors::chain;
use orabridge_shared::idempotency::IdempotencyStore;
use orabridge_shared::params::ParameterSource;
use orabridge_shared::queue::MessageQueue;
use serde_json::json;

use super::Proxy;
use crate::client::{SendError, UpstreamClient, UpstreamRequest};
use crate::error::ProxyError;
use crate::exchange::ProxyResponse;
use crate::headers::{INTERNAL_KEY, internal_key_value};

/// How long `/health` waits for each upstream's own `/health`.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl<S, H, Q, C, I> Proxy<S, H, Q, C, I>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
    I: IdempotencyStore,
{
    pub(super) async fn health(&self, budget: Duration) -> Result<ProxyResponse, ProxyError> {
        let deadline = tokio::time::Instant::now() + budget;
        let settings = self.settings_by(deadline, false).await?;
        let mut results = Vec::with_capacity(settings.upstreams.len());
        for upstream in &settings.upstreams {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut headers = http::HeaderMap::new();
            // A probe without the key still tells whether the upstream is up.
            if let Ok(key) = internal_key_value(&settings.key) {
                headers.insert(INTERNAL_KEY, key);
            }
            let started = tokio::time::Instant::now();
            let outcome = self
                .client
                .send(
                    UpstreamRequest {
                        method: http::Method::GET,
                        url: format!("{}/health", upstream.base),
                        headers,
                        body: Bytes::new(),
                    },
                    HEALTH_PROBE_TIMEOUT.min(remaining),
                )
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok(response) if response.status.is_success() => {
                    return Ok(ProxyResponse::json(
                        StatusCode::OK,
                        &json!({
                            "status": "ok",
                            "upstream": upstream.role,
                            "latencyMs": latency_ms,
                            "parametersAgeSecs": settings.age.as_secs(),
                        }),
                    ));
                }
                Ok(response) => results.push(json!({"upstream": upstream.role, "result": format!("status {}", response.status.as_u16())})),
                Err(error) => {
                    tracing::warn!(upstream = %upstream.role, error = %chain(&error), "health probe failed");
                    results.push(json!({"upstream": upstream.role, "result": probe_failure(&error)}));
                }
            }
        }
        Ok(ProxyResponse::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "status": "unavailable",
                "upstreams": results,
                "parametersAgeSecs": settings.age.as_secs(),
            }),
        ))
    }
}

fn probe_failure(error: &SendError) -> &'static str {
    match error {
        SendError::Connect(_) => "connect_error",
        SendError::Timeout(_) => "timeout",
        SendError::ResponseTooLarge { .. } | SendError::Failed(_) => "error",
    }
}
