//! The client factory against a real S3 API (moto server): the endpoint override is honoured
//! from the environment, exactly as a deployed function reads it, and S3 switches to path-style
//! addressing (moto cannot serve `bucket.127.0.0.1` virtual hosts).

use std::process::Command;

use orabridge_shared::aws;
use orabridge_shared::testkit::{LOCAL_REGION, MotoServer};

async fn object_text(moto: &MotoServer, bucket: &str, key: &str) -> String {
    let s3 = aws::s3_client(&moto.sdk_config().await);
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("object exists");
    let bytes = object.body.collect().await.expect("body").into_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// The endpoint by host name: for an IP address the SDK picks path-style by itself, so only a
/// host name shows that our client asks for it (`lake.localhost` does not resolve).
fn by_hostname(moto: &MotoServer) -> String {
    format!("http://localhost:{}", moto.port())
}

/// Runs the probe with a clean AWS environment plus `vars`.
fn probe(vars: &[(&str, &str)], bucket: &str, key: &str, body: &str) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orabridge-aws-probe"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_REGION", LOCAL_REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        // Keep the SDK away from the EC2 metadata endpoint and any profile on this machine.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(vars.iter().copied())
        .args([bucket, key, body])
        .output()
        .expect("probe runs")
}

#[tokio::test]
async fn aws_endpoint_url_from_the_environment_reaches_the_local_endpoint_path_style() {
    let moto = MotoServer::start().await.expect("moto server");
    let output = probe(
        &[("AWS_ENDPOINT_URL", &by_hostname(&moto))],
        "lake",
        "probe/a.txt",
        "hello",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(object_text(&moto, "lake", "probe/a.txt").await, "hello");
}

#[tokio::test]
async fn an_s3_only_endpoint_override_also_switches_to_path_style() {
    let moto = MotoServer::start().await.expect("moto server");
    let output = probe(
        &[("AWS_ENDPOINT_URL_S3", &by_hostname(&moto))],
        "lake-s3",
        "b.txt",
        "only s3",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(object_text(&moto, "lake-s3", "b.txt").await, "only s3");
}

#[tokio::test]
async fn a_lazy_queue_builds_its_client_at_the_first_send_and_its_clones_share_it() {
    use orabridge_shared::queue::{MessageQueue, OutgoingMessage, SendOutcome, SqsQueue};
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let sqs = aws::sqs_client(&sdk);
    let url = orabridge_shared::testkit::create_queue(&sqs, "lazy-alerts")
        .await
        .expect("queue");

    let queue = SqsQueue::lazy(&sdk);
    let clone = queue.clone();
    assert!(!queue.client_built(), "nothing sent yet, so no client");
    let message = OutgoingMessage::new("a1", r#"{"alert":"level"}"#);
    let outcomes = clone
        .send_batch(&url, std::slice::from_ref(&message))
        .await
        .expect("sent through moto");
    assert!(
        matches!(outcomes.as_slice(), [SendOutcome::Sent { id, .. }] if id == "a1"),
        "{outcomes:?}"
    );
    assert!(
        queue.client_built(),
        "the clone's send built the shared client"
    );

    let received = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive");
    let bodies: Vec<_> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies, [message.body.as_str()]);
}
