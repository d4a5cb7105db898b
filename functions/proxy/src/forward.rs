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
    let rules = Rules {
        idempotent: is_idempotent(&request.method),
        response_limit,
        deadline,
    };
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
        let (result, elapsed_ms) =
            send_once(client, upstream, request, per_attempt.min(remaining)).await;
        let next = match result {
            Ok(response) => settle_answer(breakers, upstream, response, elapsed_ms, &rules),
            Err(error) => settle_error(breakers, upstream, &error, elapsed_ms, &rules),
        };
        attempts.push(attempt(upstream, next.outcome));
        match next.step {
            Step::TryNext => {}
            Step::Answer(response) => {
                return Ok(Forwarded {
                    role: upstream.role.clone(),
                    response,
                    attempts,
                });
            }
            Step::DeadlineExceeded => return Err(ForwardError::DeadlineExceeded { attempts }),
            Step::AllFailed => return Err(ForwardError::AllFailed { attempts }),
            Step::ResponseTooLarge => return Err(ForwardError::ResponseTooLarge { attempts }),
        }
    }
    Err(ForwardError::AllFailed { attempts })
}

/// What every attempt of one request is judged by.
struct Rules {
    /// Whether the method may be sent again after it may have run.
    idempotent: bool,
    /// The largest answer a Lambda response may carry.
    response_limit: usize,
    /// When the whole request must end.
    deadline: Instant,
}

/// What one attempt came to, and what the request does next.
struct Next {
    outcome: AttemptOutcome,
    step: Step,
}

enum Step {
    /// Move on to the next upstream.
    TryNext,
    /// Hand this answer back.
    Answer(UpstreamResponse),
    DeadlineExceeded,
    AllFailed,
    ResponseTooLarge,
}

/// Sends `request` to `upstream` within `budget`, recording its latency; the result and the
/// milliseconds it took.
async fn send_once<H: UpstreamClient>(
    client: &H,
    upstream: &Upstream,
    request: &OutgoingRequest,
    budget: Duration,
) -> (Result<UpstreamResponse, SendError>, f64) {
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
    (result, elapsed_ms)
}

/// Judges an upstream's answer: a gateway error moves an idempotent request on; an answer too
/// large for Lambda ends it; anything else is the answer.
fn settle_answer<C: Clock>(
    breakers: &CircuitBreakers<C>,
    upstream: &Upstream,
    response: UpstreamResponse,
    elapsed_ms: f64,
    rules: &Rules,
) -> Next {
    let status = response.status.as_u16();
    if is_gateway_error(response.status) {
        breakers.record_failure(&upstream.base);
        tracing::warn!(upstream = %upstream.role, status, elapsed_ms, "upstream answered with a gateway error");
        // A request that is not idempotent reached the upstream and may have run: its answer
        // goes back as is.
        let step = match rules.idempotent {
            true => Step::TryNext,
            false => Step::Answer(response),
        };
        return Next {
            outcome: AttemptOutcome::Status(status),
            step,
        };
    }
    if crate::response::lambda_payload_size(&response.headers, &response.body)
        > rules.response_limit
    {
        // The upstream answered, but Lambda would refuse the answer: neither a success nor a
        // failure of the upstream (see `record_inconclusive`).
        breakers.record_inconclusive(&upstream.base);
        tracing::warn!(upstream = %upstream.role, bytes = response.body.len(), elapsed_ms, "upstream answer too large for a Lambda response");
        return Next {
            outcome: AttemptOutcome::TooLarge,
            step: Step::ResponseTooLarge,
        };
    }
    breakers.record_success(&upstream.base);
    tracing::info!(upstream = %upstream.role, status, elapsed_ms, "upstream answered");
    Next {
        outcome: AttemptOutcome::Status(status),
        step: Step::Answer(response),
    }
}

/// Judges a failed attempt: a connect error moves any request on; a timeout or another failure
/// moves only an idempotent one on (the request may have run); an answer too large ends it.
fn settle_error<C: Clock>(
    breakers: &CircuitBreakers<C>,
    upstream: &Upstream,
    error: &SendError,
    elapsed_ms: f64,
    rules: &Rules,
) -> Next {
    let outcome = match error {
        SendError::Connect(_) => AttemptOutcome::Connect,
        SendError::Timeout(_) => AttemptOutcome::Timeout,
        SendError::ResponseTooLarge { .. } => AttemptOutcome::TooLarge,
        SendError::Failed(_) => AttemptOutcome::Failed,
    };
    tracing::warn!(upstream = %upstream.role, error = error as &dyn std::error::Error, elapsed_ms, "upstream attempt failed");
    let step = match outcome {
        // The upstream answered; its answer just does not fit in a Lambda response.
        AttemptOutcome::TooLarge => {
            breakers.record_inconclusive(&upstream.base);
            Step::ResponseTooLarge
        }
        AttemptOutcome::Timeout => {
            breakers.record_failure(&upstream.base);
            match !rules.idempotent || Instant::now() >= rules.deadline {
                true => Step::DeadlineExceeded,
                false => Step::TryNext,
            }
        }
        AttemptOutcome::Failed if !rules.idempotent => {
            breakers.record_failure(&upstream.base);
            Step::AllFailed
        }
        _ => {
            breakers.record_failure(&upstream.base);
            Step::TryNext
        }
    };
    Next { outcome, step }
}

fn attempt(upstream: &Upstream, outcome: AttemptOutcome) -> Attempt {
    Attempt {
        role: upstream.role.clone(),
        outcome,
    }
}
