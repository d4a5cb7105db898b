//! The parameter store against a real SSM API (moto server): batching, SecureString decryption,
//! TTL expiry, stale-on-error while the service is down, and missing names.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use orabridge_shared::params::{
    GetOptions, ManualClock, Origin, ParameterError, ParameterStore, SsmParameterSource,
};
use orabridge_shared::testkit::MotoServer;

const TTL: Duration = Duration::from_secs(60);

struct Fixture {
    moto: MotoServer,
    ssm: aws_sdk_ssm::Client,
    clock: ManualClock,
    store: ParameterStore<SsmParameterSource, ManualClock>,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let ssm = orabridge_shared::aws::ssm_client(&sdk);
    let clock = ManualClock::new();
    let store =
        ParameterStore::with_clock(SsmParameterSource::new(ssm.clone()), TTL, clock.clone());
    Fixture {
        moto,
        ssm,
        clock,
        store,
    }
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str, kind: ParameterType) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .expect("put_parameter");
}

#[tokio::test]
async fn reads_strings_and_decrypts_secure_strings() {
    let f = fixture().await;
    put(
        &f.ssm,
        "/munbon/oracle-api-endpoint",
        "http://10.0.0.1:3000,http://10.0.0.2:3000",
        ParameterType::String,
    )
    .await;
    put(
        &f.ssm,
        "/munbon/internal-key",
        "k-123-secret",
        ParameterType::SecureString,
    )
    .await;

    let values = f
        .store
        .get_many(
            &["/munbon/oracle-api-endpoint", "/munbon/internal-key"],
            GetOptions::decrypted(),
        )
        .await
        .unwrap();
    assert_eq!(
        values["/munbon/oracle-api-endpoint"].expose(),
        "http://10.0.0.1:3000,http://10.0.0.2:3000"
    );
    assert_eq!(values["/munbon/internal-key"].expose(), "k-123-secret");
    assert_eq!(
        f.store.stats().fetches,
        1,
        "both names in one GetParameters call"
    );

    // Without decryption SSM hands back the ciphertext, never the plain key.
    let encrypted = f
        .store
        .get("/munbon/internal-key", GetOptions::plain())
        .await
        .unwrap();
    assert_ne!(encrypted.expose(), "k-123-secret");
}

#[tokio::test]
async fn more_names_than_one_ssm_call_allows_are_all_served() {
    let f = fixture().await;
    let names: Vec<String> = (0..23)
        .map(|i| format!("/orabridge/test/p{i:02}"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        put(&f.ssm, name, &format!("value-{i}"), ParameterType::String).await;
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let values = f.store.get_many(&refs, GetOptions::plain()).await.unwrap();
    assert_eq!(values.len(), 23);
    assert_eq!(values["/orabridge/test/p17"].expose(), "value-17");
}

#[tokio::test]
async fn a_changed_value_is_picked_up_after_the_ttl() {
    let f = fixture().await;
    put(
        &f.ssm,
        "/app/endpoint",
        "http://primary:3000",
        ParameterType::String,
    )
    .await;
    assert_eq!(
        f.store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap()
            .expose(),
        "http://primary:3000"
    );

    put(
        &f.ssm,
        "/app/endpoint",
        "http://moved:3000",
        ParameterType::String,
    )
    .await;
    f.clock.advance(TTL - Duration::from_secs(1));
    let cached = f
        .store
        .get("/app/endpoint", GetOptions::plain())
        .await
        .unwrap();
    assert_eq!(
        (cached.expose(), cached.origin()),
        ("http://primary:3000", Origin::Cache)
    );

    f.clock.advance(Duration::from_secs(1));
    let fresh = f
        .store
        .get("/app/endpoint", GetOptions::plain())
        .await
        .unwrap();
    assert_eq!(
        (fresh.expose(), fresh.origin()),
        ("http://moved:3000", Origin::Source)
    );
}

#[tokio::test]
async fn force_refresh_reads_through_a_fresh_cache() {
    let f = fixture().await;
    put(
        &f.ssm,
        "/app/endpoint",
        "http://old:3000",
        ParameterType::String,
    )
    .await;
    f.store
        .get("/app/endpoint", GetOptions::plain())
        .await
        .unwrap();
    put(
        &f.ssm,
        "/app/endpoint",
        "http://new:3000",
        ParameterType::String,
    )
    .await;
    let forced = f
        .store
        .get("/app/endpoint", GetOptions::plain().force_refresh())
        .await
        .unwrap();
    assert_eq!(forced.expose(), "http://new:3000");
}

#[tokio::test]
async fn cached_values_are_served_stale_while_ssm_is_down() {
    let mut f = fixture().await;
    put(
        &f.ssm,
        "/munbon/internal-key",
        "k-123-secret",
        ParameterType::SecureString,
    )
    .await;
    f.store
        .get("/munbon/internal-key", GetOptions::decrypted())
        .await
        .unwrap();

    f.moto.stop();
    f.clock.advance(TTL * 2);
    let stale = f
        .store
        .get("/munbon/internal-key", GetOptions::decrypted())
        .await
        .unwrap();
    assert_eq!(stale.expose(), "k-123-secret");
    assert_eq!(stale.origin(), Origin::Stale);
    let stats = f.store.stats();
    assert_eq!((stats.stale_serves, stats.fetch_failures), (1, 1));

    // A name never fetched has nothing to fall back on.
    let err = f
        .store
        .get("/munbon/never-read", GetOptions::plain())
        .await
        .unwrap_err();
    match err {
        ParameterError::Unavailable { names, .. } => assert_eq!(names, ["/munbon/never-read"]),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_parameter_is_named_in_the_error() {
    let f = fixture().await;
    put(&f.ssm, "/app/present", "yes", ParameterType::String).await;
    let err = f
        .store
        .get_many(&["/app/present", "/app/absent"], GetOptions::plain())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ParameterError::NotFound { names } if names == &["/app/absent"]),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "parameter not found: /app/absent");
}
