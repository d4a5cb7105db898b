//! The integration tests of run-colors in one binary, so the AWS SDK and the test kit are
//! linked once rather than once per file. Each module below is one subject.

mod support;

mod configuration;
mod golden;
mod oracle;
mod publication;
mod ranking;
