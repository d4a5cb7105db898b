//! Ordered failover across the upstreams, within a deadline.
//!
//! Upstreams are tried in order, skipping those whose circuit is open. A request moves on after
//! a connect error, or after a timeout or a 502/503/504 when its method is idempotent; a POST
//! or PATCH that reached an upstream is never sent again, so a 503 from it goes back to the
//! client as it came. Every attempt is bounded by both the per-upstream timeout and what is
//! left of the deadline.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use orabridge_shared::clock::Clock;
use orabridge_shared::metrics::{counter, histogram};
use tokio::time::Instant;

use crate::breaker::{Admission, CircuitBreakers};
use crate::client::{SendError, UpstreamClient, UpstreamRequest, UpstreamResponse, is_idempotent};
use crate::upstreams::Upstream;

/// What happened at one upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Its circuit was open; nothing was sent.
    Skipped,
    /// No connection: nothing was sent.
    Connect,
    /// No answer in time.
    Timeout,
    /// It answered with a gateway error status.
    Status(u16),
    /// It failed after connecting.
    Failed,
    /// Its answer was too large to return in a Lambda response.
    TooLarge,
}

/// One upstream tried (or skipped) for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The upstream's role (`primary`, ...).
    pub role: String,
    /// What happened.
    pub outcome: AttemptOutcome,
}

/// The request to forward, identical for every upstream but for the base URL.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    /// The method.
    pub method: Method,
    /// `/api/v1/...` plus `?query` when there is one, already validated and encoded.
    pub path_and_query: String,
    /// Cleaned and completed headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// An upstream's answer and the road to it.
#[derive(Debug)]
pub struct Forwarded {
    /// The role of the upstream that answered.
    pub role: String,
    /// Its answer.
    pub response: UpstreamResponse,
    /// Every upstream tried or skipped, in order, the answering one last.
    pub attempts: Vec<Attempt>,
}

/// No usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Every upstream failed or was skipped.
    #[error("every upstream failed: {attempts:?}")]
    AllFailed {
        /// What happened at each.
        attempts: Vec<Attempt>,
    },
    /// The deadline passed, or a non-idempotent request timed out after it may have been sent.
    #[error("deadline exceeded: {attempts:?}")]
    DeadlineExceeded {
        /// What happened at each.
        attempts: Vec<Attempt>,
    },
    /// An upstream answered with a body larger than the proxy may return.
    #[error("upstream response too large: {attempts:?}")]
    ResponseTooLarge {
        /// What happened at each.
        attempts: Vec<Attempt>,
    },
}

impl ForwardError {
    /// True when no upstream was reached at all (connect errors and open circuits only): the
    /// endpoints may have just moved, so the caller re-reads them from SSM once.
    pub fn nothing_reached(&self) -> bool {
        match self {
            ForwardError::AllFailed { attempts } => attempts
                .iter()
                .all(|a| matches!(a.outcome, AttemptOutcome::Connect | AttemptOutcome::Skipped)),
            _ => false,
        }
    }
}

fn is_gateway_error(status: StatusCode) -> bool {
    matches!(status.as_u16(), 502..=504)
}

/// Forwards `request` to the first upstream that gives a usable answer before `deadline`. An
/// answer whose Lambda response would weigh more than `response_limit` bytes
/// ([`crate::response::lambda_payload_size`]) is not usable: the proxy answers 502 itself.
pub async fn forward<H: UpstreamClient, C: Clock>(
    client: &H,
    breakers: &CircuitBreakers<C>,
    upstreams: &[Upstream],
    request: &OutgoingRequest,
    per_attempt: Duration,
    response_limit: usize,
    deadline: Instant,
) -> Result<Forwarded, ForwardError> {
    let idempotent = is_idempotent(&request.method);
    let mut attempts: Vec<Attempt> = Vec::with_capacity(upstreams.len());
    for upstream in upstreams {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ForwardError::DeadlineExceeded { attempts });
        }
        if breakers.admit(&upstream.base) == Admission::Skipped {
            tracing::warn!(upstream = %upstream.role, "circuit open; skipping upstream");
            attempts.push(attempt(upstream, AttemptOutcome::Skipped));
            continue;
        }
        if attempts
            .iter()
            .any(|a| a.outcome != AttemptOutcome::Skipped)
        {
            counter!("Failover").increment(1);
        }
        let budget = per_attempt.min(remaining);
        let started = Instant::now();
        let result = client
            .send(
                UpstreamRequest {
                    method: request.method.clone(),
                    url: format!("{}{}", upstream.base, request.path_and_query),
                    headers: request.headers.clone(),
                    body: request.body.clone(),
                },
                budget,
            )
            .await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        histogram!("UpstreamLatency").record(elapsed_ms);
        counter!("UpstreamRequest", "upstream" => upstream.role.clone()).increment(1);
        match result {
            Ok(response) if is_gateway_error(response.status) => {
                let status = response.status.as_u16();
                breakers.record_failure(&upstream.base);
                tracing::warn!(upstream = %upstream.role, status, elapsed_ms, "upstream answered with a gateway error");
                attempts.push(attempt(upstream, AttemptOutcome::Status(status)));
                if !idempotent {
                    // It reached the upstream and may have run: hand its answer back as is.
                    return Ok(Forwarded {
                        role: upstream.role.clone(),
                        response,
                        attempts,
                    });
                }
            }
            Ok(response)
                if crate::response::lambda_payload_size(&response.headers, &response.body)
                    > response_limit =>
            {
                // The upstream answered, but Lambda would refuse the answer: neither a success
                // nor a failure of the upstream (see `record_inconclusive`).
                breakers.record_inconclusive(&upstream.base);
                tracing::warn!(upstream = %upstream.role, bytes = response.body.len(), elapsed_ms, "upstream answer too large for a Lambda response");
                attempts.push(attempt(upstream, AttemptOutcome::TooLarge));
                return Err(ForwardError::ResponseTooLarge { attempts });
            }
            Ok(response) => {
                breakers.record_success(&upstream.base);
                tracing::info!(upstream = %upstream.role, status = response.status.as_u16(), elapsed_ms, "upstream answered");
                attempts.push(attempt(
                    upstream,
                    AttemptOutcome::Status(response.status.as_u16()),
                ));
                return Ok(Forwarded {
                    role: upstream.role.clone(),
                    response,
                    attempts,
                });
            }
            Err(error) => {
                let outcome = match &error {
                    SendError::Connect(_) => AttemptOutcome::Connect,
                    SendError::Timeout(_) => AttemptOutcome::Timeout,
                    SendError::ResponseTooLarge { .. } => AttemptOutcome::TooLarge,
                    SendError::Failed(_) => AttemptOutcome::Failed,
                };
                tracing::warn!(upstream = %upstream.role, error = &error as &dyn std::error::Error, elapsed_ms, "upstream attempt failed");
                attempts.push(attempt(upstream, outcome.clone()));
                match outcome {
                    // The upstream answered; its answer just does not fit in a Lambda response.
                    AttemptOutcome::TooLarge => {
                        breakers.record_inconclusive(&upstream.base);
                        return Err(ForwardError::ResponseTooLarge { attempts });
                    }
                    AttemptOutcome::Timeout => {
                        breakers.record_failure(&upstream.base);
                        if !idempotent || Instant::now() >= deadline {
                            return Err(ForwardError::DeadlineExceeded { attempts });
                        }
                    }
                    AttemptOutcome::Failed if !idempotent => {
                        breakers.record_failure(&upstream.base);
                        return Err(ForwardError::AllFailed { attempts });
                    }
                    _ => {
                        breakers.record_failure(&upstream.base);
                    }
                }
            }
        }
    }
    Err(ForwardError::AllFailed { attempts })
}

fn attempt(upstream: &Upstream, outcome: AttemptOutcome) -> Attempt {
    Attempt {
        role: upstream.role.clone(),
        outcome,
    }
}
