//! The parameter store against a real SSM API (moto server): batching, SecureString decryption,
//! TTL expiry, stale-on-error while the service is down, and missing names.

use std::time::Duration;

use orabridge_shared::clock::ManualClock;
use orabridge_shared::params::{
    GetOptions, Origin, ParameterError, ParameterStore, SsmParameterSource,
};
use orabridge_shared::testkit::{self, MotoServer};

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

impl Fixture {
    async fn put(&self, name: &str, value: &str) {
        testkit::put_parameter(&self.ssm, name, value, false)
            .await
            .expect("put String");
    }

    async fn put_secure(&self, name: &str, value: &str) {
        testkit::put_parameter(&self.ssm, name, value, true)
            .await
            .expect("put SecureString");
    }
}

#[tokio::test]
async fn reads_strings_and_decrypts_secure_strings() {
    let f = fixture().await;
    f.put(
        "/munbon/oracle-api-endpoint",
        "http://10.0.0.1:3000,http://10.0.0.2:3000",
    )
    .await;
    f.put_secure("/munbon/internal-key", "k-123-secret").await;

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
        f.put(name, &format!("value-{i}")).await;
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let values = f.store.get_many(&refs, GetOptions::plain()).await.unwrap();
    assert_eq!(values.len(), 23);
    assert_eq!(values["/orabridge/test/p17"].expose(), "value-17");
}

#[tokio::test]
async fn a_changed_value_is_picked_up_after_the_ttl() {
    let f = fixture().await;
    f.put("/app/endpoint", "http://primary:3000").await;
    assert_eq!(
        f.store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap()
            .expose(),
        "http://primary:3000"
    );

    f.put("/app/endpoint", "http://moved:3000").await;
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
    f.put("/app/endpoint", "http://old:3000").await;
    f.store
        .get("/app/endpoint", GetOptions::plain())
        .await
        .unwrap();
    f.put("/app/endpoint", "http://new:3000").await;
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
    f.put_secure("/munbon/internal-key", "k-123-secret").await;
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
    f.put("/app/present", "yes").await;
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

#[tokio::test]
async fn names_with_a_version_or_label_selector_are_served_under_the_name_asked_for() {
    // SSM answers `/x:1` with the name `/x` (and the selector apart: GetParameters, "Selector"
    // in the Parameter reference), so `/x:1`, `/x:prod` and `/x` must not be told apart by
    // the name in the answer.
    let f = fixture().await;
    f.put("/orabridge/test/pinned", "first").await;
    f.ssm
        .put_parameter()
        .name("/orabridge/test/pinned")
        .value("second")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("second version");
    f.ssm
        .label_parameter_version()
        .name("/orabridge/test/pinned")
        .parameter_version(1)
        .labels("prod")
        .send()
        .await
        .expect("label version 1");
    let names = [
        "/orabridge/test/pinned:1",
        "/orabridge/test/pinned:prod",
        "/orabridge/test/pinned",
    ];
    let values = f.store.get_many(&names, GetOptions::plain()).await.unwrap();
    assert_eq!(values["/orabridge/test/pinned:1"].expose(), "first");
    assert_eq!(values["/orabridge/test/pinned:prod"].expose(), "first");
    assert_eq!(values["/orabridge/test/pinned"].expose(), "second");
    // And from the cache the same way.
    let again = f
        .store
        .get("/orabridge/test/pinned:1", GetOptions::plain())
        .await
        .unwrap();
    assert_eq!((again.expose(), again.origin()), ("first", Origin::Cache));
    let missing = f
        .store
        .get("/orabridge/test/pinned:9", GetOptions::plain())
        .await;
    assert!(
        matches!(missing, Err(ParameterError::NotFound { .. })),
        "{missing:?}"
    );
}

#[test]
fn selectors_are_read_from_the_last_path_segment_only() {
    use orabridge_shared::params::has_selector;
    assert!(has_selector("/app/key:3"));
    assert!(has_selector("/app/key:prod"));
    assert!(has_selector("key:3"));
    assert!(!has_selector("/app/key"));
    assert!(!has_selector(
        "arn:aws:ssm:us-east-1:123456789012:parameter/app/key"
    ));
    assert!(has_selector(
        "arn:aws:ssm:us-east-1:123456789012:parameter/app/key:2"
    ));
}
