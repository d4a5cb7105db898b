//! Endpoints and key from a real SSM API (moto server): changes picked up after the TTL,
//! stale values served while SSM is down, and a clear 503 when nothing is cached.

use crate::common;

use common::*;
use orabridge_shared::clock::ManualClock;
use orabridge_shared::params::SsmParameterSource;
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream};
use orabridge_shared::testkit::{self, MotoServer};

struct Fixture {
    moto: MotoServer,
    ssm: aws_sdk_ssm::Client,
    clock: ManualClock,
    proxy: proxy::Proxy<
        SsmParameterSource,
        proxy::client::HyperClient,
        orabridge_shared::queue::MemoryQueue,
        ManualClock,
    >,
}

async fn fixture(endpoints: &str) -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let ssm = orabridge_shared::aws::ssm_client(&moto.sdk_config().await);
    testkit::put_parameter(&ssm, UPSTREAM_PARAM, endpoints, false)
        .await
        .expect("seed endpoints");
    testkit::put_parameter(&ssm, KEY_PARAM, KEY, true)
        .await
        .expect("seed key");
    let clock = ManualClock::new();
    let proxy = proxy_with(SsmParameterSource::new(ssm.clone()), &clock);
    Fixture {
        moto,
        ssm,
        clock,
        proxy,
    }
}

fn answered_by(response: &common::Answer) -> String {
    response
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

fn get() -> common::Event {
    v2("GET", "/api/v1/sensors", "", &[], None)
}

#[tokio::test]
async fn a_changed_endpoint_is_picked_up_after_the_ttl_without_a_restart() {
    let old = LoopbackUpstream::start("old", Behavior::json(200, "{}"))
        .await
        .unwrap();
    let new = LoopbackUpstream::start("new", Behavior::json(200, "{}"))
        .await
        .unwrap();
    let f = fixture(&old.url()).await;
    assert_eq!(answered_by(&common::invoke(&f.proxy, get()).await), "old");

    testkit::put_parameter(&f.ssm, UPSTREAM_PARAM, &new.url(), false)
        .await
        .unwrap();
    assert_eq!(
        answered_by(&common::invoke(&f.proxy, get()).await),
        "old",
        "cached within the TTL"
    );
    f.clock.advance(test_config().param_ttl);
    assert_eq!(answered_by(&common::invoke(&f.proxy, get()).await), "new");
}

#[tokio::test]
async fn the_key_is_read_from_the_secure_string_decrypted() {
    let upstream = LoopbackUpstream::start("primary", Behavior::Echo)
        .await
        .unwrap();
    let f = fixture(&upstream.url()).await;
    common::invoke(&f.proxy, get()).await;
    assert_eq!(upstream.requests()[0].headers["x-internal-key"], KEY);
}

#[tokio::test]
async fn ssm_down_with_a_warm_cache_keeps_serving() {
    let upstream = LoopbackUpstream::start("primary", Behavior::json(200, "{}"))
        .await
        .unwrap();
    let mut f = fixture(&upstream.url()).await;
    assert_eq!(common::invoke(&f.proxy, get()).await.status(), 200);

    f.moto.stop();
    f.clock.advance(test_config().param_ttl * 5);
    let response = common::invoke(&f.proxy, get()).await;
    assert_eq!(response.status(), 200);
    assert!(
        f.proxy.params().stats().stale_serves >= 2,
        "both parameters served stale"
    );
}

#[tokio::test]
async fn ssm_down_with_a_cold_cache_answers_503() {
    let mut f = fixture("http://127.0.0.1:9").await;
    f.moto.stop();
    let response = common::invoke(&f.proxy, get()).await;
    assert_eq!(response.status(), 503);
    let body = body_json(&response);
    assert_eq!(body["error"], "configuration_unavailable");
    assert_eq!(body["requestId"], "req-v2-get");
}

#[tokio::test]
async fn a_deleted_parameter_answers_503_without_naming_it_to_the_client() {
    let f = fixture("http://127.0.0.1:9").await;
    f.ssm
        .delete_parameter()
        .name(KEY_PARAM)
        .send()
        .await
        .unwrap();
    let response = common::invoke(&f.proxy, get()).await;
    assert_eq!(response.status(), 503);
    assert!(!body_json(&response).to_string().contains(KEY_PARAM));
}

/// A parameter source that takes a minute to answer, as SSM might while throttled.
struct SlowSource;

impl orabridge_shared::params::ParameterSource for SlowSource {
    async fn fetch(
        &self,
        _names: &[String],
        _decrypt: bool,
    ) -> Result<orabridge_shared::params::Fetched, orabridge_shared::params::ParameterSourceError>
    {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        Ok(orabridge_shared::params::Fetched::default())
    }
}

#[tokio::test]
async fn a_slow_ssm_read_is_bounded_by_the_requests_deadline() {
    let proxy = proxy_with(SlowSource, &ManualClock::new());
    // 1.5 s left in the Lambda, 0.5 s of it kept back to answer.
    let request = with_remaining_time(
        v2("GET", "/api/v1/sensors", "", &[], None),
        std::time::Duration::from_millis(1500),
    );
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        common::invoke(&proxy, request),
    )
    .await
    .expect("answered within the deadline, not when SSM answered");
    assert_eq!(response.status(), 504);
    assert_eq!(body_json(&response)["error"], "gateway_timeout");
}
