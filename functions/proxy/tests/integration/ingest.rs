//! `POST /ingest/sensor-data` against a real SQS API (moto server).

use crate::common;

use aws_sdk_sqs::Client as Sqs;
use common::*;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::params::MemoryParameterSource;
use orabridge_shared::queue::SqsQueue;
use orabridge_shared::testkit::MotoServer;
use serde_json::{Value, json};

struct Fixture {
    moto: MotoServer,
    sqs: Sqs,
    queue_url: String,
    clock: ManualClock,
    proxy: proxy::Proxy<MemoryParameterSource, proxy::client::HyperClient, SqsQueue, ManualClock>,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let sqs = orabridge_shared::aws::sqs_client(&moto.sdk_config().await);
    let queue_url = orabridge_shared::testkit::create_queue(&sqs, "sensor-readings")
        .await
        .expect("create queue");
    let mut config = test_config();
    config.sensor_queue_url = Some(queue_url.clone());
    let clock = ManualClock::new();
    let proxy = proxy_full(
        MemoryParameterSource::new(),
        SqsQueue::new(sqs.clone()),
        &clock,
        config,
    );
    Fixture {
        moto,
        sqs,
        queue_url,
        clock,
        proxy,
    }
}

/// A reading stamped one minute ago, so it is always within the accepted window.
fn reading(id: &str) -> Value {
    let ts = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"sensorId": id, "sensorType": "water_level", "timestamp": ts, "values": {"level_cm": 120.0}, "zone": "Z1"})
}

async fn drain(sqs: &Sqs, queue_url: &str) -> Vec<Value> {
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let messages = out.messages();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            bodies.push(serde_json::from_str(m.body().unwrap_or_default()).expect("JSON message"));
        }
    }
}

fn post(body: &Value) -> common::Event {
    v2(
        "POST",
        "/ingest/sensor-data",
        "",
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

#[tokio::test]
async fn valid_readings_are_enqueued_in_batches_and_answered_202_with_their_ids() {
    let f = fixture().await;
    let readings: Vec<Value> = (0..12).map(|i| reading(&format!("WL-{i:02}"))).collect();
    let response = common::invoke(&f.proxy, post(&json!(readings))).await;
    assert_eq!(response.status(), 202);
    let body = body_json(&response);
    assert_eq!(body["accepted"], 12);
    assert_eq!(body["messageIds"].as_array().map(Vec::len), Some(12));

    let mut queued = drain(&f.sqs, &f.queue_url).await;
    queued.sort_by_key(|r| r["sensorId"].as_str().unwrap_or_default().to_owned());
    assert_eq!(queued, readings, "every reading queued once, unchanged");
}

#[tokio::test]
async fn readings_are_aged_on_the_proxys_clock() {
    let f = fixture().await;
    let fresh_now = reading("WL-7");
    // Thirty-one days later on the injected clock, the same reading is past MAX_AGE (30 d).
    f.clock.advance(std::time::Duration::from_secs(31 * 86_400));
    let response = common::invoke(&f.proxy, post(&fresh_now)).await;
    assert_eq!(response.status(), 400, "{:?}", body_json(&response));
    assert_eq!(body_json(&response)["error"], "invalid_readings");
    assert!(drain(&f.sqs, &f.queue_url).await.is_empty());
}

#[tokio::test]
async fn a_single_reading_is_accepted_too() {
    let f = fixture().await;
    let response = common::invoke(&f.proxy, post(&reading("GT-1"))).await;
    assert_eq!(response.status(), 202);
    assert_eq!(drain(&f.sqs, &f.queue_url).await.len(), 1);
}

#[tokio::test]
async fn an_invalid_reading_gets_400_with_every_reason_and_nothing_is_enqueued() {
    let f = fixture().await;
    let mut bad = reading("WL-9");
    bad["sensorType"] = "pressure".into();
    bad["values"] = json!({"level_cm": "deep"});
    let response =
        common::invoke(&f.proxy, post(&json!({"readings": [reading("WL-1"), bad]}))).await;
    assert_eq!(response.status(), 400);
    let body = body_json(&response);
    assert_eq!(body["error"], "invalid_readings");
    assert_eq!(body["errors"][0]["index"], 1);
    let fields: Vec<&str> = body["errors"][0]["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["field"].as_str())
        .collect();
    assert_eq!(fields, ["sensorType", "values.level_cm"]);
    assert!(drain(&f.sqs, &f.queue_url).await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_400() {
    let f = fixture().await;
    let request = v2("POST", "/ingest/sensor-data", "", &[], Some(b"level=231"));
    let response = common::invoke(&f.proxy, request).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_json(&response)["error"], "invalid_readings");
}

#[tokio::test]
async fn sqs_unreachable_answers_502_listing_every_reading_as_failed() {
    let mut f = fixture().await;
    f.moto.stop();
    let response = common::invoke(&f.proxy, post(&json!([reading("A-1"), reading("A-2")]))).await;
    assert_eq!(response.status(), 502);
    let body = body_json(&response);
    assert_eq!(body["error"], "enqueue_failed");
    assert_eq!(body["failed"], json!([0, 1]));
    assert_eq!(body["accepted"], json!([]));
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no internal address in the answer"
    );
}

#[tokio::test]
async fn an_ingest_body_over_the_limit_gets_413_and_nothing_is_enqueued() {
    let f = fixture().await;
    let readings: Vec<Value> = (0..2000).map(|i| reading(&format!("WL-{i:04}"))).collect();
    let body = json!(readings);
    assert!(body.to_string().len() > test_config().max_body_bytes);
    let response = common::invoke(&f.proxy, post(&body)).await;
    assert_eq!(response.status(), 413);
    assert!(drain(&f.sqs, &f.queue_url).await.is_empty());
}

#[tokio::test]
async fn more_readings_than_one_request_may_carry_get_413_with_the_cap_and_nothing_is_enqueued() {
    let f = fixture().await;
    let cap = proxy::ingest::MAX_READINGS_PER_REQUEST;
    // Tiny items, so the body stays under the test's 64 KiB byte limit and the count is what
    // refuses it: the cap is checked before any reading is validated.
    let readings: Vec<Value> = (0..=cap).map(|i| json!({ "sensorId": i })).collect();
    let body = json!(readings);
    assert!(body.to_string().len() < test_config().max_body_bytes);
    let response = common::invoke(&f.proxy, post(&body)).await;
    assert_eq!(response.status(), 413);
    let answer = body_json(&response);
    assert_eq!(answer["error"], "too_many_readings");
    assert_eq!(answer["limit"], cap);
    assert!(
        answer.get("received").is_none(),
        "the body is not read past the cap"
    );
    assert!(drain(&f.sqs, &f.queue_url).await.is_empty());
}

/// SQS refuses a message to a FIFO queue without `MessageGroupId`, and without a
/// `MessageDeduplicationId` unless the queue deduplicates by content (Amazon SQS API Reference,
/// SendMessageBatchRequestEntry,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatchRequestEntry.html).
#[tokio::test]
async fn a_fifo_readings_queue_gets_each_sensor_as_a_group_and_each_reading_once() {
    let f = fixture().await;
    let fifo_url = orabridge_shared::testkit::create_queue(&f.sqs, "sensor-readings.fifo")
        .await
        .expect("FIFO queue");
    let mut config = test_config();
    config.sensor_queue_url = Some(fifo_url.clone());
    let proxy = proxy_full(
        MemoryParameterSource::new(),
        SqsQueue::new(f.sqs.clone()),
        &f.clock,
        config,
    );
    let readings: Vec<Value> = ["WL-1", "WL-2", "WL-1"]
        .iter()
        .enumerate()
        .map(|(minute, id)| {
            let mut reading = reading(id);
            let ts = (chrono::Utc::now() - chrono::Duration::minutes(minute as i64 + 1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            reading["timestamp"] = ts.into();
            reading
        })
        .collect();
    let response = common::invoke(&proxy, post(&json!(readings))).await;
    assert_eq!(response.status(), 202, "{:?}", body_json(&response));
    // The same body again (a client retry without an Idempotency-Key): SQS drops the copies.
    let again = common::invoke(&proxy, post(&json!(readings))).await;
    assert_eq!(again.status(), 202);

    let received = f
        .sqs
        .receive_message()
        .queue_url(&fifo_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let mut groups: Vec<(String, String)> = received
        .messages()
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("JSON");
            let group = m
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .cloned()
                .unwrap_or_default();
            (
                group,
                body["sensorId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    groups.sort();
    assert_eq!(groups.len(), 3, "three readings, each once: {groups:?}");
    assert!(
        groups.iter().all(|(group, sensor)| group == sensor),
        "{groups:?}"
    );
}
