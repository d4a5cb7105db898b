//! The run as a whole, on in-memory tables through the function: ranking at every tie-break
//! level, missing values, invalid rows, exclusions and the shape of the four files.

use crate::support;

use std::path::Path;

use orabridge_shared::encoding::sha256_hex;
use run_colors::emit::Manifest;
use run_colors::rules::Rules;
use run_colors::run::{RunSettings, run};
use run_colors::sources::CsvSource;
use support::memory_run::{AS_OF, Outcome, run_table, try_run};

const HEADER: [&str; 6] = ["ID", "CUSIP", "SOURCE", "RANK", "COLOR_DATE", "PRICE"];

fn row(cells: [&str; 6]) -> Vec<Option<String>> {
    cells
        .iter()
        .map(|c| (!c.is_empty()).then(|| (*c).to_owned()))
        .collect()
}

/// The IDs of the ranked rows of `cusip`, parent first.
fn order(outcome: &Outcome, cusip: &str) -> Vec<String> {
    outcome
        .colors
        .lines()
        .skip(1)
        .filter(|line| line.starts_with(&format!("{cusip},")))
        .map(|line| line.split(',').nth(4).expect("test input").to_owned())
        .collect()
}

fn ids_in_order(rows: &[[&str; 6]], rules: &str) -> Vec<String> {
    let outcome = run_table(&HEADER, rows.iter().map(|r| row(*r)).collect(), rules);
    order(&outcome, "C1")
}

#[test]
fn rank_ascending_decides_first_and_missing_ranks_go_last() {
    let ids = ids_in_order(
        &[
            ["none", "C1", "", "", "2026-11-20", "200"],
            ["three", "C1", "", "3", "2026-11-20", "100"],
            ["one", "C1", "", "1", "2026-01-01", "1"],
            ["two", "C1", "", "2", "2026-11-20", "100"],
        ],
        "{}",
    );
    assert_eq!(ids, ["one", "two", "three", "none"]);
}

#[test]
fn on_equal_rank_the_newest_color_wins_and_missing_dates_go_last() {
    let ids = ids_in_order(
        &[
            ["undated", "C1", "", "1", "", "500"],
            ["old", "C1", "", "1", "2026-11-01", "500"],
            ["new", "C1", "", "1", "2026-11-20 09:00:00", "1"],
            ["newer", "C1", "", "1", "2026-11-20T10:00:00+01:00", "1"],
        ],
        "{}",
    );
    // 10:00+01:00 is 09:00Z: equal to "new", so PRICE then ID decide between them.
    assert_eq!(ids, ["new", "newer", "old", "undated"]);
}

#[test]
fn on_equal_rank_and_date_the_highest_price_wins_and_missing_prices_go_last() {
    let rows = [
        ["unpriced", "C1", "", "1", "2026-11-20", ""],
        ["cheap", "C1", "", "1", "2026-11-20", "99.5"],
        ["dear", "C1", "", "1", "2026-11-20", "101.25"],
        ["mid", "C1", "", "1", "2026-11-20", "100"],
    ];
    assert_eq!(
        ids_in_order(&rows, "{}"),
        ["dear", "mid", "cheap", "unpriced"]
    );
    assert_eq!(
        ids_in_order(&rows, r#"{"price_order":"asc"}"#),
        ["cheap", "mid", "dear", "unpriced"],
        "asc flips the price order but missing prices stay last"
    );
}

#[test]
fn full_ties_are_broken_by_id_so_the_output_is_deterministic() {
    let rows = [
        ["b", "C1", "", "1", "2026-11-20", "100"],
        ["c", "C1", "", "1", "2026-11-20", "100.0"],
        ["a", "C1", "", "1", "2026-11-20", "100"],
    ];
    assert_eq!(ids_in_order(&rows, "{}"), ["a", "b", "c"]);
    let all_missing = [
        ["z", "C1", "", "", "", ""],
        ["x", "C1", "", "", "", ""],
        ["y", "C1", "", "", "", ""],
    ];
    assert_eq!(ids_in_order(&all_missing, "{}"), ["x", "y", "z"]);
}

#[test]
fn each_cusip_has_one_parent_and_numbered_children_pointing_at_it() {
    let outcome = run_table(
        &HEADER,
        vec![
            row(["A2", "aaa", "D1", "2", "", "10"]),
            row(["B1", "BBB", "D1", "1", "", "10"]),
            row(["A1", " AAA ", "D2", "1", "", "10"]),
            row(["A3", "AAA", "D3", "3", "", "10"]),
        ],
        "{}",
    );
    assert_eq!(
        outcome.colors,
        "CUSIP,POSITION,IS_PARENT,PARENT_ID,ID,SOURCE,RANK,COLOR_DATE,PRICE\n\
         AAA,0,Y,,A1,D2,1,,10\n\
         AAA,1,N,A1,A2,D1,2,,10\n\
         AAA,2,N,A1,A3,D3,3,,10\n\
         BBB,0,Y,,B1,D1,1,,10\n"
    );
    let groups = outcome.json.as_array().expect("test input");
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["cusip"], "AAA");
    assert_eq!(groups[0]["parent"]["ID"], "A1");
    assert_eq!(groups[0]["parent"]["IS_PARENT"], "Y");
    assert_eq!(groups[0]["parent"]["PARENT_ID"], serde_json::Value::Null);
    let children = groups[0]["children"].as_array().expect("test input");
    assert_eq!(children.len(), 2);
    assert_eq!(children[1]["POSITION"], 2);
    assert_eq!(children[1]["PARENT_ID"], "A1");
    assert_eq!(
        groups[1]["children"].as_array().expect("test input").len(),
        0
    );
    assert_eq!(outcome.manifest.securities, 2);
    assert_eq!(outcome.manifest.rows.included, 4);
}

#[test]
fn invalid_rows_are_reported_per_column_and_the_run_goes_on() {
    let outcome = run_table(
        &HEADER,
        vec![
            row(["", "C1", "", "1", "", ""]),
            row(["R2", "", "", "1", "", ""]),
            row(["R3", "C1", "", "first", "", ""]),
            row(["R4", "C1", "", "1", "2026-02-30", ""]),
            row(["R5", "C1", "", "1", "", "12,5"]),
            row(["R6", "C1", "", "1.5", "soon", "abc"]),
            row(["OK", "C1", "", "1", "", ""]),
            row(["OK", "C2", "", "1", "", ""]),
        ],
        "{}",
    );
    assert_eq!(
        outcome.excluded,
        "ID,CUSIP,REASONS\n\
         ,C1,invalid:ID\n\
         R2,,invalid:CUSIP\n\
         R3,C1,invalid:RANK\n\
         R4,C1,invalid:COLOR_DATE\n\
         R5,C1,invalid:PRICE\n\
         R6,C1,invalid:RANK;invalid:COLOR_DATE;invalid:PRICE\n\
         OK,C2,invalid:ID\n"
    );
    assert_eq!(order(&outcome, "C1"), ["OK"]);
    let rows = outcome.manifest.rows;
    assert_eq!((rows.input, rows.included, rows.excluded), (8, 1, 7));
}

#[test]
fn a_repeated_id_is_invalid_wherever_its_first_row_went() {
    let rules = r#"{"rules":[{"id":"blocked","field":"SOURCE","op":"in","values":["TEST"]}]}"#;
    let quoted = "Q,\"1\"";
    let outcome = run_table(
        &HEADER,
        vec![
            row(["A", "C1", "", "1", "", ""]),
            row(["B", "C1", "TEST", "1", "", ""]),
            row(["C", "C1", "", "x", "", ""]),
            row([quoted, "C1", "TEST", "1", "", ""]),
            // Repeats of an included row (its security's only row), of a row the rules
            // excluded, of an invalid row (its own invalid cells still listed after ID).
            row(["A", "C2", "", "1", "", ""]),
            row(["B", "C1", "", "2", "", ""]),
            row(["C", "C1", "", "", "", "bad"]),
            // Trimmed like any cell; a repeat is not run through the rules.
            row([" A ", "C1", "TEST", "1", "", ""]),
            // IDs compare exactly otherwise.
            row(["a", "C1", "", "3", "", ""]),
            // The first row's ID reached excluded.csv quoted.
            row([quoted, "C1", "", "1", "", ""]),
            row(["E", "C3", "", "1", "", ""]),
            row(["E", "C3", "", "2", "", ""]),
            row(["E", "C3", "", "3", "", ""]),
            row(["D", "C1", "", "bad", "", ""]),
        ],
        rules,
    );
    assert_eq!(
        outcome.excluded,
        "ID,CUSIP,REASONS\n\
         B,C1,blocked\n\
         C,C1,invalid:RANK\n\
         \"Q,\"\"1\"\"\",C1,blocked\n\
         A,C2,invalid:ID\n\
         B,C1,invalid:ID\n\
         C,C1,invalid:ID;invalid:PRICE\n\
         A,C1,invalid:ID\n\
         \"Q,\"\"1\"\"\",C1,invalid:ID\n\
         E,C3,invalid:ID\n\
         E,C3,invalid:ID\n\
         D,C1,invalid:RANK\n"
    );
    assert_eq!(order(&outcome, "C1"), ["A", "a"]);
    assert_eq!(order(&outcome, "C3"), ["E"]);
    assert_eq!(order(&outcome, "C2"), Vec::<String>::new());
    let cusips: Vec<&str> = outcome
        .json
        .as_array()
        .expect("an array")
        .iter()
        .map(|security| security["cusip"].as_str().expect("a CUSIP"))
        .collect();
    assert_eq!(cusips, ["C1", "C3"]);
    let rows = outcome.manifest.rows;
    assert_eq!((rows.input, rows.included, rows.excluded), (14, 3, 11));
    assert_eq!(outcome.manifest.securities, 2);
}

#[test]
fn repeats_at_the_edges_of_excluded_csv_are_placed_in_input_order() {
    let rules = r#"{"rules":[{"id":"blocked","field":"SOURCE","op":"in","values":["TEST"]}]}"#;
    let outcome = run_table(
        &HEADER,
        vec![
            // The first excluded line is itself a repeat, and so is the last row.
            row(["X", "C1", "", "1", "", ""]),
            row(["X", "C1", "TEST", "1", "", ""]),
            row(["Y", "C1", "TEST", "1", "", ""]),
            row(["Z", "C2", "", "1", "", ""]),
            row(["Z", "C2", "", "2", "", ""]),
        ],
        rules,
    );
    assert_eq!(
        outcome.excluded,
        "ID,CUSIP,REASONS\n\
         X,C1,invalid:ID\n\
         Y,C1,blocked\n\
         Z,C2,invalid:ID\n"
    );
    assert_eq!(order(&outcome, "C1"), ["X"]);
    assert_eq!(order(&outcome, "C2"), ["Z"]);
    let rows = outcome.manifest.rows;
    assert_eq!((rows.input, rows.included, rows.excluded), (5, 2, 3));
}

#[test]
fn excluded_rows_list_every_matching_rule_in_document_order_and_keep_input_order() {
    let rules = r#"{"rules":[
        {"id":"blocked-sources","field":"SOURCE","op":"in","values":["TEST","DEMO"]},
        {"id":"stale","field":"COLOR_DATE","op":"older_than_days","value":30},
        {"id":"bad-price","field":"PRICE","op":"lt","value":0},
        {"id":"no-rank","field":"RANK","op":"missing"},
        {"id":"test-cusips","field":"CUSIP","op":"matches","value":"^TEST"}
    ]}"#;
    let outcome = run_table(
        &HEADER,
        vec![
            row(["E1", "test01", " demo ", "", "2026-01-01", "-1"]),
            row(["K1", "C1", "Dealer", "1", "2026-11-19", "10"]),
            row(["E2", "C1", "Test", "1", "2026-11-19", "10"]),
            row(["E3", "C1", "Dealer", "1", "2026-10-01", "10"]),
        ],
        rules,
    );
    assert_eq!(
        outcome.excluded,
        "ID,CUSIP,REASONS\n\
         E1,TEST01,blocked-sources;stale;bad-price;no-rank;test-cusips\n\
         E2,C1,blocked-sources\n\
         E3,C1,stale\n"
    );
    assert_eq!(order(&outcome, "C1"), ["K1"]);
}

#[test]
fn passthrough_columns_keep_their_names_values_and_input_order() {
    let outcome = run_table(
        &["desk", "Id", "cusip", "Note, free text", "price"],
        vec![vec![
            Some("RATES".into()),
            Some("P1".into()),
            Some("c9".into()),
            Some("say \"hi\"".into()),
            Some("+1.50".into()),
        ]],
        "{}",
    );
    assert_eq!(
        outcome.colors,
        "CUSIP,POSITION,IS_PARENT,PARENT_ID,ID,SOURCE,RANK,COLOR_DATE,PRICE,desk,\"Note, free text\"\n\
         C9,0,Y,,P1,,,,1.50,RATES,\"say \"\"hi\"\"\"\n"
    );
    let parent = &outcome.json[0]["parent"];
    assert_eq!(parent["desk"], "RATES");
    assert_eq!(parent["Note, free text"], "say \"hi\"");
    assert_eq!(parent["PRICE"].as_f64(), Some(1.5));
    assert_eq!(parent["RANK"], serde_json::Value::Null);
}

#[test]
fn color_dates_are_written_as_rfc_3339_utc() {
    let outcome = run_table(
        &HEADER,
        vec![
            row(["D1", "C1", "", "1", "2026-11-20 09:30:00", ""]),
            row(["D2", "C2", "", "1", "2026-11-20T15:30:00+01:00", ""]),
        ],
        "{}",
    );
    assert!(outcome.colors.contains(",2026-11-20T09:30:00Z,"));
    assert!(outcome.colors.contains(",2026-11-20T14:30:00Z,"));
    assert_eq!(
        outcome.json[0]["parent"]["COLOR_DATE"],
        "2026-11-20T09:30:00Z"
    );
}

#[test]
fn an_input_without_a_cusip_column_stops_the_run_naming_it() {
    let err = try_run(&["ID", "SOURCE"], vec![], "{}")
        .err()
        .expect("test input");
    // As the Lambda's error message and the command line report it: the whole chain.
    let err = orabridge_shared::errors::chain(&err).to_string();
    assert!(err.contains("column CUSIP is missing"), "{err}");
    let twice = try_run(&["ID", "CUSIP", "cusip"], vec![], "{}")
        .err()
        .expect("test input");
    let twice = orabridge_shared::errors::chain(&twice).to_string();
    assert!(twice.contains("column CUSIP appears twice"), "{twice}");
}

#[test]
fn an_empty_input_still_publishes_four_consistent_files() {
    let outcome = run_table(&HEADER, vec![], "{}");
    assert_eq!(outcome.json, serde_json::json!([]));
    assert_eq!(outcome.excluded, "ID,CUSIP,REASONS\n");
    assert_eq!(outcome.manifest.securities, 0);
}

#[test]
fn the_manifest_checksums_and_sizes_match_the_published_files() {
    let outcome = run_table(
        &HEADER,
        vec![
            row(["A", "C1", "", "1", "", "1"]),
            row(["", "C1", "", "", "", ""]),
        ],
        "{}",
    );
    let on_disk: Manifest =
        serde_json::from_slice(&outcome.files["manifest.json"]).expect("test input");
    assert_eq!(on_disk, outcome.manifest);
    let names: Vec<&str> = on_disk.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["colors.csv", "colors.json", "excluded.csv"]);
    for file in &on_disk.files {
        let bytes = &outcome.files[&file.name];
        assert_eq!(file.size, bytes.len() as u64, "{}", file.name);
        assert_eq!(file.sha256, sha256_hex(bytes), "{}", file.name);
    }
    assert_eq!(on_disk.as_of, AS_OF);
    assert!(on_disk.run_id.starts_with("20261120T160000Z-"));
    assert_eq!(on_disk.rules.sha256, sha256_hex(b"{}"));
}

#[test]
fn a_malformed_csv_stops_the_run_with_the_line_number() {
    let input = "ID,CUSIP\nA,C1\nB,C1,extra\n";
    let mut source = CsvSource::new(input.as_bytes(), "csv:inline".into()).expect("test input");
    let rules = Rules::parse(b"{}").expect("test input");
    let dir = tempfile::tempdir().expect("test input");
    let err = run(
        &mut source,
        &RunSettings {
            as_of: 0,
            rules: &rules,
            rules_document: b"{}",
            out_dir: dir.path(),
        },
    )
    .expect_err("should fail");
    let chain = format!(
        "{err}: {}",
        std::error::Error::source(&err).expect("test input")
    );
    assert!(
        chain.contains("csv:inline is malformed at line 3"),
        "{chain}"
    );
    assert!(!Path::new(&dir.path().join("manifest.json")).exists());
}
