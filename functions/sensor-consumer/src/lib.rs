//! `sensor-consumer`: SQS → validated irrigation-sensor readings in the S3 data lake.
//!
//! Every valid reading lands in S3 once, as one JSON Lines object per sensor type and UTC hour
//! per batch, under keys a redelivered batch overwrites; invalid messages are quarantined with
//! every reason and acknowledged; transient failures are reported in `batchItemFailures` for
//! exactly the messages they affected (all later ones too on FIFO queues).
//!
//! Modules: [`lake`] (messages to objects, no I/O), [`thresholds`] (alert rules),
//! [`consumer`] (writes and alerts), and the event handling below.

pub mod config;
pub mod consumer;
pub mod lake;
pub mod thresholds;

use std::collections::{BTreeMap, HashSet};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, TimeZone, Utc};
use orabridge_shared::batch::{RecordResult, batch_response, process_records};
use orabridge_shared::lambda::{Diagnostic, diagnostic};
use orabridge_shared::object_store::ObjectStore;
use orabridge_shared::queue::MessageQueue;
use serde_json::Value;

use crate::consumer::Consumer;
use crate::lake::{Message, Parsed};

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// Neither an SQS event nor `{"readings": [...]}`.
    #[error("the event is neither an SQS batch nor {{\"readings\": [...]}}")]
    UnknownEvent,
    /// An SQS event that does not deserialize.
    #[error("the SQS event is malformed")]
    MalformedSqsEvent(#[source] serde_json::Error),
}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Self {
        diagnostic("InvalidEvent", &error)
    }
}

/// Which kind of event a payload is, found without building it (a 10,000-record batch is
/// megabytes of JSON; it is parsed once, straight into its final type).
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "Records")]
    records: Option<serde::de::IgnoredAny>,
    readings: Option<serde::de::IgnoredAny>,
}

/// Handles an SQS batch or a direct invocation, given the event's JSON text.
pub async fn handle<O: ObjectStore, Q: MessageQueue>(
    consumer: &Consumer<O, Q>,
    payload: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Value, InvocationError> {
    let probe: Probe = serde_json::from_str(payload).map_err(|_| InvocationError::UnknownEvent)?;
    if probe.records.is_some() {
        let event: SqsEvent =
            serde_json::from_str(payload).map_err(InvocationError::MalformedSqsEvent)?;
        return Ok(handle_sqs(consumer, event.records, now).await);
    }
    if probe.readings.is_none() {
        return Err(InvocationError::UnknownEvent);
    }
    let payload: Value =
        serde_json::from_str(payload).map_err(|_| InvocationError::UnknownEvent)?;
    if let Some(Value::Array(readings)) = payload.get("readings") {
        // Direct invocation: each reading is handled like its own message.
        let parsed: Vec<(Message, Parsed)> = readings
            .iter()
            .enumerate()
            .map(|(index, reading)| {
                let message = Message {
                    id: format!("{request_id}-{index}"),
                    body: reading.to_string(),
                    attributes: BTreeMap::new(),
                    received_at: now,
                };
                let parsed = consumer.parse(&message, now);
                (message, parsed)
            })
            .collect();
        let (_, summary) = consumer.process(parsed).await;
        return Ok(serde_json::to_value(summary).unwrap_or_default());
    }
    Err(InvocationError::UnknownEvent)
}

async fn handle_sqs<O: ObjectStore, Q: MessageQueue>(
    consumer: &Consumer<O, Q>,
    mut records: Vec<SqsMessage>,
    now: DateTime<Utc>,
) -> Value {
    let mut failed = HashSet::new();
    // Bodies move into the messages instead of being copied; the records keep what the
    // response needs (ids, attributes).
    let mut bodies = records
        .iter_mut()
        .map(|record| record.body.take().unwrap_or_default())
        .collect::<Vec<_>>()
        .into_iter();
    let records = records;
    let results = process_records(&records, |record| {
        let message = to_message(record, bodies.next().unwrap_or_default(), now);
        let parsed = consumer.parse(&message, now);
        (message, parsed)
    });
    let mut parsed = Vec::with_capacity(results.len());
    for (record, result) in records.iter().zip(results) {
        match result {
            RecordResult::Done(item) => parsed.push(item),
            RecordResult::Panicked(_) => failed.extend(record.message_id.clone()),
        }
    }
    let (write_failures, summary) = consumer.process(parsed).await;
    failed.extend(write_failures);
    tracing::info!(
        received = summary.received,
        accepted = summary.accepted,
        quarantined = summary.quarantined,
        failed = failed.len(),
        objects = summary.objects.len(),
        "batch processed"
    );
    serde_json::to_value(batch_response(&records, &failed)).unwrap_or_default()
}

fn to_message(record: &SqsMessage, body: String, now: DateTime<Utc>) -> Message {
    let received_at = record
        .attributes
        .get("SentTimestamp")
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .unwrap_or(now);
    Message {
        id: record.message_id.clone().unwrap_or_default(),
        body,
        attributes: record
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        received_at,
    }
}
