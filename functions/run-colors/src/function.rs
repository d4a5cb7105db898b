//! The Lambda adapter: configuration from the environment, the trigger events (an EventBridge
//! schedule or a direct `{"asOf": ..., "dryRun": true}`), and one run from rules to published
//! folder. The blocking part (Oracle and the ranking) runs on `spawn_blocking`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use orabridge_shared::config::{ConfigError, ConfigReader, VarSource};
use orabridge_shared::lambda::{Diagnostic, diagnostic};
use orabridge_shared::object_store::ObjectStore;
use orabridge_shared::oracle::OracleError;
use orabridge_shared::params::{GetOptions, ParameterError, ParameterSource, ParameterStore};
use serde::{Deserialize, Serialize};

use crate::csv_source::CsvSource;
use crate::oracle_source::{OracleColors, OracleSettings, SettingsError};
use crate::output::Manifest;
use crate::pipeline::{self, RunError, RunSettings};
use crate::publish::{self, Latest, PublishError, RunLayout};
use crate::rules::{Rules, RulesError};
use crate::values::{self, Micros};

/// Where the rules document is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesLocation {
    /// A local file (`RULES_FILE`).
    File(PathBuf),
    /// An SSM parameter (`RULES_PARAM`).
    Parameter(String),
    /// An S3 object (`RULES_S3_URI=s3://bucket/key`).
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// Where the colors are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColorsSource {
    /// A CSV file (`COLORS_CSV`): local runs and the demo.
    Csv(PathBuf),
    /// The Oracle table named by the parameters under `ORACLE_PARAM_PREFIX`.
    Oracle {
        /// SSM prefix of the seven settings.
        param_prefix: String,
        /// OCI call timeout (`ORACLE_CALL_TIMEOUT_SECS`, default 120).
        call_timeout: Duration,
    },
}

/// The function's configuration, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bucket of the published runs (`BUCKET`).
    pub bucket: String,
    /// Key prefix of the runs (`RUNS_PREFIX`, default `run-colors`).
    pub prefix: String,
    /// The rules document.
    pub rules: RulesLocation,
    /// The colors.
    pub source: ColorsSource,
    /// Where run folders are staged before upload (`WORK_DIR`, default the system temp dir).
    pub work_dir: PathBuf,
}

impl Config {
    /// Reads the configuration, naming any variable that is missing or malformed.
    pub fn from_source(vars: impl VarSource) -> Result<Config, ConfigError> {
        let reader = ConfigReader::new(vars);
        let rules = match (
            reader.optional_string("RULES_PARAM"),
            reader.optional_string("RULES_FILE"),
            reader.optional_string("RULES_S3_URI"),
        ) {
            (Some(name), None, None) => RulesLocation::Parameter(name),
            (None, Some(path), None) => RulesLocation::File(path.into()),
            (None, None, Some(uri)) => {
                let (bucket, key) = uri
                    .strip_prefix("s3://")
                    .and_then(|rest| rest.split_once('/'))
                    .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
                    .ok_or_else(|| ConfigError::Malformed {
                        name: "RULES_S3_URI".into(),
                        reason: format!("expected s3://bucket/key, got {uri:?}"),
                    })?;
                RulesLocation::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }
            }
            (None, None, None) => {
                return Err(ConfigError::Missing {
                    name: "RULES_PARAM (or RULES_FILE or RULES_S3_URI)".into(),
                });
            }
            _ => {
                return Err(ConfigError::Malformed {
                    name: "RULES_PARAM".into(),
                    reason: "set exactly one of RULES_PARAM, RULES_FILE and RULES_S3_URI".into(),
                });
            }
        };
        let source = match reader.optional_string("COLORS_CSV") {
            Some(path) => ColorsSource::Csv(path.into()),
            None => ColorsSource::Oracle {
                param_prefix: reader.string("ORACLE_PARAM_PREFIX")?,
                call_timeout: reader
                    .secs_or("ORACLE_CALL_TIMEOUT_SECS", Duration::from_secs(120))?,
            },
        };
        Ok(Config {
            bucket: reader.string("BUCKET")?,
            prefix: reader.string_or("RUNS_PREFIX", "run-colors"),
            rules,
            source,
            work_dir: reader
                .optional_string("WORK_DIR")
                .map_or_else(std::env::temp_dir, PathBuf::from),
        })
    }

    /// Whether a run reads SSM: for the rules (`RULES_PARAM`) or the Oracle settings. The
    /// function builds its SSM client only then, keeping it out of the cold start otherwise.
    pub fn needs_parameters(&self) -> bool {
        matches!(self.rules, RulesLocation::Parameter(_))
            || matches!(self.source, ColorsSource::Oracle { .. })
    }
}

/// A direct invocation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DirectRequest {
    /// The reference time (RFC 3339); now when absent.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Rank and write the files but publish nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Trigger {
    Scheduled(EventBridgeEvent),
    Direct(DirectRequest),
}

/// What one invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRequest {
    /// The run's reference time.
    pub as_of: Micros,
    /// Whether to skip publication.
    pub dry_run: bool,
}

/// Reads the trigger: a scheduled event runs as of its `time`, a direct invocation as of its
/// `asOf` (or `now`).
pub fn parse_trigger(
    event: &serde_json::Value,
    now: Micros,
) -> Result<RunRequest, InvocationError> {
    let trigger: Trigger = serde_json::from_value(event.clone()).map_err(|_| {
        InvocationError::InvalidEvent(
            "expected an EventBridge scheduled event or {\"asOf\": \"<RFC 3339>\", \"dryRun\": <bool>}"
                .into(),
        )
    })?;
    match trigger {
        Trigger::Scheduled(event) => Ok(RunRequest {
            as_of: event.time.map_or(now, |time| time.timestamp_micros()),
            dry_run: false,
        }),
        Trigger::Direct(direct) => {
            let as_of = match direct.as_of.as_deref() {
                None => now,
                Some(text) => values::parse_timestamp(text).ok_or_else(|| {
                    InvocationError::InvalidEvent(format!("asOf {text:?} is not a timestamp"))
                })?,
            };
            Ok(RunRequest {
                as_of,
                dry_run: direct.dry_run,
            })
        }
    }
}

/// The answer to an invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResponse {
    /// The run's manifest.
    pub manifest: Manifest,
    /// Where it was published (absent on a dry run).
    pub published: Option<Latest>,
    /// The bucket it was published to.
    pub bucket: Option<String>,
}

/// Why an invocation failed. Messages name what to fix and never carry a secret.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// The event is neither a schedule nor a direct request.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The rules could not be read.
    #[error("the rules could not be read from {location}")]
    RulesUnavailable {
        /// Where.
        location: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The rules are invalid; nothing was read.
    #[error(transparent)]
    InvalidRules(#[from] RulesError),
    /// The Oracle settings are incomplete.
    #[error(transparent)]
    OracleSettings(#[from] SettingsError),
    /// Oracle failed (client missing, login, network, timeout, SQL).
    #[error(transparent)]
    Oracle(#[from] OracleError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Publication failed; `latest.json` is unchanged.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The staging folder could not be created.
    #[error("staging the run under {0} failed")]
    Staging(PathBuf, #[source] std::io::Error),
}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Self {
        let error_type = match &error {
            InvocationError::InvalidEvent(_) => "InvalidEvent",
            InvocationError::RulesUnavailable { .. } => "RulesUnavailable",
            InvocationError::InvalidRules(_) => "InvalidRules",
            InvocationError::OracleSettings(_) => "OracleSettings",
            InvocationError::Oracle(OracleError::InstantClientMissing(_)) => "InstantClientMissing",
            InvocationError::Oracle(OracleError::Authentication { .. }) => "OracleAuthentication",
            InvocationError::Oracle(OracleError::Unreachable { .. }) => "OracleUnreachable",
            InvocationError::Oracle(OracleError::Timeout(_)) => "OracleTimeout",
            InvocationError::Oracle(OracleError::NotFound(_)) => "OracleNotFound",
            InvocationError::Oracle(_) => "OracleError",
            InvocationError::Run(_) => "RunFailed",
            InvocationError::Publish(_) => "PublishFailed",
            InvocationError::Staging(..) => "StagingFailed",
        };
        diagnostic(error_type, &error)
    }
}

/// Fetches an S3 object's bytes (the rules document).
pub trait RulesFetcher: Send + Sync {
    /// The object's content.
    fn fetch(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>>
    + Send;
}

impl RulesFetcher for aws_sdk_s3::Client {
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        let object = self.get_object().bucket(bucket).key(key).send().await?;
        Ok(object.body.collect().await?.into_bytes().to_vec())
    }
}

// The source of one run, with its settings loaded.
enum Prepared {
    Csv(PathBuf),
    Oracle(OracleSettings),
}

/// One run-colors function: its configuration and ports.
pub struct RunColors<S, P, F> {
    config: Config,
    store: S,
    parameters: Option<ParameterStore<P>>,
    fetcher: F,
    env: Arc<dyn VarSource + Send + Sync>,
}

impl<S: ObjectStore, P: ParameterSource + 'static, F: RulesFetcher> RunColors<S, P, F> {
    /// A function over `store` (the runs bucket), `parameters` (SSM), `fetcher` (rules in S3)
    /// and `env` (the `ORACLE_*` overrides).
    pub fn new(
        config: Config,
        store: S,
        parameters: Option<ParameterStore<P>>,
        fetcher: F,
        env: Arc<dyn VarSource + Send + Sync>,
    ) -> Self {
        Self {
            config,
            store,
            parameters,
            fetcher,
            env,
        }
    }

    async fn load_rules(&self) -> Result<(Rules, Vec<u8>), InvocationError> {
        let (location, document) = match &self.config.rules {
            RulesLocation::File(path) => (
                path.display().to_string(),
                tokio::fs::read(path).await.map_err(|err| err.into()),
            ),
            RulesLocation::Parameter(name) => (
                format!("SSM parameter {name}"),
                match &self.parameters {
                    Some(store) => store
                        .get(name, GetOptions::plain())
                        .await
                        .map(|p| p.expose().as_bytes().to_vec())
                        .map_err(|err: ParameterError| err.into()),
                    None => Err("no parameter store configured".into()),
                },
            ),
            RulesLocation::S3 { bucket, key } => (
                format!("s3://{bucket}/{key}"),
                self.fetcher.fetch(bucket, key).await,
            ),
        };
        let document =
            document.map_err(|source| InvocationError::RulesUnavailable { location, source })?;
        let rules = Rules::parse(&document)?;
        Ok((rules, document))
    }

    /// Runs once: rules (validated before any data is read), source, ranking, publication.
    pub async fn run(&self, request: RunRequest) -> Result<RunResponse, InvocationError> {
        let (rules, document) = self.load_rules().await?;
        tracing::info!(
            as_of = %values::format_timestamp(request.as_of),
            rules = rules.len(),
            dry_run = request.dry_run,
            "run starting"
        );
        let prepared = match &self.config.source {
            ColorsSource::Oracle {
                param_prefix,
                call_timeout,
            } => Prepared::Oracle(
                OracleSettings::load(
                    self.parameters.as_ref(),
                    param_prefix,
                    self.env.as_ref(),
                    *call_timeout,
                )
                .await?,
            ),
            ColorsSource::Csv(path) => Prepared::Csv(path.clone()),
        };
        let staging = tempfile::Builder::new()
            .prefix("run-colors-")
            .tempdir_in(&self.config.work_dir)
            .map_err(|err| InvocationError::Staging(self.config.work_dir.clone(), err))?;
        let dir = staging.path().to_owned();
        let as_of = request.as_of;
        let manifest = tokio::task::spawn_blocking(move || -> Result<Manifest, InvocationError> {
            let settings = RunSettings {
                as_of,
                rules: &rules,
                rules_document: &document,
                out_dir: &dir,
            };
            match prepared {
                Prepared::Csv(path) => {
                    let mut csv = CsvSource::open(&path).map_err(RunError::from)?;
                    Ok(pipeline::run(&mut csv, &settings)?)
                }
                Prepared::Oracle(oracle) => {
                    let mut colors = OracleColors::open(&oracle)?;
                    Ok(pipeline::run(&mut colors, &settings)?)
                }
            }
        })
        .await
        .map_err(|err| {
            InvocationError::Staging(self.config.work_dir.clone(), std::io::Error::other(err))
        })??;
        tracing::info!(
            run_id = %manifest.run_id,
            input = manifest.rows.input,
            included = manifest.rows.included,
            excluded = manifest.rows.excluded,
            securities = manifest.securities,
            "run ranked"
        );
        if request.dry_run {
            return Ok(RunResponse {
                manifest,
                published: None,
                bucket: None,
            });
        }
        let layout = RunLayout::new(&self.config.prefix);
        let latest = publish::publish(&self.store, &layout, staging.path(), &manifest).await?;
        tracing::info!(folder = %latest.folder, "run published");
        // The stale-publication alarm in template.yaml counts these.
        orabridge_shared::metrics::counter!("RunPublished").increment(1);
        Ok(RunResponse {
            manifest,
            published: Some(latest),
            bucket: Some(self.config.bucket.clone()),
        })
    }

    /// Handles one trigger event.
    pub async fn handle(
        &self,
        event: &serde_json::Value,
        now: Micros,
    ) -> Result<RunResponse, InvocationError> {
        let request = parse_trigger(event, now)?;
        self.run(request).await
    }
}
