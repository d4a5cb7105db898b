//! The Lambda adapter: the trigger events (an EventBridge schedule or a direct
//! `{"asOf": ..., "dryRun": true}`), and one run from rules to published folder. [`build`]
//! composes the function from its configuration and [`Ports`]; `main` and the tests hand it
//! events through [`Function::handle`]. The blocking part (the source and the ranking) runs on
//! `spawn_blocking`.

use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use orabridge_shared::clock::Clock;
use orabridge_shared::lambda::{Diagnostic, diagnostic};
use orabridge_shared::object_store::ConditionalStore;
use orabridge_shared::oracle::OracleError;
use orabridge_shared::start::Function;
use serde::{Deserialize, Serialize};

use crate::config::RunColorsConfig;
use crate::emit::Manifest;
use crate::ports::{ColorsError, OpenColors, RulesSource};
use crate::publish::{self, Latest, PointerUpdate, PublishError, RunLayout};
use crate::rules::{Rules, RulesError};
use crate::run::{self, RunError, RunSettings};
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

impl From<ColorsError> for InvocationError {
    fn from(error: ColorsError) -> Self {
        match error {
            ColorsError::Source(error) => InvocationError::Run(RunError::from(error)),
            ColorsError::Oracle(error) => InvocationError::Oracle(error),
        }
    }
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

/// What the function is built over.
pub struct Ports<S, R, K, C> {
    /// The runs bucket, read and written: `latest.json` moves only forward.
    pub runs: S,
    /// The rules document, read at the start of every run.
    pub rules: R,
    /// The colors, opened for every run.
    pub colors: K,
    /// Wall-clock time: a run without an `asOf` or a scheduled time runs as of now.
    pub clock: C,
}

/// One run-colors function: its configuration and ports.
pub struct RunColors<S, R, K, C> {
    config: RunColorsConfig,
    store: S,
    rules: R,
    colors: Arc<K>,
    clock: C,
}

/// Composes the function: what `main` serves and what the tests invoke. Fails when the colors
/// cannot be read in this process at all (the Oracle source without its layer), so the init
/// fails naming the layer rather than every scheduled run.
pub fn build<S, R, K, C>(
    config: RunColorsConfig,
    ports: Ports<S, R, K, C>,
) -> Result<RunColors<S, R, K, C>, InvocationError>
where
    S: ConditionalStore,
    R: RulesSource,
    K: OpenColors,
    C: Clock,
{
    ports.colors.check()?;
    Ok(RunColors {
        config,
        store: ports.runs,
        rules: ports.rules,
        colors: Arc::new(ports.colors),
        clock: ports.clock,
    })
}

impl<S: ConditionalStore, R: RulesSource, K: OpenColors, C: Clock> RunColors<S, R, K, C> {
    async fn load_rules(&self) -> Result<(Rules, Vec<u8>), InvocationError> {
        let document =
            self.rules
                .read()
                .await
                .map_err(|source| InvocationError::RulesUnavailable {
                    location: self.rules.location(),
                    source,
                })?;
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
        let colors = Arc::clone(&self.colors);
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
            let mut records = colors.open()?;
            Ok(run::run(&mut records, &settings)?)
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
}

impl<S, R, K, C> Function for RunColors<S, R, K, C>
where
    S: ConditionalStore + 'static,
    R: RulesSource + 'static,
    K: OpenColors,
    C: Clock + 'static,
{
    type Event = serde_json::Value;
    type Output = RunResponse;
    type Error = InvocationError;

    /// Runs once, as of the event's time (or now, by the function's clock).
    async fn handle(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> Result<RunResponse, InvocationError> {
        let now = self.clock.wall().timestamp_micros();
        self.run(parse_trigger(&event.payload, now)?).await
    }
}
