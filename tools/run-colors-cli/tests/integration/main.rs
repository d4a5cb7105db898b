//! The integration tests of the run-colors command line in one binary, so the AWS SDK and the test kit are
//! linked once rather than once per file. Each module below is one subject.

mod command_line;
mod extract;
mod staging;
