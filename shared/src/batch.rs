//! SQS batch processing with partial batch responses, standard and FIFO.
//!
//! A batch handler reports the records it could not process in `batchItemFailures`, and SQS
//! redelivers exactly those. [`process_records`] runs a per-record function with a panic in one
//! record contained as that record's failure (in builds that unwind; release builds abort on
//! panic, so there the whole invocation fails and SQS retries the batch). [`batch_response`]
//! turns the failed ids into the response, applying FIFO ordering: in a FIFO batch every record
//! after the first failure fails too, so a message group is never processed out of order.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};

/// The attribute SQS sets on records from FIFO queues.
const MESSAGE_GROUP_ID: &str = "MessageGroupId";

/// True when the records come from a FIFO queue.
pub fn is_fifo(records: &[SqsMessage]) -> bool {
    records
        .iter()
        .any(|record| record.attributes.contains_key(MESSAGE_GROUP_ID))
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
pub fn process_records<T>(
    records: &[SqsMessage],
    mut handler: impl FnMut(&SqsMessage) -> T,
) -> Vec<RecordResult<T>> {
    records
        .iter()
        .map(|record| {
            let span = tracing::info_span!(
                "record",
                messageId = record.message_id.as_deref().unwrap_or("-")
            );
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

/// The partial batch response for `records` given the ids that failed.
pub fn batch_response(records: &[SqsMessage], failed: &HashSet<String>) -> SqsBatchResponse {
    let fifo = is_fifo(records);
    let mut response = SqsBatchResponse::default();
    let mut failing = false;
    for record in records {
        let Some(id) = record.message_id.as_deref() else {
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
}
