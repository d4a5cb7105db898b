//! `Idempotency-Key` on `POST /ingest/sensor-data`: the records in a real DynamoDB API (moto
//! server) next to the real SQS API, and the failure paths with the in-memory store.
//!
//! The statuses follow the IETF draft "The Idempotency-Key HTTP Header Field"
//! (draft-ietf-httpapi-idempotency-key-header, section 2.7): 409 while the first request is
//! still being processed, 422 when the key is reused with a different payload, and a retry of a
//! completed request gets the first answer again.

use crate::common;

use std::time::Duration;

use aws_sdk_sqs::Client as Sqs;
use common::*;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::idempotency::{
    Decision, DynamoDbIdempotencyStore, Idempotency, IdempotencyKey, IdempotencyStore,
    MemoryIdempotencyStore, Outage,
};
use orabridge_shared::params::MemoryParameterSource;
use orabridge_shared::queue::{MemoryQueue, MessageQueue, SqsQueue};
use orabridge_shared::testkit::{MotoServer, create_idempotency_table, create_queue};
use proxy::Proxy;
use proxy::client::HyperClient;
use serde_json::{Value, json};

const TABLE: &str = "orabridge-idempotency";
const SCOPE: &str = "proxy.ingest-sensor-data";
const HOUR: Duration = Duration::from_secs(3600);

type TestProxy<Q, I> = Proxy<MemoryParameterSource, HyperClient, Q, ManualClock, I>;

fn proxy_over<Q: MessageQueue, I: IdempotencyStore>(
    queue: Q,
    store: I,
    queue_url: &str,
) -> TestProxy<Q, I> {
    let mut config = test_config();
    config.sensor_queue_url = Some(queue_url.to_owned());
    // The records' scope and lifetime are the configuration's defaults: SCOPE and HOUR.
    proxy_built(
        MemoryParameterSource::new(),
        queue,
        &ManualClock::new(),
        config,
        Some(store),
    )
}

fn reading(id: &str) -> Value {
    let ts = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"sensorId": id, "sensorType": "water_level", "timestamp": ts, "values": {"level_cm": 120.0}})
}

fn post(body: &Value, key: Option<&str>) -> common::Event {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    v2(
        "POST",
        "/ingest/sensor-data",
        "",
        &headers,
        Some(body.to_string().as_bytes()),
    )
}

/// A proxy over an in-memory queue and record store, with both handed back for the checks.
fn memory_proxy() -> (
    TestProxy<MemoryQueue, MemoryIdempotencyStore>,
    MemoryQueue,
    MemoryIdempotencyStore,
) {
    let (queue, store) = (MemoryQueue::new(), MemoryIdempotencyStore::new());
    let proxy = proxy_over(queue.clone(), store.clone(), "memory://readings");
    (proxy, queue, store)
}

struct Moto {
    _moto: MotoServer,
    sqs: Sqs,
    dynamodb: aws_sdk_dynamodb::Client,
    queue_url: String,
}

async fn moto() -> Moto {
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let sqs = orabridge_shared::aws::sqs_client(&sdk);
    let dynamodb = orabridge_shared::aws::dynamodb_client(&sdk);
    let queue_url = create_queue(&sqs, "sensor-readings").await.expect("queue");
    create_idempotency_table(&dynamodb, TABLE)
        .await
        .expect("table");
    Moto {
        _moto: moto,
        sqs,
        dynamodb,
        queue_url,
    }
}

async fn queued(sqs: &Sqs, queue_url: &str) -> usize {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("queue attributes");
    attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .expect("message count")
}

#[tokio::test]
async fn a_retry_under_the_same_key_replays_the_first_answer_and_enqueues_nothing() {
    let env = moto().await;
    let proxy = proxy_over(
        SqsQueue::new(env.sqs.clone()),
        DynamoDbIdempotencyStore::new(env.dynamodb.clone(), TABLE),
        &env.queue_url,
    );
    let body = json!([reading("WL-1"), reading("WL-2"), reading("WL-3")]);
    let first = common::invoke(&proxy, post(&body, Some("order-4711"))).await;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotency-replayed").is_none());
    assert_eq!(queued(&env.sqs, &env.queue_url).await, 3);

    let retry = common::invoke(&proxy, post(&body, Some("order-4711"))).await;
    assert_eq!(retry.status(), 202);
    assert_eq!(retry.headers()["idempotency-replayed"], "true");
    assert_eq!(body_json(&retry), body_json(&first), "the very same answer");
    assert_eq!(
        queued(&env.sqs, &env.queue_url).await,
        3,
        "the retry enqueued nothing"
    );

    // Without a key, the same body is a new request (the control for the assertion above).
    assert_eq!(
        common::invoke(&proxy, post(&body, None)).await.status(),
        202
    );
    assert_eq!(queued(&env.sqs, &env.queue_url).await, 6);
}

#[tokio::test]
async fn the_record_has_the_powertools_layout_so_other_languages_can_share_the_table() {
    let env = moto().await;
    let proxy = proxy_over(
        SqsQueue::new(env.sqs.clone()),
        DynamoDbIdempotencyStore::new(env.dynamodb.clone(), TABLE),
        &env.queue_url,
    );
    let before = chrono::Utc::now();
    let response = common::invoke(&proxy, post(&json!(reading("WL-1")), Some("k-layout"))).await;
    assert_eq!(response.status(), 202);
    let items = env
        .dynamodb
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    let text = |name: &str| item[name].as_s().expect("a string attribute").clone();
    let number = |name: &str| -> i64 { item[name].as_n().expect("a number").parse().unwrap() };
    assert!(text("id").starts_with(&format!("{SCOPE}#")));
    assert!(!text("id").contains("k-layout"), "the key is stored hashed");
    assert_eq!(text("status"), "COMPLETED");
    // `expiration` in epoch seconds (the TTL attribute), `in_progress_expiration` in epoch
    // milliseconds, as Powertools writes them.
    let expiration = number("expiration");
    assert!((before.timestamp() + 3600..=before.timestamp() + 3610).contains(&expiration));
    let in_progress = number("in_progress_expiration");
    assert!(
        in_progress > before.timestamp_millis() && in_progress < before.timestamp_millis() + 60_000
    );
    assert_eq!(text("validation").len(), 64);
    let stored: Value = serde_json::from_str(&text("data")).expect("JSON data");
    assert_eq!(stored["status"], 202);
    assert_eq!(stored["body"], body_json(&response));
}

#[tokio::test]
async fn a_different_body_under_a_used_key_is_refused_with_422_and_enqueues_nothing() {
    let env = moto().await;
    let proxy = proxy_over(
        SqsQueue::new(env.sqs.clone()),
        DynamoDbIdempotencyStore::new(env.dynamodb.clone(), TABLE),
        &env.queue_url,
    );
    assert_eq!(
        common::invoke(&proxy, post(&json!(reading("WL-1")), Some("k")))
            .await
            .status(),
        202
    );
    let response = common::invoke(&proxy, post(&json!(reading("WL-2")), Some("k"))).await;
    assert_eq!(response.status(), 422);
    assert_eq!(body_json(&response)["error"], "idempotency_key_reused");
    assert_eq!(queued(&env.sqs, &env.queue_url).await, 1);
}

#[tokio::test]
async fn the_same_key_while_the_first_request_is_in_flight_answers_409_with_retry_after() {
    let env = moto().await;
    let store = DynamoDbIdempotencyStore::new(env.dynamodb.clone(), TABLE);
    let body = json!(reading("WL-1"));
    // Another invocation holds the key: claimed, not finished, its deadline still ahead.
    let other = Idempotency::new(store.clone(), SCOPE, HOUR);
    let now = chrono::Utc::now();
    let claim = other
        .begin(
            None,
            &IdempotencyKey::parse(b"k-busy").unwrap(),
            body.to_string().as_bytes(),
            now,
            now + chrono::Duration::seconds(20),
        )
        .await
        .unwrap();
    assert!(matches!(claim, Decision::Proceed(_)));

    let proxy = proxy_over(SqsQueue::new(env.sqs.clone()), store, &env.queue_url);
    let response = common::invoke(&proxy, post(&body, Some("k-busy"))).await;
    assert_eq!(response.status(), 409);
    assert_eq!(body_json(&response)["error"], "request_in_progress");
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(queued(&env.sqs, &env.queue_url).await, 0);
}

#[tokio::test]
async fn an_unreachable_table_answers_503_and_enqueues_nothing() {
    let env = moto().await;
    // DynamoDB at a port nobody listens on; SQS still works.
    let down = orabridge_shared::testkit::local_sdk_config(
        &orabridge_shared::testkit::upstream::refusing_url(),
    )
    .await;
    let store = DynamoDbIdempotencyStore::new(orabridge_shared::aws::dynamodb_client(&down), TABLE);
    let proxy = proxy_over(SqsQueue::new(env.sqs.clone()), store, &env.queue_url);
    let response = common::invoke(&proxy, post(&json!(reading("WL-1")), Some("k"))).await;
    assert_eq!(response.status(), 503);
    let body = body_json(&response);
    assert_eq!(body["error"], "idempotency_unavailable");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no internal detail: {body}"
    );
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(queued(&env.sqs, &env.queue_url).await, 0);
}

#[tokio::test]
async fn a_throttled_table_answers_503_and_enqueues_nothing() {
    let (proxy, queue, store) = memory_proxy();
    store.set_outage(Some(Outage::Throttled));
    let response = common::invoke(&proxy, post(&json!(reading("WL-1")), Some("k"))).await;
    assert_eq!(response.status(), 503);
    assert_eq!(body_json(&response)["error"], "idempotency_unavailable");
    assert!(queue.accepted().is_empty());
}

#[tokio::test]
async fn a_key_over_256_bytes_or_with_other_than_visible_ascii_is_refused_before_anything_happens()
{
    let (proxy, queue, store) = memory_proxy();
    let long = "k".repeat(257);
    for (key, reason) in [
        (long.as_str(), "is 257 bytes long; at most 256 are accepted"),
        (
            "café",
            "may contain only visible ASCII characters and spaces",
        ),
        ("  ", "is empty"),
    ] {
        let response = common::invoke(&proxy, post(&json!(reading("WL-1")), Some(key))).await;
        assert_eq!(response.status(), 400, "{key:?}");
        let body = body_json(&response);
        assert_eq!(body["error"], "invalid_idempotency_key");
        assert_eq!(body["reason"], reason);
    }
    let exactly = "k".repeat(256);
    assert_eq!(
        common::invoke(&proxy, post(&json!(reading("WL-1")), Some(&exactly)))
            .await
            .status(),
        202
    );
    assert_eq!(queue.accepted().len(), 1);
    assert_eq!(store.records().len(), 1);
}

#[tokio::test]
async fn invalid_readings_give_the_key_back_so_a_corrected_retry_is_not_refused() {
    let (proxy, _queue, store) = memory_proxy();
    let mut bad = reading("WL-1");
    bad["values"] = json!({});
    let response = common::invoke(&proxy, post(&bad, Some("k"))).await;
    assert_eq!(response.status(), 400);
    assert!(store.records().is_empty(), "nothing done, nothing kept");
    // The same key now carries the corrected body: a new request as far as the table knows.
    assert_eq!(
        common::invoke(&proxy, post(&json!(reading("WL-1")), Some("k")))
            .await
            .status(),
        202
    );
}

#[tokio::test]
async fn a_queue_outage_releases_the_key_and_the_retry_enqueues_once() {
    let (proxy, queue, store) = memory_proxy();
    let body = json!([reading("WL-1"), reading("WL-2")]);
    queue.set_available(false);
    let response = common::invoke(&proxy, post(&body, Some("k"))).await;
    assert_eq!(response.status(), 502);
    assert!(store.records().is_empty());
    queue.set_available(true);
    assert_eq!(
        common::invoke(&proxy, post(&body, Some("k")))
            .await
            .status(),
        202
    );
    assert_eq!(
        common::invoke(&proxy, post(&body, Some("k")))
            .await
            .status(),
        202
    );
    assert_eq!(
        queue.accepted().len(),
        2,
        "enqueued once, by the first retry"
    );
}

#[tokio::test]
async fn a_partly_enqueued_request_keeps_its_answer_so_a_retry_cannot_enqueue_twice() {
    let (proxy, queue, _store) = memory_proxy();
    queue.refuse_bodies_containing(Some("WL-2"));
    let body = json!([reading("WL-1"), reading("WL-2")]);
    let first = common::invoke(&proxy, post(&body, Some("k"))).await;
    assert_eq!(first.status(), 502);
    let answer = body_json(&first);
    assert_eq!(answer["failed"], json!([1]));
    assert_eq!(queue.accepted().len(), 1);

    queue.refuse_bodies_containing(None);
    let retry = common::invoke(&proxy, post(&body, Some("k"))).await;
    assert_eq!(retry.status(), 502);
    assert_eq!(retry.headers()["idempotency-replayed"], "true");
    assert_eq!(
        body_json(&retry),
        answer,
        "the first answer, naming what to resend"
    );
    assert_eq!(
        queue.accepted().len(),
        1,
        "WL-1 was not enqueued a second time"
    );
}

#[tokio::test]
async fn without_a_table_the_header_changes_nothing() {
    let queue = MemoryQueue::new();
    let mut config = test_config();
    config.sensor_queue_url = Some("memory://readings".into());
    let proxy = proxy_full(
        MemoryParameterSource::new(),
        queue.clone(),
        &ManualClock::new(),
        config,
    );
    let body = json!(reading("WL-1"));
    assert_eq!(
        common::invoke(&proxy, post(&body, Some("k")))
            .await
            .status(),
        202
    );
    assert_eq!(
        common::invoke(&proxy, post(&body, Some("k")))
            .await
            .status(),
        202
    );
    assert_eq!(queue.accepted().len(), 2);
}

/// `event` as sent by the JWT whose `sub` is `sub` (what an HTTP API's JWT authorizer puts in
/// the request context).
fn as_user(mut event: common::Event, sub: &str) -> common::Event {
    event.json["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"sub": sub}, "scopes": null}});
    event
}

#[tokio::test]
async fn two_callers_who_pick_the_same_key_never_meet() {
    let (proxy, queue, store) = memory_proxy();
    let alice = as_user(post(&json!(reading("WL-1")), Some("order-1")), "alice");
    let bob = as_user(post(&json!(reading("WL-2")), Some("order-1")), "bob");
    assert_eq!(common::invoke(&proxy, alice).await.status(), 202);
    // A different body under the same key: another caller's request, not a reused key.
    let response = common::invoke(&proxy, bob).await;
    assert_eq!(response.status(), 202, "{:?}", body_json(&response));
    assert!(
        response
            .headers()
            .get(proxy::service::IDEMPOTENCY_REPLAYED)
            .is_none()
    );
    assert_eq!(queue.accepted().len(), 2);
    assert_eq!(store.records().len(), 2, "one record per caller");
    // The same caller's retry is still a retry.
    let again = as_user(post(&json!(reading("WL-2")), Some("order-1")), "bob");
    let replay = common::invoke(&proxy, again).await;
    assert_eq!(
        replay.headers()[proxy::service::IDEMPOTENCY_REPLAYED],
        "true"
    );
    assert_eq!(queue.accepted().len(), 2);
}

#[tokio::test]
async fn a_request_holds_its_key_until_lambda_ends_the_invocation_not_only_until_its_answer_is_due()
{
    let (proxy, _queue, store) = memory_proxy();
    let before = chrono::Utc::now();
    // A function with a minute to run: the answer is due within API Gateway's 29 s, but the
    // invocation (and any call it started) may go on to the minute's end.
    let event = with_remaining_time(
        post(&json!(reading("WL-1")), Some("k-deadline")),
        Duration::from_secs(60),
    );
    assert_eq!(common::invoke(&proxy, event).await.status(), 202);
    let record = store.records().into_values().next().expect("a record");
    let in_progress = record
        .in_progress_expiration
        .expect("in_progress_expiration");
    assert!(
        in_progress >= before.timestamp_millis() + 59_000,
        "held {} ms, not until the invocation's end",
        in_progress - before.timestamp_millis()
    );
}

#[tokio::test]
async fn a_slow_queue_never_gets_a_reading_twice_across_retries_under_one_key() {
    let env = moto().await;
    // Every SQS call takes two and a half seconds; DynamoDB answers at once.
    let delayed = orabridge_shared::testkit::latency::DelayProxy::start(
        &env._moto.endpoint(),
        Duration::from_millis(2500),
    )
    .await
    .expect("delay proxy");
    let slow_sqs = orabridge_shared::aws::sqs_client(
        &orabridge_shared::testkit::local_sdk_config(&delayed.url()).await,
    );
    let proxy = std::sync::Arc::new(proxy_over(
        SqsQueue::new(slow_sqs),
        DynamoDbIdempotencyStore::new(env.dynamodb.clone(), TABLE),
        &env.queue_url,
    ));
    let body = json!(
        (0..30)
            .map(|i| reading(&format!("S-{i}")))
            .collect::<Vec<_>>()
    );
    // With ten seconds left, no call may start, not even the claim of the key: a call can
    // be followed by the record's write, each up to its 5 s operation timeout. Nothing is sent,
    // and the client is told to retry.
    let hurried = with_remaining_time(post(&body, Some("k-slow")), Duration::from_secs(10));
    let response = common::invoke(&*proxy, hurried).await;
    assert_eq!(response.status(), 503, "{:?}", body_json(&response));
    assert_eq!(body_json(&response)["error"], "idempotency_unavailable");
    assert_eq!(queued(&env.sqs, &env.queue_url).await, 0);
    // The retry with time to spare sends them; a retry while it runs is told to wait, and one
    // after it gets its answer again.
    let first = tokio::spawn({
        let (proxy, body) = (std::sync::Arc::clone(&proxy), body.clone());
        async move {
            let event = with_remaining_time(post(&body, Some("k-slow")), Duration::from_secs(40));
            common::invoke(&*proxy, event).await
        }
    });
    // Once its claim is in the table (its SQS calls then take two and a half seconds)...
    for _ in 0..100 {
        let scan = env
            .dynamodb
            .scan()
            .table_name(TABLE)
            .send()
            .await
            .expect("scan");
        let claimed = scan.items().iter().any(|item| {
            item.get("status")
                .and_then(|s| s.as_s().ok())
                .map(String::as_str)
                == Some("INPROGRESS")
        });
        if claimed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let meanwhile = with_remaining_time(post(&body, Some("k-slow")), Duration::from_secs(40));
    assert_eq!(common::invoke(&*proxy, meanwhile).await.status(), 409);
    let first = first.await.expect("first request");
    assert_eq!(first.status(), 202, "{:?}", body_json(&first));
    let after = with_remaining_time(post(&body, Some("k-slow")), Duration::from_secs(40));
    let replay = common::invoke(&*proxy, after).await;
    assert_eq!(replay.status(), 202);
    assert_eq!(
        body_json(&replay)["messageIds"],
        body_json(&first)["messageIds"]
    );
    assert_eq!(
        queued(&env.sqs, &env.queue_url).await,
        30,
        "each reading once"
    );
}
