//! How much compute a closing costs: the workflow served by this process behind a timing layer
//! that sums the time each Restate request is open (what a Lambda would bill), against the
//! closing's wall time, on the real restate-server and PostgreSQL with the simulated ERP; and
//! the cost of one durable step (`ctx.run` round trip). Prints Markdown for BENCHMARKS.md.
//!
//! Run: `cargo run --release -p orabridge-demo -- lambda-time` (prints a Markdown table).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use finance_closing::erp::SimulatedErp;
use finance_closing::flow::{FinanceClosing, RetryPolicy, Timing};
use finance_closing::pg::pool;
use finance_closing::store::PostgresStore;
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::TokioIo;
use orabridge_shared::testkit::{self, RestateServer, http_request};
use restate_sdk::endpoint::{HandleOptions, ProtocolMode};
use restate_sdk::prelude::*;
use serde_json::json;

/// Time requests were open, and how many there were.
#[derive(Default)]
struct Meter {
    open_micros: AtomicU64,
    requests: AtomicU64,
}

/// A response body that adds its request's open time to the meter when it ends.
struct TimedBody<B> {
    inner: B,
    started: Instant,
    meter: Arc<Meter>,
    done: bool,
}

impl<B: Body + Unpin> Body for TimedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) && !self.done {
            self.done = true;
            let micros = self.started.elapsed().as_micros() as u64;
            self.meter.open_micros.fetch_add(micros, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

async fn serve(endpoint: Endpoint, meter: Arc<Meter>) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the workflow's listener")?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let endpoint = endpoint.clone();
            let meter = Arc::clone(&meter);
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let endpoint = endpoint.clone();
                let meter = Arc::clone(&meter);
                async move {
                    let started = Instant::now();
                    meter.requests.fetch_add(1, Ordering::Relaxed);
                    // Request-response, as `LambdaEndpoint` declares it: discovery tells
                    // restate-server so, and the handler suspends at every durable sleep.
                    let response = endpoint.handle_with_options(
                        request,
                        HandleOptions {
                            protocol_mode: ProtocolMode::RequestResponse,
                        },
                    );
                    Ok::<_, std::convert::Infallible>(response.map(|inner| TimedBody {
                        inner,
                        started,
                        meter,
                        done: false,
                    }))
                }
            });
            // HTTP/1.1 request-response, as Restate talks to Lambda: the handler suspends at every
            // durable sleep and each resumption is a fresh request (with HTTP/2 streaming the
            // server would keep a short-sleeping invocation open instead).
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    Ok(address)
}

/// Durable steps per timed invocation.
const STEPS: u32 = 100;

/// A service that takes `n` durable steps: the round-trip cost of one `ctx.run`.
struct Steps;

#[restate_sdk::service]
impl Steps {
    #[handler]
    async fn take(&self, ctx: Context<'_>, n: u32) -> HandlerResult<u32> {
        let mut sum = 0;
        for i in 0..n {
            sum += ctx.run(|| async move { Ok(i) }).name("step").await?;
        }
        Ok(sum)
    }
}

/// The median cost of one durable step, in seconds.
async fn durable_step_cost(restate: &RestateServer) -> anyhow::Result<f64> {
    // One durable step: STEPS steps in one invocation against none. In request-response mode
    // each step's result must be acknowledged before the handler goes on, so each is a
    // suspension and a fresh request that replays the journal: the cost per step grows with
    // the journal; 100 steps is about the journal of `run`'s simulated closing (~100 polls).
    let mut step_costs = Vec::new();
    for _ in 0..5 {
        let mut times = Vec::new();
        for n in [0u32, STEPS] {
            let started = Instant::now();
            let (status, body) = http_request(
                "POST",
                &format!("{}/Steps/take", restate.ingress_url()),
                Some(&json!(n)),
                &[],
            )
            .await
            .map_err(|err| anyhow::anyhow!("the durable steps: {err}"))?;
            ensure!(status == 200, "the durable steps answered {status} {body}");
            times.push(started.elapsed());
        }
        step_costs.push((times[1].saturating_sub(times[0])).as_secs_f64() / f64::from(STEPS));
    }
    step_costs.sort_by(f64::total_cmp);
    Ok(step_costs[step_costs.len() / 2])
}

/// The workflow over the simulated ERP (jobs of `job`) and the store in `schema`, polling every
/// `poll`, with the durable-step service, served behind `meter` and registered with `restate`.
async fn serve_closing(
    restate: &RestateServer,
    pool: &finance_closing::pg::Pool,
    schema: &str,
    job: Duration,
    poll: Duration,
    meter: Arc<Meter>,
) -> anyhow::Result<()> {
    let store = PostgresStore::new(pool.clone(), schema)?;
    store.migrate(&["gl_balances".to_owned()]).await?;
    let erp = SimulatedErp::new(pool.clone(), schema, job)?;
    erp.migrate().await?;
    let workflow = FinanceClosing::new(
        erp,
        store,
        vec!["gl_balances".to_owned()],
        Timing {
            poll_interval: poll,
            max_duration: Duration::from_secs(600),
            retry: RetryPolicy::default(),
        },
    );
    let address = serve(
        Endpoint::builder().bind(workflow).bind(Steps).build(),
        meter,
    )
    .await?;
    restate
        .register(&format!("http://{address}"), true)
        .await
        .map_err(|err| anyhow::anyhow!("registering the bench endpoint: {err}"))
}

/// Runs one simulated closing and the durable-step rounds, and prints the table; `Err` when the
/// measurement itself failed.
pub async fn run() -> anyhow::Result<()> {
    testkit::postgres().await.context("PostgreSQL")?;
    let restate = RestateServer::start().await?;
    let (config, tls) = testkit::postgres_config()?;
    let pool = pool(config, &tls, 4)?;
    let schema = format!("fc_bench_{}", std::process::id());
    let job = Duration::from_secs(20);
    let poll = Duration::from_millis(200);
    let meter = Arc::new(Meter::default());
    serve_closing(&restate, &pool, &schema, job, poll, Arc::clone(&meter)).await?;

    let started = Instant::now();
    let (status, body) = http_request(
        "POST",
        &format!("{}/FinanceClosing/2026-11-20/run", restate.ingress_url()),
        Some(&json!({})),
        &[],
    )
    .await
    .map_err(|err| anyhow::anyhow!("starting the closing: {err}"))?;
    ensure!(status == 200, "the closing answered {status} {body}");
    let wall = started.elapsed();
    let active = Duration::from_micros(meter.open_micros.load(Ordering::Relaxed));
    let requests = meter.requests.load(Ordering::Relaxed);
    let polls = (job.as_secs_f64() / poll.as_secs_f64()).round();
    let per_poll = active.as_secs_f64() / polls;
    let six_hours = per_poll * 360.0;

    let step = durable_step_cost(&restate).await?;

    println!("### finance-closing: compute per closing and the cost of a durable step\n");
    println!(
        "A simulated closing of {} s polled every {} ms (~{polls:.0} polls), served by the bench \
         process in request-response mode (HTTP/1.1, as Restate invokes Lambda: one request per \
         resumption) behind a layer that sums how long each request stays open (what a Lambda \
         would bill); real restate-server and PostgreSQL on loopback \
         (`cargo run --release -p orabridge-demo -- lambda-time`).\n",
        job.as_secs(),
        poll.as_millis()
    );
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| closing wall time | {:.1} s |", wall.as_secs_f64());
    println!(
        "| handler active time (sum of open requests) | {:.3} s |",
        active.as_secs_f64()
    );
    println!("| requests from restate-server (attempts and resumptions) | {requests} |");
    println!("| active time per poll | {:.1} ms |", per_poll * 1000.0);
    println!(
        "| extrapolated: six-hour closing, one-minute polls (360 polls) | {six_hours:.1} s (target < 30 s: {}) |",
        if six_hours < 30.0 { "met" } else { "missed" }
    );
    println!(
        "| one durable step (`ctx.run` round trip), median of 5 × {STEPS} | {:.2} ms |",
        step * 1000.0
    );
    println!();
    // The bench's schema goes; a failure to drop it leaves a schema behind, not a wrong figure.
    if let Ok(client) = pool.get().await {
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
    }
    Ok(())
}
