//! The integration tests of the sensor consumer in one binary, so the AWS SDK and the test kit are
//! linked once rather than once per file. Each module below is one subject.

mod lake_query;
mod lake_s3;
