//! Failover, circuit breaking and deadlines against real loopback upstreams.

use crate::common;

use std::time::Duration;

use common::*;
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream, refusing_url};

async fn upstream(name: &str, behavior: Behavior) -> LoopbackUpstream {
    LoopbackUpstream::start(name, behavior)
        .await
        .expect("loopback upstream")
}

fn answered_by(response: &common::Answer) -> &str {
    response
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

#[tokio::test]
async fn fails_over_to_secondary_when_primary_refuses_connections() {
    let secondary = upstream("secondary", Behavior::json(200, r#"{"ok":true}"#)).await;
    let (proxy, _, _) = proxy(&[refusing_url(), secondary.url()]);
    let response = common::invoke(&proxy, v2("GET", "/api/v1/sensors", "", &[], None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(answered_by(&response), "secondary");
    assert_eq!(body_json(&response), serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn fails_over_to_secondary_when_primary_times_out() {
    let primary = upstream("primary", Behavior::Delay(Duration::from_secs(3))).await;
    let secondary = upstream("secondary", Behavior::json(200, "{}")).await;
    let (proxy, _, _) = proxy(&[primary.url(), secondary.url()]);
    let response = common::invoke(&proxy, v2("GET", "/api/v1/sensors", "", &[], None)).await;
    assert_eq!(
        (response.status().as_u16(), answered_by(&response)),
        (200, "secondary")
    );
    assert_eq!(primary.requests().len(), 1);
}

#[tokio::test]
async fn fails_over_to_secondary_when_primary_answers_503() {
    let primary = upstream("primary", Behavior::json(503, r#"{"error":"busy"}"#)).await;
    let secondary = upstream("secondary", Behavior::json(200, "{}")).await;
    let (proxy, _, _) = proxy(&[primary.url(), secondary.url()]);
    let response = common::invoke(&proxy, v2("DELETE", "/api/v1/items/7", "", &[], None)).await;
    assert_eq!(
        (response.status().as_u16(), answered_by(&response)),
        (200, "secondary")
    );
}

#[tokio::test]
async fn the_fallback_serves_when_primary_and_secondary_are_down() {
    let fallback = upstream("fallback", Behavior::json(200, "{}")).await;
    let (proxy, _, _) = proxy(&[refusing_url(), refusing_url(), fallback.url()]);
    let response = common::invoke(&proxy, v2("GET", "/api/v1/x", "", &[], None)).await;
    assert_eq!(answered_by(&response), "fallback");
}

#[tokio::test]
async fn every_upstream_down_answers_502_with_the_json_error() {
    let primary = upstream("primary", Behavior::json(502, "{}")).await;
    let (proxy, _, _) = proxy(&[primary.url(), refusing_url()]);
    let response = common::invoke(&proxy, v2("GET", "/api/v1/sensors", "", &[], None)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = body_json(&response);
    assert_eq!(body["error"], "bad_gateway");
    assert_eq!(body["requestId"], "req-v2-get");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| !m.contains("127.0.0.1")),
        "{body}"
    );
}

#[tokio::test]
async fn the_lambda_deadline_turns_a_slow_upstream_into_504() {
    // The upstream would answer 200 after 2 s, inside the 10 s per-upstream timeout; only the
    // Lambda's remaining time (900 ms, less the 500 ms margin) can turn it into a 504.
    let slow = upstream("primary", Behavior::Delay(Duration::from_secs(2))).await;
    let mut config = test_config();
    config.upstream_timeout = Duration::from_secs(10);
    let (proxy, _, _) = proxy_configured(&[slow.url()], config);
    let request = with_remaining_time(
        v2("GET", "/api/v1/slow", "", &[], None),
        Duration::from_millis(900),
    );
    let response = common::invoke(&proxy, request).await;
    assert_eq!(response.status(), 504);
    assert_eq!(body_json(&response)["error"], "gateway_timeout");
}

#[tokio::test]
async fn a_post_that_reached_the_primary_and_got_503_is_not_sent_again() {
    let primary = upstream("primary", Behavior::json(503, r#"{"error":"overloaded"}"#)).await;
    let secondary = upstream("secondary", Behavior::json(201, "{}")).await;
    let (proxy, _, _) = proxy(&[primary.url(), secondary.url()]);
    let response = common::invoke(
        &proxy,
        v2(
            "POST",
            "/api/v1/orders",
            "",
            &[("content-type", "application/json")],
            Some(br#"{"qty":1}"#),
        ),
    )
    .await;
    assert_eq!(response.status(), 503, "the primary's own answer goes back");
    assert_eq!(
        body_json(&response),
        serde_json::json!({"error": "overloaded"})
    );
    assert_eq!(primary.requests().len(), 1);
    assert!(
        secondary.requests().is_empty(),
        "a POST is never executed twice"
    );
}

#[tokio::test]
async fn a_post_that_timed_out_is_not_sent_again() {
    let primary = upstream("primary", Behavior::Delay(Duration::from_secs(3))).await;
    let secondary = upstream("secondary", Behavior::json(201, "{}")).await;
    let (proxy, _, _) = proxy(&[primary.url(), secondary.url()]);
    let response = common::invoke(
        &proxy,
        v2("PATCH", "/api/v1/orders/1", "", &[], Some(b"{}")),
    )
    .await;
    assert_eq!(response.status(), 504);
    assert!(secondary.requests().is_empty());
}

#[tokio::test]
async fn a_post_moves_on_when_the_primary_refuses_the_connection() {
    let secondary = upstream("secondary", Behavior::json(201, r#"{"id":9}"#)).await;
    let (proxy, _, _) = proxy(&[refusing_url(), secondary.url()]);
    let response = common::invoke(&proxy, v2("POST", "/api/v1/orders", "", &[], Some(b"{}"))).await;
    assert_eq!(response.status(), 201);
    assert_eq!(secondary.requests().len(), 1);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_closes_once_the_upstream_recovers() {
    let primary = upstream("primary", Behavior::json(503, "{}")).await;
    let secondary = upstream("secondary", Behavior::json(200, "{}")).await;
    let (proxy, _, clock) = proxy(&[primary.url(), secondary.url()]);
    let get = || v2("GET", "/api/v1/sensors", "", &[], None);

    for _ in 0..3 {
        assert_eq!(
            answered_by(&common::invoke(&proxy, get()).await),
            "secondary"
        );
    }
    assert_eq!(primary.requests().len(), 3);
    assert!(proxy.breakers().is_open(&primary.url()));

    // Open: the primary is skipped without a request.
    assert_eq!(
        answered_by(&common::invoke(&proxy, get()).await),
        "secondary"
    );
    assert_eq!(primary.requests().len(), 3);

    // After the cool-down one trial reaches it; it has recovered, so the circuit closes.
    primary.set_behavior(Behavior::json(200, "{}"));
    clock.advance(Duration::from_secs(30));
    assert_eq!(answered_by(&common::invoke(&proxy, get()).await), "primary");
    assert!(!proxy.breakers().is_open(&primary.url()));
    assert_eq!(answered_by(&common::invoke(&proxy, get()).await), "primary");
    assert_eq!(primary.requests().len(), 5);
}

#[tokio::test]
async fn when_every_upstream_refuses_the_endpoints_are_re_read_from_ssm_once() {
    let moved = upstream("moved", Behavior::json(200, "{}")).await;
    let (proxy, source, clock) = proxy(&[refusing_url()]);
    // Warm the cache with the dead endpoint, then move the endpoint in SSM (within the TTL).
    assert_eq!(
        common::invoke(&proxy, v2("GET", "/api/v1/x", "", &[], None))
            .await
            .status(),
        502
    );
    source.put(UPSTREAM_PARAM, &moved.url());
    // Forced re-reads are rate-limited to one per breaker cool-down (30 s), within the 60 s TTL.
    clock.advance(Duration::from_secs(30));
    let response = common::invoke(&proxy, v2("GET", "/api/v1/x", "", &[], None)).await;
    assert_eq!(
        (response.status().as_u16(), answered_by(&response)),
        (200, "moved")
    );
}

/// A text answer whose JSON string is twice its size: every byte a quote.
fn quotes(len: usize) -> Behavior {
    Behavior::Respond {
        status: 200,
        content_type: "text/plain",
        body: vec![b'"'; len].into(),
    }
}

#[tokio::test]
async fn a_text_answer_that_json_escaping_pushes_over_the_lambda_limit_gets_the_proxys_own_502_and_is_no_success()
 {
    // Lambda refuses a response over 6 MB as serialised, where a text body is a JSON string
    // ("Invocation payload ... 6 MB each for request and response", Lambda quotas). The limit is
    // scaled down here; the body is under it raw and over it once escaped.
    let mut config = test_config();
    config.response_limit = 64 * 1024;
    let primary = upstream("primary", Behavior::json(503, "{}")).await;
    let (proxy, _, _) = proxy_configured(&[primary.url()], config);
    let get = || v2("GET", "/api/v1/report", "", &[], None);
    for _ in 0..2 {
        assert_eq!(common::invoke(&proxy, get()).await.status(), 502);
    }
    primary.set_behavior(quotes(40 * 1024));
    let response = common::invoke(&proxy, get()).await;
    assert_eq!(response.status(), 502);
    assert_eq!(body_json(&response)["error"], "bad_gateway");
    assert!(!proxy.breakers().is_open(&primary.url()));
    // Had the oversized answer counted as a success, this third failure would be the first.
    primary.set_behavior(Behavior::json(503, "{}"));
    assert_eq!(common::invoke(&proxy, get()).await.status(), 502);
    assert!(
        proxy.breakers().is_open(&primary.url()),
        "three consecutive failures open it"
    );
}

#[tokio::test]
async fn a_trial_answered_over_the_size_limit_still_settles_the_half_open_circuit() {
    let primary = upstream("primary", Behavior::json(503, "{}")).await;
    let (proxy, _, clock) = proxy(&[primary.url()]);
    let get = || v2("GET", "/api/v1/report", "", &[], None);
    for _ in 0..3 {
        common::invoke(&proxy, get()).await;
    }
    assert!(proxy.breakers().is_open(&primary.url()));
    clock.advance(Duration::from_secs(30));
    primary.set_behavior(quotes(test_config().response_limit));
    assert_eq!(
        common::invoke(&proxy, get()).await.status(),
        502,
        "the trial's answer is too large"
    );
    assert_eq!(primary.requests().len(), 4);
    // The next request is a new trial instead of a skip for the container's life.
    primary.set_behavior(Behavior::json(200, r#"{"ok":true}"#));
    let response = common::invoke(&proxy, get()).await;
    assert_eq!(
        (response.status().as_u16(), answered_by(&response)),
        (200, "primary")
    );
    assert!(!proxy.breakers().is_open(&primary.url()));
}

#[tokio::test]
async fn while_every_circuit_is_open_the_endpoints_are_re_read_at_most_once_per_cool_down() {
    // SSM's GetParameters throughput quota is shared by every function of the account and
    // region ("Parameter Store API throughput", SSM quotas): an outage of the Unified API must
    // not turn every request into an SSM call.
    let (proxy, source, clock) = proxy(&[refusing_url(), refusing_url()]);
    let get = || v2("GET", "/api/v1/sensors", "", &[], None);
    for _ in 0..10 {
        assert_eq!(common::invoke(&proxy, get()).await.status(), 502);
    }
    assert_eq!(
        source.calls().len(),
        2,
        "the first read and one forced re-read"
    );
    clock.advance(Duration::from_secs(29));
    common::invoke(&proxy, get()).await;
    assert_eq!(source.calls().len(), 2, "still within the cool-down");
    clock.advance(Duration::from_secs(1));
    for _ in 0..10 {
        common::invoke(&proxy, get()).await;
    }
    assert_eq!(
        source.calls().len(),
        3,
        "one more once the cool-down has passed"
    );
}
