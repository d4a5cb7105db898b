//! Golden files: a hand-written input covering every ranking, rule and validation case gives
//! byte-for-byte the reviewed outputs in `tests/golden/` (the command line's own tests, in
//! `tools/run-colors-cli`, check it writes the same).

use std::path::{Path, PathBuf};

use orabridge_shared::encoding::sha256_hex;
use run_colors::rules::Rules;
use run_colors::run::{RunSettings, run};
use run_colors::sources::CsvSource;
use run_colors::values::parse_timestamp;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn rules_path() -> PathBuf {
    orabridge_shared::testkit::sample_event_path("run-colors-rules.json")
}

fn assert_matches_golden(dir: &Path) {
    for name in ["colors.csv", "colors.json", "excluded.csv"] {
        let produced = std::fs::read_to_string(dir.join(name)).expect("produced file");
        let expected = std::fs::read_to_string(golden(name)).expect("golden file");
        assert_eq!(
            produced, expected,
            "{name} differs from tests/golden/{name}"
        );
    }
}

#[test]
fn the_library_reproduces_the_golden_files_on_every_run() {
    let document = std::fs::read(rules_path()).expect("rules");
    let rules = Rules::parse(&document).expect("valid rules");
    let mut manifests = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut source = CsvSource::open(&golden("input.csv")).expect("input");
        let manifest = run(
            &mut source,
            &RunSettings {
                as_of: parse_timestamp("2026-11-20T16:00:00Z").expect("as_of"),
                rules: &rules,
                rules_document: &document,
                out_dir: dir.path(),
            },
        )
        .expect("run");
        assert_matches_golden(dir.path());
        for file in &manifest.files {
            let bytes = std::fs::read(dir.path().join(&file.name)).expect("file");
            assert_eq!(
                (file.size, file.sha256.as_str()),
                (bytes.len() as u64, sha256_hex(&bytes).as_str())
            );
        }
        manifests.push(manifest);
    }
    assert_eq!(
        manifests[0].run_id, manifests[1].run_id,
        "same input, same run id"
    );
    assert_eq!(manifests[0].files, manifests[1].files);
    let rows = manifests[0].rows;
    assert_eq!((rows.input, rows.included, rows.excluded), (21, 9, 12));
    assert_eq!(manifests[0].securities, 4);
}
