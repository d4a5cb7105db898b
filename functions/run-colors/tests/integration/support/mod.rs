//! What the function's end-to-end tests share: moto server (S3 and SSM) with the runs bucket,
//! the function built over it with a failure injected at a chosen key, and the sample events.
// Each test module uses its own part of this module.
#![allow(dead_code)]

pub mod memory_run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lambda_runtime::{Diagnostic, LambdaEvent};
use orabridge_shared::clock::ManualClock;
use orabridge_shared::object_store::{ConditionalStore, S3ObjectStore};
use orabridge_shared::params::{DEFAULT_TTL, ParameterStore, SsmParameterSource};
use orabridge_shared::testkit::{FaultyStore, MotoServer, read_objects};
use run_colors::config::{ColorsLocation, RulesLocation, RunColorsConfig};
use run_colors::function::{InvocationError, Ports, RunColors};
use run_colors::ports::{ConfiguredRules, OpenColors};
use serde_json::json;

pub const BUCKET: &str = "market-pulse";
pub const PREFIX: &str = "mp/run-colors";

/// A sample file under the repository's `events/`.
pub fn sample(name: &str) -> PathBuf {
    orabridge_shared::testkit::sample_event_path(name)
}

pub fn golden_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input.csv")
}

pub struct Fixture {
    _moto: MotoServer,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub work: tempfile::TempDir,
}

pub async fn fixture() -> Fixture {
    let moto = MotoServer::start().await.expect("moto server");
    let sdk = moto.sdk_config().await;
    let s3 = orabridge_shared::aws::s3_client(&sdk);
    orabridge_shared::testkit::create_bucket(&s3, BUCKET)
        .await
        .expect("bucket");
    Fixture {
        _moto: moto,
        s3,
        ssm: orabridge_shared::aws::ssm_client(&sdk),
        work: tempfile::tempdir().expect("work dir"),
    }
}

/// The function as `main` composes it, over moto's S3 and SSM and a clock at the epoch (the
/// events give their time), publishing to `S` and reading the colors through `K`.
pub type TestFunction<S = FaultyStore<S3ObjectStore>, K = ColorsLocation> =
    RunColors<S, ConfiguredRules<SsmParameterSource, S3ObjectStore>, K, ManualClock>;

impl Fixture {
    pub fn config(&self, rules: RulesLocation, colors: ColorsLocation) -> RunColorsConfig {
        RunColorsConfig {
            bucket: BUCKET.into(),
            prefix: PREFIX.into(),
            rules,
            colors,
            work_dir: self.work.path().to_owned(),
        }
    }

    pub fn ssm_store(&self) -> ParameterStore<SsmParameterSource> {
        ParameterStore::new(SsmParameterSource::new(self.ssm.clone()), DEFAULT_TTL)
    }

    /// The function `run_colors::function::build` composes from `config`, its runs bucket
    /// failing at keys ending with `fail_on`.
    pub fn function_with(
        &self,
        config: RunColorsConfig,
        fail_on: Option<&'static str>,
    ) -> Result<TestFunction, InvocationError> {
        let runs = FaultyStore::new(S3ObjectStore::new(self.s3.clone(), BUCKET))
            .refusing(move |key| fail_on.is_some_and(|suffix| key.ends_with(suffix)));
        self.function_over(config, runs)
    }

    /// The function `run_colors::function::build` composes from `config`, publishing to `runs`.
    pub fn function_over<S: ConditionalStore>(
        &self,
        config: RunColorsConfig,
        runs: S,
    ) -> Result<TestFunction<S>, InvocationError> {
        let colors = config.colors.clone();
        self.function_reading(config, runs, colors)
    }

    /// The function `run_colors::function::build` composes from `config`, publishing to `runs`
    /// and reading the colors through `colors`.
    pub fn function_reading<S: ConditionalStore, K: OpenColors>(
        &self,
        config: RunColorsConfig,
        runs: S,
        colors: K,
    ) -> Result<TestFunction<S, K>, InvocationError> {
        let ports = Ports {
            runs,
            rules: ConfiguredRules::new(
                &config.rules,
                || self.ssm_store(),
                |bucket| S3ObjectStore::new(self.s3.clone(), bucket),
            ),
            colors,
            clock: ManualClock::at(chrono::DateTime::UNIX_EPOCH),
        };
        run_colors::function::build(config, ports)
    }

    /// A store over the runs bucket that refuses nothing.
    pub fn runs(&self) -> FaultyStore<S3ObjectStore> {
        FaultyStore::new(S3ObjectStore::new(self.s3.clone(), BUCKET))
    }

    /// The golden CSV ranked with the example rules.
    pub fn csv_config(&self) -> RunColorsConfig {
        self.config(
            RulesLocation::File(sample("run-colors-rules.json")),
            ColorsLocation::Csv(golden_input()),
        )
    }

    pub fn csv_function(&self, fail_on: Option<&'static str>) -> TestFunction {
        self.function_with(self.csv_config(), fail_on)
            .expect("a CSV function builds")
    }

    pub async fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        read_objects(&self.s3, BUCKET, "").await.expect("objects")
    }

    pub async fn latest(&self) -> serde_json::Value {
        let objects = self.objects().await;
        serde_json::from_slice(&objects[&format!("{PREFIX}/latest.json")]).expect("latest.json")
    }

    pub fn staged_folders(&self) -> usize {
        std::fs::read_dir(self.work.path())
            .expect("work dir")
            .count()
    }
}

/// `payload` as the runtime hands it to the function.
pub fn lambda_event(payload: serde_json::Value) -> LambdaEvent<serde_json::Value> {
    LambdaEvent::new(payload, lambda_runtime::Context::default())
}

pub fn scheduled(time: &str) -> serde_json::Value {
    let mut event = orabridge_shared::testkit::sample_event("eventbridge-run-colors-schedule.json")
        .expect("event");
    event["time"] = json!(time);
    event
}

pub fn error_type(err: InvocationError) -> (String, String) {
    let diagnostic = Diagnostic::from(err);
    (diagnostic.error_type, diagnostic.error_message)
}
