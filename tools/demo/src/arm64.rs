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

/// What the check needs of an ELF file's headers.
#[derive(Debug, PartialEq, Eq)]
pub struct Elf {
    /// `e_machine`: 183 for aarch64.
    pub machine: u16,
    /// Whether it names a program interpreter (`PT_INTERP`): a dynamically linked program,
    /// which needs the C library it was linked against. A static one needs none.
    pub dynamic: bool,
}

/// Reads `file` as a 64-bit little-endian ELF executable (`ET_EXEC` or `ET_DYN`), the kind
/// Lambda runs as `bootstrap`; None for anything else.
pub fn read_elf(file: &[u8]) -> Option<Elf> {
    if file.len() < 64 || &file[..4] != b"\x7fELF" || file[4] != 2 || file[5] != 1 {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(file.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(file.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(file.get(at..at + 8)?.try_into().ok()?));
    const ET_EXEC: u16 = 2;
    const ET_DYN: u16 = 3;
    const PT_INTERP: u32 = 3;
    if !matches!(u16_at(16)?, ET_EXEC | ET_DYN) {
        return None;
    }
    let machine = u16_at(18)?;
    let table = usize::try_from(u64_at(32)?).ok()?;
    let entry_size = usize::from(u16_at(54)?);
    let entries = usize::from(u16_at(56)?);
    let mut dynamic = false;
    for index in 0..entries {
        dynamic |= u32_at(table.checked_add(index.checked_mul(entry_size)?)?)? == PT_INTERP;
    }
    Some(Elf { machine, dynamic })
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
#[derive(Debug)]
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
    let bootstrap = unpack_bootstrap(&zip, function, &dir.join(function))?;
    let elf = read_elf(&std::fs::read(&bootstrap)?)
        .with_context(|| format!("{function}: bootstrap is not a 64-bit ELF executable"))?;
    if elf.machine != runtime.elf_machine {
        bail!(
            "{function}: bootstrap is built for {}, not {}",
            machine_name(elf.machine),
            runtime.architecture
        );
    }
    let needed = needed_glibc(&version_needs(function, &bootstrap)?);
    if needed.is_empty() && elf.dynamic {
        bail!(
            "{function}: bootstrap is dynamically linked but readelf shows no GLIBC_ version it \
             needs (no version section?): its C library needs cannot be checked"
        );
    }
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

/// Unpacks `bootstrap` from `zip` into `out`, refusing one the zip does not make readable and
/// executable by all; made executable here (the unpacking drops the mode).
fn unpack_bootstrap(zip: &Path, function: &str, out: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    // Python's zipfile: no unzip needed on the machine. It drops the file modes, so the mode
    // the zip gives `bootstrap` (what Lambda runs, which must be executable) is read first.
    let unpacked = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             print(oct((z.getinfo('bootstrap').external_attr >> 16) & 0o777))\n\
             z.extract('bootstrap', sys.argv[2])",
        ])
        .arg(zip)
        .arg(out)
        .output()
        .context("python3 (zipfile)")?;
    if !unpacked.status.success() {
        bail!(
            "{} has no bootstrap to unpack: {}",
            zip.display(),
            String::from_utf8_lossy(&unpacked.stderr).trim()
        );
    }
    let mode = u32::from_str_radix(
        String::from_utf8_lossy(&unpacked.stdout)
            .trim()
            .trim_start_matches("0o"),
        8,
    )
    .context("the zip entry's mode")?;
    // Lambda runs it as a user that does not own it: read and execute for everyone.
    if mode & 0o555 != 0o555 {
        bail!(
            "{function}: bootstrap is mode {mode:o} in the zip, not readable and executable by \
             all: Lambda needs 755"
        );
    }
    let bootstrap = out.join("bootstrap");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(bootstrap)
}

/// `readelf -V`'s listing of the symbol versions `bootstrap` needs.
fn version_needs(function: &str, bootstrap: &Path) -> Result<String> {
    // The C locale: readelf's messages, which the parse reads, are translated in others.
    let readelf = std::process::Command::new("readelf")
        .args(["-V", "--wide"])
        .arg(bootstrap)
        .env("LC_ALL", "C")
        .env_remove("LANGUAGE")
        .output()
        .context("readelf (binutils)")?;
    if !readelf.status.success() {
        bail!(
            "{function}: readelf -V failed: {}",
            String::from_utf8_lossy(&readelf.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&readelf.stdout).into_owned())
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

/// Checks every function's zip under `zips`, unpacking them into `dir`, and empties the
/// functions' logs under `state_dir`; each function's `bootstrap`.
fn check_zips(
    zips: &Path,
    dir: &Path,
    runtime: &Runtime,
    state_dir: &Path,
) -> Result<std::collections::HashMap<&'static str, PathBuf>> {
    for function in FUNCTIONS {
        // Appended to by every invocation of this run only.
        std::fs::remove_file(state_dir.join(format!("arm64-{function}.log"))).ok();
    }
    let mut binaries = std::collections::HashMap::new();
    for function in FUNCTIONS {
        let checked = check_zip(zips, function, dir, runtime)?;
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
    Ok(binaries)
}

/// Checks every zip under `zips`, then runs the demo's plan on them under qemu-user. True when
/// every check and every answer was as expected.
pub async fn run(zips: &Path) -> Result<bool> {
    let runtime = runtime()?;
    let (root, state_dir) = crate::stack::workspace_and_state_dir()?;
    let unpacked = tempfile::tempdir()?;
    println!(
        "orabridge arm64: the zips of `make build` ({}, {}); each function's stderr in {}",
        runtime.runtime,
        runtime.architecture,
        state_dir.join("arm64-<function>.log").display()
    );
    let binaries = check_zips(zips, unpacked.path(), &runtime, &state_dir)?;

    let moto = MotoServer::start().await?;
    let restate = RestateServer::start().await?;
    testkit::postgres().await?;
    let (_unified_api, endpoints) = crate::stack::start_unified_api().await?;
    let seeded = crate::stack::seed(&moto, &crate::stack::proxy_parameters(&endpoints)).await?;
    let env = crate::stack::function_env(&moto, Some(&restate), &seeded);
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
    let as_expected =
        crate::demo::run_steps(&steps, &root, &state_dir, async |step, event_file| {
            let subject = coldstart::Subject {
                name: step.function.to_owned(),
                event: std::fs::read(event_file)?,
                env: env.clone(),
                runner: qemu(),
                stderr_log: Some(state_dir.join(format!("arm64-{}.log", step.function))),
            };
            let binary = binaries.get(step.function).with_context(|| {
                format!(
                    "the plan runs {}, which make build does not zip",
                    step.function
                )
            })?;
            let sample = coldstart::measure(binary, &subject).await?;
            outcome_of(&sample.answer)
        })
        .await?;
    println!(
        "\n{as_expected} of {} invocations answered as the demo expects ({:.0} s)",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    let side_effects =
        crate::demo::side_effects(&steps, &moto, &seeded, Some((&root, &service, &restate)))
            .await?;
    Ok(as_expected == steps.len() && side_effects)
}

/// For BENCHMARKS.md: each zip's size, and its first start and answer under qemu-user (one
/// fresh process per function, on a sample event, the local stack on moto), labelled as
/// emulated: qemu's times say nothing of Graviton's.
pub async fn starts(zips: &Path) -> Result<bool> {
    let runtime = runtime()?;
    let (root, state_dir) = crate::stack::workspace_and_state_dir()?;
    let unpacked = tempfile::tempdir()?;
    let moto = MotoServer::start().await?;
    let (_unified_api, endpoints) = crate::stack::start_unified_api().await?;
    let seeded = crate::stack::seed(&moto, &crate::stack::proxy_parameters(&endpoints)).await?;
    let env = crate::stack::function_env(&moto, None, &seeded);
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
        let log = state_dir.join(format!("arm64-{function}.log"));
        std::fs::remove_file(&log).ok();
        let start = async {
            let checked = check_zip(zips, function, unpacked.path(), &runtime)?;
            let mut path = root.join("events").join(event);
            if fresh {
                path = crate::stack::with_fresh_readings(&path, &state_dir)?;
            }
            let subject = coldstart::Subject {
                name: function.to_owned(),
                event: std::fs::read(&path)?,
                env: env.clone(),
                runner: qemu(),
                stderr_log: Some(log.clone()),
            };
            let sample = coldstart::measure(&checked.bootstrap, &subject).await?;
            anyhow::Ok((checked, sample))
        };
        // A zip that fails its check or its start is a row saying so: the table stays whole.
        match start.await {
            Ok((checked, sample)) => {
                let answered = !sample.answer.starts_with("error: ")
                    || function == "finance-closing"
                        && sample.answer.contains("IngressUnreachable");
                all &= answered;
                println!(
                    "| `{function}` | {:.2} MB | {} | {:.0} ms | {} |",
                    checked.zip_bytes as f64 / 1e6,
                    checked.highest_glibc,
                    sample.first_answer.as_secs_f64() * 1000.0,
                    crate::stack::answer_summary(&sample.answer)
                );
            }
            Err(err) => {
                all = false;
                let reason = format!("{err:#}").replace('|', "/").replace('\n', " ");
                println!("| `{function}` | | | | **failed**: {reason} |");
            }
        }
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
        let elf = read_elf(&me).expect("an ELF executable");
        assert!(elf.dynamic, "linked against the host's glibc");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(machine_name(elf.machine), "x86-64");
            assert_ne!(elf.machine, runtime().unwrap().elf_machine);
        }
        assert_eq!(read_elf(b"#!/bin/sh\necho bootstrap\n"), None);
        let mut object = me.clone();
        object[16] = 1; // ET_REL: an object file, not a program
        assert_eq!(read_elf(&object), None);
        let mut headers_cut = me[..64].to_vec();
        headers_cut[56] = 1; // one program header, past the end of the file
        assert_eq!(read_elf(&headers_cut), None);
    }

    /// `bytes` as `bootstrap` in a zip with `mode`, as cargo lambda writes one.
    fn zip_of(dir: &Path, function: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let folder = dir.join("zips").join(function);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(dir.join("binary"), bytes).unwrap();
        let made = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile\n\
                 info = zipfile.ZipInfo('bootstrap')\n\
                 info.external_attr = int(sys.argv[3], 8) << 16\n\
                 zipfile.ZipFile(sys.argv[2], 'w').writestr(info, open(sys.argv[1], 'rb').read())",
            ])
            .arg(dir.join("binary"))
            .arg(folder.join("bootstrap.zip"))
            .arg(format!("{mode:o}"))
            .status()
            .unwrap();
        assert!(made.success());
        dir.join("zips")
    }

    #[test]
    fn a_zip_is_checked_as_lambda_would_run_it() {
        // The host's machine stands in for aarch64, so the test binary is a real program to read.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let host = Runtime {
            elf_machine: read_elf(&me).unwrap().machine,
            glibc: "99.0".to_owned(),
            ..runtime().unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let unpacked = dir.path().join("unpacked");

        let zips = zip_of(dir.path(), "proxy", &me, 0o755);
        let checked = check_zip(&zips, "proxy", &unpacked, &host).unwrap();
        assert!(checked.highest_glibc.starts_with("GLIBC_2."));

        let older = Runtime {
            elf_machine: host.elf_machine,
            glibc: "2.0".to_owned(),
            ..runtime().unwrap()
        };
        let err = check_zip(&zips, "proxy", &unpacked, &older).unwrap_err();
        assert!(err.to_string().contains("version `GLIBC_2."), "{err}");

        for mode in [0o644, 0o700, 0o744] {
            let zips = zip_of(dir.path(), "proxy", &me, mode);
            let err = check_zip(&zips, "proxy", &unpacked, &host).unwrap_err();
            assert!(
                err.to_string().contains("Lambda needs 755"),
                "{mode:o}: {err}"
            );
        }

        // No section headers: it still runs, but readelf finds no version needs to read.
        let mut no_sections = me.clone();
        no_sections[40..48].fill(0); // e_shoff
        no_sections[60..64].fill(0); // e_shnum, e_shstrndx
        let zips = zip_of(dir.path(), "proxy", &no_sections, 0o755);
        let err = check_zip(&zips, "proxy", &unpacked, &host).unwrap_err();
        assert!(err.to_string().contains("cannot be checked"), "{err}");

        let err = check_zip(&zips, "run-colors", &unpacked, &host).unwrap_err();
        assert!(err.to_string().contains("run `make build` first"), "{err}");
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
