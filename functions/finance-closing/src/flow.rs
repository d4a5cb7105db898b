//! The closing of one date, step by step, over its ports: the ERP ([`Erp`]), the results store
//! ([`ClosingStore`]) and durable execution ([`DurableSteps`]). Check, submit, durable
//! sleep-and-poll, copy, record; every side effect is a named step, so a crash or a Lambda
//! timeout resumes after the last completed one, and between polls no code runs at all.
//!
//! Determinism: outside steps the code reads no clock and no environment. Times come from
//! steps (the injected [`Clock`]), so a replay computes the same elapsed time and takes the
//! same branch. `workflow` runs this on Restate; the unit tests on [`crate::durable::MemoryJournal`].

use std::time::Duration;

use chrono::DateTime;
use orabridge_shared::metrics::{counter, histogram};
use serde::{Deserialize, Serialize};

use crate::closing::{ClosingDate, ClosingReport, JobState, Phase, TableCopy};
use orabridge_shared::clock::{Clock, SystemClock};

use crate::durable::{DurableSteps, StepError, StepFailed, Wake};
use crate::erp::{Erp, ErpError, JobStatus};
use crate::store::{ClosingStore, CopyError, StoreError};

/// The state keys `status` reads.
pub const PHASE: &str = "phase";
/// The scheduler job of the attempt.
pub const JOB: &str = "job";
/// When the job was last polled.
pub const LAST_POLL: &str = "last_poll";
/// Rows copied so far.
pub const ROWS_COPIED: &str = "rows_copied";

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

/// How a closing that did not succeed ended.
enum Ended {
    /// The outcome is recorded already (the job failed, or ran too long): end with this error.
    Recorded(StepFailed),
    /// A step failed for good (a permanent error, or retries exhausted): the attempt is still
    /// to be recorded.
    StepFailed(String),
}

impl From<StepFailed> for Ended {
    fn from(err: StepFailed) -> Self {
        Ended::StepFailed(err.0)
    }
}

/// The closing workflow with its ports: generic, so the unit tests run it on the in-memory
/// ERP and store, and production on Oracle (or the simulator) and PostgreSQL.
pub struct FinanceClosing<E, S> {
    erp: E,
    store: S,
    tables: Vec<String>,
    timing: Timing,
    clock: Box<dyn Clock>,
}

impl<E: Erp, S: ClosingStore> FinanceClosing<E, S> {
    /// A workflow over `erp` and `store`, copying `tables`, on the system clock.
    pub fn new(erp: E, store: S, tables: Vec<String>, timing: Timing) -> Self {
        Self {
            erp,
            store,
            tables,
            timing,
            clock: Box::new(SystemClock),
        }
    }

    /// The same workflow reading time from `clock` (the unit tests' manual clock).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The pacing and retry settings.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }
}

/// Transient ERP errors are retried under the step's policy; permanent ones end the workflow.
fn erp_error(err: ErpError) -> StepError {
    match err {
        ErpError::Transient(source) => StepError::Transient(source),
        ErpError::Permanent(message) => StepError::Permanent(message),
        ErpError::Abandoned => StepError::Transient(Box::new(ErpError::Abandoned)),
    }
}

/// PostgreSQL errors the same way: a rejected login or an unknown table ends the workflow.
fn store_error(err: StoreError) -> StepError {
    if err.is_permanent() {
        StepError::Permanent(orabridge_shared::errors::chain(&err).to_string())
    } else {
        StepError::Transient(Box::new(err))
    }
}

/// A failed copy as a step error: permanent on either side ends the workflow.
fn copy_error(err: CopyError) -> StepError {
    match err {
        CopyError::Erp(err) => erp_error(err),
        CopyError::Store(err) => store_error(err),
    }
}

fn rfc3339(time: Option<DateTime<chrono::Utc>>) -> Option<String> {
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

/// Counts one and flushes, inside a step (so a replay counts nothing again). Called with the
/// `counter!` at the call site, where the template's alarm check finds the metric's name.
fn count(counter: orabridge_shared::metrics::Counter) {
    counter.increment(1);
    orabridge_shared::metrics::flush_now();
}

impl<E: Erp, S: ClosingStore> FinanceClosing<E, S> {
    /// Runs the closing of the workflow key's date (`2026-11-20`, or `2026-11-20+r2` for a
    /// forced re-run of a completed workflow) once, or returns its earlier success.
    pub async fn close_date(
        &self,
        steps: &impl DurableSteps,
        key: &str,
        request: RunRequest,
    ) -> Result<ClosingReport, StepFailed> {
        let date = ClosingDate::parse(key.split('+').next().unwrap_or_default())
            .map_err(|err| StepFailed(err.to_string()))?;
        if let Some(wanted) = request.date.as_ref().filter(|w| **w != date.to_string()) {
            return Err(StepFailed(format!(
                "the request's date {wanted} differs from the workflow key {key}"
            )));
        }

        steps.set_state(PHASE, Phase::Checking);
        let checked = steps
            .run("check", || async move {
                let run = self.store.run_of(date).await.map_err(store_error)?;
                Ok(run.map(|run| run.report))
            })
            .await;
        let previous = match checked {
            Ok(previous) => previous,
            // PostgreSQL itself is the problem: nothing to record the attempt in.
            Err(err) => {
                steps
                    .run("count failure", || async {
                        count(counter!("ClosingFailed"));
                        Ok(())
                    })
                    .await?;
                steps.set_state(PHASE, Phase::Failed);
                return Err(err);
            }
        };
        if let Some(report) = previous
            .as_ref()
            .filter(|report| report.phase == Phase::Succeeded && !request.force)
        {
            steps.set_state(PHASE, Phase::Succeeded);
            return Ok(report.clone());
        }
        // Every recorded attempt, failed ones included, used its job name: a re-run takes the
        // next one, so it never meets the old job.
        let attempt = previous
            .as_ref()
            .map_or(1, |report| attempt_of(&report.job) + 1);
        let job = date.job_name(attempt);
        steps.set_state(JOB, job.clone());

        let started = self.now(steps, "started").await?;
        match self.close(steps, date, &job, started).await {
            Ok(report) => Ok(report),
            Err(Ended::Recorded(err)) => Err(err),
            Err(Ended::StepFailed(error)) => {
                let mut report =
                    ended_early(date, &job, started, Phase::Failed, "UNKNOWN", Some(&error));
                // Recorded so a re-run takes a new job name; if PostgreSQL refuses even this,
                // the error below still reaches the caller.
                if let Err(record_err) = self.record(steps, &mut report, started, false).await {
                    tracing::warn!(error = %record_err, "the failed attempt could not be recorded");
                }
                steps.set_state(PHASE, Phase::Failed);
                Err(StepFailed(format!("the closing of {date} failed: {error}")))
            }
        }
    }

    /// The clock's reading, journaled as the step `name`.
    async fn now(&self, steps: &impl DurableSteps, name: &str) -> Result<i64, StepFailed> {
        steps
            .run(name, || async { Ok(self.clock.wall().timestamp()) })
            .await
    }

    /// Submits the job and polls it until it ends: its final status, or how the closing ended
    /// early (cancelled, or stopped after `MAX_DURATION`).
    async fn submit_and_wait(
        &self,
        steps: &impl DurableSteps,
        date: ClosingDate,
        job: &str,
        started: i64,
    ) -> Result<Result<JobStatus, ClosingReport>, Ended> {
        steps
            .run("submit", || async move {
                let submission = self.erp.submit(job, date).await.map_err(erp_error)?;
                count(counter!("ClosingStarted"));
                Ok(submission)
            })
            .await?;
        steps.set_state(PHASE, Phase::Submitted);
        loop {
            if steps.sleep_or_cancel(self.timing.poll_interval).await? == Wake::Cancelled {
                return self
                    .finish_stopped(steps, date, job, started, Phase::Cancelled, None)
                    .await
                    .map(Err);
            }
            let (status, polled_at): (JobStatus, i64) = steps
                .run("poll", || async move {
                    let status = self.erp.poll(job).await.map_err(erp_error)?;
                    count(counter!("ClosingPolls"));
                    Ok((status, self.clock.wall().timestamp()))
                })
                .await?;
            steps.set_state(
                LAST_POLL,
                rfc3339(DateTime::from_timestamp(polled_at, 0)).unwrap_or_default(),
            );
            if status.state.is_final() {
                return Ok(Ok(status));
            }
            steps.set_state(PHASE, Phase::Running);
            if polled_at - started > self.timing.max_duration.as_secs() as i64 {
                let error = format!(
                    "the closing job ran longer than MAX_DURATION ({} s) and was stopped",
                    self.timing.max_duration.as_secs()
                );
                return self
                    .finish_stopped(steps, date, job, started, Phase::Failed, Some(error))
                    .await
                    .map(Err);
            }
        }
    }

    /// Submit, poll until the job ends, copy, record: the closing after its job name is known.
    async fn close(
        &self,
        steps: &impl DurableSteps,
        date: ClosingDate,
        job: &str,
        started: i64,
    ) -> Result<ClosingReport, Ended> {
        let status = match self.submit_and_wait(steps, date, job, started).await? {
            Ok(status) => status,
            Err(ended_early) => return Ok(ended_early),
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
            self.record(steps, &mut report, started, false).await?;
            steps.set_state(PHASE, Phase::Failed);
            return Err(Ended::Recorded(StepFailed(format!(
                "the closing of {date} failed: {error}"
            ))));
        }
        if status.state == JobState::Stopped {
            return self
                .finish_stopped(steps, date, job, started, Phase::Cancelled, None)
                .await;
        }

        steps.set_state(PHASE, Phase::Syncing);
        let mut copied = 0u64;
        for table in self.tables.iter() {
            // Fetch and replace in one step: the rows go straight from the ERP to PostgreSQL in
            // batches and only the count is journaled. A retry deletes and re-inserts the date's
            // rows in a new transaction.
            let rows: u64 = steps
                .run(&format!("copy {table}"), || async move {
                    self.store
                        .copy_from(&self.erp, table, date)
                        .await
                        .map_err(copy_error)
                })
                .await?;
            copied += rows;
            steps.set_state(ROWS_COPIED, copied);
            report.tables.push(TableCopy {
                table: table.clone(),
                rows,
            });
        }
        report.phase = Phase::Succeeded;
        report.erp_status = "SUCCEEDED".into();
        self.record(steps, &mut report, started, false).await?;
        steps.set_state(PHASE, Phase::Succeeded);
        Ok(report)
    }

    async fn record(
        &self,
        steps: &impl DurableSteps,
        report: &mut ClosingReport,
        started: i64,
        timed_out: bool,
    ) -> Result<(), StepFailed> {
        let finished = self.now(steps, "finished").await?;
        report.duration_seconds = u64::try_from(finished - started).unwrap_or(0);
        let snapshot = &*report;
        steps
            .run("record", || async move {
                self.store.record(snapshot).await.map_err(store_error)?;
                // Inside the step: recorded once, not again when the journal is replayed.
                outcome_counter(snapshot.phase).increment(1);
                if timed_out {
                    counter!("ClosingTimedOut").increment(1);
                }
                histogram!("ClosingDuration").record(snapshot.duration_seconds as f64);
                orabridge_shared::metrics::flush_now();
                Ok(())
            })
            .await
    }

    async fn finish_stopped(
        &self,
        steps: &impl DurableSteps,
        date: ClosingDate,
        job: &str,
        started: i64,
        phase: Phase,
        error: Option<String>,
    ) -> Result<ClosingReport, Ended> {
        steps
            .run("stop", || async move {
                self.erp.stop(job).await.map_err(erp_error)
            })
            .await?;
        let mut report = ended_early(date, job, started, phase, "STOPPED", error.as_deref());
        // A stopped closing fails only when it ran past MAX_DURATION; otherwise it was cancelled.
        let timed_out = phase == Phase::Failed;
        self.record(steps, &mut report, started, timed_out).await?;
        steps.set_state(PHASE, phase);
        match error {
            Some(error) => Err(Ended::Recorded(StepFailed(error))),
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
