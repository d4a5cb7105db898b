//! The lake can be queried as deployed: the consumer writes the demo's sample batches to S3
//! (moto server), the objects are read back, and the Glue table and de-duplicating Athena view
//! from template.yaml run over them in DuckDB (`tools/lake_query.py`, DuckDB pinned in
//! tools/requirements.txt).
//!
//! SQS delivers at least once (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html),
//! and a sender may resend: the same reading then lands twice, in objects of separate
//! batches. The view keeps one line per `readingId`, the first that arrived.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use orabridge_shared::clock::{Clock, ManualClock};
use orabridge_shared::object_store::S3ObjectStore;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::start::Function;
use orabridge_shared::testkit::{
    MotoServer, download_objects, installed_tool, sample_event_text, workspace_root,
};
use sensor_consumer::config::SensorConsumerConfig;
use sensor_consumer::{Ports, SensorConsumer};
use serde_json::Value;

const BUCKET: &str = "lake";
const PREFIX: &str = "iot";

fn event(name: &str) -> String {
    sample_event_text(name).expect("sample event")
}

type Consumer = SensorConsumer<S3ObjectStore, SqsQueue, ManualClock>;

/// Delivers `event` as sent by SQS at `sent` (each record's `SentTimestamp`, which becomes the
/// lines' `receivedAt`) and consumed a minute later, on `clock`, the consumer's.
async fn consume(consumer: &Consumer, clock: &ManualClock, event: &str, sent: &str) {
    let sent: DateTime<Utc> = sent.parse().expect("time");
    let mut event: Value = serde_json::from_str(event).expect("event JSON");
    for record in event["Records"].as_array_mut().expect("records") {
        record["attributes"]["SentTimestamp"] = sent.timestamp_millis().to_string().into();
    }
    let consumed = sent + chrono::Duration::minutes(1);
    let ahead = (consumed - clock.wall())
        .to_std()
        .expect("batches in the order sent");
    clock.advance(ahead);
    let mut context = lambda_runtime::Context::default();
    context.request_id = "lake-query-test".into();
    let payload = serde_json::value::to_raw_value(&event).expect("event JSON");
    let response = consumer
        .handle(LambdaEvent::new(payload, context))
        .await
        .expect("batch handled");
    let response = serde_json::to_value(response).expect("answer JSON");
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
}

/// The consumer `main` would build, over moto's S3, fed the demo's batches as the demo sends
/// them: the mixed batch carries WL-0042's 10:15 reading again, under a new message id (a
/// resend), twenty minutes later.
async fn consume_the_demo_batches(s3: &aws_sdk_s3::Client, sqs: aws_sdk_sqs::Client) {
    // The clock starts at the first batch's consumption; `consume` moves it on.
    let clock = ManualClock::at("2026-11-20T10:21:00Z".parse().expect("time"));
    let config = SensorConsumerConfig::from_source([("BUCKET", BUCKET), ("PREFIX", PREFIX)])
        .expect("configuration");
    let ports = Ports {
        lake: S3ObjectStore::new(s3.clone(), BUCKET),
        alerts: SqsQueue::new(sqs),
        clock: clock.clone(),
    };
    let consumer = sensor_consumer::build(config, ports).expect("consumer");
    for (batch, sent) in [
        ("sqs-sensor-clean-batch.json", "2026-11-20T10:20:00Z"),
        ("sqs-sensor-mixed-batch.json", "2026-11-20T10:40:00Z"),
        ("sqs-sensor-fifo-batch.json", "2026-11-20T10:45:00Z"),
    ] {
        consume(&consumer, &clock, &event(batch), sent).await;
    }
}

/// The first arrival (`receivedAt`, then `messageId`) of each reading among `lines`.
fn first_arrivals(lines: &[Value]) -> BTreeMap<String, (String, String)> {
    let mut first_arrival: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in lines {
        let id = line["readingId"].as_str().expect("readingId").to_owned();
        let arrival = (
            line["receivedAt"].as_str().expect("receivedAt").to_owned(),
            line["messageId"].as_str().expect("messageId").to_owned(),
        );
        let kept = first_arrival.entry(id).or_insert_with(|| arrival.clone());
        if arrival < *kept {
            *kept = arrival;
        }
    }
    first_arrival
}

/// The template's Glue table and Athena view over the lake under `lake`, run in DuckDB by
/// `tools/lake_query.py`.
async fn query_the_lake(python: &Path, lake: &Path) -> Value {
    let output = tokio::process::Command::new(python)
        .arg(workspace_root().join("tools/lake_query.py"))
        .arg("--lake")
        .arg(lake)
        .arg("--template")
        .arg(workspace_root().join("template.yaml"))
        .output()
        .await
        .expect("run tools/lake_query.py");
    assert!(
        output.status.success(),
        "lake_query.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON result")
}

fn lake_lines(dir: &Path, keys: &[String]) -> Vec<Value> {
    keys.iter()
        .flat_map(|key| {
            std::fs::read_to_string(dir.join(key))
                .expect("object")
                .lines()
                .map(|line| serde_json::from_str(line).expect("a JSON line"))
                .collect::<Vec<Value>>()
        })
        .collect()
}

#[tokio::test]
async fn the_athena_view_over_the_demo_batches_keeps_one_line_per_reading_the_first_that_arrived() {
    let python = installed_tool("DuckDB (make setup)", ".venv/bin/python").expect("make setup");
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let s3 = orabridge_shared::aws::s3_client(&sdk);
    orabridge_shared::testkit::create_bucket(&s3, BUCKET)
        .await
        .expect("bucket");
    consume_the_demo_batches(&s3, orabridge_shared::aws::sqs_client(&sdk)).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let lake = dir.path().join(PREFIX);
    let keys = download_objects(&s3, BUCKET, &format!("{PREFIX}/readings/"), dir.path())
        .await
        .expect("the lake's objects");
    let lines = lake_lines(dir.path(), &keys);
    let first_arrival = first_arrivals(&lines);
    assert!(
        first_arrival.len() < lines.len(),
        "the sample batches must hold a reading twice for this test to mean anything"
    );

    let result = query_the_lake(&python, &lake).await;
    assert_eq!(result["readings"], lines.len(), "the table sees every line");
    let rows = result["deduplicated"].as_array().expect("rows");
    let ids: BTreeSet<&str> = rows
        .iter()
        .map(|row| row["readingid"].as_str().expect("readingid"))
        .collect();
    assert_eq!(ids.len(), rows.len(), "one line per readingId");
    assert_eq!(
        ids,
        first_arrival.keys().map(String::as_str).collect(),
        "and every reading"
    );
    for row in rows {
        let id = row["readingid"].as_str().unwrap_or_default();
        let (received_at, message_id) = &first_arrival[id];
        assert_eq!(
            row["receivedat"],
            received_at.as_str(),
            "{id}: the first copy"
        );
        assert_eq!(
            row["messageid"],
            message_id.as_str(),
            "{id}: the first copy"
        );
        // The partition columns come from the keys, and agree with the line's own fields.
        assert_eq!(row["sensor_type"], row["sensortype"]);
        let timestamp = row["timestamp"].as_str().expect("timestamp");
        assert_eq!(row["date"], &timestamp[..10]);
        assert_eq!(row["hour"], &timestamp[11..13]);
        assert!(
            row["values"].as_object().is_some_and(|v| !v.is_empty()),
            "{row}"
        );
    }
}
