//! cargo-lambda's Lambda emulator (`cargo lambda watch --only-lambda-apis`) with the functions'
//! binaries polling it, each a child process group, and invocations through `cargo lambda
//! invoke`.
//!
//! The emulator only serves the Runtime and Invoke APIs here: the functions are the binaries
//! `cargo test --workspace` builds (see [`crate::built`]), so `make demo` compiles nothing the
//! tests do not. Every process leads its own group and the whole group is stopped on drop, so
//! nothing it spawned is left behind.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use orabridge_shared::testkit;

use crate::built;

/// What one invocation returned.
#[derive(Debug)]
pub enum Outcome {
    /// The function's JSON response.
    Response(serde_json::Value),
    /// The function failed; `error_type` is the Lambda `errorType`.
    Error { error_type: String, message: String },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Response(value) => write!(f, "response {value}"),
            Outcome::Error {
                error_type,
                message,
            } => write!(f, "error {error_type}: {message}"),
        }
    }
}

/// A child process that leads its own process group, with its output in a log file. Dropping it
/// signals the whole group, so processes it spawned (SAM's helpers, say) stop with it, then
/// reaps it.
pub struct ProcessGroup {
    child: Child,
    log_path: PathBuf,
    stop_signal: &'static str,
    name: &'static str,
}

impl ProcessGroup {
    /// Spawns `command` with stdout and stderr to `log_path`; `stop_signal` (`TERM`, `INT`) is
    /// what the program expects to be told to stop by.
    pub fn spawn(
        name: &'static str,
        command: &mut Command,
        log_path: &Path,
        stop_signal: &'static str,
    ) -> Result<Self> {
        let log =
            File::create(log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self {
            child,
            log_path: log_path.to_path_buf(),
            stop_signal,
            name,
        })
    }

    /// Waits until something accepts connections on `address`, failing early if the process
    /// exits.
    pub async fn wait_until_listening(
        &mut self,
        address: SocketAddr,
        timeout: Duration,
    ) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "{} exited ({status}); see {}",
                    self.name,
                    self.log_path.display()
                );
            }
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!(
            "{} did not listen on {address} within {timeout:?}; see {}",
            self.name,
            self.log_path.display()
        )
    }

    /// Where the process's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args([&format!("-{}", self.stop_signal), "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// cargo-lambda's Lambda emulator serving only its APIs (`cargo lambda watch
/// --only-lambda-apis`), with each function's process polling it under the function's name.
pub struct LambdaEmulator {
    process: ProcessGroup,
    address: SocketAddr,
    functions: HashMap<&'static str, Mutex<ProcessGroup>>,
}

impl LambdaEmulator {
    /// Starts the emulator, then each of `functions` from its binary in `binaries`, with `env`
    /// on top of the variables Lambda sets and its output in `<state_dir>/lambda-<function>.log`.
    pub async fn start(
        root: &Path,
        binaries: &Path,
        functions: &[&'static str],
        env: &[(String, String)],
        state_dir: &Path,
    ) -> Result<Self> {
        let address = SocketAddr::from(([127, 0, 0, 1], testkit::free_port()));
        let cargo_lambda = cargo_lambda()?;
        let mut command = Command::new(&cargo_lambda);
        command
            .current_dir(root)
            // cargo-lambda re-enters itself as `cargo lambda ...`, so its folder must be on PATH.
            .env("PATH", path_with(&cargo_lambda))
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--invoke-address",
                "127.0.0.1",
            ])
            .arg("--invoke-port")
            .arg(address.port().to_string());
        let mut process = ProcessGroup::spawn(
            "cargo lambda watch",
            &mut command,
            &state_dir.join("lambda-emulator.log"),
            "TERM",
        )?;
        process
            .wait_until_listening(address, Duration::from_secs(60))
            .await?;
        let mut started = HashMap::new();
        for &function in functions {
            let mut command = Command::new(built::binary(binaries, function)?);
            command
                // Lambda's variables, not this machine's environment; a log level asked for
                // (`RUST_LOG=debug make demo`) still reaches the functions.
                .env_clear()
                .envs(crate::coldstart::lambda_env(
                    &runtime_api(address, function),
                    function,
                ))
                .envs(env.iter().map(|(name, value)| (name, value)))
                .envs(
                    ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"]
                        .into_iter()
                        .filter_map(|name| Some((name, std::env::var_os(name)?))),
                );
            let log = state_dir.join(format!("lambda-{function}.log"));
            let process = ProcessGroup::spawn(function, &mut command, &log, "TERM")?;
            started.insert(function, Mutex::new(process));
        }
        Ok(Self {
            process,
            address,
            functions: started,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where the functions' and the emulator's logs are.
    pub fn log_dir(&self) -> &Path {
        self.process.log_path().parent().unwrap_or(Path::new("."))
    }

    /// Invokes `function` with the event in `event_file`. A function that has exited, or does
    /// not answer within [`INVOKE_TIMEOUT`], fails the invocation naming its log.
    pub async fn invoke(&self, function: &str, event_file: &Path) -> Result<Outcome> {
        let process = self
            .functions
            .get(function)
            .with_context(|| format!("{function} was not started with the emulator"))?;
        let exited = |process: &Mutex<ProcessGroup>| -> Result<()> {
            let mut process = process.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            match process.exited() {
                Some(status) => bail!(
                    "{function} exited ({status}); see {}",
                    process.log_path().display()
                ),
                None => Ok(()),
            }
        };
        exited(process)?;
        let invocation = tokio::process::Command::new(cargo_lambda()?)
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
            ])
            .arg("--invoke-port")
            .arg(self.address.port().to_string())
            .arg("--data-file")
            .arg(event_file)
            .args(["--output-format", "json"])
            .kill_on_drop(true)
            .output();
        let Ok(output) = tokio::time::timeout(INVOKE_TIMEOUT, invocation).await else {
            exited(process)?;
            let log = process
                .lock()
                .map(|process| process.log_path().display().to_string())
                .unwrap_or_default();
            bail!("{function} did not answer within {INVOKE_TIMEOUT:?}; see {log}");
        };
        let output = output.context("running `cargo lambda invoke`")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            let value = serde_json::from_str(&stdout)
                .with_context(|| format!("{function} returned non-JSON output: {stdout}"))?;
            return Ok(Outcome::Response(value));
        }
        exited(process)?;
        parse_error(&stderr).with_context(|| {
            format!("`cargo lambda invoke {function}` failed without a function error:\n{stderr}")
        })
    }
}

/// Where `function` finds its Runtime API on cargo-lambda's emulator: a URL, since the runtime
/// client accepts a bare `host:port` only without a path.
fn runtime_api(address: SocketAddr, function: &str) -> String {
    format!("http://{address}/.rt/{function}")
}

/// How long one invocation may take in the demo (the closing's trigger, the slowest, answers in
/// about a second).
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

/// The pinned cargo-lambda from `make setup`, whatever the caller's PATH says.
fn cargo_lambda() -> Result<PathBuf> {
    Ok(testkit::installed_tool(
        "cargo-lambda",
        ".venv/bin/cargo-lambda",
    )?)
}

/// PATH with the folder of `tool` in front.
fn path_with(tool: &Path) -> std::ffi::OsString {
    let mut folders: Vec<PathBuf> = tool.parent().map(Path::to_path_buf).into_iter().collect();
    folders.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(folders).unwrap_or_default()
}

/// `cargo lambda invoke` reports a function error as `Error: <errorType>` followed by the
/// message on a line starting with `×`.
fn parse_error(stderr: &str) -> Option<Outcome> {
    let error_type = stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix("Error: "))?
        .trim()
        .to_owned();
    let message = stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix('×'))
        .unwrap_or_default()
        .trim()
        .to_owned();
    Some(Outcome::Error {
        error_type,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_are_read_from_cargo_lambda_output() {
        let stderr = "Error: NotBuiltYet\n\n  × run-colors is not built yet\n\n  Was this behavior unexpected?\n";
        match parse_error(stderr) {
            Some(Outcome::Error {
                error_type,
                message,
            }) => {
                assert_eq!(error_type, "NotBuiltYet");
                assert_eq!(message, "run-colors is not built yet");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_runtime_api_on_the_emulator_is_a_url_the_runtime_client_accepts() {
        let address = SocketAddr::from(([127, 0, 0, 1], 9000));
        let api = runtime_api(address, "run-colors");
        // lambda_runtime_api_client reads AWS_LAMBDA_RUNTIME_API as an http::Uri and keeps
        // its path as the base of every call.
        let uri: http::Uri = api.parse().expect("a URI");
        assert_eq!(uri.authority().map(|a| a.as_str()), Some("127.0.0.1:9000"));
        assert_eq!(uri.path(), "/.rt/run-colors");
        // The same path without a scheme is not one: the runtime panics on it.
        assert!(
            "127.0.0.1:9000/.rt/run-colors"
                .parse::<http::Uri>()
                .is_err()
        );
    }

    #[test]
    fn output_without_a_function_error_is_not_mistaken_for_one() {
        assert!(parse_error("error: could not connect to 127.0.0.1:9000").is_none());
    }
}
