//! `proxy`: API Gateway (REST v1 and HTTP API v2) → the Unified API on fixed-IP VMs.
//!
//! The endpoints and the internal key live in SSM, read through the shared parameter store
//! (cached, stale-on-error); requests fail over across the ordered upstreams with a circuit
//! breaker each, within a deadline bounded by the Lambda's remaining time and API Gateway's
//! 29 s. Paths can never leave `/api/v1/`, the key never reaches a log or a client, and every
//! error is a JSON body with a stable code.
//!
//! Modules, by role: the API Gateway adapter [`apigw`] (events to [`exchange::ProxyRequest`],
//! [`exchange::ProxyResponse`] to the event's payload format); the [`service`] over ports
//! (routing, forwarding, `/health`, idempotent ingestion); its error contract [`error`]; and
//! what it is built from: [`config`] (environment), [`upstreams`] (the SSM list), [`path`]
//! (what may be forwarded), [`headers`] (hygiene), [`breaker`], [`client`] (the upstream port
//! and its hyper adapter), [`forward`] (failover), [`response`] (the client's answer and what
//! it weighs in Lambda), [`ingest`] (sensor readings to SQS). [`build`] composes the proxy from
//! its configuration and [`Ports`]; `main` and the tests differ only in the ports they pass.

pub mod apigw;
pub mod breaker;
pub mod client;
pub mod config;
pub mod error;
pub mod exchange;
pub mod forward;
pub mod headers;
pub mod ingest;
pub mod path;
pub mod response;
pub mod service;
pub mod upstreams;

pub use service::{Ports, Proxy, build};

/// The routes of the proxy contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `ANY /api/v1/{proxy+}`: forwarded to the Unified API.
    Forward,
    /// `GET /health`: the proxy's own view of its upstreams.
    Health,
    /// `POST /ingest/sensor-data`: validated readings enqueued to SQS.
    IngestSensorData,
    /// Anything else.
    Unknown,
}

/// Picks the route for a method and a path (without the API Gateway stage prefix).
pub fn route(method: &str, path: &str) -> Route {
    match (method, path) {
        (_, p) if p.starts_with(path::FORWARD_PREFIX) => Route::Forward,
        ("GET", "/health") => Route::Health,
        ("POST", "/ingest/sensor-data") => Route::IngestSensorData,
        _ => Route::Unknown,
    }
}
