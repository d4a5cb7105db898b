//! `run-colors-cli extract` writers on an in-memory catalog: the five kinds of files, their
//! content, NULLs and quoting, and a sample that `run-colors-cli --input` reads back.

use run_colors::rules::Rules;
use run_colors::run::{RunSettings, run};
use run_colors::sources::CsvSource;
use run_colors_cli::extract::{
    ColumnDescription, ExtractError, ExtractRequest, MemoryCatalog, MemoryTable, TableName, extract,
};

fn column(name: &str, data_type: &str) -> ColumnDescription {
    ColumnDescription {
        name: name.into(),
        data_type: data_type.into(),
        length: Some(22),
        precision: None,
        scale: None,
        nullable: name != "ID",
    }
}

fn catalog() -> MemoryCatalog {
    let table = |owner: &str, name: &str| TableName {
        owner: owner.into(),
        name: name.into(),
        kind: "TABLE".into(),
    };
    let cell = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    MemoryCatalog {
        schema: "MARKET".into(),
        tables: vec![
            MemoryTable {
                name: table("MARKET", "RUN_COLORS"),
                columns: vec![
                    column("ID", "VARCHAR2"),
                    column("CUSIP", "CHAR"),
                    column("RANK", "NUMBER"),
                    column("COLOR_DATE", "DATE"),
                    column("NOTE", "VARCHAR2"),
                ],
                rows: (0..5)
                    .map(|i| {
                        vec![
                            cell(&format!("R{i}")),
                            cell("037833100"),
                            cell(if i == 2 { "" } else { "1" }),
                            cell("2026-11-20T09:00:00"),
                            cell(if i == 1 { "a, \"b\"" } else { "" }),
                        ]
                    })
                    .collect(),
            },
            MemoryTable {
                name: table("MARKET", "DEALERS"),
                columns: vec![column("ID", "NUMBER")],
                rows: vec![vec![cell("1")]],
            },
            MemoryTable {
                name: table("OTHER", "SECRET_STUFF"),
                columns: vec![column("ID", "NUMBER")],
                rows: vec![],
            },
        ],
    }
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_accessible_table_of_the_schema_gets_its_schema_and_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = extract(
        &mut catalog(),
        &ExtractRequest {
            out_dir: dir.path().join("sample_data"),
            tables: vec![],
            rows: 3,
        },
    )
    .expect("extract");
    let out = dir.path().join("sample_data");
    assert_eq!(written.len(), 8);
    assert_eq!(
        names(&out),
        [
            "DEALERS_sample.csv",
            "DEALERS_sample.json",
            "DEALERS_schema.json",
            "RUN_COLORS_sample.csv",
            "RUN_COLORS_sample.json",
            "RUN_COLORS_schema.json",
            "accessible_tables.json",
            "database_info.json",
        ]
    );
    let tables: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("accessible_tables.json")).expect("file"))
            .expect("json");
    assert_eq!(
        tables.as_array().expect("array").len(),
        2,
        "only MARKET's tables"
    );
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("RUN_COLORS_schema.json")).expect("file"))
            .expect("json");
    assert_eq!(schema["columns"][3]["name"], "COLOR_DATE");
    assert_eq!(schema["columns"][3]["data_type"], "DATE");
    assert_eq!(schema["columns"][0]["nullable"], false);

    let csv = std::fs::read_to_string(out.join("RUN_COLORS_sample.csv")).expect("csv");
    assert_eq!(
        csv,
        "ID,CUSIP,RANK,COLOR_DATE,NOTE\n\
         R0,037833100,1,2026-11-20T09:00:00,\n\
         R1,037833100,1,2026-11-20T09:00:00,\"a, \"\"b\"\"\"\n\
         R2,037833100,,2026-11-20T09:00:00,\n",
        "three rows, NULL as an empty cell"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("RUN_COLORS_sample.json")).expect("file"))
            .expect("json");
    assert_eq!(json.as_array().expect("rows").len(), 3);
    assert_eq!(json[1]["NOTE"], "a, \"b\"");
    assert_eq!(json[2]["RANK"], serde_json::Value::Null);
}

#[test]
fn the_extracted_csv_is_an_input_run_colors_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    extract(
        &mut catalog(),
        &ExtractRequest {
            out_dir: dir.path().to_owned(),
            tables: vec!["run_colors".into()],
            rows: 100,
        },
    )
    .expect("extract");
    assert_eq!(
        names(dir.path()).len(),
        5,
        "database info, table list, one table"
    );
    let mut source =
        CsvSource::open(&dir.path().join("RUN_COLORS_sample.csv")).expect("sample csv");
    let rules = Rules::parse(b"{}").expect("rules");
    let manifest = run(
        &mut source,
        &RunSettings {
            as_of: 0,
            rules: &rules,
            rules_document: b"{}",
            out_dir: &dir.path().join("run"),
        },
    )
    .expect("run");
    assert_eq!((manifest.rows.input, manifest.rows.included), (5, 5));
    assert_eq!(manifest.securities, 1);
}

#[test]
fn named_tables_must_be_identifiers_and_accessible() {
    for wanted in ["NO_SUCH_TABLE", "RUN_COLORS; DROP TABLE X", "OTHER.MISSING"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = extract(
            &mut catalog(),
            &ExtractRequest {
                out_dir: dir.path().to_owned(),
                tables: vec![wanted.into()],
                rows: 1,
            },
        )
        .expect_err("refused");
        assert!(
            matches!(err, ExtractError::Table(ref name) if name == wanted),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    extract(
        &mut catalog(),
        &ExtractRequest {
            out_dir: dir.path().to_owned(),
            tables: vec!["other.secret_stuff".into()],
            rows: 1,
        },
    )
    .expect("a table of another owner, by OWNER.TABLE");
    let json = std::fs::read_to_string(dir.path().join("SECRET_STUFF_sample.json")).expect("json");
    assert_eq!(json, "[]\n");
}
