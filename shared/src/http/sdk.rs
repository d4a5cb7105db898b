//! The AWS SDK's HTTP client, on the same connector and trust as [`super::https_connector`].
//!
//! Why not the SDK's default client: it parses the system's PEM bundle when a client is built
//! (about 2 ms of every cold start, the largest share of our init time; see BENCHMARKS.md), and
//! its trust cannot be given compiled-in roots. This client is the SDK's hyper 1 client reduced
//! to what the functions use: HTTP/1.1 with rustls, a pooled connection per host, the SDK's
//! connect and read timeouts, and errors classified the way the SDK's retry strategy expects
//! (connection problems and timeouts are retried, a malformed request is not).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::{ClientConfig, RootCertStore};

/// An [`HttpClient`] for the AWS SDK trusting a given [`RootCertStore`]; hand it to
/// `aws_config::ConfigLoader::http_client`.
#[derive(Debug, Clone)]
pub struct SdkHttpClient {
    tls: Arc<ClientConfig>,
    // One connector (and connection pool) per distinct timeout pair, as the SDK asks for them.
    connectors: Arc<Mutex<HashMap<Timeouts, SharedHttpConnector>>>,
}

/// Connect and read timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

impl SdkHttpClient {
    /// A client trusting `roots` (usually [`super::process_root_store`]).
    pub fn new(roots: impl Into<Arc<RootCertStore>>) -> std::io::Result<Self> {
        Ok(Self {
            tls: Arc::new(super::tls_config(roots)?),
            connectors: Arc::default(),
        })
    }

    fn connector_for(&self, timeouts: Timeouts) -> SharedHttpConnector {
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(timeouts)
            .or_insert_with(|| {
                SharedHttpConnector::new(SdkConnector::new(
                    ClientConfig::clone(&self.tls),
                    timeouts,
                ))
            })
            .clone()
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector_for((settings.connect_timeout(), settings.read_timeout()))
    }
}

/// One pool of connections with fixed timeouts.
#[derive(Debug, Clone)]
struct SdkConnector {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
    read_timeout: Option<Duration>,
}

impl SdkConnector {
    fn new(tls: ClientConfig, (connect_timeout, read_timeout): Timeouts) -> Self {
        let connector = super::connector(connect_timeout, tls);
        let client = Client::builder(TokioExecutor::new())
            // The pool's idle-connection timer needs a timer to run at all.
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self {
            client,
            read_timeout,
        }
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err.into()))),
        };
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|_| ConnectorError::timeout(ReadTimeout(limit).into()))?,
                None => response.await,
            };
            match response {
                Ok(response) => Response::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|err| ConnectorError::other(err.into(), None)),
                Err(err) => Err(classify(err)),
            }
        })
    }
}

/// No response head within the SDK's read timeout.
#[derive(Debug, thiserror::Error)]
#[error("no response within the read timeout of {0:?}")]
struct ReadTimeout(Duration);

/// Maps a failed exchange to the [`ConnectorError`] kind the SDK's retry strategy acts on.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let kind = classify_kind(&err);
    let err: Box<dyn StdError + Send + Sync> = err.into();
    match kind {
        Kind::Timeout => ConnectorError::timeout(err),
        Kind::Io => ConnectorError::io(err),
        Kind::User => ConnectorError::user(err),
        Kind::Transient => ConnectorError::other(err, Some(ErrorKind::TransientError)),
        Kind::Other => ConnectorError::other(err, None),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timeout,
    Io,
    User,
    Transient,
    Other,
}

fn classify_kind(err: &hyper_util::client::legacy::Error) -> Kind {
    if err.is_connect() {
        // The connect timeout surfaces here too: never sent, safe to retry either way.
        let timed_out = |io: &std::io::Error| io.kind() == std::io::ErrorKind::TimedOut;
        return if find(err, timed_out).is_some() {
            Kind::Timeout
        } else {
            Kind::Io
        };
    }
    if let Some(hyper) = find(err, |_: &hyper::Error| true) {
        if hyper.is_timeout() {
            return Kind::Timeout;
        }
        if hyper.is_user() {
            return Kind::User;
        }
        if hyper.is_closed() || hyper.is_canceled() {
            return Kind::Io;
        }
        // A response cut short (seen from S3): worth another attempt.
        if hyper.is_incomplete_message() {
            return Kind::Transient;
        }
    }
    if find(err, |_: &std::io::Error| true).is_some() {
        return Kind::Io;
    }
    Kind::Other
}

/// The first error of type `E` in `err`'s chain (itself, then its sources) that `matches`.
fn find<'a, E: StdError + 'static>(
    err: &'a (dyn StdError + 'static),
    matches: impl Fn(&E) -> bool,
) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>().filter(|found| matches(found)) {
            return Some(found);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::upstream::{Behavior, LoopbackUpstream};
    use http_body_util::BodyExt;

    fn connector(read_timeout: Option<Duration>) -> SdkConnector {
        let roots = super::super::root_store(&[("UNRELATED", "x")]).unwrap();
        SdkConnector::new(
            super::super::tls_config(roots).unwrap(),
            (Some(Duration::from_secs(2)), read_timeout),
        )
    }

    fn get(url: &str) -> HttpRequest {
        let request = http::Request::builder()
            .uri(url)
            .body(SdkBody::empty())
            .unwrap();
        HttpRequest::try_from(request).unwrap()
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        // Bind and drop: nothing listens on the port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = connector(None)
            .call(get(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(err.is_io(), "{err:?}");
    }

    #[tokio::test]
    async fn a_silent_server_is_a_read_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and then says nothing.
        let server = tokio::spawn(async move {
            let (_stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let err = connector(Some(Duration::from_millis(200)))
            .call(get(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        server.abort();
    }

    #[tokio::test]
    async fn a_response_comes_back_whole() {
        let mut upstream = LoopbackUpstream::start("aws", Behavior::json(200, "{\"ok\":true}"))
            .await
            .unwrap();
        let response = connector(None).call(get(&upstream.url())).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"{\"ok\":true}");
        upstream.stop();
    }

    #[tokio::test]
    async fn one_connector_per_timeout_pair() {
        let client = SdkHttpClient::new(RootCertStore::empty()).unwrap();
        let short = (Some(Duration::from_secs(1)), None);
        let long = (Some(Duration::from_secs(9)), None);
        client.connector_for(short);
        client.connector_for(short);
        client.connector_for(long);
        assert_eq!(client.connectors.lock().unwrap().len(), 2);
    }
}
