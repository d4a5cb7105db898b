//! What reaches the upstream and what comes back: paths, headers, the key, bodies, routes.

use crate::common;

use common::*;
use orabridge_shared::logging::{self, CapturedLogs, LogFormat, LogSettings};
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream, refusing_url};

async fn echo() -> LoopbackUpstream {
    LoopbackUpstream::start("primary", Behavior::Echo)
        .await
        .expect("loopback upstream")
}

#[tokio::test]
async fn path_escapes_are_refused_with_400_and_never_reach_the_upstream() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    for path in [
        "/api/v1/../admin",
        "/api/v1/%2e%2e/admin",
        "/api/v1/%2E%2e%2Fadmin",
        "/api/v1/a%2Fb",
        "/api/v1//evil.example/x",
        "/api/v1/a\\b",
        "/api/v1/http://evil.example/steal",
    ] {
        let response = common::invoke(&proxy, v2("GET", path, "", &[], None)).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(body_json(&response)["error"], "bad_request", "{path}");
        let response = common::invoke(&proxy, v1("GET", path, &[], None)).await;
        assert_eq!(response.status(), 400, "v1 {path}");
    }
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn path_and_query_are_forwarded_exactly() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let response = common::invoke(
        &proxy,
        v2(
            "GET",
            "/api/v1/sensors/WL-0042/readings",
            "from=2026-11-20T00%3A00%3A00Z&limit=50",
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        upstream.requests()[0].path_and_query,
        "/api/v1/sensors/WL-0042/readings?from=2026-11-20T00%3A00%3A00Z&limit=50"
    );
}

#[tokio::test]
async fn only_the_key_from_ssm_reaches_the_upstream_with_the_proxy_headers() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let request = v2(
        "GET",
        "/api/v1/sensors",
        "",
        &[
            ("X-Internal-Key", "forged-by-client"),
            ("Connection", "close, x-hop"),
            ("x-hop", "1"),
            ("Proxy-Authorization", "Basic x"),
        ],
        None,
    );
    common::invoke(&proxy, request).await;
    let seen = &upstream.requests()[0].headers;
    let keys: Vec<_> = seen
        .get_all("x-internal-key")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(keys, [KEY]);
    assert_eq!(seen["x-request-id"], "req-v2-get");
    assert_eq!(seen["x-forwarded-for"], "198.51.100.7");
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(
        seen["x-amzn-trace-id"],
        "Root=1-6740a1b2-89abcdef0123456789abcdef"
    );
    assert_eq!(seen["accept"], "application/json");
    assert!(!seen.contains_key("x-hop") && !seen.contains_key("proxy-authorization"));
}

#[tokio::test]
async fn the_key_appears_in_no_log_line_and_no_response() {
    let logs = CapturedLogs::new();
    let settings = LogSettings {
        format: LogFormat::Json,
        filter: "trace".into(),
    };
    let _guard = tracing::subscriber::set_default(logging::subscriber(&settings, logs.clone()));
    let primary = LoopbackUpstream::start("primary", Behavior::json(503, "{}"))
        .await
        .unwrap();
    let secondary = echo().await;
    let (proxy, _, _) = proxy(&[refusing_url(), primary.url(), secondary.url()]);
    let mut bodies = Vec::new();
    for request in [
        v2(
            "GET",
            "/api/v1/a",
            "",
            &[("X-Internal-Key", "forged")],
            None,
        ),
        v2("POST", "/api/v1/b", "", &[], Some(b"{}")),
        v2("GET", "/api/v1/../c", "", &[], None),
        v2("GET", "/health", "", &[], None),
        v1("GET", "/api/v1/d", &[], None),
    ] {
        let response = common::invoke(&proxy, request).await;
        bodies.push(String::from_utf8_lossy(&body_bytes(&response)).into_owned());
        bodies.push(format!("{:?}", response.headers()));
    }
    assert!(!logs.text().is_empty(), "the handler logged");
    assert!(!logs.text().contains(KEY), "key leaked into the logs");
    for body in bodies {
        assert!(!body.contains(KEY), "key leaked into a response: {body}");
    }
}

#[tokio::test]
async fn random_binary_bodies_arrive_byte_identical_both_ways_through_v1_and_v2() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    // The largest stays under the limit once base64-encoded (see the 502 test below).
    for (seed, len) in [(1u64, 1), (7, 255), (42, 4096), (99, 48_000)] {
        let body = random_bytes(len, seed);
        let headers = [("content-type", "application/octet-stream")];
        for request in [
            v2("PUT", "/api/v1/blobs/x", "", &headers, Some(&body)),
            v1("PUT", "/api/v1/blobs/x", &headers, Some(&body)),
        ] {
            let response = common::invoke(&proxy, request).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                upstream.requests().last().unwrap().body.as_ref(),
                body.as_slice(),
                "request body, {len} bytes"
            );
            assert!(
                common::is_base64(&response),
                "binary goes back base64-encoded"
            );
            assert_eq!(body_bytes(&response), body, "response body, {len} bytes");
        }
    }
}

#[tokio::test]
async fn text_bodies_stay_text() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let text = "{\"name\":\"ประตูน้ำ 3\",\"level_cm\":231.5}";
    let response = common::invoke(
        &proxy,
        v2(
            "POST",
            "/api/v1/gates",
            "",
            &[("content-type", "application/json; charset=utf-8")],
            Some(text.as_bytes()),
        ),
    )
    .await;
    assert!(!common::is_base64(&response));
    assert_eq!(response.body().as_slice(), text.as_bytes());
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_are_not_forwarded() {
    let upstream = echo().await;
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let limit = test_config().max_body_bytes;
    let response = common::invoke(
        &proxy,
        v2(
            "POST",
            "/api/v1/upload",
            "",
            &[],
            Some(&vec![b'x'; limit + 1]),
        ),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(body_json(&response)["error"], "payload_too_large");
    let response = common::invoke(
        &proxy,
        v2(
            "POST",
            "/api/v1/upload",
            "",
            // Text, so the echoed answer of the same size also fits (binary would be encoded).
            &[("content-type", "text/plain")],
            Some(&vec![b'x'; limit]),
        ),
    )
    .await;
    assert_eq!(response.status(), 200, "exactly the limit is allowed");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn an_upstream_answer_too_large_for_lambda_is_a_502() {
    let big = vec![b'a'; test_config().response_limit + 1];
    let upstream = LoopbackUpstream::start(
        "primary",
        Behavior::Respond {
            status: 200,
            content_type: "text/plain",
            body: big.into(),
        },
    )
    .await
    .unwrap();
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let response = common::invoke(&proxy, v2("GET", "/api/v1/report", "", &[], None)).await;
    assert_eq!(response.status(), 502);
}

#[tokio::test]
async fn a_binary_answer_too_large_once_base64_encoded_is_a_502() {
    // Under the raw limit, over it once encoded (4/3 larger).
    let size = test_config().response_limit * 4 / 5;
    let upstream = LoopbackUpstream::start(
        "primary",
        Behavior::Respond {
            status: 200,
            content_type: "application/octet-stream",
            body: random_bytes(size, 3).into(),
        },
    )
    .await
    .unwrap();
    let (proxy, _, _) = proxy(&[upstream.url()]);
    let response = common::invoke(&proxy, v2("GET", "/api/v1/blob", "", &[], None)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(body_json(&response)["error"], "bad_gateway");
}

#[tokio::test]
async fn unknown_routes_get_404_and_ingest_is_off_without_a_queue() {
    let (proxy, _, _) = proxy(&[refusing_url()]);
    for request in [
        v2("GET", "/admin/users", "", &[], None),
        v2("GET", "/api/v2/x", "", &[], None),
        v2("POST", "/ingest/sensor-data", "", &[], Some(b"{}")),
    ] {
        let response = common::invoke(&proxy, request).await;
        assert_eq!(response.status(), 404);
        assert_eq!(body_json(&response)["error"], "not_found");
    }
}

#[tokio::test]
async fn health_names_the_first_healthy_upstream_by_role_only() {
    let secondary = LoopbackUpstream::start("secondary", Behavior::json(200, r#"{"status":"ok"}"#))
        .await
        .unwrap();
    let (proxy, _, _) = proxy(&[refusing_url(), secondary.url()]);
    let response = common::invoke(&proxy, v1("GET", "/health", &[], None)).await;
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["upstream"], "secondary");
    assert!(body["latencyMs"].is_u64() && body["parametersAgeSecs"].is_u64());
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no address in the answer"
    );
    assert_eq!(secondary.requests()[0].path_and_query, "/health");
}

#[tokio::test]
async fn health_is_503_when_no_upstream_is_healthy() {
    let sick = LoopbackUpstream::start("primary", Behavior::json(500, "{}"))
        .await
        .unwrap();
    let (proxy, _, _) = proxy(&[sick.url(), refusing_url()]);
    let response = common::invoke(&proxy, v2("GET", "/health", "", &[], None)).await;
    assert_eq!(response.status(), 503);
    let body = body_json(&response);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["upstreams"][0]["result"], "status 500");
    assert_eq!(body["upstreams"][1]["result"], "connect_error");
}

#[tokio::test]
async fn an_invalid_upstream_list_in_ssm_is_a_503_that_hides_the_value() {
    let (proxy, source, _) = proxy(&[refusing_url()]);
    source.put(UPSTREAM_PARAM, "ftp://10.9.8.7");
    let response = common::invoke(&proxy, v2("GET", "/api/v1/x", "", &[], None)).await;
    assert_eq!(response.status(), 503);
    let body = body_json(&response);
    assert_eq!(body["error"], "configuration_unavailable");
    assert!(!body.to_string().contains("10.9.8.7"));
}
