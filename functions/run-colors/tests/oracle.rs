//! The Oracle adapter without a database: the SQL and binds it sends, the settings it
//! assembles from SSM and the environment, and the names it refuses. The tests that need a
//! live database are at the end, ignored unless `ORACLE_TEST_*` is set (`make test-oracle`).

use std::time::Duration;

use orabridge_shared::config::ConfigReader;
use orabridge_shared::oracle::Identifier;
use orabridge_shared::params::{MemoryParameterSource, ParameterStore};
use orabridge_shared::settings::SettingsPlan;
use run_colors::config::OracleConfig;
use run_colors::extract::oracle::catalog_sql;
use run_colors::sources::oracle::colors_query;
use secrecy::ExposeSecret;

fn id(what: &'static str, name: &str) -> Identifier {
    Identifier::parse(what, name).expect("valid identifier")
}

#[test]
fn the_colors_query_names_the_table_only_through_quoted_identifiers() {
    assert_eq!(
        colors_query(&id("schema", "market"), &id("table", "run_colors")).text(),
        r#"SELECT * FROM "MARKET"."RUN_COLORS""#
    );
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
fn every_statement_the_adapter_sends_binds_as_oracle_counts_and_runs_on_11g() {
    // Bind positions as Oracle counts them (SQL: every occurrence; PL/SQL: each name once)
    // against the values each call passes (the statement's type fixes that number), and
    // nothing newer than 11.2: see orabridge_shared::oracle_sql.
    let (market, colors) = (id("schema", "market"), id("table", "colors"));
    let statements: Vec<(&str, Vec<String>)> = vec![
        ("colors query", colors_query(&market, &colors).problems()),
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

/// A parameter store holding `values` under `prefix`, and a handle on its source (clones
/// share state).
fn store_and_source(
    prefix: &str,
    values: &[(&str, &str)],
) -> (ParameterStore<MemoryParameterSource>, MemoryParameterSource) {
    let source = MemoryParameterSource::new();
    for (name, value) in values {
        source.put(&format!("{prefix}{name}"), value);
    }
    (
        ParameterStore::new(source.clone(), Duration::from_secs(60)),
        source,
    )
}

const ALL: [(&str, &str); 7] = [
    ("host", " db.vpn.example "),
    ("port", "1521"),
    ("service_name", "MPPROD"),
    ("username", "MP_READER"),
    ("password", "hunter2-from-ssm"),
    ("schema", "market"),
    ("table", "run_colors"),
];

/// The start-up path of `main`: the plan over `env`, resolved from `store`, then parsed.
async fn load(
    store: &ParameterStore<MemoryParameterSource>,
    prefix: Option<&str>,
    env: &[(&str, &str)],
) -> Result<OracleConfig, String> {
    let settings = OracleConfig::settings(SettingsPlan::new(env), prefix)
        .resolve(Some(store))
        .await
        .map_err(|err| err.to_string())?;
    OracleConfig::from_source(&ConfigReader::new(&settings), Duration::from_secs(30))
        .map_err(|err| err.to_string())
}

#[tokio::test]
async fn the_seven_settings_come_from_ssm_with_environment_overrides() {
    let prefix = "/sp-incb/ci/market-pulse/oracle/";
    let (parameters, source) = store_and_source(prefix, &ALL);
    let env = [("ORACLE_TABLE", "colors_v2"), ("ORACLE_PORT", "")];
    let settings = load(&parameters, Some(prefix.trim_end_matches('/')), &env)
        .await
        .expect("settings");
    assert_eq!(
        settings.connect.connect_string,
        "//db.vpn.example:1521/MPPROD"
    );
    assert_eq!(settings.connect.username, "MP_READER");
    assert_eq!(
        settings.connect.password.expose_secret(),
        "hunter2-from-ssm"
    );
    assert_eq!(settings.schema.as_str(), "MARKET");
    assert_eq!(settings.table.as_str(), "COLORS_V2", "the environment wins");
    assert!(!format!("{settings:?}").contains("hunter2"));
    // One SSM call for the six not overridden (an empty variable counts as unset).
    let calls = source.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].len(), 6);
    assert!(!calls[0].iter().any(|name| name.ends_with("/table")));
}

#[tokio::test]
async fn every_setting_can_come_from_the_environment_alone_or_its_own_parameter() {
    let variables: Vec<(String, String)> = ALL
        .iter()
        .map(|(name, value)| {
            (
                format!("ORACLE_{}", name.to_uppercase()),
                (*value).to_owned(),
            )
        })
        .collect();
    let mut env: Vec<(&str, &str)> = variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| *k != "ORACLE_PASSWORD")
        .collect();
    env.push(("ORACLE_PASSWORD_PARAM", "/vault/mp-reader"));
    let (parameters, source) = store_and_source("/vault/", &[("mp-reader", "pw")]);
    let settings = load(&parameters, None, &env).await.expect("settings");
    assert_eq!(settings.table.as_str(), "RUN_COLORS");
    assert_eq!(settings.connect.password.expose_secret(), "pw");
    assert_eq!(source.calls(), [["/vault/mp-reader"]]);
}

#[tokio::test]
async fn a_table_name_that_is_not_an_identifier_is_refused_before_connecting() {
    let mut values = ALL;
    values[6] = ("table", "colors; drop table colors");
    let (parameters, _) = store_and_source("/p/", &values);
    let err = load(&parameters, Some("/p/"), &[])
        .await
        .expect_err("invalid table");
    assert!(
        err.starts_with(
            "ORACLE_TABLE is malformed: table \"colors; drop table colors\" is not a valid \
             Oracle identifier"
        ),
        "{err}"
    );
    values[6] = ("table", "colors");
    values[1] = ("port", "fifteen");
    let (parameters, _) = store_and_source("/p/", &values);
    let err = load(&parameters, Some("/p/"), &[])
        .await
        .expect_err("invalid port");
    assert_eq!(
        err,
        "ORACLE_PORT is malformed: \"fifteen\" is not a port number"
    );
}

#[tokio::test]
async fn missing_or_unreadable_parameters_name_their_setting() {
    let (parameters, source) = store_and_source("/p/", &ALL[..6]);
    let err = load(&parameters, Some("/p"), &[])
        .await
        .expect_err("no table");
    assert_eq!(
        err,
        "no value for ORACLE_TABLE (parameter /p/table, named by ORACLE_PARAM_PREFIX): set the \
         variable, or create the parameter"
    );
    source.set_available(false);
    parameters.clear();
    let err = load(&parameters, Some("/p/"), &[])
        .await
        .expect_err("SSM down");
    assert!(
        err.starts_with("reading the parameters named by ORACLE_PARAM_PREFIX"),
        "{err}"
    );
    let err = load(&parameters, None, &[]).await.expect_err("nothing set");
    assert!(err.contains("ORACLE_PORT (or ORACLE_PORT_PARAM"), "{err}");
}

/// The live database, when `ORACLE_TEST_*` describe one.
mod live {
    use super::*;
    use run_colors::extract::oracle::OracleCatalog;
    use run_colors::extract::{ExtractRequest, extract};
    use run_colors::pipeline::{RunSettings, run};
    use run_colors::rules::Rules;
    use run_colors::sources::CsvSource;
    use run_colors::sources::oracle::OracleColors;

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
