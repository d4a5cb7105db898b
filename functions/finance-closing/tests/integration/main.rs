//! The integration tests of finance-closing in one binary, so the AWS SDK and the test kit are
//! linked once rather than once per file. Each module below is one subject.

mod common;

mod crash;
mod flow;
mod one_job;
mod postgres;
mod tls;
mod workflow;
