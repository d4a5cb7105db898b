//! Until processing exists, nothing may be acknowledged: every record of the sample batch is
//! reported back to SQS.

use aws_lambda_events::event::sqs::SqsEvent;

fn event(name: &str) -> SqsEvent {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_record_is_returned_to_the_queue_until_processing_exists() {
    let batch = event("sqs-sensor-clean-batch.json");
    let response = sensor_consumer::handle(&batch);
    let reported: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let sent: Vec<&str> = batch
        .records
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(reported, sent);
}
