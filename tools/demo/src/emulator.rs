//! The Lambda runtime emulator (`cargo lambda watch`) as a child process group, and
//! invocations through `cargo lambda invoke`.
//!
//! `cargo lambda watch` runs each function with `cargo run` on its first invocation, so it is
//! started in its own process group and the whole group is stopped on drop: killing only the
//! emulator could leave a function process behind.

use std::fmt;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use orabridge_shared::testkit;

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
/// signals the whole group, so processes it spawned (function processes under `cargo lambda
/// watch`, SAM's helpers) stop with it, then reaps it.
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

pub struct LambdaEmulator {
    process: ProcessGroup,
    address: SocketAddr,
}

impl LambdaEmulator {
    /// Starts `cargo lambda watch`, which builds each function (debug) when first invoked.
    pub async fn start(root: &Path, env_file: &Path, log_path: &Path) -> Result<Self> {
        let address = SocketAddr::from(([127, 0, 0, 1], testkit::free_port()));
        let cargo_lambda = cargo_lambda()?;
        let mut command = Command::new(&cargo_lambda);
        // Under `cargo test`/`cargo run` this process inherits the variables cargo sets for one
        // package (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...). Build scripts such as ring's track
        // them with rerun-if-env-changed, so passing them on to the emulator's own cargo would
        // rebuild half the dependency tree on every run, and again for the next outer build.
        for (name, _) in std::env::vars_os() {
            if is_package_scoped_cargo_var(&name.to_string_lossy()) {
                command.env_remove(&name);
            }
        }
        command
            .current_dir(root)
            // cargo-lambda re-enters itself as `cargo lambda ...`, so its folder must be on PATH.
            .env("PATH", path_with(&cargo_lambda))
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--invoke-address",
                "127.0.0.1",
            ])
            .arg("--invoke-port")
            .arg(address.port().to_string())
            .arg("--env-file")
            .arg(env_file);
        let mut process =
            ProcessGroup::spawn("cargo lambda watch", &mut command, log_path, "TERM")?;
        process
            .wait_until_listening(address, Duration::from_secs(60))
            .await?;
        Ok(Self { process, address })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Invokes `function` with the event in `event_file`.
    pub async fn invoke(&self, function: &str, event_file: &Path) -> Result<Outcome> {
        let output = tokio::process::Command::new(cargo_lambda()?)
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
            .output()
            .await
            .context("running `cargo lambda invoke`")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            let value = serde_json::from_str(&stdout)
                .with_context(|| format!("{function} returned non-JSON output: {stdout}"))?;
            return Ok(Outcome::Response(value));
        }
        parse_error(&stderr).with_context(|| {
            format!("`cargo lambda invoke {function}` failed without a function error:\n{stderr}")
        })
    }
}

/// The pinned cargo-lambda from `make setup`, whatever the caller's PATH says.
fn cargo_lambda() -> Result<PathBuf> {
    Ok(testkit::installed_tool(
        "cargo-lambda",
        ".venv/bin/cargo-lambda",
    )?)
}

/// Variables cargo sets for the package it is building or running, as opposed to the user's
/// own cargo configuration (CARGO_HOME, CARGO_TARGET_DIR, ...), which must be kept.
fn is_package_scoped_cargo_var(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_CRATE_", "CARGO_BIN_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
        )
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
    fn package_scoped_cargo_variables_are_dropped_and_user_settings_kept() {
        for dropped in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_EXE_x",
        ] {
            assert!(is_package_scoped_cargo_var(dropped), "{dropped}");
        }
        for kept in ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_JOBS", "PATH"] {
            assert!(!is_package_scoped_cargo_var(kept), "{kept}");
        }
    }

    #[test]
    fn output_without_a_function_error_is_not_mistaken_for_one() {
        assert!(parse_error("error: could not connect to 127.0.0.1:9000").is_none());
    }
}
