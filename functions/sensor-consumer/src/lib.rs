//! `sensor-consumer`: SQS → validated irrigation-sensor readings in S3.
//!
//! This first cut owns the contract's one non-negotiable rule before anything else: no message
//! is acknowledged unless it was processed. Validation, grouping and the S3 writes arrive with
//! the sensor-consumer issue; until then every record is reported in `batchItemFailures`, so
//! SQS keeps it (and, after `maxReceiveCount`, moves it to the DLQ) instead of losing it.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

/// Handles one SQS batch: every record goes back to the queue for now.
pub fn handle(event: &SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        let Some(message_id) = record.message_id.as_deref() else {
            // SQS always sets a message id; a record without one cannot be reported either way.
            tracing::error!("record without a messageId");
            continue;
        };
        tracing::warn!(
            messageId = message_id,
            "processing not built yet; returning the message to the queue"
        );
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id.to_owned();
        response.batch_item_failures.push(failure);
    }
    response
}
