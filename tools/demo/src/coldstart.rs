//! Cold starts, measured the way Lambda sees them: a fresh process per sample, started against a
//! small Lambda Runtime API served here, timed from spawn to its first poll for an event
//! (`GET /runtime/invocation/next`: the end of its init) and to its first answer, with the
//! process's peak resident memory read from `/proc` once it has answered.
//!
//! Every function is measured side by side with `hello-lambda`, a hello-world `lambda_runtime`
//! binary built with the same profile, in interleaved rounds so a noisy neighbour affects all of
//! them alike; the report gives medians and the ratio to the baseline.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The Runtime API version prefix every call uses.
const API: &str = "/2018-06-01/runtime";

/// One function to measure.
pub struct Subject {
    /// Its name (the binary's name under `target/release`).
    pub name: String,
    /// The event it is invoked with.
    pub event: Vec<u8>,
    /// Its environment, on top of the Lambda variables set here.
    pub env: Vec<(String, String)>,
    /// A program the binary runs under, with its arguments (`qemu-aarch64-static -L <sysroot>`
    /// for an arm64 binary on this machine); empty to run it directly.
    pub runner: Vec<String>,
    /// Where its standard error goes (appended), to read when it fails to start; none when
    /// only its timing matters.
    pub stderr_log: Option<PathBuf>,
}

/// What one cold start came to.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Spawn to the first `next` poll.
    pub init: Duration,
    /// Spawn to the first response or error report.
    pub first_answer: Duration,
    /// Peak resident memory once it answered (KiB).
    pub peak_rss_kib: u64,
    /// The answer: the response body, or `error: <body>`.
    pub answer: String,
}

#[derive(Debug)]
enum Call {
    Next(Instant),
    Answer(Instant, String),
}

/// Starts `binary` once against a fresh Runtime API and measures it.
pub async fn measure(binary: &Path, subject: &Subject) -> Result<Sample> {
    let mut process =
        Process::start(binary, subject, vec![Bytes::from(subject.event.clone())]).await?;
    let Call::Next(polled) = process.next_call("polled for an event").await? else {
        bail!("{} answered before polling", subject.name);
    };
    let (answered, answer) = process.answer().await?;
    let peak_rss_kib = process.memory().map_or(0, |memory| memory.peak_kib);
    let started = process.started;
    process.stop().await;
    Ok(Sample {
        init: polled - started,
        first_answer: answered - started,
        peak_rss_kib,
        answer,
    })
}

/// What one warm process came to after serving a sequence of events.
#[derive(Debug, Clone)]
pub struct Served {
    /// The answers, one per event, in order (`error: <body>` for an error report).
    pub answers: Vec<String>,
    /// Its memory once it had answered the last one.
    pub memory: Memory,
}

/// A process's resident memory (KiB), from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// The peak (`VmHWM`).
    pub peak_kib: u64,
    /// Now (`VmRSS`).
    pub now_kib: u64,
}

/// Starts `binary` once, as Lambda keeps a warm environment, and invokes it with each of
/// `events` in turn.
pub async fn serve_all(binary: &Path, subject: &Subject, events: Vec<Bytes>) -> Result<Served> {
    let count = events.len();
    let mut process = Process::start(binary, subject, events).await?;
    let mut answers = Vec::with_capacity(count);
    for _ in 0..count {
        let Call::Next(_) = process.next_call("polled for an event").await? else {
            bail!("{} answered before polling", subject.name);
        };
        answers.push(process.answer().await?.1);
    }
    // Its next poll: the last answer is complete, and nothing is in flight.
    process.next_call("polled again").await?;
    let memory = process
        .memory()
        .with_context(|| format!("reading the memory of {}", subject.name))?;
    process.stop().await;
    Ok(Served { answers, memory })
}

/// A function process started against a Runtime API of its own.
struct Process {
    name: String,
    stderr_log: Option<PathBuf>,
    child: tokio::process::Child,
    pid: u32,
    started: Instant,
    seen: mpsc::UnboundedReceiver<Call>,
    server: tokio::task::JoinHandle<()>,
}

impl Process {
    /// Serves `events` (one per `next` poll, then none) and starts `binary` against them.
    async fn start(binary: &Path, subject: &Subject, events: Vec<Bytes>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (calls, seen) = mpsc::unbounded_channel();
        let server = tokio::spawn(serve(listener, Arc::new(Events::new(events)), calls));

        let started = Instant::now();
        let child = tokio::process::Command::from(command_under(&subject.runner, binary))
            // Only what Lambda sets: this machine's own variables (SSL_CERT_FILE pointing at
            // the system's CA bundle, say) would measure work a Lambda never does.
            .env_clear()
            .envs(lambda_env(&address.to_string(), &subject.name))
            .envs(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(match &subject.stderr_log {
                Some(log) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(log)
                        .with_context(|| format!("opening {}", log.display()))?,
                ),
                None => Stdio::null(),
            })
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the process ended at once")?;
        Ok(Self {
            name: subject.name.clone(),
            stderr_log: subject.stderr_log.clone(),
            child,
            pid,
            started,
            seen,
            server,
        })
    }

    /// The next Runtime API call the process made, or an error after a minute of silence.
    async fn next_call(&mut self, what: &str) -> Result<Call> {
        tokio::time::timeout(Duration::from_secs(60), self.seen.recv())
            .await
            .ok()
            .flatten()
            .with_context(|| match &self.stderr_log {
                Some(log) => format!("{} never {what}; see {}", self.name, log.display()),
                None => format!("{} never {what}", self.name),
            })
    }

    /// The answer to the event it was just given.
    async fn answer(&mut self) -> Result<(Instant, String)> {
        match self.next_call("answered").await? {
            Call::Answer(at, answer) => Ok((at, answer)),
            Call::Next(_) => bail!("{} polled twice without answering", self.name),
        }
    }

    fn memory(&self) -> Option<Memory> {
        memory(self.pid)
    }

    async fn stop(mut self) {
        self.child.kill().await.ok();
        self.server.abort();
    }
}

/// A command running `binary`, under `runner` (a program and its arguments, `qemu-aarch64-static
/// -L <sysroot>` for an arm64 binary) when that is not empty.
pub fn command_under(runner: &[String], binary: &Path) -> std::process::Command {
    match runner.split_first() {
        None => std::process::Command::new(binary),
        Some((program, args)) => {
            let mut command = std::process::Command::new(program);
            command.args(args).arg(binary);
            command
        }
    }
}

/// The variables the Lambda service sets for every function (a process started with these
/// alone sees what a Lambda sees), its Runtime API at `runtime_api` (`host:port` as Lambda
/// gives it, or a URL with a path).
pub fn lambda_env(runtime_api: &str, name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
    ]
}

/// The events a process is given, one per `next` poll; after the last, a poll waits forever
/// (the process is stopped once it has answered).
struct Events {
    events: Vec<Bytes>,
    given: AtomicUsize,
}

impl Events {
    fn new(events: Vec<Bytes>) -> Self {
        Self {
            events,
            given: AtomicUsize::new(0),
        }
    }

    /// The next event and its number, if any is left.
    fn next(&self) -> Option<(usize, Bytes)> {
        let index = self.given.fetch_add(1, Ordering::SeqCst);
        self.events.get(index).map(|event| (index, event.clone()))
    }
}

async fn serve(listener: TcpListener, events: Arc<Events>, calls: mpsc::UnboundedSender<Call>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (events, calls) = (Arc::clone(&events), calls.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (events, calls) = (Arc::clone(&events), calls.clone());
                async move { Ok::<_, Infallible>(route(request, &events, &calls).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(
    request: Request<Incoming>,
    events: &Events,
    calls: &mpsc::UnboundedSender<Call>,
) -> Response<Full<Bytes>> {
    let at = Instant::now();
    let path = request.uri().path().to_owned();
    if path == format!("{API}/invocation/next") {
        let _ = calls.send(Call::Next(at));
        let Some((index, event)) = events.next() else {
            // No more invocations: the process is stopped before this returns.
            std::future::pending::<()>().await;
            return Response::default();
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        return Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", format!("bench-{index:06}"))
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:cold-start",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(event))
            .unwrap_or_default();
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let answer = if path.ends_with("/response") {
        body
    } else {
        format!("error: {body}")
    };
    let _ = calls.send(Call::Answer(at, answer));
    Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

/// A process's resident memory, from `/proc/<pid>/status`.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
    };
    Some(Memory {
        peak_kib: field("VmHWM:")?,
        now_kib: field("VmRSS:")?,
    })
}

/// Measures every subject `rounds` times, interleaved, and returns the samples by name.
pub async fn measure_all(
    release_dir: &Path,
    subjects: &[Subject],
    rounds: usize,
) -> Result<HashMap<String, Vec<Sample>>> {
    let staging = std::env::temp_dir().join(format!("orabridge-coldstart-{}", std::process::id()));
    let result = measure_unpacked(release_dir, &staging, subjects, rounds).await;
    // Best effort: a leftover folder in the temp dir is not worth failing the measurement for.
    let _ = std::fs::remove_dir_all(&staging);
    result
}

async fn measure_unpacked(
    release_dir: &Path,
    staging: &Path,
    subjects: &[Subject],
    rounds: usize,
) -> Result<HashMap<String, Vec<Sample>>> {
    let mut binaries = HashMap::new();
    for subject in subjects {
        let bootstrap = unpack(
            &binary(release_dir, &subject.name)?,
            &staging.join(&subject.name),
        )?;
        // One unmeasured start per binary first, so every measured one finds it in the page
        // cache, as a warm Lambda host would after the first download.
        measure(&bootstrap, subject).await?;
        binaries.insert(subject.name.clone(), bootstrap);
    }
    let mut samples: HashMap<String, Vec<Sample>> = HashMap::new();
    for _ in 0..rounds {
        for subject in subjects {
            let sample = measure(&binaries[&subject.name], subject).await?;
            samples
                .entry(subject.name.clone())
                .or_default()
                .push(sample);
        }
    }
    Ok(samples)
}

/// Writes `binary` as `<folder>/bootstrap`, read whole and written in one go as Lambda unpacks
/// a function's zip. Measuring the linker's own output instead would measure how the linker
/// left the file in the page cache: here the same binaries started up to 0.3 ms slower straight
/// from `target/release` than as a copy, more for larger binaries, which skews the ratios.
fn unpack(binary: &Path, folder: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let bootstrap = folder.join("bootstrap");
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    std::fs::write(&bootstrap, bytes)
        .and_then(|()| std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)))
        .with_context(|| format!("writing {}", bootstrap.display()))?;
    Ok(bootstrap)
}

fn binary(release_dir: &Path, name: &str) -> Result<PathBuf> {
    let path = release_dir.join(name);
    if !path.is_file() {
        bail!(
            "{} is not built: run `cargo build --release --locked -p {name}` first (make bench does)",
            path.display()
        );
    }
    Ok(path)
}

/// The median of some durations or sizes.
pub fn median<T: Copy + Ord>(values: impl IntoIterator<Item = T>) -> Option<T> {
    let mut values: Vec<T> = values.into_iter().collect();
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_is_unpacked_as_an_executable_bootstrap_with_the_same_bytes() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("orabridge-unpack-test-{}", std::process::id()));
        let source = dir.join("built");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&source, b"\x7fELF not really").unwrap();
        let bootstrap = unpack(&source, &dir.join("fn")).unwrap();
        assert_eq!(bootstrap, dir.join("fn").join("bootstrap"));
        assert_eq!(std::fs::read(&bootstrap).unwrap(), b"\x7fELF not really");
        let mode = std::fs::metadata(&bootstrap).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(unpack(&dir.join("missing"), &dir.join("other")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn events_are_given_once_each_in_order_then_none() {
        let events = Events::new(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        assert_eq!(events.next(), Some((0, Bytes::from_static(b"a"))));
        assert_eq!(events.next(), Some((1, Bytes::from_static(b"b"))));
        assert_eq!(events.next(), None);
        assert_eq!(events.next(), None);
    }

    #[test]
    fn memory_is_read_from_proc_and_the_peak_is_never_below_the_current() {
        let mine = memory(std::process::id()).expect("/proc/<pid>/status of this process");
        assert!(mine.now_kib > 0);
        assert!(mine.peak_kib >= mine.now_kib);
        assert!(memory(u32::MAX).is_none());
    }

    #[test]
    fn the_median_is_the_middle_value_whatever_the_order() {
        assert_eq!(median([5, 1, 3]), Some(3));
        assert_eq!(median([4, 1, 3, 2]), Some(3));
        assert_eq!(median(Vec::<u32>::new()), None);
    }
}
