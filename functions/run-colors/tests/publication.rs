//! The function end to end against moto server (S3 and SSM): a scheduled run publishes the
//! four files and then `latest.json`; failures anywhere before the pointer leave the previous
//! run visible; bad events, bad rules and a missing Oracle client are refused with clear
//! errors and nothing published.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lambda_runtime::Diagnostic;
use orabridge_shared::object_store::{ObjectStore, ObjectStoreError, S3ObjectStore};
use orabridge_shared::params::{DEFAULT_TTL, ParameterStore, SsmParameterSource};
use orabridge_shared::testkit::{MotoServer, put_parameter};
use run_colors::config::{ColorsSource, Config, RulesLocation};
use run_colors::function::{InvocationError, RunColors, RunResponse};
use run_colors::values::parse_timestamp;
use secrecy::ExposeSecret;
use serde_json::json;

const BUCKET: &str = "market-pulse";
const PREFIX: &str = "mp/run-colors";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn golden_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input.csv")
}

/// An S3 store that refuses keys ending with `suffix` while armed: a failure injected at an
/// exact step of the publication.
#[derive(Clone)]
struct Failing {
    inner: S3ObjectStore,
    suffix: Option<&'static str>,
}

impl ObjectStore for Failing {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        if self.suffix.is_some_and(|s| key.ends_with(s)) {
            return Err(ObjectStoreError::new(key, "injected failure"));
        }
        self.inner.put(key, body, content_type).await
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        if self.suffix.is_some_and(|s| key.ends_with(s)) {
            return Err(ObjectStoreError::new(key, "injected failure"));
        }
        self.inner.put_file(key, path, content_type).await
    }
}

struct Fixture {
    _moto: MotoServer,
    s3: aws_sdk_s3::Client,
    ssm: aws_sdk_ssm::Client,
    work: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let s3 = orabridge_shared::aws::s3_client(&sdk);
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket");
    Fixture {
        _moto: moto,
        s3,
        ssm: orabridge_shared::aws::ssm_client(&sdk),
        work: tempfile::tempdir().expect("work dir"),
    }
}

type Function = RunColors<Failing, SsmParameterSource, S3ObjectStore>;

impl Fixture {
    fn config(&self, rules: RulesLocation, source: ColorsSource) -> Config {
        Config {
            bucket: BUCKET.into(),
            prefix: PREFIX.into(),
            rules,
            source,
            work_dir: self.work.path().to_owned(),
        }
    }

    fn ssm_store(&self) -> ParameterStore<SsmParameterSource> {
        ParameterStore::new(SsmParameterSource::new(self.ssm.clone()), DEFAULT_TTL)
    }

    fn function_with(&self, config: Config, fail_on: Option<&'static str>) -> Function {
        // As `main` builds it: a store for the rules bucket when the rules are in S3.
        let rules_bucket = config
            .rules_bucket()
            .map(|bucket| S3ObjectStore::new(self.s3.clone(), bucket));
        RunColors::new(
            config,
            Failing {
                inner: S3ObjectStore::new(self.s3.clone(), BUCKET),
                suffix: fail_on,
            },
            Some(self.ssm_store()),
            rules_bucket,
        )
    }

    fn csv_function(&self, fail_on: Option<&'static str>) -> Function {
        self.function_with(
            self.config(
                RulesLocation::File(repo("events/run-colors-rules.json")),
                ColorsSource::Csv(golden_input()),
            ),
            fail_on,
        )
    }

    async fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .expect("list");
        let mut objects = BTreeMap::new();
        for object in listed.contents() {
            let key = object.key().expect("key").to_owned();
            let body = self
                .s3
                .get_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .expect("get")
                .body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec();
            objects.insert(key, body);
        }
        objects
    }

    async fn latest(&self) -> serde_json::Value {
        let objects = self.objects().await;
        serde_json::from_slice(&objects[&format!("{PREFIX}/latest.json")]).expect("latest.json")
    }

    fn staged_folders(&self) -> usize {
        std::fs::read_dir(self.work.path())
            .expect("work dir")
            .count()
    }
}

fn scheduled(time: &str) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("events/eventbridge-run-colors-schedule.json"))
            .expect("event"),
    )
    .expect("json");
    event["time"] = json!(time);
    event
}

fn error_type(err: InvocationError) -> (String, String) {
    let diagnostic = Diagnostic::from(err);
    (diagnostic.error_type, diagnostic.error_message)
}

#[tokio::test]
async fn a_scheduled_run_publishes_the_files_then_points_latest_at_them() {
    let fx = fixture().await;
    let function = fx.csv_function(None);
    let response: RunResponse = function
        .handle(&scheduled("2026-11-20T16:00:00Z"), 0)
        .await
        .expect("run");
    let run_id = &response.manifest.run_id;
    assert!(run_id.starts_with("20261120T160000Z-"), "{run_id}");
    let folder = format!("{PREFIX}/runs/2026-11-20/{run_id}/");
    let objects = fx.objects().await;
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(
        keys,
        [
            &format!("{PREFIX}/latest.json"),
            &format!("{folder}colors.csv"),
            &format!("{folder}colors.json"),
            &format!("{folder}excluded.csv"),
            &format!("{folder}manifest.json"),
        ]
    );
    for name in ["colors.csv", "colors.json", "excluded.csv"] {
        let golden = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/golden")
                .join(name),
        )
        .expect("golden");
        assert_eq!(objects[&format!("{folder}{name}")], golden, "{name}");
    }
    let latest = fx.latest().await;
    assert_eq!(latest["run_id"], json!(run_id));
    assert_eq!(latest["folder"], json!(folder));
    assert_eq!(latest["manifest"], json!(format!("{folder}manifest.json")));
    let published = response.published.expect("published");
    assert_eq!(published.folder, folder);
    assert_eq!(fx.staged_folders(), 0, "the staging folder is removed");
}

#[tokio::test]
async fn a_failure_before_the_pointer_leaves_the_previous_latest_in_place() {
    let fx = fixture().await;
    let first = fx
        .csv_function(None)
        .handle(&scheduled("2026-11-20T16:00:00Z"), 0)
        .await
        .expect("first run");
    let before = fx.latest().await;
    assert_eq!(before["run_id"], json!(first.manifest.run_id));

    for step in ["colors.json", "manifest.json", "latest.json"] {
        let err = fx
            .csv_function(Some(step))
            .handle(&scheduled("2026-11-20T16:15:00Z"), 0)
            .await
            .expect_err("injected failure");
        let (kind, message) = error_type(err);
        assert_eq!(kind, "PublishFailed", "{step}");
        assert!(
            message.contains("latest.json still points at the previous run"),
            "{message}"
        );
        assert_eq!(
            fx.latest().await,
            before,
            "failure at {step} moved the pointer"
        );
    }
}

#[tokio::test]
async fn a_dry_run_ranks_but_publishes_nothing() {
    let fx = fixture().await;
    let response = fx
        .csv_function(None)
        .handle(&json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}), 0)
        .await
        .expect("dry run");
    assert!(response.published.is_none());
    assert_eq!(response.manifest.rows.input, 21);
    assert!(fx.objects().await.is_empty());
}

#[tokio::test]
async fn rules_come_from_ssm_or_s3_and_invalid_ones_stop_the_run_before_any_data() {
    let fx = fixture().await;
    let document = std::fs::read_to_string(repo("events/run-colors-rules.json")).expect("rules");
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
    assert!(fx.objects().await.keys().all(|k| k == "config/rules.json"));
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
        fx.config(
            RulesLocation::File(repo("events/run-colors-rules.json")),
            source,
        ),
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

#[tokio::test]
async fn events_that_are_neither_schedules_nor_requests_are_refused() {
    let fx = fixture().await;
    let function = fx.csv_function(None);
    for event in [
        json!({"as_of": "2026-11-20T16:00:00Z"}),
        json!({"asOf": "yesterday"}),
        json!([1, 2]),
        json!("run"),
    ] {
        let (kind, _) = error_type(function.handle(&event, 0).await.expect_err("refused"));
        assert_eq!(kind, "InvalidEvent", "{event}");
    }
    assert!(fx.objects().await.is_empty());
}

#[test]
fn the_schedule_time_is_the_run_as_of() {
    let request = run_colors::function::parse_trigger(&scheduled("2026-11-20T09:00:00Z"), 0)
        .expect("scheduled event");
    assert_eq!(Some(request.as_of), parse_timestamp("2026-11-20T09:00:00Z"));
    assert!(!request.dry_run);
    let now = parse_timestamp("2026-11-21T00:00:00Z").expect("now");
    let direct = run_colors::function::parse_trigger(&json!({}), now).expect("direct");
    assert_eq!(direct.as_of, now);
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
