//! The integration tests of the shared library in one binary, so the AWS SDK and the test kit are
//! linked once rather than once per file. Each module below is one subject.

mod aws_clients;
mod https_trust;
mod idempotency_dynamodb;
mod object_store_s3;
mod params_ssm;
mod postgres_tls;
mod testkit_services;
