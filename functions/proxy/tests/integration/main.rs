//! The integration tests of the proxy in one binary, so the AWS SDK and the test kit are
//! linked once rather than once per file. Each module below is one subject.

mod common;

mod connections;
mod failover;
mod idempotency;
mod ingest;
mod requests;
mod sample_events;
mod ssm;
