//! Where the function's settings and rules come from, end to end against moto server: rules
//! from SSM or S3, invalid or missing rules stopping the run before any data is read, the
//! Oracle settings from SSM, and configuration errors that name what to fix.

use crate::support;

use orabridge_shared::object_store::MemoryObjectStore;
use orabridge_shared::params::{DEFAULT_TTL, MemoryParameterSource, ParameterStore};
use orabridge_shared::start::Function;
use orabridge_shared::testkit::put_parameter;
use run_colors::config::{ColorsLocation, RulesLocation, RunColorsConfig};
use run_colors::ports::{ColorsError, ConfiguredRules, LocatedColors, OpenColors};
use secrecy::ExposeSecret;
use serde_json::json;
use support::*;

#[tokio::test]
async fn rules_come_from_ssm_or_s3() {
    let fx = fixture().await;
    let document = std::fs::read_to_string(sample("run-colors-rules.json")).expect("rules");
    put_parameter(&fx.ssm, "/mp/rules", &document, false)
        .await
        .expect("parameter");
    let from_ssm = fx
        .function_with(
            fx.config(
                RulesLocation::Parameter("/mp/rules".into()),
                ColorsLocation::Csv(golden_input()),
            ),
            None,
        )
        .expect("the function builds");
    let response = from_ssm
        .handle(lambda_event(
            json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}),
        ))
        .await
        .expect("rules from SSM");
    assert_eq!(response.manifest.rules.count, 5);
    let absent = fx
        .function_with(
            fx.config(
                RulesLocation::S3 {
                    bucket: BUCKET.into(),
                    key: "config/absent.json".into(),
                },
                ColorsLocation::Csv(golden_input()),
            ),
            None,
        )
        .expect("the function builds");
    let (kind, message) = error_type(
        absent
            .handle(lambda_event(
                json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}),
            ))
            .await
            .expect_err("no rules object"),
    );
    assert_eq!(kind, "RulesUnavailable");
    assert!(
        message.contains("config/absent.json does not exist"),
        "{message}"
    );

    fx.s3
        .put_object()
        .bucket(BUCKET)
        .key("config/rules.json")
        .body(document.into_bytes().into())
        .send()
        .await
        .expect("rules object");
    let from_s3 = fx
        .function_with(
            fx.config(
                RulesLocation::S3 {
                    bucket: BUCKET.into(),
                    key: "config/rules.json".into(),
                },
                ColorsLocation::Csv(golden_input()),
            ),
            None,
        )
        .expect("the function builds");
    let response = from_s3
        .handle(lambda_event(
            json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}),
        ))
        .await
        .expect("rules from S3");
    assert_eq!(response.manifest.rules.count, 5);
}

#[tokio::test]
async fn invalid_or_missing_rules_stop_the_run_before_any_data() {
    let fx = fixture().await;
    put_parameter(
        &fx.ssm,
        "/mp/bad-rules",
        r#"{"rules":[{"id":"stale","field":"COLOR_DATE","op":"older_than","value":30}]}"#,
        false,
    )
    .await
    .expect("parameter");
    let bad = fx
        .function_with(
            fx.config(
                RulesLocation::Parameter("/mp/bad-rules".into()),
                // An input that does not exist: the rules must fail first.
                ColorsLocation::Csv("/nonexistent/colors.csv".into()),
            ),
            None,
        )
        .expect("the function builds");
    let (kind, message) = error_type(
        bad.handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
            .await
            .expect_err("invalid rules"),
    );
    assert_eq!(kind, "InvalidRules");
    assert!(
        message.contains(r#"rule "stale" is invalid: unknown op "older_than""#),
        "{message}"
    );

    let missing = fx
        .function_with(
            fx.config(
                RulesLocation::Parameter("/mp/no-such-rules".into()),
                ColorsLocation::Csv(golden_input()),
            ),
            None,
        )
        .expect("the function builds");
    let (kind, message) = error_type(
        missing
            .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
            .await
            .expect_err("missing rules"),
    );
    assert_eq!(kind, "RulesUnavailable");
    assert!(message.contains("/mp/no-such-rules"), "{message}");
    assert!(fx.objects().await.is_empty(), "nothing published");
}

#[tokio::test]
async fn the_oracle_source_reads_its_settings_from_ssm_and_fails_naming_the_missing_layer() {
    let fx = fixture().await;
    let prefix = "/sp-incb/ci/market-pulse/oracle/";
    for (name, value) in [
        ("host", "10.20.30.40"),
        ("port", "1521"),
        ("service_name", "MPPROD"),
        ("username", "MP_READER"),
        ("schema", "MARKET"),
        ("table", "RUN_COLORS"),
    ] {
        put_parameter(&fx.ssm, &format!("{prefix}{name}"), value, false)
            .await
            .expect("parameter");
    }
    put_parameter(
        &fx.ssm,
        &format!("{prefix}password"),
        "pw-from-ssm-7731",
        true,
    )
    .await
    .expect("parameter");
    // Start-up as `main` does it: the settings resolved in one SSM read, then parsed. A person
    // on the VPN overrides the host locally; the rest still comes from SSM.
    let env = [
        ("BUCKET", BUCKET),
        ("RULES_FILE", "unused.json"),
        ("ORACLE_PARAM_PREFIX", prefix),
        ("ORACLE_HOST", "127.0.0.1"),
        ("ORACLE_CALL_TIMEOUT", "5s"),
    ];
    let settings = RunColorsConfig::settings(env)
        .resolve(Some(&fx.ssm_store()))
        .await
        .expect("the settings from moto's SSM");
    let colors = RunColorsConfig::from_source(&settings)
        .expect("config")
        .colors;
    let ColorsLocation::Oracle(oracle) = &colors else {
        panic!("the Oracle source expected, got {colors:?}");
    };
    assert_eq!(oracle.connect.connect_string, "//127.0.0.1:1521/MPPROD");
    assert_eq!(oracle.connect.password.expose_secret(), "pw-from-ssm-7731");
    // The init fails, naming the layer, rather than every scheduled run.
    let config = fx.config(
        RulesLocation::File(sample("run-colors-rules.json")),
        colors.clone(),
    );
    let Err(err) = fx.function_with(config.clone(), None) else {
        panic!("no Instant Client on this machine: the function must not build");
    };
    let rendered = format!("{:?}", err);
    let (kind, message) = error_type(err);
    assert_eq!(kind, "InstantClientMissing");
    assert!(message.contains("OracleInstantClientLayer"), "{message}");
    assert!(!message.contains("pw-from-ssm-7731") && !rendered.contains("pw-from-ssm-7731"));

    // A run that meets Oracle's failure when it opens the colors (the layer loaded at init, the
    // database then unreachable or the library gone): the same error type, no password in it,
    // nothing published.
    let function = fx
        .function_reading(config, fx.runs(), OpenedAtRunTime(colors))
        .expect("no init check");
    let err = function
        .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
        .await
        .expect_err("no Instant Client on this machine");
    let rendered = format!("{:?}", err);
    let (kind, message) = error_type(err);
    assert_eq!(kind, "InstantClientMissing");
    assert!(message.contains("OracleInstantClientLayer"), "{message}");
    assert!(!message.contains("pw-from-ssm-7731") && !rendered.contains("pw-from-ssm-7731"));
    assert!(fx.objects().await.is_empty(), "nothing published");
}

/// The configured colors without the init's check, as a run meets them.
struct OpenedAtRunTime(ColorsLocation);

impl OpenColors for OpenedAtRunTime {
    type Records = LocatedColors;

    fn open(&self) -> Result<LocatedColors, ColorsError> {
        self.0.open()
    }
}

#[tokio::test]
async fn a_colors_file_that_cannot_be_opened_fails_the_run_naming_it_and_publishes_nothing() {
    let fx = fixture().await;
    let function = fx
        .function_with(
            fx.config(
                RulesLocation::File(sample("run-colors-rules.json")),
                ColorsLocation::Csv("/nonexistent/colors.csv".into()),
            ),
            None,
        )
        .expect("the function builds");
    let (kind, message) = error_type(
        function
            .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
            .await
            .expect_err("no such file"),
    );
    assert_eq!(kind, "RunFailed");
    assert!(message.contains("/nonexistent/colors.csv"), "{message}");
    assert!(fx.objects().await.is_empty(), "nothing published");
}

#[tokio::test]
async fn missing_oracle_settings_are_named_with_their_parameter_and_variable() {
    let fx = fixture().await;
    let env = [
        ("BUCKET", BUCKET),
        ("RULES_FILE", "rules.json"),
        ("ORACLE_PARAM_PREFIX", "/nothing/here"),
        ("ORACLE_HOST", "db"),
        ("ORACLE_PORT", "1521"),
    ];
    let err = RunColorsConfig::settings(env)
        .resolve(Some(&fx.ssm_store()))
        .await
        .expect_err("five parameters missing");
    assert_eq!(err.variable(), "ORACLE_PARAM_PREFIX");
    assert_eq!(
        err.to_string(),
        "no value for ORACLE_SERVICE_NAME (parameter /nothing/here/service_name, named by \
         ORACLE_PARAM_PREFIX), ORACLE_USERNAME (parameter /nothing/here/username, named by \
         ORACLE_PARAM_PREFIX), ORACLE_PASSWORD (parameter /nothing/here/password, named by \
         ORACLE_PARAM_PREFIX), ORACLE_SCHEMA (parameter /nothing/here/schema, named by \
         ORACLE_PARAM_PREFIX), ORACLE_TABLE (parameter /nothing/here/table, named by \
         ORACLE_PARAM_PREFIX): set the variable, or create the parameter"
    );
}

#[test]
fn configuration_names_what_is_missing_or_contradictory() {
    let base = [("BUCKET", "b"), ("COLORS_CSV", "/tmp/c.csv")];
    let err = RunColorsConfig::from_source(base).expect_err("no rules");
    assert!(err.to_string().contains("RULES_PARAM"), "{err}");
    let both = RunColorsConfig::from_source([
        ("BUCKET", "b"),
        ("COLORS_CSV", "/tmp/c.csv"),
        ("RULES_PARAM", "/r"),
        ("RULES_FILE", "r.json"),
    ])
    .expect_err("two rule locations");
    assert!(both.to_string().contains("exactly one"), "{both}");
    let bad_uri = RunColorsConfig::from_source([
        ("BUCKET", "b"),
        ("COLORS_CSV", "c"),
        ("RULES_S3_URI", "rules.json"),
    ])
    .expect_err("bad uri");
    assert!(bad_uri.to_string().contains("s3://bucket/key"), "{bad_uri}");
    let inline = RunColorsConfig::from_source([
        ("BUCKET", "b"),
        ("COLORS_CSV", "c"),
        ("RULES_FILE", "r.json"),
        ("RULES", r#"{"rules": []}"#),
    ])
    .expect_err("a document given as a value");
    assert_eq!(inline.variable(), "RULES");
    assert!(inline.to_string().contains("set RULES_PARAM"), "{inline}");
    let no_prefix = RunColorsConfig::from_source([("BUCKET", "b"), ("RULES_PARAM", "/r")])
        .expect_err("oracle without a prefix");
    assert!(
        no_prefix.to_string().contains("ORACLE_PARAM_PREFIX"),
        "{no_prefix}"
    );
    let template_plan = RunColorsConfig::settings([
        ("BUCKET", "b"),
        ("RUNS_PREFIX", "mp"),
        ("ORACLE_PARAM_PREFIX", "/orabridge/prod/run-colors/oracle/"),
        ("RULES_PARAM", "/orabridge/prod/run-colors/rules"),
    ]);
    assert_eq!(
        template_plan.parameters().collect::<Vec<_>>(),
        [
            "/orabridge/prod/run-colors/oracle/host",
            "/orabridge/prod/run-colors/oracle/port",
            "/orabridge/prod/run-colors/oracle/service_name",
            "/orabridge/prod/run-colors/oracle/username",
            "/orabridge/prod/run-colors/oracle/password",
            "/orabridge/prod/run-colors/oracle/schema",
            "/orabridge/prod/run-colors/oracle/table",
        ],
        "the template's variables read the spec's seven parameters"
    );
    let csv_plan =
        RunColorsConfig::settings([("COLORS_CSV", "c.csv"), ("ORACLE_PARAM_PREFIX", "/p/")]);
    assert!(
        !csv_plan.needs_parameters(),
        "a CSV run reads no Oracle settings"
    );
}

/// A function whose rules are a file or an S3 object builds no SSM client, and one whose rules
/// are a file builds no S3 reader for them: only what the run reads is built.
#[test]
fn only_the_configured_rules_location_gets_a_client() {
    let built = |vars: [(&str, &str); 3]| {
        let config = RunColorsConfig::from_source(vars).expect("a valid configuration");
        let (mut ssm, mut s3) = (false, false);
        let _rules: ConfiguredRules<MemoryParameterSource, MemoryObjectStore> =
            ConfiguredRules::new(
                &config.rules,
                || {
                    ssm = true;
                    ParameterStore::new(MemoryParameterSource::new(), DEFAULT_TTL)
                },
                |_| {
                    s3 = true;
                    MemoryObjectStore::new()
                },
            );
        (ssm, s3)
    };
    let csv = ("COLORS_CSV", "/tmp/c.csv");
    assert_eq!(
        built([("BUCKET", "b"), csv, ("RULES_FILE", "r.json")]),
        (false, false)
    );
    assert_eq!(
        built([("BUCKET", "b"), csv, ("RULES_S3_URI", "s3://b/r.json")]),
        (false, true)
    );
    assert_eq!(
        built([("BUCKET", "b"), csv, ("RULES_PARAM", "/r")]),
        (true, false)
    );
}
