//! `POST /ingest/sensor-data`: validate the readings, then enqueue them to SQS.
//!
//! All or nothing on validation: one invalid reading rejects the request with every reason for
//! every reading, and nothing is enqueued. Enqueueing is batched to SQS's limits; entries a
//! batch refuses for a transient reason are retried once. If some still fail, the answer says
//! exactly which readings were accepted, so the sender resends only the others.

use chrono::{DateTime, Utc};
use orabridge_shared::queue::{MessageQueue, OutgoingMessage, QueueError, SendOptions, send_all};
use orabridge_shared::sensor::{
    MAX_READING_BYTES, ReadingsError, ValidationRules, Violation, parse_reading, raw_readings,
    validate,
};
use serde::Serialize;
use serde_json::value::RawValue;

/// The most readings one request may carry; more is refused with 413 before anything is
/// validated or queued. A thousand readings is a hundred `SendMessageBatch` calls, which the
/// bounded concurrent send finishes well inside the API's 29 s integration timeout even over a
/// slow network; a sender with more splits them into several requests.
pub const MAX_READINGS_PER_REQUEST: usize = 1_000;

/// The readings of one request that failed validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidReading {
    /// Position in the request (0 for a single reading).
    pub index: usize,
    /// Every reason it failed.
    pub violations: Vec<Violation>,
}

/// Why a request was not (fully) enqueued.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not JSON, or not a reading, an array or `{"readings": [...]}`.
    #[error("body is not a reading, an array of readings or {{\"readings\": [...]}}")]
    Malformed,
    /// No readings in the body.
    #[error("no readings in the body")]
    Empty,
    /// More readings than [`MAX_READINGS_PER_REQUEST`]; nothing was enqueued, and the body was
    /// read no further than the reading past the cap.
    #[error("more than {limit} readings in one request")]
    TooMany {
        /// The cap.
        limit: usize,
    },
    /// At least one reading is invalid; nothing was enqueued.
    #[error("{} of the readings are invalid", .0.len())]
    Invalid(Vec<InvalidReading>),
    /// SQS did not take every reading.
    #[error("{} readings could not be enqueued", failed.len())]
    Enqueue {
        /// (index, message id) of the readings that were enqueued.
        accepted: Vec<(usize, String)>,
        /// Indexes of those that were not.
        failed: Vec<usize>,
        /// The whole-call error, when a call failed outright.
        #[source]
        source: Option<QueueError>,
    },
}

impl IngestError {
    /// Whether some readings are on the queue despite the error.
    pub fn enqueued_any(&self) -> bool {
        matches!(self, IngestError::Enqueue { accepted, .. } if !accepted.is_empty())
    }
}

/// Validates `body` at `now` and enqueues every reading; returns the message ids in order. No
/// batch call starts after `start_by` (the invocation's deadline less one call's time): the
/// readings it would have carried come back as failed, so the sender resends exactly those.
pub async fn ingest<Q: MessageQueue>(
    queue: &Q,
    queue_url: &str,
    body: &[u8],
    now: DateTime<Utc>,
    rules: &ValidationRules,
    start_by: Option<tokio::time::Instant>,
) -> Result<Vec<String>, IngestError> {
    // Counted and cut off while parsing, each reading parsed and validated on its own: any
    // body up to MAX_BODY_BYTES is handled in a few megabytes.
    let items = raw_readings(body, MAX_READINGS_PER_REQUEST).map_err(|err| match err {
        ReadingsError::Malformed => IngestError::Malformed,
        ReadingsError::TooMany { limit } => IngestError::TooMany { limit },
    })?;
    if items.is_empty() {
        return Err(IngestError::Empty);
    }
    let messages = messages(items, queue_url, now, rules)?;
    let count = messages.len();
    // One retry: a transient refusal of part of a batch usually clears on the next call.
    let options = SendOptions {
        retries: 1,
        start_by,
        ..SendOptions::default()
    };
    let report = send_all(queue, queue_url, messages, options).await;
    let mut message_ids: Vec<Option<String>> = vec![None; count];
    for (id, message_id) in report.sent {
        if let Some(slot) = id
            .parse::<usize>()
            .ok()
            .and_then(|i| message_ids.get_mut(i))
        {
            *slot = Some(message_id);
        }
    }
    if report.failed.is_empty() {
        return Ok(message_ids.into_iter().flatten().collect());
    }
    let accepted = message_ids
        .into_iter()
        .enumerate()
        .filter_map(|(index, id)| id.map(|id| (index, id)))
        .collect();
    let mut failed: Vec<usize> = report
        .failed
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    failed.sort_unstable();
    Err(IngestError::Enqueue {
        accepted,
        failed,
        source: report.last_error,
    })
}

/// Every reading of `items` validated at `now` as one message for `queue_url`, identified by
/// its position; [`IngestError::Invalid`] listing every invalid one when any is.
fn messages(
    items: Vec<&RawValue>,
    queue_url: &str,
    now: DateTime<Utc>,
    rules: &ValidationRules,
) -> Result<Vec<OutgoingMessage>, IngestError> {
    let mut invalid = Vec::new();
    let mut messages = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match parse_reading(item).and_then(|item| validate(item, now, rules)) {
            Ok(reading) => {
                // A FIFO queue orders per sensor and drops a reading sent twice within five
                // minutes; a standard queue gets neither key.
                let (sensor_id, reading_id) = (reading.sensor_id().to_owned(), reading.id());
                let body = serde_json::Value::Object(reading.fields).to_string();
                if body.len() > MAX_READING_BYTES {
                    let violations = vec![Violation {
                        field: "reading".into(),
                        reason: format!(
                            "is larger than SQS's {MAX_READING_BYTES}-byte message limit"
                        ),
                    }];
                    invalid.push(InvalidReading { index, violations });
                } else {
                    messages.push(OutgoingMessage::new(index.to_string(), body).for_queue(
                        queue_url,
                        &sensor_id,
                        &reading_id,
                    ));
                }
            }
            Err(violations) => invalid.push(InvalidReading { index, violations }),
        }
    }
    match invalid.is_empty() {
        true => Ok(messages),
        false => Err(IngestError::Invalid(invalid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orabridge_shared::queue::MemoryQueue;
    use serde_json::json;

    const QUEUE: &str = "https://sqs.local/123/readings";

    fn now() -> DateTime<Utc> {
        "2026-11-20T10:20:00Z".parse().unwrap()
    }

    fn reading(id: &str) -> serde_json::Value {
        json!({"sensorId": id, "sensorType": "flow", "timestamp": "2026-11-20T10:00:00Z", "values": {"m3s": 1.5}})
    }

    async fn run(queue: &MemoryQueue, body: serde_json::Value) -> Result<Vec<String>, IngestError> {
        ingest(
            queue,
            QUEUE,
            body.to_string().as_bytes(),
            now(),
            &ValidationRules::default(),
            None,
        )
        .await
    }

    #[tokio::test]
    async fn readings_are_sent_in_batches_of_ten_in_order() {
        let queue = MemoryQueue::new();
        let body = json!(
            (0..23)
                .map(|i| reading(&format!("F-{i}")))
                .collect::<Vec<_>>()
        );
        let ids = run(&queue, body).await.unwrap();
        assert_eq!(ids.len(), 23);
        assert_eq!(queue.calls(), 3);
        let first: serde_json::Value = serde_json::from_str(&queue.accepted()[0].1.body).unwrap();
        assert_eq!(first["sensorId"], "F-0");
    }

    #[tokio::test]
    async fn past_the_deadline_nothing_is_sent_and_every_reading_is_listed_to_resend() {
        let queue = MemoryQueue::new();
        let body = json!(
            (0..15)
                .map(|i| reading(&format!("F-{i}")))
                .collect::<Vec<_>>()
        );
        let err = ingest(
            &queue,
            QUEUE,
            body.to_string().as_bytes(),
            now(),
            &ValidationRules::default(),
            Some(tokio::time::Instant::now()),
        )
        .await
        .unwrap_err();
        let IngestError::Enqueue {
            accepted, failed, ..
        } = err
        else {
            panic!("expected an enqueue error, got {err:?}");
        };
        assert!(accepted.is_empty());
        assert_eq!(failed, (0..15).collect::<Vec<_>>());
        assert_eq!(queue.calls(), 0);
    }

    #[tokio::test]
    async fn more_readings_than_the_cap_are_refused_whole_and_the_cap_itself_is_taken() {
        let queue = MemoryQueue::new();
        let readings = |n: usize| {
            json!(
                (0..n)
                    .map(|i| reading(&format!("F-{i}")))
                    .collect::<Vec<_>>()
            )
        };
        let err = run(&queue, readings(MAX_READINGS_PER_REQUEST + 1))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::TooMany { limit } if limit == MAX_READINGS_PER_REQUEST
            ),
            "{err:?}"
        );
        assert_eq!(queue.calls(), 0, "nothing is queued");
        let ids = run(&queue, readings(MAX_READINGS_PER_REQUEST))
            .await
            .unwrap();
        assert_eq!(ids.len(), MAX_READINGS_PER_REQUEST);
    }

    #[tokio::test]
    async fn one_invalid_reading_rejects_the_request_and_enqueues_nothing() {
        let queue = MemoryQueue::new();
        let mut bad = reading("F-2");
        bad["values"] = json!({});
        let err = run(&queue, json!({"readings": [reading("F-1"), bad]}))
            .await
            .unwrap_err();
        match err {
            IngestError::Invalid(invalid) => {
                assert_eq!(invalid.len(), 1);
                assert_eq!(invalid[0].index, 1);
                assert_eq!(invalid[0].violations[0].field, "values");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(queue.calls(), 0);
    }

    #[tokio::test]
    async fn malformed_and_empty_bodies_are_refused() {
        let queue = MemoryQueue::new();
        assert!(matches!(
            ingest(
                &queue,
                QUEUE,
                b"{not json",
                now(),
                &ValidationRules::default(),
                None
            )
            .await,
            Err(IngestError::Malformed)
        ));
        assert!(matches!(
            run(&queue, json!([])).await,
            Err(IngestError::Empty)
        ));
        assert!(matches!(
            run(&queue, json!(42)).await,
            Err(IngestError::Malformed)
        ));
    }

    #[tokio::test]
    async fn entries_still_refused_after_one_retry_are_reported_by_index() {
        let queue = MemoryQueue::new();
        queue.refuse_bodies_containing(Some("F-1\""));
        let err = run(
            &queue,
            json!([reading("F-0"), reading("F-1"), reading("F-2")]),
        )
        .await
        .unwrap_err();
        match err {
            IngestError::Enqueue {
                accepted, failed, ..
            } => {
                assert_eq!(accepted.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
                assert_eq!(failed, [1]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(queue.calls(), 2, "one call, one retry of the refused entry");
    }

    #[tokio::test]
    async fn a_queue_outage_reports_every_reading_as_not_enqueued() {
        let queue = MemoryQueue::new();
        queue.set_available(false);
        match run(&queue, json!([reading("F-0"), reading("F-1")]))
            .await
            .unwrap_err()
        {
            IngestError::Enqueue {
                accepted,
                failed,
                source,
            } => {
                assert!(accepted.is_empty());
                assert_eq!(failed, [0, 1]);
                assert!(source.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}
