//! The shared HTTPS connector and the SDK's HTTP client against a real TLS server on loopback
//! whose certificate comes from a private CA (`tests/data/test-ca.pem`): refused with the
//! built-in roots alone, accepted once the CA is added the way `SSL_CERT_FILE` adds it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use orabridge_shared::http::{EXTRA_ROOTS_VAR, https_connector_trusting, root_store};
use orabridge_shared::testkit;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// Serves `body` (as `content_type`) to every request over TLS on a free loopback port, with
/// the test CA's `localhost` certificate.
async fn tls_server(content_type: &'static str, body: &'static [u8]) -> u16 {
    let chain = CertificateDer::pem_file_iter(format!("{DATA}/test-server.pem"))
        .expect("the test certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("a PEM certificate chain");
    let key =
        PrivateKeyDer::from_pem_file(format!("{DATA}/test-server.key")).expect("the test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS 1.2 and 1.3")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("a server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A refused handshake is the client's verdict, not a server failure.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |_request| async move {
                    hyper::Response::builder()
                        .header("content-type", content_type)
                        .body(http_body_util::Full::new(Bytes::from_static(body)))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

async fn get(roots: rustls::RootCertStore, port: u16) -> Result<String, String> {
    let connector = https_connector_trusting(Duration::from_secs(5), roots).expect("a connector");
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
    let uri = format!("https://localhost:{port}/").parse().expect("a URI");
    let response = client.get(uri).await.map_err(|err| {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    })?;
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_private_ca_is_refused_by_default_and_trusted_from_ssl_cert_file() {
    let port = tls_server("text/plain", b"hello").await;

    let builtin = root_store(&[("UNRELATED", "x")]).unwrap();
    let refused = get(builtin, port).await.unwrap_err();
    assert!(
        refused.to_lowercase().contains("certificate"),
        "expected a certificate error, got: {refused}"
    );

    let ca = format!("{DATA}/test-ca.pem");
    let with_ca = root_store(&[(EXTRA_ROOTS_VAR, ca.as_str())]).unwrap();
    assert_eq!(get(with_ca, port).await.unwrap(), "hello");
}

#[tokio::test]
async fn the_sdk_client_trusts_the_same_roots() {
    let port = tls_server(
        "application/x-amz-json-1.1",
        br#"{"Parameter":{"Name":"/orabridge/probe","Type":"String","Value":"over TLS","Version":1}}"#,
    )
    .await;
    let get_probe = async |roots| {
        let sdk =
            testkit::local_sdk_config_trusting(&format!("https://localhost:{port}"), roots).await;
        aws_sdk_ssm::Client::new(&sdk)
            .get_parameter()
            .name("/orabridge/probe")
            .send()
            .await
    };

    let builtin = root_store(&[("UNRELATED", "x")]).unwrap();
    let refused = get_probe(builtin).await.unwrap_err();
    let refused = orabridge_shared::errors::chain(&refused).to_string();
    assert!(
        refused.to_lowercase().contains("certificate"),
        "expected a certificate error, got: {refused}"
    );

    let ca = format!("{DATA}/test-ca.pem");
    let with_ca = root_store(&[(EXTRA_ROOTS_VAR, ca.as_str())]).unwrap();
    let answer = get_probe(with_ca).await.unwrap();
    assert_eq!(answer.parameter().and_then(|p| p.value()), Some("over TLS"));
}
