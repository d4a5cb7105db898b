//! A loopback HTTP proxy that holds every request for a fixed delay before passing it on: the
//! round trip a Lambda function pays to S3, SQS or DynamoDB in a region, put in front of moto
//! server so that benchmarks see what production sees. It counts the requests it carried. A
//! rule can instead hold some requests longer than others: an S3 stalled on one key, an SQS
//! that answers everything but sends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Uri;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::TestkitError;

/// The proxy; stopped when dropped.
#[derive(Debug)]
pub struct DelayProxy {
    address: SocketAddr,
    requests: Arc<AtomicU64>,
    server: JoinHandle<()>,
}

impl DelayProxy {
    /// Listens on a free loopback port and forwards to `target` (`http://127.0.0.1:PORT`),
    /// each request `delay` after it arrived.
    pub async fn start(target: &str, delay: Duration) -> Result<Self, TestkitError> {
        Self::start_with(target, move |_| delay).await
    }

    /// Like [`DelayProxy::start`], each request held for what `delay_of` says of its method,
    /// URI and headers.
    pub async fn start_with(
        target: &str,
        delay_of: impl Fn(&http::request::Parts) -> Duration + Send + Sync + 'static,
    ) -> Result<Self, TestkitError> {
        let spawn_error = |source| TestkitError::Spawn {
            tool: "delay proxy",
            source,
        };
        let target: Uri = target.parse().map_err(|err| {
            spawn_error(std::io::Error::new(std::io::ErrorKind::InvalidInput, err))
        })?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(spawn_error)?;
        let address = listener.local_addr().map_err(spawn_error)?;
        let requests = Arc::new(AtomicU64::new(0));
        let client: Client<HttpConnector, Incoming> =
            Client::builder(TokioExecutor::new()).build_http();
        let server = tokio::spawn(serve(
            listener,
            target,
            Arc::new(delay_of),
            client,
            Arc::clone(&requests),
        ));
        Ok(Self {
            address,
            requests,
            server,
        })
    }

    /// The base URL clients use instead of the target's.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Requests carried so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What a request is held for.
type DelayRule = Arc<dyn Fn(&http::request::Parts) -> Duration + Send + Sync>;

async fn serve(
    listener: TcpListener,
    target: Uri,
    delay_of: DelayRule,
    client: Client<HttpConnector, Incoming>,
    requests: Arc<AtomicU64>,
) {
    // Connection tasks live in the set, so aborting this task closes them all too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (target, client, requests, delay_of) = (
            target.clone(),
            client.clone(),
            Arc::clone(&requests),
            Arc::clone(&delay_of),
        );
        connections.spawn(async move {
            let service = service_fn(move |request: http::Request<Incoming>| {
                let (target, client, requests) =
                    (target.clone(), client.clone(), Arc::clone(&requests));
                let (parts, body) = request.into_parts();
                let delay = delay_of(&parts);
                let mut request = http::Request::from_parts(parts, body);
                async move {
                    requests.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(delay).await;
                    let path = request
                        .uri()
                        .path_and_query()
                        .map_or("/", |p| p.as_str())
                        .to_owned();
                    let mut parts = target.into_parts();
                    parts.path_and_query = path.parse().ok();
                    *request.uri_mut() = Uri::from_parts(parts).unwrap_or_default();
                    client.request(request).await
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
