//! run-colors writes a run's four files under `/tmp` before publishing them, and Lambda's `/tmp`
//! is 512 MB unless `EphemeralStorage` says otherwise (512 to 10,240 MB: "Configuring
//! ephemeral storage for Lambda functions",
//! https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html). The
//! README promises runs of a million rows; this measures what a run stages per row and holds
//! the template's size for run-colors to a million such rows with room to spare.

use run_colors::rules::Rules;
use run_colors::run::{RunSettings, run};
use run_colors::sources::CsvSource;
use run_colors::values::parse_timestamp;
use run_colors_cli::sample::{SampleSpec, generate};

/// The largest run the README promises.
const PROMISED_ROWS: u64 = 1_000_000;
/// Production tables carry more pass-through columns than the generator's, and each extra
/// column is written twice (`colors.csv` and `colors.json`): four times the measured size.
const HEADROOM: u64 = 4;
/// Rows measured: enough for the per-row size to settle, quick in a debug build.
const MEASURED_ROWS: u64 = 20_000;

fn template_ephemeral_storage_mb(function: &str) -> u64 {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
    )
    .expect("template.yaml");
    let section = template
        .split(&format!("\n  {function}:\n"))
        .nth(1)
        .expect("the function's resource")
        .split("\n  # ---")
        .next()
        .unwrap_or_default();
    let storage = section
        .split("EphemeralStorage:")
        .nth(1)
        .unwrap_or_else(|| panic!("{function} sets no EphemeralStorage: /tmp is 512 MB"));
    storage
        .split("Size:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|size| size.parse().ok())
        .expect("EphemeralStorage.Size in MB")
}

#[test]
fn the_template_gives_run_colors_room_to_stage_the_largest_promised_run() {
    let as_of = parse_timestamp("2026-11-20T16:00:00Z").expect("as_of");
    let mut input = Vec::new();
    generate(
        &SampleSpec {
            rows: MEASURED_ROWS,
            cusips: MEASURED_ROWS / 5,
            seed: 7,
            as_of,
        },
        &mut input,
    )
    .expect("sample");
    let document = std::fs::read(orabridge_shared::testkit::sample_event_path(
        "run-colors-rules.json",
    ))
    .expect("rules");
    let rules = Rules::parse(&document).expect("rules");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = CsvSource::new(input.as_slice(), "csv:sample".into()).expect("csv");
    let manifest = run(
        &mut source,
        &RunSettings {
            as_of,
            rules: &rules,
            rules_document: &document,
            out_dir: dir.path(),
        },
    )
    .expect("run");
    let staged: u64 = std::fs::read_dir(dir.path())
        .expect("staged files")
        .map(|entry| entry.expect("entry").metadata().expect("size").len())
        .sum();
    assert_eq!(manifest.rows.input, MEASURED_ROWS);
    let per_row = staged.div_ceil(MEASURED_ROWS);
    let needed_mb = (per_row * PROMISED_ROWS * HEADROOM).div_ceil(1 << 20);
    let size_mb = template_ephemeral_storage_mb("RunColorsFunction");
    assert!(
        size_mb >= needed_mb,
        "a run stages {per_row} bytes a row: {PROMISED_ROWS} rows with {HEADROOM}x headroom \
         need {needed_mb} MB of /tmp, the template gives {size_mb} MB"
    );
    assert!(
        size_mb <= 10_240,
        "Lambda's ephemeral storage is at most 10,240 MB"
    );
}
