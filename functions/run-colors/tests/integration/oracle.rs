//! The Oracle adapter without a database: the SQL and binds it sends, the settings it
//! assembles from SSM and the environment, and the names it refuses. The test that needs a
//! live database is `tools/run-colors-cli/tests/oracle.rs` (it ranks the table and extracts it).

use std::time::Duration;

use orabridge_shared::config::ConfigReader;
use orabridge_shared::oracle::Identifier;
use orabridge_shared::params::{MemoryParameterSource, ParameterStore};
use orabridge_shared::settings::SettingsPlan;
use run_colors::config::OracleConfig;
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
fn the_colors_query_binds_as_oracle_counts_and_runs_on_11g() {
    // Bind positions as Oracle counts them (SQL: every occurrence; PL/SQL: each name once)
    // against the values each call passes (the statement's type fixes that number), and
    // nothing newer than 11.2: see orabridge_shared::oracle_sql.
    let (market, colors) = (id("schema", "market"), id("table", "colors"));
    let statements: Vec<(&str, Vec<String>)> =
        vec![("colors query", colors_query(&market, &colors).problems())];
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
