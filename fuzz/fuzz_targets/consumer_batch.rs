//! Any event to the sensor consumer, through `sensor_consumer::handle` (what its `main`
//! serves): the input as the whole event, and as the body of one SQS record. Every message is
//! validated, quarantined or written, and the answer names only real message ids; never a
//! panic, never over the memory bound.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use orabridge_shared::object_store::MemoryObjectStore;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::sensor::ValidationRules;
use sensor_consumer::consumer::{Consumer, DEFAULT_DEADLINE_MARGIN, Settings};
use sensor_consumer::thresholds::Thresholds;

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

fn consumer() -> Consumer<MemoryObjectStore, MemoryQueue> {
    Consumer::new(
        MemoryObjectStore::new(),
        MemoryQueue::new(),
        Thresholds::parse(r#"{"water_level": {"level_cm": {"gt": 300}}}"#).expect("thresholds"),
        Settings {
            prefix: "lake".into(),
            alert_queue_url: Some("https://sqs.us-east-1.amazonaws.com/1/alerts.fifo".into()),
            rules: ValidationRules::default(),
            write_concurrency: 4,
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
        },
    )
}

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let event = serde_json::json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "rh", "body": text,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795169700000",
                       "MessageGroupId": "g"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:1:readings.fifo", "awsRegion": "us-east-1"}]})
    .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:20:00Z")
        .expect("time")
        .to_utc();
    // A deadline a minute away, as Lambda gives one: the cut-off path runs too.
    let mut context = lambda_runtime::Context::default();
    context.request_id = "fuzz".into();
    context.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_millis() as u64 + 60_000);
    common::within_memory_limit(|| {
        let _ = runtime.block_on(sensor_consumer::handle(&consumer(), &text, &context, now));
        let consumer = consumer();
        let answer = runtime
            .block_on(sensor_consumer::handle(&consumer, &event, &context, now))
            .expect("an SQS event with a message id is always answered");
        // The one message is written, quarantined or reported, and only by its own id.
        let json = serde_json::to_value(&answer).expect("the answer serialises");
        for failure in json["batchItemFailures"].as_array().into_iter().flatten() {
            assert_eq!(failure["itemIdentifier"], "m-1", "{json}");
        }
        let objects = consumer.store().objects();
        assert!(
            answer.failed() == 1 || !objects.is_empty(),
            "m-1 went nowhere"
        );
    });
});
