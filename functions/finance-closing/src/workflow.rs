//! The `FinanceClosing` Restate workflow, keyed by closing date: check, submit, durable
//! sleep-and-poll, copy, record. Every side effect is a named `ctx.run` step, so a crash or a
//! Lambda timeout resumes after the last completed step; between polls no code runs at all.
//!
//! Determinism: the handler itself reads no clock and no environment. Times come from journaled
//! steps (`now`), so a replay computes the same elapsed time and takes the same branch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orabridge_shared::metrics::{counter, histogram};
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::closing::{ClosingDate, ClosingReport, JobState, Phase, TableCopy};
use crate::erp::{Erp, ErpError, JobStatus, ResultRows, SimulatedErp, Submission};
use crate::oracle_erp::OracleErp;
use crate::store::Store;

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

    async fn fetch_results(&self, table: &str, date: ClosingDate) -> Result<ResultRows, ErpError> {
        match self {
            ErpBackend::Oracle(erp) => erp.fetch_results(table, date).await,
            ErpBackend::Simulated(erp) => erp.fetch_results(table, date).await,
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

/// Transient ERP errors are retried by Restate; permanent ones end the workflow.
fn handler_error(err: ErpError) -> HandlerError {
    match err {
        ErpError::Transient(source) => HandlerError::from(source),
        ErpError::Permanent(message) => TerminalError::new(message).into(),
    }
}

fn rfc3339(time: Option<DateTime<Utc>>) -> Option<String> {
    time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
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
        let previous = ctx
            .run(|| async move { Ok(Json(store.run_of(date).await?.map(|run| run.report))) })
            .name("check")
            .await?
            .into_inner();
        if let Some(report) = previous
            .as_ref()
            .filter(|report| report.phase == Phase::Succeeded && !request.force)
        {
            ctx.set(PHASE, Json(Phase::Succeeded));
            return Ok(Json(report.clone()));
        }
        let attempt = previous
            .as_ref()
            .map_or(1, |report| attempt_of(&report.job) + 1);
        let job = date.job_name(attempt);
        ctx.set(JOB, job.clone());

        let started = ctx
            .run(|| async { Ok(Utc::now().timestamp()) })
            .name("started")
            .await?;
        let erp = &self.erp;
        let job_ref = job.as_str();
        ctx.run(|| async move {
            match erp.submit(job_ref, date).await {
                Ok(submission) => {
                    // Counted inside the step, so a replay of the journal counts nothing again.
                    counter!("ClosingStarted").increment(1);
                    orabridge_shared::metrics::flush_now();
                    Ok(submission == Submission::Submitted)
                }
                Err(err) => Err(handler_error(err)),
            }
        })
        .name("submit")
        .await?;
        ctx.set(PHASE, Json(Phase::Submitted));

        let status = loop {
            let cancelled = restate_sdk::select! {
                _ = ctx.sleep(self.timing.poll_interval) => false,
                _ = ctx.promise::<bool>(CANCEL) => true,
            };
            if cancelled {
                return self
                    .finish_stopped(&ctx, date, &job, started, Phase::Cancelled, None)
                    .await;
            }
            let polled = ctx
                .run(|| async move {
                    let status = erp.poll(job_ref).await.map_err(handler_error)?;
                    counter!("ClosingPolls").increment(1);
                    orabridge_shared::metrics::flush_now();
                    Ok(Json((status, Utc::now().timestamp())))
                })
                .name("poll")
                .await?
                .into_inner();
            let (status, polled_at) = polled;
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
                    .finish_stopped(&ctx, date, &job, started, Phase::Failed, Some(error))
                    .await;
            }
        };

        let mut report = ClosingReport {
            date,
            phase: Phase::Syncing,
            job: job.clone(),
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
            self.record(&ctx, &mut report, started, false).await?;
            ctx.set(PHASE, Json(Phase::Failed));
            return Err(
                TerminalError::new(format!("the closing of {date} failed: {error}")).into(),
            );
        }
        if status.state == JobState::Stopped {
            return self
                .finish_stopped(&ctx, date, &job, started, Phase::Cancelled, None)
                .await;
        }

        ctx.set(PHASE, Json(Phase::Syncing));
        let mut copied = 0u64;
        for table in &self.tables {
            let table_ref = table.as_str();
            // Fetch and replace in one step: the rows go straight from the ERP to PostgreSQL and
            // only the count is journaled. A retry deletes and re-inserts the date's rows.
            let rows = ctx
                .run(|| async move {
                    let rows = erp
                        .fetch_results(table_ref, date)
                        .await
                        .map_err(handler_error)?;
                    Ok(store.replace_results(table_ref, date, &rows).await?)
                })
                .name(format!("copy {table}"))
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
        self.record(&ctx, &mut report, started, false).await?;
        ctx.set(PHASE, Json(Phase::Succeeded));
        Ok(Json(report))
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
    async fn record(
        &self,
        ctx: &WorkflowContext<'_>,
        report: &mut ClosingReport,
        started: i64,
        timed_out: bool,
    ) -> HandlerResult<()> {
        let finished = ctx
            .run(|| async { Ok(Utc::now().timestamp()) })
            .name("finished")
            .await?;
        report.duration_seconds = u64::try_from(finished - started).unwrap_or(0);
        let store = &self.store;
        let snapshot = report.clone();
        ctx.run(|| async move {
            store.record(&snapshot).await?;
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
        .await?;
        Ok(())
    }

    async fn finish_stopped(
        &self,
        ctx: &WorkflowContext<'_>,
        date: ClosingDate,
        job: &str,
        started: i64,
        phase: Phase,
        error: Option<String>,
    ) -> HandlerResult<Json<ClosingReport>> {
        let erp = &self.erp;
        ctx.run(|| async move { erp.stop(job).await.map_err(handler_error) })
            .name("stop")
            .await?;
        let mut report = ClosingReport {
            date,
            phase,
            job: job.to_owned(),
            erp_status: "STOPPED".into(),
            started_at: rfc3339(DateTime::from_timestamp(started, 0)),
            ended_at: None,
            tables: Vec::new(),
            duration_seconds: 0,
            error: error.clone(),
        };
        // A stopped closing fails only when it ran past MAX_DURATION; otherwise it was cancelled.
        let timed_out = phase == Phase::Failed;
        self.record(ctx, &mut report, started, timed_out).await?;
        ctx.set(PHASE, Json(phase));
        match error {
            Some(error) => Err(TerminalError::new(error).into()),
            None => Ok(Json(report)),
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
