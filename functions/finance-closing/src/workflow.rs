//! The `FinanceClosing` Restate workflow, keyed by closing date: check, submit, durable
//! sleep-and-poll, copy, record. Every side effect is a named `ctx.run` step, so a crash or a
//! Lambda timeout resumes after the last completed step; between polls no code runs at all.
//!
//! Determinism: the handler itself reads no clock and no environment. Times come from journaled
//! steps (`now`), so a replay computes the same elapsed time and takes the same branch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orabridge_shared::metrics::{counter, histogram};
use restate_sdk::context::RunRetryPolicy;
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::closing::{ClosingDate, ClosingReport, JobState, Phase, TableCopy};
use crate::erp::{Erp, ErpError, JobStatus, ResultSender, SimulatedErp, Submission};
use crate::oracle_erp::OracleErp;
use crate::store::{CopyError, Store, StoreError};

/// The ERP behind the workflow: Oracle in production, the simulator locally and in tests.
#[derive(Clone)]
pub enum ErpBackend {
    /// Genius on Oracle.
    Oracle(OracleErp),
    /// The simulated ERP (PostgreSQL-backed).
    Simulated(SimulatedErp),
}

impl Erp for ErpBackend {
    async fn submit(&self, job: &str, date: ClosingDate) -> Result<Submission, ErpError> {
        match self {
            ErpBackend::Oracle(erp) => erp.submit(job, date).await,
            ErpBackend::Simulated(erp) => erp.submit(job, date).await,
        }
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        match self {
            ErpBackend::Oracle(erp) => erp.poll(job).await,
            ErpBackend::Simulated(erp) => erp.poll(job).await,
        }
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        match self {
            ErpBackend::Oracle(erp) => erp.stop(job).await,
            ErpBackend::Simulated(erp) => erp.stop(job).await,
        }
    }

    async fn fetch_results(
        &self,
        table: &str,
        date: ClosingDate,
        rows: ResultSender,
    ) -> Result<(), ErpError> {
        match self {
            ErpBackend::Oracle(erp) => erp.fetch_results(table, date, rows).await,
            ErpBackend::Simulated(erp) => erp.fetch_results(table, date, rows).await,
        }
    }
}

/// The input of `run`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The date; must equal the workflow key's date when given.
    #[serde(default)]
    pub date: Option<String>,
    /// Close again even if the date already succeeded (its rows are replaced).
    #[serde(default)]
    pub force: bool,
}

/// What `status` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingStatus {
    /// The phase.
    pub phase: Option<Phase>,
    /// The scheduler job.
    pub job: Option<String>,
    /// When the job was last polled (RFC 3339).
    pub last_poll: Option<String>,
    /// Rows copied so far.
    pub rows_copied: u64,
}

/// How the workflow paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Durable sleep between polls (`POLL_INTERVAL`, default 60 s).
    pub poll_interval: Duration,
    /// Longest a job may run before it is stopped and the closing fails (`MAX_DURATION`, 8 h).
    pub max_duration: Duration,
    /// How each step retries a transient failure.
    pub retry: RetryPolicy,
}

/// The bounded retry of a step's transient failures (a lost connection, ORA-03113, a timeout,
/// an exhausted pool): exponential backoff from `initial_delay`, doubling up to `max_delay`,
/// given up after `max_duration`. The step then fails for good, and the closing ends as failed
/// with the last error, recorded and counted, instead of retrying forever. Permanent errors
/// skip the retries. Between attempts Restate re-invokes the function; none runs meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry (`RETRY_INITIAL_DELAY`, default 1 s).
    pub initial_delay: Duration,
    /// Longest delay between retries (`RETRY_MAX_DELAY`, default 5 min).
    pub max_delay: Duration,
    /// How long a step keeps retrying (`RETRY_MAX_DURATION`, default 1 h: longer than an
    /// Oracle or RDS failover, shorter than a closing day).
    pub max_duration: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            max_duration: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    fn for_steps(&self) -> RunRetryPolicy {
        RunRetryPolicy::new()
            .initial_delay(self.initial_delay)
            .exponentiation_factor(2.0)
            .max_delay(self.max_delay)
            .max_duration(self.max_duration)
    }
}

/// How a closing that did not succeed ended.
enum Ended {
    /// The outcome is recorded already (the job failed, or ran too long): end with this error.
    Recorded(TerminalError),
    /// A step failed for good (a permanent error, or retries exhausted): the attempt is still
    /// to be recorded.
    StepFailed(String),
}

impl From<TerminalError> for Ended {
    fn from(err: TerminalError) -> Self {
        Ended::StepFailed(err.message().to_owned())
    }
}

/// The workflow with its dependencies.
pub struct FinanceClosing {
    erp: ErpBackend,
    store: Store,
    tables: Vec<String>,
    timing: Timing,
}

impl FinanceClosing {
    /// A workflow over `erp` and `store`, copying `tables`.
    pub fn new(erp: ErpBackend, store: Store, tables: Vec<String>, timing: Timing) -> Self {
        Self {
            erp,
            store,
            tables,
            timing,
        }
    }
}

/// Transient ERP errors are retried under the step's policy; permanent ones end the workflow.
fn handler_error(err: ErpError) -> HandlerError {
    match err {
        ErpError::Transient(source) => HandlerError::from(source),
        ErpError::Permanent(message) => TerminalError::new(message).into(),
        ErpError::Abandoned => HandlerError::from(ErpError::Abandoned),
    }
}

/// PostgreSQL errors the same way: a rejected login or an unknown table ends the workflow.
fn store_error(err: StoreError) -> HandlerError {
    if err.is_permanent() {
        TerminalError::new(orabridge_shared::errors::chain(&err).to_string()).into()
    } else {
        HandlerError::from(err)
    }
}

/// A failed copy as a step error: permanent on either side ends the workflow.
fn copy_error(err: CopyError) -> HandlerError {
    match err {
        CopyError::Erp(err) => handler_error(err),
        CopyError::Store(err) => store_error(err),
    }
}

fn rfc3339(time: Option<DateTime<Utc>>) -> Option<String> {
    time.map(orabridge_shared::encoding::rfc3339_secs)
}

/// The report of a closing that ended before its copy (stopped, cancelled, or failed in a
/// step): nothing copied, no end time; the duration is filled in when it is recorded.
fn ended_early(
    date: ClosingDate,
    job: &str,
    started: i64,
    phase: Phase,
    erp_status: &str,
    error: Option<&str>,
) -> ClosingReport {
    ClosingReport {
        date,
        phase,
        job: job.to_owned(),
        erp_status: erp_status.to_owned(),
        started_at: rfc3339(DateTime::from_timestamp(started, 0)),
        ended_at: None,
        tables: Vec::new(),
        duration_seconds: 0,
        error: error.map(str::to_owned),
    }
}

/// The attempt number in a job name (`FC_20261120_A2` → 2).
fn attempt_of(job: &str) -> u32 {
    job.rsplit_once("_A")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

const PHASE: &str = "phase";
const JOB: &str = "job";
const LAST_POLL: &str = "last_poll";
const ROWS_COPIED: &str = "rows_copied";
const CANCEL: &str = "cancel";

#[restate_sdk::workflow(name = "FinanceClosing")]
impl FinanceClosing {
    /// Runs the closing of the key's date once; a second start attaches to this one.
    #[handler]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        request: Json<RunRequest>,
    ) -> HandlerResult<Json<ClosingReport>> {
        let request = request.into_inner();
        // The key is the date, optionally with a re-run suffix (`2026-11-20+r2`) for a forced
        // close of a date whose workflow already completed.
        let key = ctx.key().to_owned();
        let date = ClosingDate::parse(key.split('+').next().unwrap_or_default())
            .map_err(|err| TerminalError::new(err.to_string()))?;
        if let Some(wanted) = request.date.as_ref().filter(|w| **w != date.to_string()) {
            return Err(TerminalError::new(format!(
                "the request's date {wanted} differs from the workflow key {key}"
            ))
            .into());
        }

        ctx.set(PHASE, Json(Phase::Checking));
        let store = &self.store;
        let retry = self.timing.retry.for_steps();
        let checked = ctx
            .run(|| async move {
                let run = store.run_of(date).await.map_err(store_error)?;
                Ok(Json(run.map(|run| run.report)))
            })
            .name("check")
            .retry_policy(retry.clone())
            .await;
        let previous = match checked {
            Ok(previous) => previous.into_inner(),
            // PostgreSQL itself is the problem: nothing to record the attempt in.
            Err(err) => {
                ctx.run(|| async {
                    counter!("ClosingFailed").increment(1);
                    orabridge_shared::metrics::flush_now();
                    Ok(())
                })
                .name("count failure")
                .await?;
                ctx.set(PHASE, Json(Phase::Failed));
                return Err(err.into());
            }
        };
        if let Some(report) = previous
            .as_ref()
            .filter(|report| report.phase == Phase::Succeeded && !request.force)
        {
            ctx.set(PHASE, Json(Phase::Succeeded));
            return Ok(Json(report.clone()));
        }
        // Every recorded attempt, failed ones included, used its job name: a re-run takes the
        // next one, so it never meets the old job.
        let attempt = previous
            .as_ref()
            .map_or(1, |report| attempt_of(&report.job) + 1);
        let job = date.job_name(attempt);
        ctx.set(JOB, job.clone());

        let started = ctx
            .run(|| async { Ok(Utc::now().timestamp()) })
            .name("started")
            .await?;
        match self.close(&ctx, date, &job, started).await {
            Ok(report) => Ok(Json(report)),
            Err(Ended::Recorded(err)) => Err(err.into()),
            Err(Ended::StepFailed(error)) => {
                let mut report =
                    ended_early(date, &job, started, Phase::Failed, "UNKNOWN", Some(&error));
                // Recorded so a re-run takes a new job name; if PostgreSQL refuses even this,
                // the error below still reaches the caller.
                if let Err(record_err) = self.record(&ctx, &mut report, started, false).await {
                    tracing::warn!(error = %record_err, "the failed attempt could not be recorded");
                }
                ctx.set(PHASE, Json(Phase::Failed));
                Err(TerminalError::new(format!("the closing of {date} failed: {error}")).into())
            }
        }
    }

    /// The current phase, job, last poll and rows copied (readable while `run` sleeps).
    #[handler]
    async fn status(&self, ctx: SharedWorkflowContext<'_>) -> HandlerResult<Json<ClosingStatus>> {
        Ok(Json(ClosingStatus {
            phase: ctx.get::<Json<Phase>>(PHASE).await?.map(Json::into_inner),
            job: ctx.get::<String>(JOB).await?,
            last_poll: ctx.get::<String>(LAST_POLL).await?,
            rows_copied: ctx.get::<u64>(ROWS_COPIED).await?.unwrap_or(0),
        }))
    }

    /// Asks the running workflow to stop the job and end as `cancelled`.
    #[handler]
    async fn cancel(&self, ctx: SharedWorkflowContext<'_>) -> HandlerResult<()> {
        ctx.resolve_promise::<bool>(CANCEL, true);
        Ok(())
    }
}

impl FinanceClosing {
    /// Submit, poll until the job ends, copy, record: the closing after its job name is known.
    async fn close(
        &self,
        ctx: &WorkflowContext<'_>,
        date: ClosingDate,
        job: &str,
        started: i64,
    ) -> Result<ClosingReport, Ended> {
        let (erp, store) = (&self.erp, &self.store);
        let retry = self.timing.retry.for_steps();
        ctx.run(|| async move {
            let submission = erp.submit(job, date).await.map_err(handler_error)?;
            // Counted inside the step, so a replay of the journal counts nothing again.
            counter!("ClosingStarted").increment(1);
            orabridge_shared::metrics::flush_now();
            Ok(Json(submission))
        })
        .name("submit")
        .retry_policy(retry.clone())
        .await?;
        ctx.set(PHASE, Json(Phase::Submitted));

        let status = loop {
            let cancelled = restate_sdk::select! {
                _ = ctx.sleep(self.timing.poll_interval) => false,
                _ = ctx.promise::<bool>(CANCEL) => true,
            };
            if cancelled {
                return self
                    .finish_stopped(ctx, date, job, started, Phase::Cancelled, None)
                    .await;
            }
            let (status, polled_at) = ctx
                .run(|| async move {
                    let status = erp.poll(job).await.map_err(handler_error)?;
                    counter!("ClosingPolls").increment(1);
                    orabridge_shared::metrics::flush_now();
                    Ok(Json((status, Utc::now().timestamp())))
                })
                .name("poll")
                .retry_policy(retry.clone())
                .await?
                .into_inner();
            ctx.set(
                LAST_POLL,
                rfc3339(DateTime::from_timestamp(polled_at, 0)).unwrap_or_default(),
            );
            if status.state.is_final() {
                break status;
            }
            ctx.set(PHASE, Json(Phase::Running));
            if polled_at - started > self.timing.max_duration.as_secs() as i64 {
                let error = format!(
                    "the closing job ran longer than MAX_DURATION ({} s) and was stopped",
                    self.timing.max_duration.as_secs()
                );
                return self
                    .finish_stopped(ctx, date, job, started, Phase::Failed, Some(error))
                    .await;
            }
        };

        let mut report = ClosingReport {
            date,
            phase: Phase::Syncing,
            job: job.to_owned(),
            erp_status: format!("{:?}", status.state),
            started_at: rfc3339(status.started_at),
            ended_at: rfc3339(status.ended_at),
            tables: Vec::new(),
            duration_seconds: 0,
            error: None,
        };
        if let JobState::Failed { error } = &status.state {
            report.phase = Phase::Failed;
            report.erp_status = "FAILED".into();
            report.error = Some(error.clone());
            self.record(ctx, &mut report, started, false).await?;
            ctx.set(PHASE, Json(Phase::Failed));
            return Err(Ended::Recorded(TerminalError::new(format!(
                "the closing of {date} failed: {error}"
            ))));
        }
        if status.state == JobState::Stopped {
            return self
                .finish_stopped(ctx, date, job, started, Phase::Cancelled, None)
                .await;
        }

        ctx.set(PHASE, Json(Phase::Syncing));
        let mut copied = 0u64;
        for table in &self.tables {
            let table_ref = table.as_str();
            // Fetch and replace in one step: the rows go straight from the ERP to PostgreSQL in
            // batches and only the count is journaled. A retry deletes and re-inserts the date's
            // rows in a new transaction.
            let rows = ctx
                .run(|| async move {
                    store
                        .copy_from(erp, table_ref, date)
                        .await
                        .map_err(copy_error)
                })
                .name(format!("copy {table}"))
                .retry_policy(retry.clone())
                .await?;
            copied += rows;
            ctx.set(ROWS_COPIED, copied);
            report.tables.push(TableCopy {
                table: table.clone(),
                rows,
            });
        }
        report.phase = Phase::Succeeded;
        report.erp_status = "SUCCEEDED".into();
        self.record(ctx, &mut report, started, false).await?;
        ctx.set(PHASE, Json(Phase::Succeeded));
        Ok(report)
    }

    async fn record(
        &self,
        ctx: &WorkflowContext<'_>,
        report: &mut ClosingReport,
        started: i64,
        timed_out: bool,
    ) -> Result<(), TerminalError> {
        let finished = ctx
            .run(|| async { Ok(Utc::now().timestamp()) })
            .name("finished")
            .await?;
        report.duration_seconds = u64::try_from(finished - started).unwrap_or(0);
        let store = &self.store;
        let snapshot = report.clone();
        ctx.run(|| async move {
            store.record(&snapshot).await.map_err(store_error)?;
            // Inside the step: recorded once, not again when Restate replays the journal.
            outcome_counter(snapshot.phase).increment(1);
            if timed_out {
                counter!("ClosingTimedOut").increment(1);
            }
            histogram!("ClosingDuration").record(snapshot.duration_seconds as f64);
            orabridge_shared::metrics::flush_now();
            Ok(())
        })
        .name("record")
        .retry_policy(self.timing.retry.for_steps())
        .await
    }

    async fn finish_stopped(
        &self,
        ctx: &WorkflowContext<'_>,
        date: ClosingDate,
        job: &str,
        started: i64,
        phase: Phase,
        error: Option<String>,
    ) -> Result<ClosingReport, Ended> {
        let erp = &self.erp;
        ctx.run(|| async move { erp.stop(job).await.map_err(handler_error) })
            .name("stop")
            .retry_policy(self.timing.retry.for_steps())
            .await?;
        let mut report = ended_early(date, job, started, phase, "STOPPED", error.as_deref());
        // A stopped closing fails only when it ran past MAX_DURATION; otherwise it was cancelled.
        let timed_out = phase == Phase::Failed;
        self.record(ctx, &mut report, started, timed_out).await?;
        ctx.set(PHASE, Json(phase));
        match error {
            Some(error) => Err(Ended::Recorded(TerminalError::new(error))),
            None => Ok(report),
        }
    }
}

/// The EMF counter of closings ending in `phase`.
fn outcome_counter(phase: Phase) -> orabridge_shared::metrics::Counter {
    match phase {
        Phase::Succeeded => counter!("ClosingSucceeded"),
        Phase::Cancelled => counter!("ClosingCancelled"),
        _ => counter!("ClosingFailed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_read_back_from_job_names() {
        assert_eq!(attempt_of("FC_20261120_A1"), 1);
        assert_eq!(attempt_of("FC_20261120_A12"), 12);
        assert_eq!(attempt_of("garbage"), 0);
    }
}
