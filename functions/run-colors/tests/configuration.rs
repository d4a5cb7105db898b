//! Where the function's settings and rules come from, end to end against moto server: rules
//! from SSM or S3, invalid or missing rules stopping the run before any data is read, the
//! Oracle settings from SSM, and configuration errors that name what to fix.

mod support;

use orabridge_shared::testkit::put_parameter;
use run_colors::config::{ColorsSource, Config, RulesLocation};
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
    let from_ssm = fx.function_with(
        fx.config(
            RulesLocation::Parameter("/mp/rules".into()),
            ColorsSource::Csv(golden_input()),
        ),
        None,
    );
    let response = from_ssm
        .handle(&json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}), 0)
        .await
        .expect("rules from SSM");
    assert_eq!(response.manifest.rules.count, 5);
    let absent = fx.function_with(
        fx.config(
            RulesLocation::S3 {
                bucket: BUCKET.into(),
                key: "config/absent.json".into(),
            },
            ColorsSource::Csv(golden_input()),
        ),
        None,
    );
    let (kind, message) = error_type(
        absent
            .handle(&json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}), 0)
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
    let from_s3 = fx.function_with(
        fx.config(
            RulesLocation::S3 {
                bucket: BUCKET.into(),
                key: "config/rules.json".into(),
            },
            ColorsSource::Csv(golden_input()),
        ),
        None,
    );
    let response = from_s3
        .handle(&json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}), 0)
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
    let bad = fx.function_with(
        fx.config(
            RulesLocation::Parameter("/mp/bad-rules".into()),
            // An input that does not exist: the rules must fail first.
            ColorsSource::Csv("/nonexistent/colors.csv".into()),
        ),
        None,
    );
    let (kind, message) = error_type(
        bad.handle(&scheduled("2026-11-20T16:00:00Z"), 0)
            .await
            .expect_err("invalid rules"),
    );
    assert_eq!(kind, "InvalidRules");
    assert!(
        message.contains(r#"rule "stale" is invalid: unknown op "older_than""#),
        "{message}"
    );

    let missing = fx.function_with(
        fx.config(
            RulesLocation::Parameter("/mp/no-such-rules".into()),
            ColorsSource::Csv(golden_input()),
        ),
        None,
    );
    let (kind, message) = error_type(
        missing
            .handle(&scheduled("2026-11-20T16:00:00Z"), 0)
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
    let settings = Config::settings(env)
        .resolve(Some(&fx.ssm_store()))
        .await
        .expect("the settings from moto's SSM");
    let source = Config::from_source(&settings).expect("config").source;
    let ColorsSource::Oracle(oracle) = &source else {
        panic!("the Oracle source expected, got {source:?}");
    };
    assert_eq!(oracle.connect.connect_string, "//127.0.0.1:1521/MPPROD");
    assert_eq!(oracle.connect.password.expose_secret(), "pw-from-ssm-7731");
    let function = fx.function_with(
        fx.config(RulesLocation::File(sample("run-colors-rules.json")), source),
        None,
    );
    let err = function
        .handle(&scheduled("2026-11-20T16:00:00Z"), 0)
        .await
        .expect_err("no Instant Client on this machine");
    let rendered = format!("{:?}", err);
    let (kind, message) = error_type(err);
    assert_eq!(kind, "InstantClientMissing");
    assert!(message.contains("OracleInstantClientLayer"), "{message}");
    assert!(!message.contains("pw-from-ssm-7731") && !rendered.contains("pw-from-ssm-7731"));
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
    let err = Config::settings(env)
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
    let err = Config::from_source(base).expect_err("no rules");
    assert!(err.to_string().contains("RULES_PARAM"), "{err}");
    let both = Config::from_source([
        ("BUCKET", "b"),
        ("COLORS_CSV", "/tmp/c.csv"),
        ("RULES_PARAM", "/r"),
        ("RULES_FILE", "r.json"),
    ])
    .expect_err("two rule locations");
    assert!(both.to_string().contains("exactly one"), "{both}");
    let bad_uri = Config::from_source([
        ("BUCKET", "b"),
        ("COLORS_CSV", "c"),
        ("RULES_S3_URI", "rules.json"),
    ])
    .expect_err("bad uri");
    assert!(bad_uri.to_string().contains("s3://bucket/key"), "{bad_uri}");
    let no_prefix = Config::from_source([("BUCKET", "b"), ("RULES_PARAM", "/r")])
        .expect_err("oracle without a prefix");
    assert!(
        no_prefix.to_string().contains("ORACLE_PARAM_PREFIX"),
        "{no_prefix}"
    );
    let template_plan = Config::settings([
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
    let csv_plan = Config::settings([("COLORS_CSV", "c.csv"), ("ORACLE_PARAM_PREFIX", "/p/")]);
    assert!(
        !csv_plan.needs_parameters(),
        "a CSV run reads no Oracle settings"
    );
}

#[test]
fn ssm_is_needed_per_run_only_for_parameter_rules() {
    let needs = |vars: [(&str, &str); 3]| {
        Config::from_source(vars)
            .expect("a valid configuration")
            .needs_parameters()
    };
    let csv = ("COLORS_CSV", "/tmp/c.csv");
    assert!(!needs([("BUCKET", "b"), csv, ("RULES_FILE", "r.json")]));
    assert!(!needs([
        ("BUCKET", "b"),
        csv,
        ("RULES_S3_URI", "s3://b/r.json")
    ]));
    assert!(needs([("BUCKET", "b"), csv, ("RULES_PARAM", "/r")]));
}
