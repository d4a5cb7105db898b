//! The extract command's Oracle catalog without a database: the SQL and binds it sends. The test
//! that needs a live database is at the end, ignored unless `ORACLE_TEST_*` is set
//! (`make test-oracle`).

use std::time::Duration;

use orabridge_shared::config::ConfigReader;
use orabridge_shared::oracle::Identifier;

use run_colors::config::OracleConfig;
use run_colors_cli::extract::oracle::catalog_sql;

fn id(what: &'static str, name: &str) -> Identifier {
    Identifier::parse(what, name).expect("valid identifier")
}

#[test]
fn catalog_queries_take_owner_and_table_as_binds() {
    assert!(
        catalog_sql::ACCESSIBLE_TABLES
            .text()
            .contains("WHERE owner = :1")
    );
    assert!(
        catalog_sql::DESCRIBE
            .text()
            .contains("WHERE owner = :1 AND table_name = :2")
    );
    assert_eq!(
        catalog_sql::sample(&id("schema", "market"), &id("table", "colors")).text(),
        r#"SELECT * FROM "MARKET"."COLORS" WHERE ROWNUM <= :1"#
    );
}

#[test]
fn every_catalog_statement_binds_as_oracle_counts_and_runs_on_11g() {
    // Bind positions as Oracle counts them (SQL: every occurrence; PL/SQL: each name once)
    // against the values each call passes (the statement's type fixes that number), and
    // nothing newer than 11.2: see orabridge_shared::oracle_sql.
    let (market, colors) = (id("schema", "market"), id("table", "colors"));
    let statements: Vec<(&str, Vec<String>)> = vec![
        ("database info", catalog_sql::DATABASE_INFO.problems()),
        (
            "accessible tables",
            catalog_sql::ACCESSIBLE_TABLES.problems(),
        ),
        ("describe", catalog_sql::DESCRIBE.problems()),
        ("sample", catalog_sql::sample(&market, &colors).problems()),
    ];
    for (name, problems) in statements {
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
}

/// The live database, when `ORACLE_TEST_*` describe one.
mod live {
    use super::*;
    use run_colors::rules::Rules;
    use run_colors::run::{RunSettings, run};
    use run_colors::sources::CsvSource;
    use run_colors::sources::oracle::OracleColors;
    use run_colors_cli::extract::oracle::OracleCatalog;
    use run_colors_cli::extract::{ExtractRequest, extract};

    /// Settings from `ORACLE_TEST_HOST`, `_PORT`, `_SERVICE_NAME`, `_USERNAME`, `_PASSWORD`,
    /// `_SCHEMA`, `_TABLE`. Run with `--ignored`, a missing variable is a failure, not a pass.
    async fn settings() -> OracleConfig {
        let env: std::collections::HashMap<String, String> = std::env::vars()
            .filter_map(|(k, v)| {
                k.strip_prefix("ORACLE_TEST_")
                    .map(|n| (format!("ORACLE_{n}"), v))
            })
            .collect();
        OracleConfig::from_source(&ConfigReader::new(env), Duration::from_secs(60)).expect(
            "set ORACLE_TEST_HOST, _PORT, _SERVICE_NAME, _USERNAME, _PASSWORD, _SCHEMA, _TABLE",
        )
    }

    fn from_oracle_table() -> String {
        std::env::var("ORACLE_TEST_TABLE")
            .unwrap_or_default()
            .to_uppercase()
    }

    #[tokio::test]
    #[ignore = "needs a live Oracle database: set ORACLE_TEST_* and run make test-oracle"]
    async fn the_configured_table_ranks_from_oracle_as_from_its_extracted_csv() {
        let settings = settings().await;
        let rules = Rules::parse(b"{}").expect("rules");
        let dir = tempfile::tempdir().expect("tempdir");
        let table = settings.table.as_str().to_owned();
        let extract_settings = settings.clone();
        let out = dir.path().to_owned();
        let from_oracle = tokio::task::spawn_blocking(move || {
            let mut colors = OracleColors::open(&settings).expect("connect and query");
            run(
                &mut colors,
                &RunSettings {
                    as_of: 0,
                    rules: &rules,
                    rules_document: b"{}",
                    out_dir: &out.join("oracle"),
                },
            )
            .expect("run")
        })
        .await
        .expect("join");
        assert!(from_oracle.rows.input > 0, "the table is empty");
        let out = dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut catalog = OracleCatalog::open(extract_settings).expect("connect");
            extract(
                &mut catalog,
                &ExtractRequest {
                    out_dir: out.join("sample"),
                    tables: vec![table],
                    rows: 100,
                },
            )
            .expect("extract");
        })
        .await
        .expect("join");
        let sample = std::fs::read_dir(dir.path().join("sample"))
            .expect("sample dir")
            .count();
        assert!(
            sample >= 5,
            "database_info, accessible_tables, schema, csv, json"
        );
        let csv = dir
            .path()
            .join("sample")
            .join(format!("{}_sample.csv", from_oracle_table()));
        let mut source = CsvSource::open(&csv).expect("the extracted sample reads back");
        let rules = Rules::parse(b"{}").expect("rules");
        run(
            &mut source,
            &RunSettings {
                as_of: 0,
                rules: &rules,
                rules_document: b"{}",
                out_dir: &dir.path().join("csv"),
            },
        )
        .expect("the extracted CSV ranks");
    }
}
