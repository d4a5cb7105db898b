//! `POST /ingest/sensor-data`: the readings validated and enqueued ([`crate::ingest`]), made
//! safe to retry with an `Idempotency-Key` when `IDEMPOTENCY_TABLE` is set: the first answer
//! under a key is stored and replayed to its retries, so nothing is enqueued twice.

use std::time::Duration;

use http::StatusCode;
use orabridge_shared::clock::Clock;
use orabridge_shared::idempotency::{
    Claimed, Decision, Idempotency, IdempotencyError, IdempotencyKey, IdempotencyStore,
};
use orabridge_shared::metrics::counter;
use orabridge_shared::params::ParameterSource;
use orabridge_shared::queue::MessageQueue;
use serde_json::json;

use super::Proxy;
use crate::client::UpstreamClient;
use crate::error::ProxyError;
use crate::exchange::{ProxyRequest, ProxyResponse};
use crate::ingest::ingest;

/// The request header that makes `POST /ingest/sensor-data` safe to retry
/// (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Set to `true` on an answer replayed from the idempotency record.
pub const IDEMPOTENCY_REPLAYED: &str = "idempotency-replayed";

/// How long before its answer is due a request may still start an SQS or DynamoDB call: two
/// calls' operation timeouts (`shared::aws::request_timeouts`, which bound every attempt of a
/// call), since a batch call started at the last moment is followed by the write of the
/// answer to the idempotency record (or the release of the key). So no call outlives the
/// answer, nor the invocation, and a retry can never find the record still claimed by work
/// that ran on, or expired under it.
pub const INGEST_CALL_ALLOWANCE: Duration =
    Duration::from_secs(2 * orabridge_shared::aws::REQUEST_OPERATION_TIMEOUT.as_secs());

impl<S, H, Q, C, I> Proxy<S, H, Q, C, I>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
    I: IdempotencyStore,
{
    pub(super) async fn ingest(
        &self,
        request: &ProxyRequest,
        queue_url: &str,
    ) -> Result<ProxyResponse, ProxyError> {
        let (client, budget) = (&request.client, request.budget);
        let body = self.checked_body(request)?;
        let key = request
            .headers
            .get(IDEMPOTENCY_KEY)
            .map(|value| IdempotencyKey::parse(value.as_bytes()))
            .transpose()
            .map_err(ProxyError::IdempotencyKey)?;
        let now = self.clock.wall();
        let start_by = tokio::time::Instant::now() + budget.saturating_sub(INGEST_CALL_ALLOWANCE);
        let caller = client.caller.as_ref().map(crate::headers::Caller::identity);
        let enqueue = || async move {
            let message_ids = ingest(
                &self.queue,
                queue_url,
                body,
                now,
                &self.rules,
                Some(start_by),
            )
            .await
            .map_err(ProxyError::Ingest)?;
            counter!("ReadingsEnqueued").increment(message_ids.len() as u64);
            tracing::info!(readings = message_ids.len(), "sensor readings enqueued");
            Ok(
                json!({"accepted": message_ids.len(), "messageIds": message_ids, "requestId": client.request_id}),
            )
        };
        let (Some(idempotency), Some(key)) = (&self.idempotency, key) else {
            return enqueue()
                .await
                .map(|answer| ProxyResponse::json(StatusCode::ACCEPTED, &answer));
        };

        // Claimed until Lambda ends the invocation, as Powertools claims: the work cannot
        // outlive that. Without a deadline (an emulator), until the answer is due.
        let deadline = request
            .deadline
            .map(chrono::DateTime::<chrono::Utc>::from)
            .unwrap_or_else(|| {
                now + chrono::Duration::from_std(budget).unwrap_or(chrono::Duration::MAX)
            });
        let decision = tokio::time::timeout_at(
            start_by,
            idempotency.begin(caller.as_deref(), &key, body, now, deadline),
        )
        .await
        .unwrap_or_else(|_| {
            Err(IdempotencyError::Unavailable(
                "no answer from the idempotency table before the deadline".into(),
            ))
        })
        .map_err(ProxyError::Idempotency)?;
        let claimed = match decision {
            Decision::Proceed(claimed) => claimed,
            Decision::Replay(data) => {
                return replayed(&data, &idempotency.record_id(caller.as_deref(), &key));
            }
            Decision::InFlight => return Err(ProxyError::IdempotencyInFlight),
            Decision::PayloadMismatch => return Err(ProxyError::IdempotencyKeyReused),
        };
        self.settle(idempotency, claimed, enqueue().await, &client.request_id)
            .await
    }

    /// Settles a claimed key with the enqueue's `outcome`: the answer is kept for retries when
    /// readings reached the queue (all of them, or some: the answer saying which is what a
    /// retry must get, so nothing is enqueued twice); otherwise the key is given back, so the
    /// client may retry under it.
    async fn settle(
        &self,
        idempotency: &Idempotency<I>,
        claimed: Claimed,
        outcome: Result<serde_json::Value, ProxyError>,
        request_id: &str,
    ) -> Result<ProxyResponse, ProxyError> {
        match outcome {
            Ok(answer) => {
                let response = ProxyResponse::json(StatusCode::ACCEPTED, &answer);
                self.store_answer(idempotency, claimed, StatusCode::ACCEPTED, answer)
                    .await;
                Ok(response)
            }
            Err(ProxyError::Ingest(error)) if error.enqueued_any() => {
                let error = ProxyError::Ingest(error);
                let body = error.body(request_id);
                self.store_answer(idempotency, claimed, error.public().0, body)
                    .await;
                Err(error)
            }
            Err(error) => {
                if let Err(release) = idempotency.release(claimed).await {
                    tracing::error!(
                        error = &release as &dyn std::error::Error,
                        "idempotency key not released; retries under it answer 409 until the invocation's deadline"
                    );
                }
                Err(error)
            }
        }
    }

    /// Keeps the answer of a claimed request for its retries. A failure here is logged and
    /// counted, not answered: the readings are enqueued, and the client must hear so.
    async fn store_answer(
        &self,
        idempotency: &Idempotency<I>,
        claimed: Claimed,
        status: StatusCode,
        body: serde_json::Value,
    ) {
        let status = status.as_u16();
        let data = json!(StoredAnswer { status, body }).to_string();
        if let Err(error) = idempotency.finish(claimed, &data, self.clock.wall()).await {
            counter!("IdempotencyRecordsNotStored").increment(1);
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "answer not stored; a retry after the invocation's deadline would enqueue the readings again"
            );
        }
    }
}

/// The answer kept in an idempotency record's `data`, replayed to retries.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredAnswer {
    status: u16,
    body: serde_json::Value,
}

/// The answer stored in record `id`, as first sent, marked as replayed.
fn replayed(data: &str, id: &str) -> Result<ProxyResponse, ProxyError> {
    let stored: StoredAnswer = serde_json::from_str(data).map_err(|error| {
        ProxyError::Idempotency(IdempotencyError::Malformed {
            id: id.to_owned(),
            reason: format!("data is not a stored answer: {error}"),
        })
    })?;
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::ACCEPTED);
    counter!("IdempotentReplays").increment(1);
    tracing::info!(
        status = status.as_u16(),
        "answer replayed from the idempotency record"
    );
    let mut response = ProxyResponse::json(status, &stored.body);
    response
        .headers
        .insert(IDEMPOTENCY_REPLAYED, http::HeaderValue::from_static("true"));
    Ok(response)
}
