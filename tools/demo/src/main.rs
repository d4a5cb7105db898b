//! `orabridge-demo`: the suite on one machine, on its embedded defaults.
//!
//! `make demo` starts the local stack with the test kit (moto server for SSM/SQS/S3,
//! restate-server, the PostgreSQL check), seeds what the functions read, starts every function's
//! binary against cargo-lambda's Lambda emulator (`cargo lambda watch --only-lambda-apis`),
//! invokes each with its sample events from `events/` and prints a short summary. The binaries
//! are the debug build `cargo test --workspace` makes (see [`built`]). Everything it started is
//! stopped when it ends, on Ctrl-C too. `make invoke-<function>` does the same for one function.
//!
//! Each step of the plan states what this build of the function is expected to answer; the demo
//! exits non-zero when an answer differs, so it doubles as an end-to-end smoke test.
//!
//! `make bench` runs its measurements as commands of this binary, built with the release
//! profile: `cold-start` and `proxy-rss` (the release function binaries served by a Runtime API
//! of this process), and `proxy-path`, `batch-throughput`, `latency`, `lambda-time` and `closing-copy` (see
//! [`bench`]).

mod arm64;
mod bench;
mod built;
mod closing;
mod coldstart;
mod demo;
mod emulator;
mod measure;
mod plan;
mod sam;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::plan::PLAN;

const USAGE: &str = "usage: orabridge-demo demo [--only <function>] | \
     sam --template <built template> --image <image> | proxy-rss [invocations] | \
     cold-start [rounds] | proxy-path | batch-throughput | latency [delay-ms] | lambda-time | \
     closing-copy | arm64 --zips <dir> | arm64-starts --zips <dir>";

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("orabridge-demo: {err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The throughput and latency benchmarks run on one thread, as the functions do; everything
    // else (the demo's stack, the harnesses serving child processes) on the multi-thread runtime.
    let runtime = if command.single_threaded() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("orabridge-demo: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_command(command))
}

async fn run_command(command: Command) -> ExitCode {
    let work = async {
        match command {
            Command::Demo { only } => demo::run(only.as_deref()).await,
            Command::Sam(options) => sam::run(options).await,
            Command::Arm64 { zips } => arm64::run(&zips).await,
            Command::Arm64Starts { zips } => arm64::starts(&zips).await,
            Command::ProxyRss { invocations } => measure::proxy_rss(invocations).await,
            Command::ColdStart { rounds } => measure::cold_start(rounds).await,
            // These print whether their targets were met; they fail only when they cannot measure.
            Command::ProxyPath => bench::proxy_path::run().await.map(|()| true),
            Command::BatchThroughput => bench::batch_throughput::run().await.map(|()| true),
            Command::Latency { delay } => bench::latency::run(delay).await.map(|()| true),
            Command::LambdaTime => bench::lambda_time::run().await.map(|()| true),
            Command::ClosingCopy => bench::closing_copy::run().await.map(|()| true),
            Command::ClosingCopyRun { rows } => {
                bench::closing_copy::run_one(rows).await.map(|()| true)
            }
        }
    };
    let outcome = tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\ninterrupted: stopping everything the demo started");
            return ExitCode::from(130);
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("orabridge-demo: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the driver was asked to do.
enum Command {
    /// Run the demo plan, optionally for one function.
    Demo { only: Option<String> },
    /// The SAM tier (`make test-sam`): the built template under SAM's emulators.
    Sam(sam::Options),
    /// `make test-arm64`: the arm64 zips under `zips` checked and run under qemu-user.
    Arm64 { zips: PathBuf },
    /// For BENCHMARKS.md: each arm64 zip started once under qemu-user.
    Arm64Starts { zips: PathBuf },
    /// Serve the release proxy and report its peak memory over `invocations`.
    ProxyRss { invocations: usize },
    /// Measure every release binary's cold start against the hello-world baseline.
    ColdStart { rounds: usize },
    /// The proxy's added latency over a direct call ([`bench::proxy_path`]).
    ProxyPath,
    /// The sensor consumer's batch throughput ([`bench::batch_throughput`]).
    BatchThroughput,
    /// The sensor path and run-colors' publish with a delay per AWS request
    /// ([`bench::latency`]). The delaying proxy runs in this process, so this one uses worker
    /// threads: the proxy must not wait for the consumer's parsing.
    Latency { delay: std::time::Duration },
    /// finance-closing's compute per closing ([`bench::lambda_time`]).
    LambdaTime,
    /// finance-closing's result copy in bounded memory ([`bench::closing_copy`]).
    ClosingCopy,
    /// One size of that copy, in this process.
    ClosingCopyRun { rows: u64 },
}

impl Command {
    /// Whether the command measures code the functions run on their one-thread runtime.
    fn single_threaded(&self) -> bool {
        matches!(
            self,
            Command::ProxyPath | Command::BatchThroughput | Command::ClosingCopyRun { .. }
        )
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command> {
    match args.next().as_deref() {
        Some("demo") => match (args.next().as_deref(), args.next()) {
            (None, _) => Ok(Command::Demo { only: None }),
            (Some("--only"), Some(function)) if PLAN.iter().any(|s| s.function == function) => {
                Ok(Command::Demo {
                    only: Some(function),
                })
            }
            (Some("--only"), Some(function)) => bail!("no function named {function:?}"),
            (other, _) => bail!("unexpected argument {other:?}"),
        },
        Some("sam") => {
            let (mut template, mut image) = (None, None);
            while let Some(flag) = args.next() {
                let value = args
                    .next()
                    .with_context(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--template" => template = Some(PathBuf::from(value)),
                    "--image" => image = Some(value),
                    other => bail!("unexpected argument {other:?}"),
                }
            }
            Ok(Command::Sam(sam::Options {
                template: template.context("sam needs --template")?,
                image: image.context("sam needs --image")?,
            }))
        }
        Some(command @ ("arm64" | "arm64-starts")) => {
            let command = command.to_owned();
            match (args.next().as_deref(), args.next()) {
                (Some("--zips"), Some(zips)) if command == "arm64" => Ok(Command::Arm64 {
                    zips: PathBuf::from(zips),
                }),
                (Some("--zips"), Some(zips)) => Ok(Command::Arm64Starts {
                    zips: PathBuf::from(zips),
                }),
                _ => bail!("{command} needs --zips <the folder of make build's zips>"),
            }
        }
        Some("proxy-rss") => {
            let invocations = args.next().map(|n| n.parse()).transpose()?.unwrap_or(300);
            Ok(Command::ProxyRss { invocations })
        }
        Some("cold-start") => {
            let rounds = args.next().map(|n| n.parse()).transpose()?.unwrap_or(40);
            Ok(Command::ColdStart { rounds })
        }
        Some("proxy-path") => Ok(Command::ProxyPath),
        Some("batch-throughput") => Ok(Command::BatchThroughput),
        Some("latency") => {
            let delay_ms: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20);
            Ok(Command::Latency {
                delay: std::time::Duration::from_millis(delay_ms),
            })
        }
        Some("lambda-time") => Ok(Command::LambdaTime),
        Some("closing-copy") => Ok(Command::ClosingCopy),
        Some("closing-copy-run") => {
            let rows = args
                .next()
                .context("closing-copy-run needs a row count")?
                .parse()?;
            Ok(Command::ClosingCopyRun { rows })
        }
        other => bail!("unknown command {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command> {
        parse_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn every_benchmark_is_a_command_and_only_the_functions_own_code_runs_on_one_thread() {
        for (args, single_threaded) in [
            (&["proxy-path"][..], true),
            (&["batch-throughput"][..], true),
            (&["latency"][..], false),
            (&["latency", "5"][..], false),
            (&["lambda-time"][..], false),
            (&["closing-copy"][..], false),
            (&["closing-copy-run", "10"][..], true),
            (&["cold-start", "3"][..], false),
            (&["proxy-rss"][..], false),
            (&["demo"][..], false),
        ] {
            let command = parse(args).unwrap_or_else(|err| panic!("{args:?}: {err}"));
            assert_eq!(command.single_threaded(), single_threaded, "{args:?}");
        }
        assert!(matches!(
            parse(&["cold-start", "7"]),
            Ok(Command::ColdStart { rounds: 7 })
        ));
    }

    #[test]
    fn unknown_commands_and_bad_arguments_are_refused_with_what_was_wrong() {
        let unknown = parse(&["proxy_path"]).err().map(|e| e.to_string());
        assert_eq!(
            unknown.as_deref(),
            Some(r#"unknown command Some("proxy_path")"#)
        );
        assert!(parse(&["cold-start", "many"]).is_err());
        let no_such = parse(&["demo", "--only", "nope"])
            .err()
            .map(|e| e.to_string());
        assert_eq!(no_such.as_deref(), Some(r#"no function named "nope""#));
    }
}
