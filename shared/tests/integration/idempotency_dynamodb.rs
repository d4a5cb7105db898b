//! The DynamoDB idempotency store against a real DynamoDB API (moto server), which evaluates the
//! claim's condition expression itself, and against a loopback server answering as a throttled
//! table does.
//!
//! The layout and the claim condition are those of Powertools for AWS Lambda's
//! `DynamoDBPersistenceLayer` (docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency,
//! "Required resources" and "Idempotency record status").

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use orabridge_shared::idempotency::{
    Decision, DynamoDbIdempotencyStore, Idempotency, IdempotencyError, IdempotencyKey,
};
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream};
use orabridge_shared::testkit::{MotoServer, create_idempotency_table, local_sdk_config};

const TABLE: &str = "idempotency";
const SCOPE: &str = "fn.op";

struct Fixture {
    _moto: MotoServer,
    client: aws_sdk_dynamodb::Client,
    idempotency: Idempotency<DynamoDbIdempotencyStore>,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let client = orabridge_shared::aws::dynamodb_client(&moto.sdk_config().await);
    create_idempotency_table(&client, TABLE)
        .await
        .expect("table");
    let idempotency = Idempotency::new(
        DynamoDbIdempotencyStore::new(client.clone(), TABLE),
        SCOPE,
        Duration::from_secs(600),
    );
    Fixture {
        _moto: moto,
        client,
        idempotency,
    }
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text.as_bytes()).expect("a valid key")
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

async fn put_raw(client: &aws_sdk_dynamodb::Client, item: HashMap<String, AttributeValue>) {
    client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(item))
        .send()
        .await
        .expect("put item");
}

#[tokio::test]
async fn claim_finish_replay_and_release_run_on_dynamodb() {
    let f = fixture().await;
    let t = now();
    let deadline = t + chrono::Duration::seconds(20);
    let Decision::Proceed(claimed) = f
        .idempotency
        .begin(None, &key("a"), b"body", t, deadline)
        .await
        .unwrap()
    else {
        panic!("a new key proceeds");
    };
    // The conditional put refuses a second claim while the first is in flight.
    assert_eq!(
        f.idempotency
            .begin(None, &key("a"), b"body", t, deadline)
            .await
            .unwrap(),
        Decision::InFlight
    );
    assert_eq!(
        f.idempotency
            .begin(None, &key("a"), b"other", t, deadline)
            .await
            .unwrap(),
        Decision::PayloadMismatch
    );
    f.idempotency.finish(claimed, "{\"n\":1}", t).await.unwrap();
    assert_eq!(
        f.idempotency
            .begin(None, &key("a"), b"body", t, deadline)
            .await
            .unwrap(),
        Decision::Replay("{\"n\":1}".into())
    );

    let Decision::Proceed(other) = f
        .idempotency
        .begin(None, &key("b"), b"body", t, deadline)
        .await
        .unwrap()
    else {
        panic!("another key proceeds");
    };
    f.idempotency.release(other).await.unwrap();
    let items = f.client.scan().table_name(TABLE).send().await.unwrap();
    assert_eq!(items.count(), 1, "the released record is gone");
    assert!(matches!(
        f.idempotency
            .begin(None, &key("b"), b"body", t, deadline)
            .await
            .unwrap(),
        Decision::Proceed(_)
    ));
}

#[tokio::test]
async fn an_in_progress_record_past_its_deadline_and_an_expired_record_are_claimed_again() {
    let f = fixture().await;
    let t = now();
    let id_of = |text: &str| f.idempotency.record_id(None, &key(text));
    // A crashed invocation: INPROGRESS, its deadline a second ago, the record itself still valid.
    put_raw(
        &f.client,
        HashMap::from([
            ("id".into(), AttributeValue::S(id_of("crashed"))),
            ("status".into(), AttributeValue::S("INPROGRESS".into())),
            (
                "expiration".into(),
                AttributeValue::N((t.timestamp() + 600).to_string()),
            ),
            (
                "in_progress_expiration".into(),
                AttributeValue::N((t.timestamp_millis() - 1_000).to_string()),
            ),
        ]),
    )
    .await;
    // A completed record past its expiration that DynamoDB's TTL has not deleted yet (it can
    // take days: docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
    put_raw(
        &f.client,
        HashMap::from([
            ("id".into(), AttributeValue::S(id_of("stale"))),
            ("status".into(), AttributeValue::S("COMPLETED".into())),
            (
                "expiration".into(),
                AttributeValue::N((t.timestamp() - 1).to_string()),
            ),
            ("data".into(), AttributeValue::S("old".into())),
        ]),
    )
    .await;
    let deadline = t + chrono::Duration::seconds(20);
    for text in ["crashed", "stale"] {
        assert!(
            matches!(
                f.idempotency
                    .begin(None, &key(text), b"body", t, deadline)
                    .await
                    .unwrap(),
                Decision::Proceed(_)
            ),
            "{text} must be claimable"
        );
    }
}

#[tokio::test]
async fn a_completed_record_written_by_another_powertools_runtime_is_replayed() {
    let f = fixture().await;
    let t = now();
    // As Powertools for TypeScript writes it: expiration in fractional seconds, no validation
    // hash when payload validation is off.
    put_raw(
        &f.client,
        HashMap::from([
            (
                "id".into(),
                AttributeValue::S(f.idempotency.record_id(None, &key("ts"))),
            ),
            ("status".into(), AttributeValue::S("COMPLETED".into())),
            (
                "expiration".into(),
                AttributeValue::N(format!("{}.25", t.timestamp() + 600)),
            ),
            ("data".into(), AttributeValue::S("{\"ok\":true}".into())),
        ]),
    )
    .await;
    assert_eq!(
        f.idempotency
            .begin(None, &key("ts"), b"anything", t, t)
            .await
            .unwrap(),
        Decision::Replay("{\"ok\":true}".into())
    );
}

#[tokio::test]
async fn a_record_in_another_layout_is_an_error_naming_the_record_not_a_decision() {
    let f = fixture().await;
    let id = f.idempotency.record_id(None, &key("odd"));
    put_raw(
        &f.client,
        HashMap::from([
            ("id".into(), AttributeValue::S(id.clone())),
            ("status".into(), AttributeValue::S("DONE".into())),
            (
                "expiration".into(),
                AttributeValue::N((now().timestamp() + 600).to_string()),
            ),
        ]),
    )
    .await;
    match f
        .idempotency
        .begin(None, &key("odd"), b"body", now(), now())
        .await
    {
        Err(IdempotencyError::Malformed { id: named, reason }) => {
            assert_eq!(named, id);
            assert!(reason.contains("status"), "{reason}");
        }
        other => panic!("expected a malformed-record error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_throttled_table_and_an_unreachable_one_are_told_apart() {
    // DynamoDB's JSON protocol names the error in `__type`
    // (docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
    let throttling = LoopbackUpstream::start(
        "dynamodb",
        Behavior::Respond {
            status: 400,
            content_type: "application/x-amz-json-1.0",
            body: bytes::Bytes::from_static(
                br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
            ),
        },
    )
    .await
    .unwrap();
    // One attempt: the SDK's own retries of throttling are its business, not this test's.
    let single_attempt = |sdk: aws_config::SdkConfig| {
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    };
    let idempotency = |client| {
        Idempotency::new(
            DynamoDbIdempotencyStore::new(client, TABLE),
            SCOPE,
            Duration::from_secs(600),
        )
    };
    let throttled = idempotency(single_attempt(local_sdk_config(&throttling.url()).await));
    assert!(matches!(
        throttled
            .begin(None, &key("k"), b"body", now(), now())
            .await,
        Err(IdempotencyError::Throttled(_))
    ));
    assert_eq!(throttling.requests().len(), 1);

    let refusing = orabridge_shared::testkit::upstream::refusing_url();
    let down = idempotency(single_attempt(local_sdk_config(&refusing).await));
    assert!(matches!(
        down.begin(None, &key("k"), b"body", now(), now()).await,
        Err(IdempotencyError::Unavailable(_))
    ));
}
