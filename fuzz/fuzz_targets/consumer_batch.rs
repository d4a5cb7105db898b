//! Any event to the sensor consumer, composed by `sensor_consumer::build` and invoked through
//! `Function::handle` (what its `main` serves): the input as the whole event (when it is JSON:
//! the runtime refuses any other payload before the handler runs), and as the body of one SQS
//! record. Every message is validated, quarantined or written, and the answer names only real
//! message ids; never a panic, never over the memory bound.

#![no_main]

#[path = "common.rs"]
mod common;

use lambda_runtime::{Context, LambdaEvent};
use libfuzzer_sys::fuzz_target;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::object_store::MemoryObjectStore;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::start::Function;
use sensor_consumer::SensorConsumer;
use sensor_consumer::config::SensorConsumerConfig;

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

fn consumer() -> SensorConsumer<MemoryObjectStore, MemoryQueue, ManualClock> {
    let config = SensorConsumerConfig::from_source([
        ("BUCKET", "lake"),
        ("PREFIX", "lake"),
        ("THRESHOLDS", r#"{"water_level": {"level_cm": {"gt": 300}}}"#),
        ("ALERT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/alerts.fifo"),
        ("WRITE_CONCURRENCY", "4"),
    ])
    .expect("configuration");
    let clock = ManualClock::at(
        chrono::DateTime::parse_from_rfc3339("2026-11-20T10:20:00Z")
            .expect("time")
            .to_utc(),
    );
    let ports = sensor_consumer::Ports {
        lake: MemoryObjectStore::new(),
        alerts: MemoryQueue::new(),
        clock,
    };
    sensor_consumer::build(config, ports).expect("consumer")
}

/// `payload` as the runtime hands it over, with `context`.
fn lambda_event(
    payload: &str,
    context: &Context,
) -> Option<LambdaEvent<Box<serde_json::value::RawValue>>> {
    let payload = serde_json::from_str(payload).ok()?;
    Some(LambdaEvent::new(payload, context.clone()))
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
    // A deadline a minute away, as Lambda gives one: the cut-off path runs too.
    let mut context = lambda_runtime::Context::default();
    context.request_id = "fuzz".into();
    context.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_millis() as u64 + 60_000);
    common::within_memory_limit(|| {
        if let Some(whole) = lambda_event(&text, &context) {
            let _ = runtime.block_on(consumer().handle(whole));
        }
        let consumer = consumer();
        let record = lambda_event(&event, &context).expect("the SQS event is JSON");
        let answer = runtime
            .block_on(consumer.handle(record))
            .expect("an SQS event with a message id is always answered");
        // The one message is written, quarantined or reported, and only by its own id.
        let json = serde_json::to_value(&answer).expect("the answer serialises");
        for failure in json["batchItemFailures"].as_array().into_iter().flatten() {
            assert_eq!(failure["itemIdentifier"], "m-1", "{json}");
        }
        let objects = consumer.lake().objects();
        assert!(
            answer.failed() == 1 || !objects.is_empty(),
            "m-1 went nowhere"
        );
    });
});
