//! `make test-arm64`: the artifact that deploys, checked and run. `make build`'s arm64 release
//! zips are what Lambda runs, and no other tier executes them. Each zip's `bootstrap` must be
//! an aarch64 ELF that needs no glibc symbol version newer than provided.al2023's
//! (`tools/arm64/provided-al2023.json`, with the page that states it); then each runs under
//! Debian's qemu-user against this crate's Runtime API harness and the local stack, answering
//! the demo's sample events as the demo checks them, and the arm64 finance-closing serves the
//! workflow through which restate-server runs a simulated closing to the end.
//!
//! What this proves: the binaries are built for the right machine and C library, start, and
//! behave. What it does not: their speed on Graviton (qemu emulates), or Amazon Linux itself
//! (the C library comes from Debian's arm64 cross packages).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use orabridge_shared::testkit::{self, MotoServer, RestateServer};
use serde::Deserialize;

use crate::coldstart;
use crate::emulator::Outcome;
use crate::plan::{PLAN, Step};

/// The functions `make build` zips.
const FUNCTIONS: [&str; 4] = ["proxy", "sensor-consumer", "run-colors", "finance-closing"];

/// What the zips must run on.
#[derive(Debug, Deserialize)]
pub struct Runtime {
    /// The Lambda runtime (`provided.al2023`).
    pub runtime: String,
    /// The ELF machine name.
    pub architecture: String,
    /// Its `e_machine` value (183, EM_AARCH64).
    pub elf_machine: u16,
    /// The runtime's glibc version.
    pub glibc: String,
    /// Where AWS states it.
    pub glibc_url: String,
}

/// The runtime the zips deploy to.
pub fn runtime() -> Result<Runtime> {
    serde_json::from_str(include_str!("../../arm64/provided-al2023.json"))
        .context("tools/arm64/provided-al2023.json")
}

/// How an arm64 binary runs on this machine: Debian's qemu-user with the arm64 C library of
/// `libc6-arm64-cross` as its root for the dynamic loader.
pub fn qemu() -> Vec<String> {
    ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"]
        .map(str::to_owned)
        .to_vec()
}

/// A glibc symbol version, `GLIBC_2.34` as (2, 34, 0).
type Version = (u32, u32, u32);

fn parse_version(text: &str) -> Option<Version> {
    let mut parts = text.split('.').map(|part| part.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// The `GLIBC_*` versions a binary needs, read from `readelf -V`'s version-needs section: the
/// numbered ones, and any other name (`GLIBC_PRIVATE`) as found.
pub fn needed_glibc(readelf: &str) -> Vec<String> {
    let needs = readelf
        .split("Version needs section")
        .nth(1)
        .unwrap_or_default();
    let mut names: Vec<String> = needs
        .lines()
        .filter(|line| line.contains("Name:"))
        .filter_map(|line| {
            line.split_whitespace()
                .find(|word| word.starts_with("GLIBC_"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The highest glibc version among `needed`, or every one the runtime's `limit` does not
/// provide, named.
pub fn check_glibc(needed: &[String], limit: &str) -> Result<String, Vec<String>> {
    let limit = parse_version(limit).ok_or_else(|| vec![format!("bad limit {limit}")])?;
    let mut too_new = Vec::new();
    let mut highest: Option<(Version, &str)> = None;
    for name in needed {
        match name.strip_prefix("GLIBC_").and_then(parse_version) {
            Some(version) if version <= limit => {
                if highest.is_none_or(|(best, _)| version > best) {
                    highest = Some((version, name));
                }
            }
            _ => too_new.push(name.clone()),
        }
    }
    if too_new.is_empty() {
        Ok(highest.map_or_else(|| "none".to_owned(), |(_, name)| name.to_owned()))
    } else {
        Err(too_new)
    }
}

/// An ELF file's `e_machine`, if `header` starts a 64-bit little-endian ELF file.
pub fn elf_machine(header: &[u8]) -> Option<u16> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    Some(u16::from_le_bytes([header[18], header[19]]))
}

/// The name of an `e_machine` value, for messages.
fn machine_name(machine: u16) -> String {
    match machine {
        62 => "x86-64".to_owned(),
        183 => "aarch64".to_owned(),
        other => format!("machine {other}"),
    }
}

/// A checked `bootstrap`.
struct Checked {
    /// The unpacked binary.
    bootstrap: PathBuf,
    /// The zip's size in bytes.
    zip_bytes: u64,
    /// The highest glibc symbol version it needs.
    highest_glibc: String,
}

/// Unpacks `<zips>/<function>/bootstrap.zip` into `dir` and checks its `bootstrap`: the
/// machine and the glibc versions it needs.
fn check_zip(zips: &Path, function: &str, dir: &Path, runtime: &Runtime) -> Result<Checked> {
    let zip = zips.join(function).join("bootstrap.zip");
    if !zip.is_file() {
        bail!("{} is not built: run `make build` first", zip.display());
    }
    let out = dir.join(function);
    std::fs::create_dir_all(&out)?;
    // Python's zipfile: no unzip needed on the machine.
    let status = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(&out)
        .status()
        .context("python3 -m zipfile")?;
    if !status.success() {
        bail!("{} does not unpack", zip.display());
    }
    let bootstrap = out.join("bootstrap");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("{} has no bootstrap", zip.display()))?;
    }
    let header = std::fs::read(&bootstrap)?;
    match elf_machine(&header) {
        Some(machine) if machine == runtime.elf_machine => {}
        Some(machine) => bail!(
            "{function}: bootstrap is built for {}, not {}",
            machine_name(machine),
            runtime.architecture
        ),
        None => bail!("{function}: bootstrap is not a 64-bit ELF executable"),
    }
    let readelf = std::process::Command::new("readelf")
        .args(["-V", "--wide"])
        .arg(&bootstrap)
        .output()
        .context("readelf (binutils)")?;
    let needed = needed_glibc(&String::from_utf8_lossy(&readelf.stdout));
    match check_glibc(&needed, &runtime.glibc) {
        Ok(highest_glibc) => Ok(Checked {
            bootstrap,
            zip_bytes: std::fs::metadata(&zip)?.len(),
            highest_glibc,
        }),
        Err(too_new) => bail!(
            "{function}: bootstrap needs {} but {} has glibc {} ({}): it would fail to start with \"version `{}' not found\"",
            too_new.join(", "),
            runtime.runtime,
            runtime.glibc,
            runtime.glibc_url,
            too_new[0]
        ),
    }
}

/// An answer in a few words: a run's id, else what the demo's summary says.
fn summary(answer: &str) -> String {
    let run = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|value| value["manifest"]["run_id"].as_str().map(str::to_owned));
    match run {
        Some(run_id) => format!("run {run_id} published"),
        None => crate::answer_summary(answer),
    }
}

/// What a function answered through the harness: its response, or its error report.
fn outcome_of(answer: &str) -> Result<Outcome> {
    if let Some(error) = answer.strip_prefix("error: ") {
        let value: serde_json::Value = serde_json::from_str(error)
            .with_context(|| format!("an error report that is not JSON: {error}"))?;
        return Ok(Outcome::Error {
            error_type: value["errorType"].as_str().unwrap_or_default().to_owned(),
            message: value["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        });
    }
    Ok(Outcome::Response(
        serde_json::from_str(answer)
            .with_context(|| format!("a response that is not JSON: {answer}"))?,
    ))
}

/// Checks every zip under `zips`, then runs the demo's plan on them under qemu-user. True when
/// every check and every answer was as expected.
pub async fn run(zips: &Path) -> Result<bool> {
    let runtime = runtime()?;
    let (root, state_dir) = crate::workspace_and_state_dir()?;
    let unpacked = tempfile::tempdir()?;
    println!(
        "orabridge arm64: the zips of `make build` ({}, {})",
        runtime.runtime, runtime.architecture
    );
    let mut binaries = std::collections::HashMap::new();
    for function in FUNCTIONS {
        let checked = check_zip(zips, function, unpacked.path(), &runtime)?;
        println!(
            "  ✓ {function:<16} {:>6.2} MB zip: {} ELF, highest glibc symbol {} (≤ {} on {})",
            checked.zip_bytes as f64 / 1e6,
            runtime.architecture,
            checked.highest_glibc,
            runtime.glibc,
            runtime.runtime
        );
        binaries.insert(function, checked.bootstrap);
    }

    let moto = MotoServer::start().await?;
    let restate = RestateServer::start().await?;
    testkit::postgres().await?;
    let (_unified_api, endpoints) = crate::start_unified_api().await?;
    let seeded = crate::seed(&moto, &crate::proxy_parameters(&endpoints)).await?;
    let env = crate::function_env(&moto, Some(&restate), &seeded);
    println!("  ✓ local stack       moto, restate-server, PostgreSQL, the Unified API stand-in");

    let started = Instant::now();
    let service = crate::closing::ClosingService::start_binary(
        &binaries["finance-closing"],
        &qemu(),
        &state_dir.join("finance-closing-arm64.log"),
    )
    .await?;
    service.register(&restate).await?;
    println!(
        "  ✓ FinanceClosing    the arm64 binary (service mode) under qemu at {}, registered ({:.1} s)",
        service.address(),
        started.elapsed().as_secs_f64()
    );

    println!(
        "\ninvocations, each a fresh arm64 process under qemu-user (emulated: no timing is claimed)"
    );
    let steps: Vec<&Step> = PLAN.iter().collect();
    let started = Instant::now();
    let as_expected = crate::run_steps(&steps, &root, &state_dir, async |step, event_file| {
        let subject = coldstart::Subject {
            name: step.function.to_owned(),
            event: std::fs::read(event_file)?,
            env: env.clone(),
            runner: qemu(),
        };
        let sample = coldstart::measure(&binaries[step.function], &subject).await?;
        outcome_of(&sample.answer)
    })
    .await?;
    println!(
        "\n{as_expected} of {} invocations answered as the demo expects ({:.0} s)",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    let side_effects =
        crate::side_effects(&steps, &moto, &seeded, Some((&root, &service, &restate))).await?;
    Ok(as_expected == steps.len() && side_effects)
}

/// For BENCHMARKS.md: each zip's size, and its first start and answer under qemu-user (one
/// fresh process per function, on a sample event, the local stack on moto), labelled as
/// emulated: qemu's times say nothing of Graviton's.
pub async fn starts(zips: &Path) -> Result<bool> {
    let runtime = runtime()?;
    let (root, state_dir) = crate::workspace_and_state_dir()?;
    let unpacked = tempfile::tempdir()?;
    let moto = MotoServer::start().await?;
    let (_unified_api, endpoints) = crate::start_unified_api().await?;
    let seeded = crate::seed(&moto, &crate::proxy_parameters(&endpoints)).await?;
    let env = crate::function_env(&moto, None, &seeded);
    let events = [
        ("proxy", "proxy-v2-get.json", false),
        ("sensor-consumer", "sqs-sensor-mixed-batch.json", true),
        ("run-colors", "scheduler-run-colors.json", false),
        (
            "finance-closing",
            "scheduler-finance-closing-daily.json",
            false,
        ),
    ];
    println!("### The arm64 zips that deploy, started under qemu-user (emulated)\n");
    println!(
        "`make build`'s zips, each checked (an {} ELF needing no glibc symbol version above {}, {}'s) \
         and started once as a fresh process under Debian's qemu-user against the harness's Runtime API, \
         answering a sample event. qemu emulates the CPU: its times are not Graviton's and are not a \
         target; the x86-64 cold starts above are the speed reference.\n",
        runtime.architecture, runtime.glibc, runtime.runtime
    );
    println!("| function | zip | highest glibc symbol | first answer under qemu | answer |");
    println!("|---|---:|---|---:|---|");
    let mut all = true;
    for (function, event, fresh) in events {
        let checked = check_zip(zips, function, unpacked.path(), &runtime)?;
        let mut path = root.join("events").join(event);
        if fresh {
            path = crate::with_fresh_readings(&path, &state_dir)?;
        }
        let subject = coldstart::Subject {
            name: function.to_owned(),
            event: std::fs::read(&path)?,
            env: env.clone(),
            runner: qemu(),
        };
        let sample = coldstart::measure(&checked.bootstrap, &subject).await?;
        let answered = !sample.answer.starts_with("error: ")
            || function == "finance-closing" && sample.answer.contains("IngressUnreachable");
        all &= answered;
        println!(
            "| `{function}` | {:.2} MB | {} | {:.0} ms | {} |",
            checked.zip_bytes as f64 / 1e6,
            checked.highest_glibc,
            sample.first_answer.as_secs_f64() * 1000.0,
            summary(&sample.answer)
        );
    }
    println!(
        "\nThe trigger has no restate-server here and answers that the ingress is unreachable, as \
         its x86-64 cold start does; `make test-arm64` runs the whole demo plan on these binaries."
    );
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `readelf -V` of an arm64 binary linked against a glibc newer than AL2023's (the shape of
    /// binutils 2.40's output; the versions are what a plain `cargo build` on a glibc 2.38 host
    /// can leave, as in aws-lambda-rust-runtime#932).
    const NEEDS_2_38: &str = "
Version symbols section '.gnu.version' contains 120 entries:
 Addr: 0x0000000000000f70  Offset: 0x00000f70  Link: 6 (.dynsym)
  000:   0 (*local*)       2 (GLIBC_2.17)    3 (GLIBC_2.28)    4 (GLIBC_2.38)

Version needs section '.gnu.version_r' contains 2 entries:
 Addr: 0x0000000000001060  Offset: 0x00001060  Link: 7 (.dynstr)
  000000: Version: 1  File: ld-linux-aarch64.so.1  Cnt: 1
  0x0010:   Name: GLIBC_2.17  Flags: none  Version: 5
  0x0020: Version: 1  File: libc.so.6  Cnt: 3
  0x0030:   Name: GLIBC_2.38  Flags: none  Version: 4
  0x0040:   Name: GLIBC_2.28  Flags: none  Version: 3
  0x0050:   Name: GLIBC_2.17  Flags: none  Version: 2
";

    #[test]
    fn a_binary_needing_a_newer_glibc_fails_naming_the_symbol_version() {
        let runtime = runtime().unwrap();
        let needed = needed_glibc(NEEDS_2_38);
        assert_eq!(needed, ["GLIBC_2.17", "GLIBC_2.28", "GLIBC_2.38"]);
        assert_eq!(
            check_glibc(&needed, &runtime.glibc),
            Err(vec!["GLIBC_2.38".to_owned()])
        );
        let within = needed_glibc(&NEEDS_2_38.replace("2.38", "2.34"));
        assert_eq!(
            check_glibc(&within, &runtime.glibc),
            Ok("GLIBC_2.34".to_owned())
        );
        let private = vec!["GLIBC_PRIVATE".to_owned(), "GLIBC_2.17".to_owned()];
        assert_eq!(
            check_glibc(&private, "2.34"),
            Err(vec!["GLIBC_PRIVATE".to_owned()]),
            "a private symbol is tied to one glibc build"
        );
        assert_eq!(check_glibc(&[], "2.34"), Ok("none".to_owned()));
    }

    #[test]
    fn versions_compare_by_number_not_text() {
        assert!(parse_version("2.9") < parse_version("2.17"));
        assert_eq!(parse_version("2.3.4"), Some((2, 3, 4)));
        assert_eq!(parse_version("2.x"), None);
        assert_eq!(
            check_glibc(&["GLIBC_2.9".to_owned(), "GLIBC_2.17".to_owned()], "2.34"),
            Ok("GLIBC_2.17".to_owned())
        );
    }

    #[test]
    fn a_binary_built_for_this_machine_is_not_an_arm64_one() {
        // This test binary: a real ELF of the host's machine, read as the check reads a zip's.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let machine = elf_machine(&me).expect("an ELF file");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(machine_name(machine), "x86-64");
            assert_ne!(machine, runtime().unwrap().elf_machine);
        }
        assert_eq!(elf_machine(b"#!/bin/sh\necho bootstrap\n"), None);
        // And readelf reads its real version needs (binutils reads any machine's ELF).
        let output = std::process::Command::new("readelf")
            .args(["-V", "--wide"])
            .arg(std::env::current_exe().unwrap())
            .output()
            .expect("readelf");
        let needed = needed_glibc(&String::from_utf8_lossy(&output.stdout));
        assert!(
            needed.iter().any(|name| name.starts_with("GLIBC_2.")),
            "{needed:?}"
        );
    }

    #[test]
    fn answers_become_outcomes_as_the_demo_checks_them() {
        assert!(matches!(
            outcome_of(r#"{"statusCode": 200}"#),
            Ok(Outcome::Response(value)) if value["statusCode"] == 200
        ));
        assert!(matches!(
            outcome_of(r#"error: {"errorType": "InvalidEvent", "errorMessage": "no"}"#),
            Ok(Outcome::Error { error_type, .. }) if error_type == "InvalidEvent"
        ));
        assert!(outcome_of("not json").is_err());
    }
}
