//! A real HTTP/1.1 server on a free loopback port that stands in for the Unified API in tests
//! and the demo: it records every request it receives and answers as told, and the test can
//! change its behaviour while it runs (fail, recover, slow down) or stop it outright.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::{TestkitError, free_port};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path and query string, exactly as sent.
    pub path_and_query: String,
    /// Every header received.
    pub headers: HeaderMap,
    /// The body, byte for byte.
    pub body: Bytes,
}

/// How the upstream answers.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// Answer with this status, content type and body.
    Respond {
        /// The status code.
        status: u16,
        /// The `Content-Type` header.
        content_type: &'static str,
        /// The body.
        body: Bytes,
    },
    /// Answer 200 with the request's own body and content type.
    Echo,
    /// Wait, then answer 200 `{"slow":true}` (for timeouts).
    Delay(Duration),
}

impl Behavior {
    /// A JSON answer with the given status.
    pub fn json(status: u16, body: &str) -> Self {
        Behavior::Respond {
            status,
            content_type: "application/json",
            body: Bytes::from(body.to_owned()),
        }
    }
}

#[derive(Debug)]
struct Shared {
    name: String,
    behavior: Mutex<Behavior>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A loopback HTTP server; stopped when dropped.
#[derive(Debug)]
pub struct LoopbackUpstream {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
}

impl LoopbackUpstream {
    /// Starts a server named `name` (sent back in an `x-upstream` header on every answer).
    pub async fn start(name: &str, behavior: Behavior) -> Result<Self, TestkitError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|source| TestkitError::Spawn {
                tool: "loopback upstream",
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|source| TestkitError::Spawn {
                tool: "loopback upstream",
                source,
            })?;
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            behavior: Mutex::new(behavior),
            requests: Mutex::new(Vec::new()),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self {
            address,
            shared,
            server: Some(server),
        })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Changes how later requests are answered.
    pub fn set_behavior(&self, behavior: Behavior) {
        *self
            .shared
            .behavior
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = behavior;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops accepting and drops every open connection: later connects are refused.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl Drop for LoopbackUpstream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A base URL on which nothing listens: connecting to it is refused.
pub fn refusing_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Connection tasks live in the set, so aborting this task closes them all too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |request| answer(Arc::clone(&shared), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).cloned();
    shared
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(RecordedRequest {
            method: parts.method.to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_default(),
            headers: parts.headers,
            body: body.clone(),
        });
    let behavior = shared
        .behavior
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let (status, content_type, body) = match behavior {
        Behavior::Respond {
            status,
            content_type,
            body,
        } => (status, HeaderValue::from_static(content_type), body),
        Behavior::Echo => (
            200,
            content_type.unwrap_or(HeaderValue::from_static("application/octet-stream")),
            body,
        ),
        Behavior::Delay(delay) => {
            tokio::time::sleep(delay).await;
            (
                200,
                HeaderValue::from_static("application/json"),
                Bytes::from_static(br#"{"slow":true}"#),
            )
        }
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, content_type);
    if let Ok(name) = HeaderValue::from_str(&shared.name) {
        response.headers_mut().insert("x-upstream", name);
    }
    Ok(response)
}
