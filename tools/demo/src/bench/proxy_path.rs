//! Added latency of the proxy path over a direct call to the same loopback upstream.
//!
//! Both paths run in this process against one real HTTP upstream on loopback, interleaved
//! (direct, proxy, direct, proxy, ...) so machine noise lands on both alike. The proxy path is
//! what the Lambda runtime runs per invocation: the API Gateway event JSON, as the runtime
//! hands it over, goes through `Function::handle` (what `main` serves;
//! parameters already cached, as in a warm container), is forwarded, and the answer is
//! serialized back to JSON. Only the Runtime API's own HTTP hop is left out: Lambda adds it to
//! every function alike.
//!
//! Run: `cargo run --release -p orabridge-demo -- proxy-path` (prints a Markdown table). The
//! command runs on a current-thread runtime, as the function does.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http::Method;
use lambda_runtime::{Context, LambdaEvent};
use orabridge_shared::clock::SystemClock;
use orabridge_shared::params::MemoryParameterSource;
use orabridge_shared::queue::MemoryQueue;
use orabridge_shared::start::Function;
use orabridge_shared::testkit::{
    self,
    upstream::{Behavior, LoopbackUpstream},
};
use proxy::client::{HyperClient, UpstreamClient, UpstreamRequest};
use proxy::config::ProxyConfig;
use serde_json::value::RawValue;

const WARMUP: usize = 500;
const SAMPLES: usize = 20_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Prints both paths' percentiles and the added latency per round, against the targets.
fn print_table(mut direct_samples: Vec<Duration>, mut proxy_samples: Vec<Duration>) {
    let mut added: Vec<f64> = proxy_samples
        .iter()
        .zip(&direct_samples)
        .map(|(p, d)| micros(*p) - micros(*d))
        .collect();
    added.sort_by(f64::total_cmp);
    direct_samples.sort();
    proxy_samples.sort();

    println!(
        "### proxy: added latency over a direct call (loopback upstream, parameters cached)\n"
    );
    println!("{SAMPLES} interleaved samples per path after {WARMUP} warm-up rounds.\n");
    println!("| path | p50 (µs) | p90 (µs) | p99 (µs) |");
    println!("|---|---:|---:|---:|");
    for (name, samples) in [
        ("direct call", &direct_samples),
        ("through the proxy", &proxy_samples),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            micros(percentile(samples, 0.50)),
            micros(percentile(samples, 0.90)),
            micros(percentile(samples, 0.99))
        );
    }
    let at = |p: f64| added[((added.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "| **added** (per-round difference) | **{:.1}** | **{:.1}** | **{:.1}** |",
        at(0.50),
        at(0.90),
        at(0.99)
    );
    println!(
        "\nTargets: added p50 ≤ 100 µs ({}), added p99 ≤ 1000 µs ({}).",
        if at(0.50) <= 100.0 { "met" } else { "missed" },
        if at(0.99) <= 1000.0 { "met" } else { "missed" }
    );
}

/// Measures both paths and prints the table; `Ok` whether or not the targets were met (the table
/// says), `Err` when the measurement itself failed.
pub async fn run() -> anyhow::Result<()> {
    let body = r#"{"sensorId":"WL-0042","level_cm":231.5,"status":"ok"}"#;
    let upstream = LoopbackUpstream::start("bench", Behavior::json(200, body)).await?;

    // The loopback upstream speaks plain HTTP.
    let config = ProxyConfig::from_source([("ALLOW_PLAIN_HTTP_UPSTREAM", "true")])?;
    let direct = HyperClient::new(config.connect_timeout, config.response_limit)?;
    let source = MemoryParameterSource::new();
    source
        .put(&config.upstream_param, &upstream.url())
        .put(&config.internal_key_param, "bench-key");
    let ports: proxy::Ports<_, _, _, _> = proxy::Ports {
        parameters: source,
        upstreams: HyperClient::new(config.connect_timeout, config.response_limit)?,
        queue: MemoryQueue::new(),
        clock: SystemClock,
        idempotency: None,
    };
    let proxy = proxy::build(config, ports);

    let event_path = testkit::sample_event_path("proxy-v2-get.json");
    let event = std::fs::read_to_string(&event_path)
        .with_context(|| format!("reading {}", event_path.display()))?;
    let direct_request = UpstreamRequest {
        method: Method::GET,
        url: format!(
            "{}/api/v1/sensors/WL-0042/readings?from=2026-11-20T00%3A00%3A00Z&limit=50",
            upstream.url()
        ),
        headers: http::HeaderMap::new(),
        body: Bytes::new(),
    };

    let mut direct_samples = Vec::with_capacity(SAMPLES);
    let mut proxy_samples = Vec::with_capacity(SAMPLES);
    for round in 0..WARMUP + SAMPLES {
        let started = Instant::now();
        let response = direct
            .send(direct_request.clone(), Duration::from_secs(5))
            .await?;
        std::hint::black_box(&response.body);
        let direct_time = started.elapsed();

        let started = Instant::now();
        let raw: Box<RawValue> = serde_json::from_str(&event)?;
        let response = proxy
            .handle(LambdaEvent::new(raw, Context::default()))
            .await?;
        let json = serde_json::to_vec(&response)?;
        std::hint::black_box(&json);
        let proxy_time = started.elapsed();

        if round == 0 {
            let parsed: serde_json::Value = serde_json::from_slice(&json)?;
            anyhow::ensure!(parsed["statusCode"] == 200, "proxy answered {parsed}");
        }
        if round >= WARMUP {
            direct_samples.push(direct_time);
            proxy_samples.push(proxy_time);
        }
    }
    print_table(direct_samples, proxy_samples);
    Ok(())
}
