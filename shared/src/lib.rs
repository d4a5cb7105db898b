//! The library every orabridge function is built on: what Powertools for AWS Lambda gives other
//! languages, for Rust, plus the ports and adapters the functions share.
//!
//! - [`config`]: typed configuration from the environment, failing fast and naming the variable.
//! - [`settings`]: a setting is a value (`X`) or a parameter reference (`X_PARAM`), resolved in
//!   one batched parameter-store read at start-up.
//! - [`aws`]: one place that builds AWS SDK clients (endpoint overrides, path-style S3).
//! - [`clock`]: an injectable monotonic clock for TTLs and cool-downs.
//! - [`params`]: SSM parameters with a TTL cache, batching, decryption and stale-on-error.
//! - [`logging`]: one tracing setup (JSON in Lambda, request id on every line).
//! - [`metrics`]: CloudWatch Embedded Metric Format, flushed after every invocation.
//! - [`batch`]: SQS partial batch responses (standard and FIFO), panics contained per record.
//! - [`object_store`]: the object-store port, to write and to read (S3 and in-memory).
//! - `oracle` (feature `oracle`): connect in thick mode, validated identifiers, rows as text,
//!   error mapping that names the Instant Client layer when it is missing.
//! - `postgres` (feature `postgres`): libpq's `sslmode` over rustls, channel binding, and the
//!   connect and keepalive timeouts of a connection that outlives a NAT gateway's idle timer.
//! - [`queue`]: the message-queue port (SQS and in-memory), batched to SQS's limits.
//! - [`sensor`]: the irrigation-sensor reading schema and its validation.
//! - [`http`]: the HTTPS connector the HTTP-calling functions share, and the AWS SDK's HTTP
//!   client on the same trust (Mozilla's roots compiled in, plus `SSL_CERT_FILE`).
//! - `idempotency` (feature `idempotency`): idempotent requests on DynamoDB in the table layout
//!   of Powertools for AWS Lambda (claim, replay, in-flight, payload mismatch).
//! - [`errors`]: helpers to report an error with its whole cause chain.
//! - [`lambda`]: mapping function errors to Lambda diagnostics with a meaningful `errorType`.
//! - [`start`]: the one start-up order of every `main`, and the [`start::Function`] trait
//!   through which `main` and the tests hand a function its events.
//! - `testkit` (feature `testkit`): real moto server, restate-server and PostgreSQL for tests.

#![warn(missing_docs)]

pub mod aws;
pub mod batch;
pub mod clock;
pub mod config;
pub mod encoding;
pub mod errors;
pub mod http;
#[cfg(feature = "idempotency")]
pub mod idempotency;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod object_store;
#[cfg(feature = "oracle")]
pub mod oracle;
#[cfg(feature = "oracle")]
pub mod oracle_sql;
pub mod params;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod queue;
pub mod sensor;
pub mod settings;
pub mod start;
#[cfg(feature = "testkit")]
pub mod testkit;
