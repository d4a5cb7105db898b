//! The test kit's own guarantees: services come up on free loopback ports, answer, and are gone
//! once dropped; PostgreSQL is reachable or the error says how to get it.

use std::net::SocketAddr;

use orabridge_shared::testkit::{self, MotoServer, RestateServer, TestkitError};

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("loopback address")
}

#[tokio::test]
async fn moto_server_answers_while_running_and_is_gone_after_drop() {
    let moto = MotoServer::start().await.expect("moto server");
    let address = addr(&moto.endpoint());
    assert!(address.ip().is_loopback());
    assert_eq!(
        testkit::http_get_status(address, "/moto-api/")
            .await
            .unwrap(),
        200
    );

    // A real AWS call through the SDK config it hands out.
    let sqs = orabridge_shared::aws::sqs_client(&moto.sdk_config().await);
    let queue = sqs
        .create_queue()
        .queue_name("testkit-probe")
        .send()
        .await
        .unwrap();
    assert!(
        queue
            .queue_url()
            .unwrap_or_default()
            .contains("testkit-probe")
    );

    drop(moto);
    assert!(
        testkit::http_get_status(address, "/moto-api/")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn two_moto_servers_run_side_by_side_on_different_ports() {
    let (a, b) = tokio::join!(MotoServer::start(), MotoServer::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.port(), b.port());
}

#[tokio::test]
async fn restate_server_serves_admin_and_ingress_on_its_own_ports() {
    let restate = RestateServer::start().await.expect("restate-server");
    let admin = addr(&restate.admin_url());
    let ingress = addr(&restate.ingress_url());
    assert_ne!(admin.port(), 9070, "never the default admin port");
    assert_ne!(ingress.port(), 8080, "never the default ingress port");
    assert_eq!(
        testkit::http_get_status(admin, "/health").await.unwrap(),
        200
    );
    assert_eq!(
        testkit::http_get_status(ingress, "/restate/health")
            .await
            .unwrap(),
        200
    );
    drop(restate);
    assert!(testkit::http_get_status(admin, "/health").await.is_err());
}

#[tokio::test]
async fn postgres_is_reachable_and_answers_queries() {
    let client = testkit::postgres()
        .await
        .expect("PostgreSQL (see the error for how to get one)");
    let row = client.query_one("SELECT 40 + 2", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
}

#[test]
fn a_missing_tool_error_tells_the_reader_to_run_make_setup() {
    let err =
        testkit::installed_tool("nonexistent-tool", ".venv/bin/nonexistent-tool").unwrap_err();
    assert!(matches!(err, TestkitError::MissingTool { .. }));
    let text = err.to_string();
    assert!(text.contains("make setup"), "{text}");
    assert!(text.contains("nonexistent-tool"), "{text}");
}

#[tokio::test]
async fn the_delay_proxy_carries_aws_calls_to_moto_holds_each_one_and_counts_them() {
    use orabridge_shared::testkit::latency::DelayProxy;
    let moto = MotoServer::start().await.expect("moto server");
    let delay = std::time::Duration::from_millis(150);
    let proxy = DelayProxy::start(&moto.endpoint(), delay)
        .await
        .expect("proxy");
    let s3 = orabridge_shared::aws::s3_client(&testkit::local_sdk_config(&proxy.url()).await);
    orabridge_shared::testkit::create_bucket(&s3, "delayed")
        .await
        .expect("bucket");
    let started = std::time::Instant::now();
    s3.put_object()
        .bucket("delayed")
        .key("k")
        .body(b"payload".to_vec().into())
        .send()
        .await
        .expect("put through the proxy");
    // A lower bound only: the request cannot have been answered before the delay ran out.
    assert!(started.elapsed() >= delay);
    assert_eq!(proxy.requests(), 2);
    let direct = orabridge_shared::aws::s3_client(&moto.sdk_config().await);
    let object = direct
        .get_object()
        .bucket("delayed")
        .key("k")
        .send()
        .await
        .expect("get");
    let body = object.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"payload", "the body arrived intact");
    assert_eq!(proxy.requests(), 2, "direct calls do not pass through it");
}
