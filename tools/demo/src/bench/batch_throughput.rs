//! Throughput of one large batch through parse, validate, de-duplicate, group and encode, with
//! the object store and alert queue in memory, on one core (current-thread runtime).
//!
//! The batch is 10,000 SQS records of realistic readings: six sensor types over three hours,
//! 1 % in-batch duplicates and 1 % invalid messages. The timed path starts from the event's JSON
//! text, as the Lambda runtime hands it over (the function takes it as a `RawValue`). Peak RSS is
//! the harness process's high-water mark: the consumer's work plus the harness's own few MB.
//!
//! Run: `cargo run --release -p orabridge-demo -- batch-throughput` (prints a Markdown table).

use std::time::Instant;

use orabridge_shared::object_store::MemoryObjectStore;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::sensor::SENSOR_TYPES;
use orabridge_shared::start::Function;
use sensor_consumer::consumer::DEFAULT_WRITE_CONCURRENCY;
use serde_json::json;

const MESSAGES: usize = 10_000;
const RUNS: usize = 7;

/// The event text of `messages` SQS records, built one record at a time: a JSON tree of the
/// whole batch would set the process's memory high-water mark before the consumer even runs.
/// `poison_percent` of the records are invalid, 1 % are in-batch duplicates.
pub fn batch(messages: usize, poison_percent: usize) -> String {
    let mut text = String::from("{\"Records\":[");
    for i in 0..messages {
        let record = {
            let body = if (37..37 + poison_percent).contains(&(i % 100)) {
                // Poison: no timestamp and a string value.
                json!({"sensorId": format!("X-{i}"), "sensorType": "flow", "values": {"m3s": "n/a"}}).to_string()
            } else {
                // 1 % duplicates: the same sensor and instant as the record before.
                let n = if i % 100 == 50 { i - 1 } else { i };
                let kind = SENSOR_TYPES[n % SENSOR_TYPES.len()];
                json!({
                    "sensorId": format!("{}-{:04}", &kind[..2].to_uppercase(), n % 500),
                    "sensorType": kind,
                    "timestamp": format!("2026-11-20T{:02}:{:02}:{:02}Z", 8 + n % 3, n % 60, (n / 60) % 60),
                    "values": {"reading": (n % 1000) as f64 / 3.0, "battery_v": 3.7},
                    "location": {"lat": 14.2, "lng": 100.6},
                    "zone": format!("Z{}", n % 9)
                })
                .to_string()
            };
            json!({"messageId": format!("00000000-0000-4000-8000-{i:012}"), "receiptHandle": "rh", "body": body,
                   "attributes": {"SentTimestamp": "1795169700000", "ApproximateReceiveCount": "1"},
                   "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "ap-southeast-1",
                   "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:readings"})
        };
        if i > 0 {
            text.push(',');
        }
        text.push_str(&record.to_string());
    }
    text.push_str("]}");
    text
}

/// The instant the batches are consumed at: their readings are from the same morning.
pub const NOW: &str = "2026-11-20T12:00:00Z";

/// Runs the batch `RUNS` times and prints the table; `Ok` whether or not the targets were met
/// (the table says), `Err` when the measurement itself failed.
pub async fn run() -> anyhow::Result<()> {
    let event_text = batch(MESSAGES, 1);
    let now = NOW.parse()?;
    let mut rates = Vec::with_capacity(RUNS);
    let mut objects = 0;
    for _ in 0..RUNS {
        let store = MemoryObjectStore::new();
        let consumer = super::sensor_consumer(
            store.clone(),
            MemoryQueue::new(),
            DEFAULT_WRITE_CONCURRENCY,
            now,
        )?;
        // The runtime checks the JSON into a `RawValue` before the handler runs; the
        // measurement is the handler's.
        let event = super::bench_event(&event_text)?;
        let started = Instant::now();
        let response = consumer.handle(event).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(response.failed() == 0, "unexpected failures: {response:?}");
        objects = store.objects().len();
        rates.push(MESSAGES as f64 / elapsed.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[RUNS / 2];
    let peak = crate::coldstart::memory(std::process::id())
        .map_or(0.0, |memory| memory.peak_kib as f64 / 1024.0);
    println!("### sensor-consumer: one 10,000-message batch, object store in memory\n");
    println!(
        "Median of {RUNS} runs on one core (current-thread runtime), from the event's JSON text to"
    );
    println!(
        "the partial batch response; {objects} objects per run (groups plus 1 % quarantined messages).\n"
    );
    println!("| messages/s (median) | slowest run | fastest run | peak RSS (process) |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {:.0} | {:.0} | {:.0} | {:.1} MB |",
        median,
        rates[0],
        rates[RUNS - 1],
        peak
    );
    println!(
        "\nTargets: ≥ 200,000 messages/s ({}), peak RSS ≤ 64 MB ({}).",
        if median >= 200_000.0 { "met" } else { "missed" },
        if peak <= 64.0 { "met" } else { "missed" }
    );
    Ok(())
}
