//! The consumer against real S3 and SQS APIs (moto server), with batches shaped like the ones
//! in `events/`. Every consumer is composed by `sensor_consumer::build` from the configuration
//! `main` reads, and invoked through `Function::handle`, as `main` serves it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::object_store::{MemoryObjectStore, ObjectStore, S3ObjectStore};
use orabridge_shared::queue::{MemoryQueue, MessageQueue, SqsQueue};
use orabridge_shared::start::Function;
use orabridge_shared::testkit::{FaultyStore, MotoServer, read_objects};
use sensor_consumer::config::SensorConsumerConfig;
use sensor_consumer::{Answer, InvocationError, Ports, SensorConsumer};
use serde_json::{Value, json};

const BUCKET: &str = "lake";

type Consumer<O, Q> = SensorConsumer<O, Q, ManualClock>;

fn now() -> DateTime<Utc> {
    "2026-11-20T10:20:00Z".parse().expect("time")
}

/// The consumer `main` would build from its variables (`BUCKET`, `PREFIX=iot`, then `vars`)
/// over `lake` and `alerts`, its clock at [`now`].
fn consumer<O: ObjectStore, Q: MessageQueue>(
    lake: O,
    alerts: Q,
    vars: &[(&str, &str)],
) -> Consumer<O, Q> {
    let mut all = vec![("BUCKET", BUCKET), ("PREFIX", "iot")];
    all.extend_from_slice(vars);
    let config = SensorConsumerConfig::from_source(all.as_slice()).expect("configuration");
    let clock = ManualClock::at(now());
    sensor_consumer::build(
        config,
        Ports {
            lake,
            alerts,
            clock,
        },
    )
    .expect("consumer")
}

/// The invocation's context as Lambda gives it: a request id, and the deadline `left` from now
/// in epoch milliseconds (none: the emulators' way, no deadline).
fn context(request_id: &str, left: Option<std::time::Duration>) -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.request_id = request_id.to_owned();
    if let Some(left) = left {
        let deadline = std::time::SystemTime::now() + left;
        context.deadline = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
    }
    context
}

/// Invokes the function with the JSON text `payload`, as the runtime hands it over.
async fn invoke<O: ObjectStore + 'static, Q: MessageQueue + 'static>(
    consumer: &Consumer<O, Q>,
    payload: &str,
    context: lambda_runtime::Context,
) -> Result<Answer, InvocationError> {
    let payload = serde_json::from_str(payload).expect("the runtime passes only JSON");
    consumer.handle(LambdaEvent::new(payload, context)).await
}

/// An SQS event from (message id, body) pairs; `fifo` adds a MessageGroupId.
fn sqs_event(records: &[(&str, String)], fifo: bool) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut attributes = json!({"ApproximateReceiveCount": "1", "SentTimestamp": "1795169700000"});
            if fifo {
                attributes["MessageGroupId"] = "field-Z1".into();
            }
            json!({"messageId": id, "receiptHandle": "rh", "body": body, "attributes": attributes,
                   "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:readings", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

/// A consumer over `store` and an in-memory queue, with no thresholds.
fn memory_consumer(store: &MemoryObjectStore) -> Consumer<MemoryObjectStore, MemoryQueue> {
    consumer(store.clone(), MemoryQueue::new(), &[])
}

fn reading(id: &str, kind: &str, ts: &str, values: Value) -> String {
    json!({"sensorId": id, "sensorType": kind, "timestamp": ts, "values": values, "zone": "Z1"})
        .to_string()
}

fn mixed_batch() -> Vec<(&'static str, String)> {
    vec![
        ("m-01", reading("WL-1", "water_level", "2026-11-20T10:05:00Z", json!({"level_cm": 231.5}))),
        ("m-02", reading("WL-2", "water_level", "2026-11-20T10:06:00Z", json!({"level_cm": 120.0}))),
        ("m-03", reading("RF-1", "rainfall", "2026-11-20T09:55:00Z", json!({"mm": 4.2}))),
        ("m-04", "{\"sensorId\": \"WL-3\", ".to_owned()),
        ("m-05", json!({"sensorType": "flow", "values": {"m3s": 1.0}}).to_string()),
        ("m-06", json!({"sensorId": "SM-1", "sensorType": "moisture", "timestamp": "2026-11-20T10:00:00Z",
                        "values": {"vwc": 30.0}, "location": {"lat": 123.0, "lng": 100.0}}).to_string()),
        ("m-07", reading("WL-4", "water_level", "2026-11-20T11:00:00Z", json!({"level_cm": 1.0}))),
        ("m-08", reading("WL-5", "water_level", "2026-09-01T10:00:00Z", json!({"level_cm": 1.0}))),
        ("m-09", reading("WL-1", "water_level", "2026-11-20T10:05:00Z", json!({"level_cm": 231.5}))),
    ]
}

struct Fixture {
    moto: MotoServer,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    alerts_url: String,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let s3 = orabridge_shared::aws::s3_client(&sdk);
    orabridge_shared::testkit::create_bucket(&s3, BUCKET)
        .await
        .expect("bucket");
    let sqs = orabridge_shared::aws::sqs_client(&sdk);
    let alerts_url = orabridge_shared::testkit::create_queue(&sqs, "alerts")
        .await
        .expect("create queue");
    Fixture {
        moto,
        s3,
        sqs,
        alerts_url,
    }
}

impl Fixture {
    /// A consumer writing to `bucket`, alerting to the fixture's queue by `thresholds`.
    fn consumer(&self, bucket: &str, thresholds: &str) -> Consumer<S3ObjectStore, SqsQueue> {
        consumer(
            S3ObjectStore::new(self.s3.clone(), bucket),
            SqsQueue::new(self.sqs.clone()),
            &[
                ("ALERT_QUEUE_URL", &self.alerts_url),
                ("THRESHOLDS", thresholds),
            ],
        )
    }

    async fn objects(&self) -> BTreeMap<String, String> {
        let objects = read_objects(&self.s3, BUCKET, "").await.expect("objects");
        objects
            .into_iter()
            .map(|(key, body)| (key, String::from_utf8_lossy(&body).into_owned()))
            .collect()
    }
}

/// Delivers `batch` to the consumer as one SQS event and returns the function's answer.
async fn deliver<O: ObjectStore + 'static, Q: MessageQueue + 'static>(
    consumer: &Consumer<O, Q>,
    batch: &[(&str, String)],
    fifo: bool,
    request_id: &str,
) -> Value {
    let answer = invoke(
        consumer,
        &sqs_event(batch, fifo).to_string(),
        context(request_id, None),
    )
    .await
    .expect("an SQS event is always handled");
    // The JSON Lambda sees.
    serde_json::to_value(answer).expect("answer JSON")
}

fn failures(response: &Value) -> Vec<&str> {
    response["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect()
}

#[tokio::test]
async fn a_mixed_batch_lands_valid_lines_quarantines_each_bad_message_and_fails_nothing() {
    let f = fixture().await;
    let consumer = f.consumer(BUCKET, "{}");
    let response = deliver(&consumer, &mixed_batch(), false, "req").await;
    assert!(failures(&response).is_empty(), "{response}");

    let objects = f.objects().await;
    let readings: Vec<(&String, &String)> = objects
        .iter()
        .filter(|(k, _)| k.contains("/readings/"))
        .collect();
    assert_eq!(
        readings.len(),
        2,
        "water_level 10h and rainfall 09h: {:?}",
        objects.keys()
    );
    let water = readings
        .iter()
        .find(|(k, _)| k.contains("sensor_type=water_level/date=2026-11-20/hour=10/"))
        .expect("water group");
    let lines: Vec<Value> = water
        .1
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["sensorId"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["WL-1", "WL-2"],
        "the in-batch duplicate (m-09) is written once"
    );
    assert_eq!(lines[0]["messageId"], "m-01");
    assert_eq!(lines[0]["zone"], "Z1", "original fields kept");
    each_bad_message_is_quarantined_with_its_reasons(&objects);
}

/// The mixed batch's five bad messages, each in a quarantine object of its own with every
/// reason and its SQS attributes.
fn each_bad_message_is_quarantined_with_its_reasons(objects: &BTreeMap<String, String>) {
    let quarantined: BTreeMap<&str, Value> = objects
        .iter()
        .filter(|(k, _)| k.starts_with("iot/quarantine/date=2026-11-20/"))
        .map(|(k, v)| {
            (
                k.rsplit('/').next().unwrap_or_default(),
                serde_json::from_str(v).expect("JSON"),
            )
        })
        .collect();
    let names: Vec<&&str> = quarantined.keys().collect();
    assert_eq!(
        names,
        [
            &"m-04.json",
            &"m-05.json",
            &"m-06.json",
            &"m-07.json",
            &"m-08.json"
        ]
    );
    assert_eq!(
        quarantined["m-04.json"]["body"],
        "{\"sensorId\": \"WL-3\", "
    );
    assert_eq!(
        quarantined["m-05.json"]["reasons"].as_array().map(Vec::len),
        Some(2),
        "sensorId and timestamp missing"
    );
    assert!(
        quarantined["m-06.json"]["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("location.lat"))
    );
    assert!(
        quarantined["m-07.json"]["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("future"))
    );
    assert!(
        quarantined["m-08.json"]["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("old"))
    );
    assert_eq!(
        quarantined["m-04.json"]["attributes"]["SentTimestamp"],
        "1795169700000"
    );
}

#[tokio::test]
async fn the_same_batch_delivered_twice_writes_the_same_keys_and_contents() {
    let f = fixture().await;
    let consumer = f.consumer(BUCKET, "{}");
    deliver(&consumer, &mixed_batch(), false, "req-1").await;
    let first = f.objects().await;
    deliver(&consumer, &mixed_batch(), false, "req-2").await;
    assert_eq!(f.objects().await, first);
}

#[tokio::test]
async fn s3_down_reports_every_message_and_quarantines_none() {
    let mut f = fixture().await;
    let consumer = f.consumer(BUCKET, "{}");
    f.moto.stop();
    let response = deliver(&consumer, &mixed_batch(), false, "req").await;
    let mut failed = failures(&response);
    failed.sort_unstable();
    assert_eq!(
        failed,
        [
            "m-01", "m-02", "m-03", "m-04", "m-05", "m-06", "m-07", "m-08", "m-09"
        ]
    );
}

#[tokio::test]
async fn a_missing_bucket_reports_every_affected_message() {
    let f = fixture().await;
    let consumer = f.consumer("no-such-bucket", "{}");
    let batch = vec![(
        "m-1",
        reading("F-1", "flow", "2026-11-20T10:00:00Z", json!({"m3s": 1.0})),
    )];
    let response = deliver(&consumer, &batch, false, "req").await;
    assert_eq!(failures(&response), ["m-1"]);
}

#[tokio::test]
async fn readings_over_a_threshold_send_alerts_to_the_alert_queue() {
    let f = fixture().await;
    let consumer = f.consumer(BUCKET, r#"{"water_level": {"level_cm": {"gt": 200}}}"#);
    deliver(&consumer, &mixed_batch(), false, "req").await;
    let received = f
        .sqs
        .receive_message()
        .queue_url(&f.alerts_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let alerts: Vec<Value> = received
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap_or_default()).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["sensorId"], "WL-1");
    assert_eq!(alerts[0]["breaches"][0]["valueName"], "level_cm");
    assert_eq!(alerts[0]["breaches"][0]["threshold"], 200.0);
}

#[tokio::test]
async fn a_fifo_batch_with_a_failure_in_the_middle_reports_it_and_every_later_record() {
    let store = FaultyStore::new(MemoryObjectStore::new())
        .refusing(|key| key.starts_with("iot/readings/sensor_type=gate/"));
    let consumer = consumer(store, MemoryQueue::new(), &[]);
    let batch = vec![
        (
            "f-1",
            reading("F-1", "flow", "2026-11-20T10:00:00Z", json!({"m3s": 1.0})),
        ),
        (
            "f-2",
            reading("G-1", "gate", "2026-11-20T10:01:00Z", json!({"pct": 40.0})),
        ),
        (
            "f-3",
            reading("F-2", "flow", "2026-11-20T10:02:00Z", json!({"m3s": 1.1})),
        ),
        (
            "f-4",
            reading("F-3", "flow", "2026-11-20T10:03:00Z", json!({"m3s": 1.2})),
        ),
    ];
    let response = deliver(&consumer, &batch, true, "req").await;
    assert_eq!(failures(&response), ["f-2", "f-3", "f-4"]);
    let standard = deliver(&consumer, &batch, false, "req").await;
    assert_eq!(
        failures(&standard),
        ["f-2"],
        "a standard queue retries only the affected message"
    );
}

#[tokio::test]
async fn a_direct_invocation_returns_a_summary() {
    let store = MemoryObjectStore::new();
    let consumer = memory_consumer(&store);
    let payload = json!({"readings": [
        serde_json::from_str::<Value>(&reading("F-1", "flow", "2026-11-20T10:00:00Z", json!({"m3s": 1.0}))).unwrap(),
        json!({"sensorId": "bad"}),
    ]});
    let answer = invoke(&consumer, &payload.to_string(), context("req-9", None))
        .await
        .unwrap();
    assert!(matches!(answer, sensor_consumer::Answer::Direct(_)));
    let summary = serde_json::to_value(answer).unwrap();
    assert_eq!(summary["accepted"], 1);
    assert_eq!(summary["quarantined"], 1);
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["objects"].as_array().map(Vec::len), Some(1));
    assert!(
        store
            .objects()
            .keys()
            .any(|k| k == "iot/quarantine/date=2026-11-20/req-9-1.json")
    );
}

#[tokio::test]
async fn an_unknown_event_is_an_invalid_event_error() {
    let consumer = memory_consumer(&MemoryObjectStore::new());
    let err = invoke(&consumer, r#"{"hello": 1}"#, context("req", None))
        .await
        .unwrap_err();
    assert_eq!(
        orabridge_shared::lambda::Diagnostic::from(err).error_type,
        "InvalidEvent"
    );
}

/// Lambda fails a whole batch whose response names an empty or unknown `itemIdentifier`
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>), so a record
/// without a `messageId` cannot be reported alone: the invocation fails, naming the record, and
/// writes nothing, so SQS delivers the batch again and nothing is lost.
#[tokio::test]
async fn a_record_without_a_message_id_fails_the_batch_naming_the_record() {
    let store = MemoryObjectStore::new();
    let consumer = memory_consumer(&store);
    let mut event = sqs_event(
        &[
            (
                "m-1",
                reading("F-1", "flow", "2026-11-20T10:00:00Z", json!({"m3s": 1.0})),
            ),
            (
                "m-2",
                reading("F-2", "flow", "2026-11-20T10:00:00Z", json!({"m3s": 2.0})),
            ),
        ],
        false,
    );
    event["Records"][1]
        .as_object_mut()
        .expect("record")
        .remove("messageId");
    let err = invoke(&consumer, &event.to_string(), context("req", None))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "record 1 of the SQS event has no messageId"
    );
    assert_eq!(
        orabridge_shared::lambda::Diagnostic::from(err).error_type,
        "InvalidEvent"
    );
    assert!(store.objects().is_empty(), "nothing written");
}

/// A memory store that keeps each write open for a few scheduler turns, so writes that
/// overlap are seen overlapping, and refuses the keys in `failing`.
fn counting_store(failing: Option<String>) -> FaultyStore<MemoryObjectStore> {
    FaultyStore::new(MemoryObjectStore::new())
        .holding_writes(std::time::Duration::from_millis(5))
        .refusing(move |key| failing.as_deref() == Some(key))
}

/// 40 sensors of one type over 40 hours: 40 group objects, plus 5 poison messages.
fn wide_batch() -> Vec<(String, String)> {
    let mut batch: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("m-{i:02}"),
                reading(
                    &format!("r-{i:02}"),
                    "water_level",
                    &format!("2026-11-{:02}T{:02}:05:00Z", 18 + i / 24, i % 24),
                    json!({"level_cm": 120}),
                ),
            )
        })
        .collect();
    batch.extend((0..5).map(|i| (format!("poison-{i}"), "{not json".to_owned())));
    batch
}

#[tokio::test]
async fn writes_run_concurrently_up_to_the_bound_and_a_failure_still_fails_only_its_messages() {
    let batch = wide_batch();
    let records: Vec<(&str, String)> = batch
        .iter()
        .map(|(id, b)| (id.as_str(), b.clone()))
        .collect();
    for (bound, expected_most) in [(1, 1), (8, 8)] {
        let consumer = consumer(
            counting_store(None),
            MemoryQueue::new(),
            &[("WRITE_CONCURRENCY", &bound.to_string())],
        );
        let response = deliver(&consumer, &records, false, "req").await;
        assert_eq!(failures(&response), Vec::<&str>::new(), "bound {bound}");
        let store = consumer.lake();
        assert_eq!(
            store.most_in_flight(),
            expected_most,
            "at most {bound} writes in flight, and that many when there is work for them"
        );
        // 40 hourly groups and 5 quarantine objects, all written.
        assert_eq!(store.inner().objects().len(), 45, "bound {bound}");
    }

    // One group's write fails: exactly its message is retried, whatever finished around it.
    let consumer_probe = memory_consumer(&MemoryObjectStore::new());
    deliver(&consumer_probe, &records, false, "probe").await;
    let victim = consumer_probe
        .lake()
        .objects()
        .into_keys()
        .find(|key| key.contains("hour=07"))
        .expect("the 07:00 group");
    let consumer = consumer(counting_store(Some(victim)), MemoryQueue::new(), &[]);
    let response = deliver(&consumer, &records, false, "req").await;
    assert_eq!(failures(&response), ["m-07"]);
}

/// The consumer's S3 and SQS calls through a proxy in front of moto that holds for a minute
/// every request `stalled` picks and passes the others at once.
async fn stalled_consumer(
    f: &Fixture,
    vars: &[(&str, &str)],
    stalled: fn(&http::request::Parts) -> bool,
) -> (
    Consumer<S3ObjectStore, SqsQueue>,
    orabridge_shared::testkit::latency::DelayProxy,
) {
    let proxy =
        orabridge_shared::testkit::latency::DelayProxy::start_with(&f.moto.endpoint(), move |r| {
            if stalled(r) {
                std::time::Duration::from_secs(60)
            } else {
                std::time::Duration::ZERO
            }
        })
        .await
        .expect("delay proxy");
    // The clients main builds (the SDK's own timeouts: S3's 60 s attempt), pointed at the proxy.
    let sdk = orabridge_shared::testkit::local_sdk_config(&proxy.url()).await;
    let consumer = consumer(
        S3ObjectStore::new(orabridge_shared::aws::s3_client(&sdk), BUCKET),
        SqsQueue::new(orabridge_shared::aws::sqs_client(&sdk)),
        vars,
    );
    (consumer, proxy)
}

/// The spec: "The consumer answers before its deadline: S3 and SQS calls are bounded by the
/// invocation's remaining time; what is unwritten when time runs out is listed in
/// `batchItemFailures`" (a timed-out invocation loses its partial batch response, and SQS
/// delivers the whole batch again: Lambda Developer Guide, "Handling errors for an SQS event
/// source in Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
#[tokio::test]
async fn a_stalled_s3_gets_a_partial_answer_before_the_deadline_listing_exactly_the_unwritten() {
    let f = fixture().await;
    // S3 stalls on the rainfall hour's object only; everything else is written at once.
    let (consumer, _proxy) = stalled_consumer(&f, &[], |r| {
        r.method == http::Method::PUT && r.uri.path().contains("rainfall")
    })
    .await;
    let left = std::time::Duration::from_secs(8);
    let started = std::time::Instant::now();
    let event = sqs_event(&mixed_batch(), false).to_string();
    let answer = invoke(&consumer, &event, context("req", Some(left)))
        .await
        .expect("an SQS event is always handled");
    let elapsed = started.elapsed();
    // Lambda ends the invocation at its deadline; the answer came before it, the margin kept.
    assert!(elapsed < left, "answered after {elapsed:?} of {left:?}");
    let response = serde_json::to_value(answer).expect("answer JSON");
    assert_eq!(
        failures(&response),
        ["m-03"],
        "only the rainfall reading is unwritten: {response}"
    );
    let objects = f.objects().await;
    assert!(objects.keys().all(|key| !key.contains("rainfall")));
    for id in ["m-01", "m-02"] {
        assert!(
            objects
                .values()
                .any(|body| body.contains(&format!("\"messageId\":\"{id}\""))),
            "{id} written and acknowledged"
        );
    }
    assert_eq!(
        objects
            .keys()
            .filter(|k| k.contains("/quarantine/"))
            .count(),
        5,
        "the poison messages quarantined"
    );
}

#[tokio::test]
async fn a_stalled_alert_queue_fails_only_the_messages_whose_alert_was_not_sent() {
    let f = fixture().await;
    let vars = [
        (
            "THRESHOLDS",
            r#"{"water_level": {"level_cm": {"gt": 200}}}"#,
        ),
        ("ALERT_QUEUE_URL", f.alerts_url.as_str()),
    ];
    // Every SQS call stalls (the JSON protocol posts to the root); S3 answers at once.
    let (consumer, _proxy) =
        stalled_consumer(&f, &vars, |r| r.headers.contains_key("x-amz-target")).await;
    let left = std::time::Duration::from_secs(8);
    let started = std::time::Instant::now();
    let event = sqs_event(&mixed_batch(), false).to_string();
    let answer = invoke(&consumer, &event, context("req", Some(left)))
        .await
        .expect("handled");
    assert!(started.elapsed() < left);
    let response = serde_json::to_value(answer).expect("answer JSON");
    // WL-1's reading raised the one alert, from m-01; m-09 carries the same reading again and
    // raises none (its line is m-01's), so it is safe once the line is: m-01's redelivery
    // sends the alert.
    assert_eq!(failures(&response), ["m-01"], "{response}");
    let objects = f.objects().await;
    assert!(
        objects
            .keys()
            .any(|k| k.contains("sensor_type=water_level")),
        "the lines were written; only the alert is outstanding"
    );
}

/// SQS requires `MessageGroupId` of every message sent to a FIFO queue, and a
/// `MessageDeduplicationId` unless the queue deduplicates by content (Amazon SQS API
/// Reference, SendMessageBatchRequestEntry,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatchRequestEntry.html).
#[tokio::test]
async fn alerts_reach_a_fifo_queue_grouped_by_sensor_and_deduplicated_by_reading() {
    let f = fixture().await;
    let fifo_url = orabridge_shared::testkit::create_queue(&f.sqs, "alerts.fifo")
        .await
        .expect("FIFO queue");
    let consumer = consumer(
        S3ObjectStore::new(f.s3.clone(), BUCKET),
        SqsQueue::new(f.sqs.clone()),
        &[
            (
                "THRESHOLDS",
                r#"{"water_level": {"level_cm": {"gt": 100}}}"#,
            ),
            ("ALERT_QUEUE_URL", &fifo_url),
        ],
    );
    let response = deliver(&consumer, &mixed_batch(), false, "req").await;
    assert!(failures(&response).is_empty(), "{response}");
    // The batch redelivered (as after a later failure): the same alerts, dropped by SQS.
    let again = deliver(&consumer, &mixed_batch(), false, "req").await;
    assert!(failures(&again).is_empty(), "{again}");

    let received = f
        .sqs
        .receive_message()
        .queue_url(&fifo_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let mut seen: Vec<(String, String, String)> = received
        .messages()
        .iter()
        .map(|m| {
            let attributes = m.attributes().expect("attributes");
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap();
            let get = |name| attributes.get(&name).cloned().unwrap_or_default();
            assert_eq!(
                get(aws_sdk_sqs::types::MessageSystemAttributeName::MessageDeduplicationId),
                body["readingId"].as_str().unwrap_or_default(),
                "deduplicated by the reading"
            );
            (
                get(aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId),
                body["sensorId"].as_str().unwrap_or_default().to_owned(),
                body["readingId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 2, "WL-1 and WL-2, once each: {seen:?}");
    for (group, sensor, _) in &seen {
        assert_eq!(group, sensor, "grouped by sensor");
    }
    assert_eq!(
        seen.iter().map(|(_, s, _)| s.as_str()).collect::<Vec<_>>(),
        ["WL-1", "WL-2"]
    );
}

/// With more objects than `WRITE_CONCURRENCY`, a PUT stalled at the head of the batch holds
/// back nothing queued behind it: only its own messages are reported.
#[tokio::test]
async fn a_stalled_first_object_holds_back_no_other_write() {
    let f = fixture().await;
    let (consumer, _proxy) = stalled_consumer(&f, &[], |r| {
        r.method == http::Method::PUT && r.uri.path().contains("flow")
    })
    .await;
    // The flow group sorts first; then one water-level group per hour, more of them than
    // writes in flight at once.
    let hours = sensor_consumer::consumer::DEFAULT_WRITE_CONCURRENCY + 8;
    let mut batch = vec![(
        "flow-1".to_owned(),
        reading("F-1", "flow", "2026-11-20T10:00:00Z", json!({"m3s": 1.0})),
    )];
    for hour in 0..hours {
        let at = now() - chrono::Duration::hours(hour as i64 + 1);
        batch.push((
            format!("wl-{hour:02}"),
            reading(
                "WL-1",
                "water_level",
                &at.to_rfc3339(),
                json!({"level_cm": 1.0}),
            ),
        ));
    }
    let records: Vec<(&str, String)> = batch
        .iter()
        .map(|(id, b)| (id.as_str(), b.clone()))
        .collect();
    let left = std::time::Duration::from_secs(8);
    let event = sqs_event(&records, false).to_string();
    let answer = invoke(&consumer, &event, context("req", Some(left)))
        .await
        .expect("handled");
    let response = serde_json::to_value(answer).expect("answer JSON");
    assert_eq!(failures(&response), ["flow-1"], "{response}");
    let written = f
        .objects()
        .await
        .keys()
        .filter(|k| k.contains("sensor_type=water_level"))
        .count();
    assert_eq!(written, hours, "every water-level hour written");
}
