//! The per-function benchmarks `make bench` runs besides the cold starts, each a command of
//! this harness and each printing one Markdown section of BENCHMARKS.md.
//!
//! They live in the harness rather than as examples of the function packages so that the
//! release build links one benchmark program instead of one per package: each fat-LTO link of
//! the AWS SDK and its dependencies costs minutes on two cores.

pub mod batch_throughput;
pub mod closing_copy;
pub mod lambda_time;
pub mod latency;
pub mod proxy_bodies;
pub mod proxy_path;

/// The invocation context a benchmark hands a function: a request id and no deadline, as
/// under `cargo lambda watch`.
pub fn bench_context() -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.request_id = "bench".into();
    context
}
