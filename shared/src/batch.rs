//! SQS batch processing with partial batch responses, standard and FIFO.
//!
//! A batch handler reports the records it could not process in `batchItemFailures`, and SQS
//! redelivers exactly those. [`process_records`] runs a per-record function with a panic in one
//! record contained as that record's failure (the release profile unwinds for this reason; a
//! build with `panic = "abort"` would fail the whole invocation instead, and SQS would retry the
//! batch). [`batch_response`]
//! turns the failed ids into the response, applying FIFO ordering: in a FIFO batch every record
//! after the first failure fails too, so a message group is never processed out of order.

use std::borrow::Cow;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The attribute SQS sets on records from FIFO queues.
const MESSAGE_GROUP_ID: &str = "MessageGroupId";

/// What the batch functions need to know of a record, whichever type carries it.
pub trait BatchRecord {
    /// The SQS message id (`None` only in malformed events).
    fn message_id(&self) -> Option<&str>;
    /// True when the record comes from a FIFO queue.
    fn is_from_fifo_queue(&self) -> bool;
}

impl BatchRecord for SqsMessage {
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    fn is_from_fifo_queue(&self) -> bool {
        self.attributes.contains_key(MESSAGE_GROUP_ID)
    }
}

/// An SQS event read in place: ids, bodies and attributes borrow from the event's text where
/// JSON escaping allows. [`aws_lambda_events`]' `SqsEvent` copies every field of every record
/// into owned strings and maps; for a 10,000-record batch that is tens of thousands of
/// allocations the handler never looks at.
#[derive(Debug, Deserialize)]
pub struct SqsEventRef<'a> {
    /// The records, in delivery order.
    #[serde(rename = "Records", borrow)]
    pub records: Vec<SqsRecordRef<'a>>,
}

/// One record of an [`SqsEventRef`]; fields a handler rarely needs (receipt handle, digests,
/// message attributes) are skipped.
#[derive(Debug, Deserialize)]
pub struct SqsRecordRef<'a> {
    /// The message id.
    #[serde(rename = "messageId", borrow, default, deserialize_with = "borrowed")]
    pub message_id: Option<Cow<'a, str>>,
    /// The body, unescaped.
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub body: Option<Cow<'a, str>>,
    /// The system attributes as JSON text, read with [`SqsRecordRef::attributes`].
    #[serde(borrow, default)]
    pub attributes: Option<&'a RawValue>,
    /// The queue's ARN (FIFO queue names end in `.fifo`).
    #[serde(
        rename = "eventSourceARN",
        borrow,
        default,
        deserialize_with = "borrowed"
    )]
    pub event_source_arn: Option<Cow<'a, str>>,
}

/// An optional string that borrows from the input unless it holds escapes (serde borrows a
/// `Cow` only when told to, and never through an `Option`).
fn borrowed<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Text<'a>>::deserialize(deserializer)?.map(|text| text.0))
}

/// The system attributes handlers act on.
#[derive(Debug, Default, Deserialize)]
pub struct SqsAttributes<'a> {
    /// When SQS received the message, in epoch milliseconds.
    #[serde(
        rename = "SentTimestamp",
        borrow,
        default,
        deserialize_with = "borrowed"
    )]
    pub sent_timestamp: Option<Cow<'a, str>>,
    /// The message group (FIFO queues only).
    #[serde(
        rename = "MessageGroupId",
        borrow,
        default,
        deserialize_with = "borrowed"
    )]
    pub message_group_id: Option<Cow<'a, str>>,
}

impl<'a> SqsRecordRef<'a> {
    /// The attributes handlers act on; absent or malformed attributes read as none.
    pub fn attributes(&self) -> SqsAttributes<'a> {
        self.attributes
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }

    /// `SentTimestamp` as epoch milliseconds.
    pub fn sent_timestamp_ms(&self) -> Option<i64> {
        self.attributes().sent_timestamp?.parse().ok()
    }
}

impl BatchRecord for SqsRecordRef<'_> {
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    fn is_from_fifo_queue(&self) -> bool {
        self.event_source_arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(".fifo"))
            || self.attributes().message_group_id.is_some()
    }
}

/// True when the records come from a FIFO queue.
pub fn is_fifo<R: BatchRecord>(records: &[R]) -> bool {
    records.iter().any(BatchRecord::is_from_fifo_queue)
}

/// What a per-record function made of one record.
#[derive(Debug)]
pub enum RecordResult<T> {
    /// It returned a value.
    Done(T),
    /// It panicked; the message says why.
    Panicked(String),
}

/// Runs `handler` on every record in order, each inside a span carrying its `messageId`, and
/// contains a panic to the record that caused it.
pub fn process_records<R: BatchRecord, T>(
    records: &[R],
    mut handler: impl FnMut(&R) -> T,
) -> Vec<RecordResult<T>> {
    records
        .iter()
        .map(|record| {
            let span =
                tracing::info_span!("record", messageId = record.message_id().unwrap_or("-"));
            let _entered = span.enter();
            match catch_unwind(AssertUnwindSafe(|| handler(record))) {
                Ok(value) => RecordResult::Done(value),
                Err(panic) => {
                    let reason = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_owned());
                    tracing::error!(reason = %reason, "record handler panicked");
                    RecordResult::Panicked(reason)
                }
            }
        })
        .collect()
}

/// The position of the first record without a `messageId`, if any. Such a record cannot be
/// reported in a partial batch response: Lambda fails the whole batch when an
/// `itemIdentifier` is empty or names no message of the batch
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>). A handler
/// refuses the event instead, so SQS delivers it again and nothing is lost.
pub fn record_without_message_id<R: BatchRecord>(records: &[R]) -> Option<usize> {
    records
        .iter()
        .position(|record| record.message_id().is_none())
}

/// The partial batch response for `records` given the ids that failed. Records without a
/// `messageId` cannot be named and are left out: check with [`record_without_message_id`]
/// first.
pub fn batch_response<R: BatchRecord>(records: &[R], failed: &HashSet<String>) -> SqsBatchResponse {
    let fifo = is_fifo(records);
    let mut response = SqsBatchResponse::default();
    let mut failing = false;
    for record in records {
        let Some(id) = record.message_id() else {
            continue;
        };
        failing = (fifo && failing) || failed.contains(id);
        if failing {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.to_owned();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, fifo: bool) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        if fifo {
            record
                .attributes
                .insert(MESSAGE_GROUP_ID.into(), "g1".into());
        }
        record
    }

    fn ids(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[test]
    fn the_first_record_without_a_message_id_is_found_by_position() {
        let mut records = vec![
            record("m1", false),
            record("m2", false),
            record("m3", false),
        ];
        assert_eq!(record_without_message_id(&records), None);
        records[1].message_id = None;
        records[2].message_id = None;
        assert_eq!(record_without_message_id(&records), Some(1));
    }

    #[test]
    fn a_standard_batch_reports_exactly_the_failed_records() {
        let records: Vec<_> = ["a", "b", "c", "d"].map(|id| record(id, false)).into();
        let failed = HashSet::from(["b".to_owned(), "d".to_owned()]);
        assert_eq!(ids(&batch_response(&records, &failed)), ["b", "d"]);
    }

    #[test]
    fn a_fifo_batch_reports_the_first_failure_and_everything_after_it() {
        let records: Vec<_> = ["a", "b", "c", "d"].map(|id| record(id, true)).into();
        let failed = HashSet::from(["b".to_owned()]);
        assert_eq!(ids(&batch_response(&records, &failed)), ["b", "c", "d"]);
    }

    #[test]
    fn a_clean_batch_reports_nothing() {
        let records: Vec<_> = ["a", "b"].map(|id| record(id, true)).into();
        assert!(
            batch_response(&records, &HashSet::new())
                .batch_item_failures
                .is_empty()
        );
    }

    #[test]
    fn a_panic_in_one_record_is_that_records_failure_only() {
        let records: Vec<_> = ["a", "boom", "c"].map(|id| record(id, false)).into();
        let results = process_records(&records, |r| {
            if r.message_id.as_deref() == Some("boom") {
                panic!("bad record");
            }
            r.message_id.clone()
        });
        assert!(matches!(&results[0], RecordResult::Done(Some(id)) if id == "a"));
        assert!(matches!(&results[1], RecordResult::Panicked(reason) if reason == "bad record"));
        assert!(matches!(&results[2], RecordResult::Done(Some(id)) if id == "c"));
    }

    #[test]
    fn a_borrowed_event_reads_ids_bodies_attributes_and_fifo_like_the_owned_one() {
        let text = r#"{"Records": [
            {"messageId": "m1", "receiptHandle": "rh", "body": "{\"a\": 1}",
             "attributes": {"SentTimestamp": "1795169700000", "MessageGroupId": "g1"},
             "messageAttributes": {}, "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q"},
            {"messageId": "m2", "body": "plain", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q"}
        ]}"#;
        let event: SqsEventRef = serde_json::from_str(text).unwrap();
        let [first, second] = &event.records[..] else {
            panic!("two records expected");
        };
        assert_eq!(first.message_id(), Some("m1"));
        assert_eq!(
            first.body.as_deref(),
            Some("{\"a\": 1}"),
            "escapes are undone"
        );
        assert_eq!(first.sent_timestamp_ms(), Some(1_795_169_700_000));
        assert!(
            matches!(second.body, Some(Cow::Borrowed("plain"))),
            "no copy without escapes"
        );
        assert_eq!(second.sent_timestamp_ms(), None);
        assert!(
            is_fifo(&event.records),
            "a MessageGroupId marks a FIFO batch"
        );
        assert!(!is_fifo(&event.records[1..]));

        let owned: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(text).unwrap();
        let failed = HashSet::from(["m1".to_owned()]);
        assert_eq!(
            ids(&batch_response(&event.records, &failed)),
            ids(&batch_response(&owned.records, &failed)),
        );
        assert_eq!(ids(&batch_response(&event.records, &failed)), ["m1", "m2"]);
    }

    #[test]
    fn a_queue_arn_ending_in_fifo_marks_a_fifo_batch() {
        let text = r#"{"Records": [{"messageId": "m1", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q.fifo"}]}"#;
        let event: SqsEventRef = serde_json::from_str(text).unwrap();
        assert!(is_fifo(&event.records));
    }
}
