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

/// The sensor consumer `main` would build from `PREFIX=lake` and `WRITE_CONCURRENCY`, over
/// `lake` and `alerts`, its clock at `now`.
pub fn sensor_consumer<O, Q>(
    lake: O,
    alerts: Q,
    write_concurrency: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<sensor_consumer::SensorConsumer<O, Q, orabridge_shared::clock::ManualClock>>
where
    O: orabridge_shared::object_store::ObjectStore,
    Q: orabridge_shared::queue::MessageQueue,
{
    let concurrency = write_concurrency.to_string();
    let vars = [
        ("BUCKET", "lake"),
        ("PREFIX", "lake"),
        ("WRITE_CONCURRENCY", concurrency.as_str()),
    ];
    let config = sensor_consumer::config::SensorConsumerConfig::from_source(vars)?;
    let clock = orabridge_shared::clock::ManualClock::at(now);
    Ok(sensor_consumer::build(
        config,
        sensor_consumer::Ports {
            lake,
            alerts,
            clock,
        },
    )?)
}

/// The event a benchmark hands a function: `payload` as the runtime hands it over, with
/// [`bench_context`].
pub fn bench_event(
    payload: &str,
) -> anyhow::Result<lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>> {
    Ok(lambda_runtime::LambdaEvent::new(
        serde_json::from_str(payload)?,
        bench_context(),
    ))
}

/// The invocation context a benchmark hands a function: a request id and no deadline, as
/// under `cargo lambda watch`.
pub fn bench_context() -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.request_id = "bench".into();
    context
}
