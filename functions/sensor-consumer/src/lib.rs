//! `sensor-consumer`: SQS → validated irrigation-sensor readings in the S3 data lake.
//!
//! Every valid reading lands in S3 once, as one JSON Lines object per sensor type and UTC hour
//! per batch, under keys a redelivered batch overwrites; invalid messages are quarantined with
//! every reason and acknowledged; transient failures are reported in `batchItemFailures` for
//! exactly the messages they affected (all later ones too on FIFO queues). The answer arrives
//! before the invocation's deadline: what is not written by then is reported for redelivery.
//!
//! Modules: [`lake`] (messages to objects, no I/O), [`thresholds`] (alert rules),
//! [`consumer`] (writes and alerts), and the event handling below. [`build`] composes the
//! function from its configuration and ports; `main` and the tests hand it events through
//! [`Function::handle`], and differ only in the ports they pass.

pub mod config;
pub mod consumer;
pub mod lake;
pub mod thresholds;

use std::collections::HashSet;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::{DateTime, TimeZone, Utc};
use lambda_runtime::{Context, LambdaEvent};
use orabridge_shared::batch::{
    BatchRecord, RecordResult, SqsEventRef, SqsRecordRef, batch_response, process_records,
    record_without_message_id,
};
use orabridge_shared::clock::Clock;
use orabridge_shared::lambda::{self, Diagnostic, diagnostic};
use orabridge_shared::object_store::ObjectStore;
use orabridge_shared::queue::MessageQueue;
use orabridge_shared::start::Function;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::config::SensorConsumerConfig;
use crate::consumer::{Consumer, Summary};
use crate::lake::Message;
use crate::thresholds::{Thresholds, ThresholdsError};

/// What the consumer is built over: the lake it writes to, the queue its alerts go to, and the
/// clock that dates each batch (a reading from the future or too far in the past is refused
/// against it).
pub struct Ports<O, Q, C> {
    /// The data-lake bucket.
    pub lake: O,
    /// The alert queue (`ALERT_QUEUE_URL`); unused when no alert is configured.
    pub alerts: Q,
    /// Wall-clock time.
    pub clock: C,
}

/// The composed function: what `main` serves and what the tests invoke.
pub struct SensorConsumer<O, Q, C> {
    consumer: Consumer<O, Q>,
    clock: C,
}

/// Composes the function from its configuration and ports; fails when the thresholds document
/// is invalid, so a bad document fails the init rather than every batch.
pub fn build<O: ObjectStore, Q: MessageQueue, C: Clock>(
    config: SensorConsumerConfig,
    ports: Ports<O, Q, C>,
) -> Result<SensorConsumer<O, Q, C>, ThresholdsError> {
    let thresholds = match &config.thresholds {
        Some(document) => Thresholds::parse(document)?,
        None => Thresholds::default(),
    };
    Ok(SensorConsumer {
        consumer: Consumer::new(ports.lake, ports.alerts, thresholds, config.writes),
        clock: ports.clock,
    })
}

impl<O: ObjectStore, Q: MessageQueue, C> SensorConsumer<O, Q, C> {
    /// The lake it writes to.
    pub fn lake(&self) -> &O {
        self.consumer.store()
    }
}

impl<O, Q, C> Function for SensorConsumer<O, Q, C>
where
    O: ObjectStore + 'static,
    Q: MessageQueue + 'static,
    C: Clock + 'static,
{
    // The raw text: a large batch is parsed once, straight into its final type.
    type Event = Box<RawValue>;
    type Output = Answer;
    type Error = InvocationError;

    async fn handle(&self, event: LambdaEvent<Box<RawValue>>) -> Result<Answer, InvocationError> {
        handle_payload(
            &self.consumer,
            event.payload.get(),
            &event.context,
            self.clock.wall(),
        )
        .await
    }
}

/// What the function answers: the partial batch response to an SQS event, the batch's summary
/// to a direct invocation. Serialized as that answer alone, as Lambda expects it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// To an SQS event: the messages SQS must deliver again (`batchItemFailures`).
    Batch(SqsBatchResponse),
    /// To `{"readings": [...]}`: what the readings came to.
    Direct(Summary),
}

impl Answer {
    /// How many messages failed: those reported in `batchItemFailures` (an SQS answer), or the
    /// summary's `failed` (a direct one).
    pub fn failed(&self) -> usize {
        match self {
            Answer::Batch(response) => response.batch_item_failures.len(),
            Answer::Direct(summary) => summary.failed,
        }
    }
}

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// Neither an SQS event nor `{"readings": [...]}`.
    #[error("the event is neither an SQS batch nor {{\"readings\": [...]}}")]
    UnknownEvent,
    /// An SQS event that does not deserialize.
    #[error("the SQS event is malformed")]
    MalformedSqsEvent(#[source] serde_json::Error),
    /// A record without a `messageId`: SQS always sets one, and a partial batch response cannot
    /// name the record without it (see [`record_without_message_id`]), so the batch fails as a
    /// whole and SQS delivers it again, losing nothing.
    #[error("record {index} of the SQS event has no messageId")]
    RecordWithoutMessageId {
        /// The record's position in `Records`, from 0.
        index: usize,
    },
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

/// Handles an SQS batch or a direct invocation, given the event's JSON text and the
/// invocation's context (its request id, and its deadline: every write is bounded by it less
/// the consumer's margin).
async fn handle_payload<O: ObjectStore, Q: MessageQueue>(
    consumer: &Consumer<O, Q>,
    payload: &str,
    context: &Context,
    now: DateTime<Utc>,
) -> Result<Answer, InvocationError> {
    let cut_off = lambda::cut_off(context.deadline, consumer.deadline_margin());
    let request_id = context.request_id.as_str();
    let probe: Probe = serde_json::from_str(payload).map_err(|_| InvocationError::UnknownEvent)?;
    if probe.records.is_some() {
        let event: SqsEventRef =
            serde_json::from_str(payload).map_err(InvocationError::MalformedSqsEvent)?;
        if let Some(index) = record_without_message_id(&event.records) {
            return Err(InvocationError::RecordWithoutMessageId { index });
        }
        return Ok(Answer::Batch(
            handle_sqs(consumer, &event.records, now, cut_off).await,
        ));
    }
    if probe.readings.is_none() {
        return Err(InvocationError::UnknownEvent);
    }
    let payload: Value =
        serde_json::from_str(payload).map_err(|_| InvocationError::UnknownEvent)?;
    let Some(Value::Array(readings)) = payload.get("readings") else {
        return Err(InvocationError::UnknownEvent);
    };
    // Direct invocation: each reading is handled like its own message.
    let ids: Vec<String> = (0..readings.len())
        .map(|index| format!("{request_id}-{index}"))
        .collect();
    let bodies: Vec<String> = readings.iter().map(Value::to_string).collect();
    let mut batch = consumer.batch(now);
    for (id, body) in ids.iter().zip(&bodies) {
        batch.add(&Message {
            id,
            body,
            attributes: None,
            received_at: now,
        });
    }
    let (_, summary) = consumer.write(batch.finish(), cut_off).await;
    Ok(Answer::Direct(summary))
}

async fn handle_sqs<O: ObjectStore, Q: MessageQueue>(
    consumer: &Consumer<O, Q>,
    records: &[SqsRecordRef<'_>],
    now: DateTime<Utc>,
    cut_off: Option<tokio::time::Instant>,
) -> SqsBatchResponse {
    let mut failed = HashSet::new();
    let mut batch = consumer.batch(now);
    let results = process_records(records, |record| {
        let received_at = record
            .sent_timestamp_ms()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(now);
        batch.add(&Message {
            // Every record has one: `handle` refused the event otherwise.
            id: record.message_id().unwrap_or_default(),
            body: record.body.as_deref().unwrap_or_default(),
            attributes: record.attributes,
            received_at,
        });
    });
    for (record, result) in records.iter().zip(results) {
        if let RecordResult::Panicked(_) = result {
            failed.extend(record.message_id().map(str::to_owned));
        }
    }
    let (write_failures, summary) = consumer.write(batch.finish(), cut_off).await;
    failed.extend(write_failures);
    tracing::info!(
        received = summary.received,
        accepted = summary.accepted,
        quarantined = summary.quarantined,
        failed = failed.len(),
        out_of_time = summary.out_of_time,
        objects = summary.objects.len(),
        "batch processed"
    );
    batch_response(records, &failed)
}
