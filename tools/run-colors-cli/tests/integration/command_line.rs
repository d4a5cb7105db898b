//! The built `run-colors-cli` binary: it writes the golden files of run-colors'
//! `tests/golden/`, refuses invalid rules before reading data, exits 2 on a usage mistake and
//! generates reproducible samples that rank with every kind of exclusion.

use std::path::{Path, PathBuf};
use std::process::Command;

use run_colors::emit::Manifest;
use run_colors::rules::Rules;
use run_colors::run::{RunSettings, run};
use run_colors::sources::CsvSource;
use run_colors::values::parse_timestamp;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../functions/run-colors/tests/golden")
        .join(name)
}

fn rules_path() -> PathBuf {
    orabridge_shared::testkit::sample_event_path("run-colors-rules.json")
}

fn assert_matches_golden(dir: &Path) {
    for name in ["colors.csv", "colors.json", "excluded.csv"] {
        let produced = std::fs::read_to_string(dir.join(name)).expect("produced file");
        let expected = std::fs::read_to_string(golden(name)).expect("golden file");
        assert_eq!(produced, expected, "{name} differs from the golden {name}");
    }
}

#[test]
fn the_command_line_writes_the_golden_files_and_prints_the_manifest() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_run-colors-cli"))
        .args(["--input", golden("input.csv").to_str().expect("path")])
        .args(["--rules", rules_path().to_str().expect("path")])
        .args(["--as-of", "2026-11-20T16:00:00Z", "--out"])
        .arg(out.path())
        .output()
        .expect("run the binary");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_matches_golden(out.path());
    let printed: Manifest = serde_json::from_slice(&output.stdout).expect("manifest on stdout");
    let written: Manifest =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).expect("manifest"))
            .expect("manifest file");
    assert_eq!(printed, written);
    assert_eq!(
        written.source,
        format!("csv:{}", golden("input.csv").display())
    );
}

#[test]
fn the_command_line_rejects_invalid_rules_before_reading_any_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"rules":[{"id":"typo","field":"PRICE","op":"less_than","value":0}]}"#,
    )
    .expect("write rules");
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_run-colors-cli"))
        .args(["--input", "/nonexistent/input.csv", "--rules"])
        .arg(&rules)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(r#"rule "typo" is invalid: unknown op "less_than""#),
        "{stderr}"
    );
    assert!(
        !stderr.contains("nonexistent"),
        "the input is never opened: {stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn a_usage_mistake_exits_2_with_the_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_run-colors-cli"))
        .args(["--input", "x.csv"])
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--rules") && stderr.contains("Usage:"),
        "{stderr}"
    );
}

/// Writes the 5,000-row sample of seed 3 to `path` with `run-colors-cli generate`.
fn generate(path: &std::path::Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_run-colors-cli"))
        .args(["generate", "--rows", "5000", "--seed", "3", "--out"])
        .arg(path)
        .status()
        .expect("run the binary");
    assert!(status.success(), "generate failed: {status}");
}

#[test]
fn generated_samples_are_reproducible_and_rank_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for name in ["a.csv", "b.csv"] {
        let path = dir.path().join(name);
        generate(&path);
        files.push(std::fs::read(&path).expect("sample"));
    }
    assert_eq!(files[0], files[1]);
    let document = std::fs::read(rules_path()).expect("rules");
    let rules = Rules::parse(&document).expect("rules");
    let mut source = CsvSource::new(files[0].as_slice(), "csv:sample".into()).expect("csv");
    let out = dir.path().join("out");
    let manifest = run(
        &mut source,
        &RunSettings {
            as_of: parse_timestamp("2026-11-20T16:00:00Z").expect("as_of"),
            rules: &rules,
            rules_document: &document,
            out_dir: &out,
        },
    )
    .expect("run");
    let rows = manifest.rows;
    assert_eq!(rows.input, 5000);
    assert_eq!(rows.included + rows.excluded, 5000);
    // The generator mixes in every kind of exclusion; each must show up.
    let excluded = std::fs::read_to_string(out.join("excluded.csv")).expect("excluded");
    for reason in [
        "invalid:ID",
        "invalid:CUSIP",
        "invalid:RANK",
        "invalid:COLOR_DATE",
        "invalid:PRICE",
        "blocked-sources",
        "no-rank",
        "bad-price",
        "test-cusips",
        "stale",
    ] {
        assert!(
            excluded.contains(reason),
            "no {reason} in a 5000-row sample"
        );
    }
}

/// The cell forms the spec accepts beyond the plain ones, so a peer checked against this input
/// (`make bench` does) implements them: fractions of a second, offsets, dates alone, spaced and
/// signed ranks, exponents and huge prices; and the near misses it refuses.
#[test]
fn generated_samples_hold_every_cell_form_the_spec_accepts_or_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sample.csv");
    generate(&path);
    let sample = std::fs::read_to_string(&path).expect("sample");
    let cells: Vec<Vec<&str>> = sample
        .lines()
        .map(|line| line.split(',').collect())
        .collect();
    let column = |index: usize| cells.iter().filter_map(move |row| row.get(index).copied());
    let dates: Vec<&str> = column(4).collect();
    for (what, found) in [
        (
            "a fraction of a second",
            dates.iter().any(|d| d.contains('.')),
        ),
        (
            "a nanosecond fraction",
            dates
                .iter()
                .any(|d| d.split('.').nth(1).is_some_and(|f| f.len() == 10)),
        ),
        (
            "an offset",
            dates
                .iter()
                .any(|d| d.ends_with("+01:00") || d.ends_with("-05:30")),
        ),
        ("a date alone", dates.iter().any(|d| d.len() == 10)),
        (
            "spaces around a date",
            dates.iter().any(|d| d.starts_with(' ')),
        ),
    ] {
        assert!(found, "no COLOR_DATE with {what} in a 5000-row sample");
    }
    let ranks: Vec<&str> = column(3).collect();
    let prices: Vec<&str> = column(5).collect();
    for (cells, form) in [
        (&ranks, "2.0"),
        (&ranks, "+3"),
        (&ranks, " 2 "),
        (&prices, "1.5E2"),
        (&prices, "1e300"),
        (&prices, ".5"),
    ] {
        assert!(cells.contains(&form), "no {form:?} in a 5000-row sample");
    }
    let refused = ["nan", "inf", "-inf", "1e300", "2.5", "99999999999999999999"];
    assert!(ranks.iter().filter(|r| refused.contains(r)).count() >= 3);
    assert!(
        prices
            .iter()
            .any(|p| ["inf", "nan", "-inf", "1e400"].contains(p))
    );
}
