//! The Lambda adapter: configuration from the environment, the trigger events (an EventBridge
//! schedule or a direct `{"asOf": ..., "dryRun": true}`), and one run from rules to published
//! folder. The blocking part (Oracle and the ranking) runs on `spawn_blocking`.

use std::path::PathBuf;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use orabridge_shared::lambda::{Diagnostic, diagnostic};
use orabridge_shared::object_store::{ConditionalStore, ObjectReader};
use orabridge_shared::oracle::OracleError;
use orabridge_shared::params::{GetOptions, ParameterError, ParameterSource, ParameterStore};
use serde::{Deserialize, Serialize};

use crate::config::{ColorsSource, Config, RulesLocation};
use crate::emit::Manifest;
use crate::publish::{self, Latest, PointerUpdate, PublishError, RunLayout};
use crate::rules::{Rules, RulesError};
use crate::run::{self, RunError, RunSettings};
use crate::sources::CsvSource;
use crate::sources::oracle::OracleColors;
use crate::values::{self, Micros};

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
    /// Point `latest.json` at this run even if it points at a later one (a correction
    /// published on purpose).
    #[serde(default)]
    pub force: bool,
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
    /// Whether to move `latest.json` to this run even when it points at a later one.
    pub force: bool,
}

/// Reads the trigger: a scheduled event runs as of its `time`, a direct invocation as of its
/// `asOf` (or `now`).
pub fn parse_trigger(
    event: &serde_json::Value,
    now: Micros,
) -> Result<RunRequest, InvocationError> {
    let trigger: Trigger = serde_json::from_value(event.clone()).map_err(|_| {
        InvocationError::InvalidEvent(
            "expected an EventBridge scheduled event or {\"asOf\": \"<RFC 3339>\", \"dryRun\": <bool>, \"force\": <bool>}"
                .into(),
        )
    })?;
    match trigger {
        Trigger::Scheduled(event) => Ok(RunRequest {
            as_of: event.time.map_or(now, |time| time.timestamp_micros()),
            dry_run: false,
            force: false,
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
                force: direct.force,
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
    /// What became of `latest.json` (absent on a dry run).
    pub pointer: Option<PointerUpdate>,
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

/// Removes run folders an earlier invocation left in `work_dir`. Its staging folder goes when
/// the run ends, but not when Lambda stops an invocation at its timeout; in a warm environment
/// each such run would keep its files in `/tmp` (hundreds of megabytes for a large run) until
/// the storage fills. Lambda runs one invocation at a time per environment, so no other run is
/// using them.
fn clear_leftover_staging(work_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let is_run = entry
            .file_name()
            .to_string_lossy()
            .starts_with("run-colors-")
            && entry.file_type().is_ok_and(|kind| kind.is_dir());
        if is_run {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => {
                    tracing::warn!(folder = %entry.path().display(), "removed a run folder an earlier invocation left behind")
                }
                Err(err) => {
                    tracing::warn!(folder = %entry.path().display(), error = %err, "could not remove a run folder an earlier invocation left behind")
                }
            }
        }
    }
}

/// One run-colors function: its configuration and ports.
pub struct RunColors<S, P, R> {
    config: Config,
    store: S,
    parameters: Option<ParameterStore<P>>,
    rules_bucket: Option<R>,
}

impl<S: ConditionalStore, P: ParameterSource + 'static, R: ObjectReader> RunColors<S, P, R> {
    /// A function over `store` (the runs bucket, read and written: `latest.json` moves only
    /// forward), `parameters` (SSM, for `RULES_PARAM`) and
    /// `rules_bucket` (the bucket of `RULES_S3_URI`, see [`Config::rules_bucket`]).
    pub fn new(
        config: Config,
        store: S,
        parameters: Option<ParameterStore<P>>,
        rules_bucket: Option<R>,
    ) -> Self {
        Self {
            config,
            store,
            parameters,
            rules_bucket,
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
                match &self.rules_bucket {
                    Some(rules) => rules.get(key).await.map_err(|err| err.into()),
                    None => Err("no store for the rules bucket configured".into()),
                },
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
        let source = self.config.source.clone();
        clear_leftover_staging(&self.config.work_dir);
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
            match source {
                ColorsSource::Csv(path) => {
                    let mut csv = CsvSource::open(&path).map_err(RunError::from)?;
                    Ok(run::run(&mut csv, &settings)?)
                }
                ColorsSource::Oracle(oracle) => {
                    let mut colors = OracleColors::open(&oracle)?;
                    Ok(run::run(&mut colors, &settings)?)
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
                pointer: None,
                bucket: None,
            });
        }
        self.publish(staging.path(), manifest, request.force).await
    }

    /// Publishes the run folder `dir` and moves `latest.json` to it if it is the newer run.
    async fn publish(
        &self,
        dir: &std::path::Path,
        manifest: Manifest,
        force: bool,
    ) -> Result<RunResponse, InvocationError> {
        let layout = RunLayout::new(&self.config.prefix);
        let (latest, pointer) =
            publish::publish(&self.store, &layout, dir, &manifest, force).await?;
        tracing::info!(
            folder = %latest.folder,
            pointer_moved = pointer.moved,
            pointer = %pointer.reason,
            "run published"
        );
        // The stale-publication alarm in template.yaml counts these: latest.json is current
        // whether this run moved it or found a later run there.
        orabridge_shared::metrics::counter!("RunPublished").increment(1);
        if !pointer.moved {
            orabridge_shared::metrics::counter!("PointerKept").increment(1);
        }
        Ok(RunResponse {
            manifest,
            published: Some(latest),
            pointer: Some(pointer),
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
