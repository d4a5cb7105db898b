//! The closing of one date, step by step, over its ports: the ERP ([`Erp`]), the results store
//! ([`ClosingStore`]) and durable execution ([`DurableSteps`]). Check, settle the date's earlier
//! jobs, submit, durable sleep-and-poll, copy, record; every side effect is a named step, so a
//! crash or a Lambda timeout resumes after the last completed one, and between polls no code
//! runs at all.
//!
//! **One job per date.** Before a new attempt's job is submitted, every job of the date the
//! scheduler still holds is listed and settled: a pending one is disabled, a running one is
//! waited for, and one that succeeded is adopted (its rows copied, the closing recorded as
//! succeeded) unless the run is forced. The submit itself enables nothing while another job
//! of the date can run. A cancel or `MAX_DURATION` disables the job and stops it, then waits
//! until Oracle says how it ended: a job that had already succeeded is copied and recorded as
//! succeeded. A step that fails for good after the submit leaves the job as Oracle has it; the
//! next run settles it first.
//!
//! Determinism: outside steps the code reads no clock and no environment. Times come from
//! steps (the injected [`Clock`]), so a replay computes the same elapsed time and takes the
//! same branch. `workflow` runs this on Restate; the unit tests on [`crate::durable::MemoryJournal`].

use std::time::Duration;

use chrono::DateTime;
use orabridge_shared::metrics::{counter, histogram};
use serde::{Deserialize, Serialize};

use std::sync::{Mutex, MutexGuard};

use crate::closing::{ClosingDate, ClosingReport, JobSeen, JobState, Phase, TableCopy};
use orabridge_shared::clock::{Clock, SystemClock};

use crate::durable::{DurableSteps, StepError, StepFailed, Wake};
use crate::erp::{Erp, ErpError, JobStatus, Submission};
use crate::store::{ClosingStore, CopyError, StoreError};

/// The state keys `status` reads.
pub const PHASE: &str = "phase";
/// The scheduler job of the attempt.
pub const JOB: &str = "job";
/// When the job was last polled.
pub const LAST_POLL: &str = "last_poll";
/// Rows copied so far.
pub const ROWS_COPIED: &str = "rows_copied";
/// Every job of the date with its state when last seen.
pub const JOBS: &str = "jobs";

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
    /// Every job of the date, earlier attempts' included, with its state when last seen.
    #[serde(default)]
    pub jobs: Vec<JobSeen>,
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

/// How often a closing lists and settles the date's jobs before it gives up: each round
/// settles a job or submits one, so more rounds mean someone else keeps starting jobs.
const SETTLE_ROUNDS: usize = 8;

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

/// What following a job came to.
enum Followed {
    /// The job can no longer run: its last status.
    Ended(JobStatus),
    /// The closing ended while following it (cancelled, or stopped after `MAX_DURATION`), and
    /// is recorded.
    Closed(ClosingReport),
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

/// A job state as `erp_status` records it: Oracle's `STATE` word.
fn state_word(state: &JobState) -> &'static str {
    match state {
        JobState::Scheduled => "SCHEDULED",
        JobState::Running => "RUNNING",
        JobState::Succeeded => "SUCCEEDED",
        JobState::Failed { .. } => "FAILED",
        JobState::Stopped => "STOPPED",
        JobState::Disabled => "DISABLED",
    }
}

/// Counts one and flushes, inside a step (so a replay counts nothing again). Called with the
/// `counter!` at the call site, where the template's alarm check finds the metric's name.
fn count(counter: orabridge_shared::metrics::Counter) {
    counter.increment(1);
    orabridge_shared::metrics::flush_now();
}

impl<E: Erp, S: ClosingStore> FinanceClosing<E, S> {
    /// Runs the closing of the workflow key's date (`2026-11-20`, or `2026-11-20+r2` for a
    /// re-run of a completed workflow) once, or returns its earlier success.
    pub async fn close_date<D: DurableSteps>(
        &self,
        steps: &D,
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
        let run = Run {
            flow: self,
            steps,
            date,
            force: request.force,
            // A recorded attempt's job may have been dropped since: its number stays used.
            recorded_attempt: previous
                .as_ref()
                .and_then(|report| date.attempt_of(&report.job))
                .unwrap_or(0),
            started: self.now(steps, "started").await?,
            seen: Mutex::default(),
        };
        match run.close().await {
            Ok(report) => Ok(report),
            Err(Ended::Recorded(err)) => Err(err),
            Err(Ended::StepFailed(error)) => {
                let job = run.following().unwrap_or_default();
                if !job.is_empty() {
                    tracing::warn!(%job, "the attempt failed with its job left as Oracle has it; the next run of the date settles it first");
                }
                let mut report = run.report(&job, Phase::Failed, "UNKNOWN", Some(&error));
                // Recorded so the operator sees it; if PostgreSQL refuses even this, the error
                // below still reaches the caller, and the next run counts jobs from the ERP.
                if let Err(record_err) = run.record(&mut report, false).await {
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
}

/// What one closing run knows besides its journal: the jobs it saw and the one it follows.
#[derive(Default)]
struct Seen {
    jobs: Vec<JobSeen>,
    following: Option<String>,
}

/// One run of the closing of a date, after its check.
struct Run<'a, E, S, D> {
    flow: &'a FinanceClosing<E, S>,
    steps: &'a D,
    date: ClosingDate,
    force: bool,
    recorded_attempt: u32,
    started: i64,
    seen: Mutex<Seen>,
}

impl<E: Erp, S: ClosingStore, D: DurableSteps> Run<'_, E, S, D> {
    fn seen(&self) -> MutexGuard<'_, Seen> {
        // Never held across an await; only a panic while holding it could poison it.
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The job this run follows now, if any.
    fn following(&self) -> Option<String> {
        self.seen().following.clone()
    }

    /// Notes `job`'s state and shows every job's to `status`.
    fn saw(&self, job: &str, state: &JobState) {
        let jobs = {
            let mut seen = self.seen();
            match seen.jobs.iter_mut().find(|seen| seen.job == job) {
                Some(seen) => seen.state = state.clone(),
                None => seen.jobs.push(JobSeen {
                    job: job.to_owned(),
                    state: state.clone(),
                }),
            }
            let date = self.date;
            seen.jobs.sort_by_key(|seen| date.attempt_of(&seen.job));
            seen.jobs.clone()
        };
        self.steps.set_state(JOBS, jobs);
    }

    fn follow_job(&self, job: &str) {
        self.seen().following = Some(job.to_owned());
        self.steps.set_state(JOB, job.to_owned());
    }

    /// Settles the date's earlier jobs, then submits a new attempt and follows it to the end
    /// (or adopts an earlier job that succeeded).
    async fn close(&self) -> Result<ClosingReport, Ended> {
        let (flow, date) = (self.flow, self.date);
        // The job a submit left DISABLED because another could run: the next round finishes
        // it instead of leaving it behind and numbering another.
        let mut blocked: Option<String> = None;
        for _ in 0..SETTLE_ROUNDS {
            let jobs: Vec<JobSeen> = self
                .steps
                .run("jobs", || async move {
                    flow.erp.jobs_of(date).await.map_err(erp_error)
                })
                .await?;
            for seen in &jobs {
                self.saw(&seen.job, &seen.state);
            }
            if let Some(earlier) = jobs.iter().find(|seen| seen.state.can_run()) {
                self.steps.set_state(PHASE, Phase::Settling);
                match self.settle(&earlier.job, &earlier.state).await? {
                    Followed::Closed(report) => return Ok(report),
                    Followed::Ended(status)
                        if status.state == JobState::Succeeded && !self.force =>
                    {
                        return self.copy(&earlier.job, &status).await;
                    }
                    // Settled: it cannot run any more. List again, then submit.
                    Followed::Ended(_) => continue,
                }
            }
            let succeeded = jobs
                .iter()
                .filter(|seen| seen.state == JobState::Succeeded)
                .max_by_key(|seen| date.attempt_of(&seen.job));
            if let Some(succeeded) = succeeded.filter(|_| !self.force) {
                // An earlier attempt closed the date but was not recorded as such (its poll,
                // copy or record failed): its results are the date's.
                self.follow_job(&succeeded.job);
                let (status, _) = self.poll(&succeeded.job).await?;
                if status.state == JobState::Succeeded {
                    return self.copy(&succeeded.job, &status).await;
                }
                continue;
            }
            let job = self.next_job(&jobs, blocked.take());
            // A cancel asked for before anything runs: nothing is submitted.
            if self.steps.cancel_requested().await? {
                return self.cancelled_before_submit().await;
            }
            self.follow_job(&job);
            if self.submit(&job).await? == Submission::Blocked {
                blocked = Some(job);
                continue;
            }
            self.saw(&job, &JobState::Scheduled);
            self.steps.set_state(PHASE, Phase::Submitted);
            return match self.follow(&job).await? {
                Followed::Closed(report) => Ok(report),
                Followed::Ended(status) => self.conclude(&job, status).await,
            };
        }
        Err(Ended::StepFailed(format!(
            "the jobs of {date} kept being started by someone else: {SETTLE_ROUNDS} rounds of \
             settling them did not leave the date free for a new attempt"
        )))
    }

    /// The job to submit next: the one a submit left DISABLED (`blocked`) while the ERP still
    /// shows it so, else a new attempt numbered after every attempt the ERP or the store knows.
    fn next_job(&self, jobs: &[JobSeen], blocked: Option<String>) -> String {
        let date = self.date;
        let attempt = jobs
            .iter()
            .filter_map(|seen| date.attempt_of(&seen.job))
            .chain([self.recorded_attempt])
            .max()
            .unwrap_or(0)
            + 1;
        blocked
            .filter(|job| {
                jobs.iter()
                    .any(|seen| seen.job == *job && seen.state == JobState::Disabled)
            })
            .unwrap_or_else(|| date.job_name(attempt))
    }

    /// Submits `job` (the journal's `submit` step), counting a closing started unless the ERP
    /// left it blocked.
    async fn submit(&self, job: &str) -> Result<Submission, Ended> {
        let (flow, date) = (self.flow, self.date);
        Ok(self
            .steps
            .run("submit", || async move {
                let submission = flow.erp.submit(job, date).await.map_err(erp_error)?;
                if submission != Submission::Blocked {
                    count(counter!("ClosingStarted"));
                }
                Ok(submission)
            })
            .await?)
    }

    /// Ends the closing as cancelled before any job of this run was submitted.
    async fn cancelled_before_submit(&self) -> Result<ClosingReport, Ended> {
        let mut report = self.report("", Phase::Cancelled, "NOT SUBMITTED", None);
        self.record(&mut report, false).await?;
        self.steps.set_state(PHASE, Phase::Cancelled);
        Ok(report)
    }

    /// An earlier attempt's job that can still run: a pending one is disabled, a running one
    /// (or one that started meanwhile) followed until it ends.
    async fn settle(&self, job: &str, state: &JobState) -> Result<Followed, Ended> {
        let flow = self.flow;
        self.follow_job(job);
        if *state == JobState::Scheduled {
            self.steps
                .run(&format!("disable {job}"), || async move {
                    flow.erp.disable(job).await.map_err(erp_error)
                })
                .await?;
            let (status, _) = self.poll(job).await?;
            if status.state.is_final() {
                return Ok(Followed::Ended(status));
            }
        }
        self.follow(job).await
    }

    /// Polls `job` as a step: its status and when it was read.
    async fn poll(&self, job: &str) -> Result<(JobStatus, i64), Ended> {
        let flow = self.flow;
        let (status, polled_at): (JobStatus, i64) = self
            .steps
            .run("poll", || async move {
                let status = flow.erp.poll(job).await.map_err(erp_error)?;
                count(counter!("ClosingPolls"));
                Ok((status, flow.clock.wall().timestamp()))
            })
            .await?;
        self.steps.set_state(
            LAST_POLL,
            rfc3339(DateTime::from_timestamp(polled_at, 0)).unwrap_or_default(),
        );
        self.saw(job, &status.state);
        Ok((status, polled_at))
    }

    /// Sleeps and polls until `job` can no longer run, stopping it on a cancel or after
    /// `MAX_DURATION`.
    async fn follow(&self, job: &str) -> Result<Followed, Ended> {
        let timing = self.flow.timing;
        loop {
            if self.steps.sleep_or_cancel(timing.poll_interval).await? == Wake::Cancelled {
                return self.stop(job, Phase::Cancelled, None).await;
            }
            let (status, polled_at) = self.poll(job).await?;
            if status.state.is_final() {
                return Ok(Followed::Ended(status));
            }
            if status.state == JobState::Running && self.date.attempt_of(job).is_some() {
                self.steps.set_state(PHASE, Phase::Running);
            }
            if polled_at - self.started > timing.max_duration.as_secs() as i64 {
                let error = format!(
                    "the closing job ran longer than MAX_DURATION ({} s) and was stopped",
                    timing.max_duration.as_secs()
                );
                return self.stop(job, Phase::Failed, Some(error)).await;
            }
        }
    }

    /// Disables and stops `job`, waits until Oracle says how it ended, and records that: as
    /// `phase` (with `error`) when it was stopped or never started, as succeeded (copied) or
    /// failed when it ended by itself first.
    async fn stop(
        &self,
        job: &str,
        phase: Phase,
        error: Option<String>,
    ) -> Result<Followed, Ended> {
        let flow = self.flow;
        self.steps
            .run("stop", || async move {
                flow.erp.stop(job).await.map_err(erp_error)
            })
            .await?;
        // Told to stop, a job rolls back; one that still runs after as long again as it was
        // allowed to run is left to Oracle (and to the next run, which settles it first).
        let mut waited = Duration::ZERO;
        let status = loop {
            let (status, _) = self.poll(job).await?;
            if status.state.is_final() {
                break status;
            }
            if waited >= flow.timing.max_duration {
                return Err(Ended::StepFailed(format!(
                    "job {job} was told to stop but still was {} after {} s",
                    state_word(&status.state),
                    waited.as_secs()
                )));
            }
            // A cancel asked again must not cut this wait short.
            self.steps.sleep(flow.timing.poll_interval).await?;
            waited += flow.timing.poll_interval;
        };
        match status.state {
            JobState::Succeeded | JobState::Failed { .. } => {
                self.conclude(job, status).await.map(Followed::Closed)
            }
            ref ended => {
                let mut report = self.report(job, phase, state_word(ended), error.as_deref());
                // A stopped closing fails only when it ran past MAX_DURATION.
                let timed_out = phase == Phase::Failed;
                self.record(&mut report, timed_out).await?;
                self.steps.set_state(PHASE, phase);
                match error {
                    Some(error) => Err(Ended::Recorded(StepFailed(error))),
                    None => Ok(Followed::Closed(report)),
                }
            }
        }
    }

    /// Ends the closing as `job`'s final `status` says: copied and succeeded, failed with
    /// Oracle's text, or cancelled when stopped outside this closing.
    async fn conclude(&self, job: &str, status: JobStatus) -> Result<ClosingReport, Ended> {
        let date = self.date;
        let (phase, error) = match &status.state {
            JobState::Succeeded => return self.copy(job, &status).await,
            JobState::Stopped => (Phase::Cancelled, None),
            JobState::Failed { error } => (Phase::Failed, Some(error.clone())),
            JobState::Disabled => (
                Phase::Failed,
                Some(format!(
                    "job {job} was disabled before it ran, not by this closing"
                )),
            ),
            running => (
                Phase::Failed,
                Some(format!(
                    "job {job} was still {} when the closing ended",
                    state_word(running)
                )),
            ),
        };
        let mut report = self.report(job, phase, state_word(&status.state), error.as_deref());
        report.started_at = rfc3339(status.started_at);
        report.ended_at = rfc3339(status.ended_at);
        self.record(&mut report, false).await?;
        self.steps.set_state(PHASE, phase);
        match error {
            Some(error) => Err(Ended::Recorded(StepFailed(format!(
                "the closing of {date} failed: {error}"
            )))),
            None => Ok(report),
        }
    }

    /// Copies every result table of the date, as `job` (which succeeded) left them, and
    /// records the closing as succeeded.
    async fn copy(&self, job: &str, status: &JobStatus) -> Result<ClosingReport, Ended> {
        let (flow, date) = (self.flow, self.date);
        self.steps.set_state(PHASE, Phase::Syncing);
        let mut report = self.report(job, Phase::Syncing, "SUCCEEDED", None);
        report.started_at = rfc3339(status.started_at);
        report.ended_at = rfc3339(status.ended_at);
        let mut copied = 0u64;
        for table in flow.tables.iter() {
            // Fetch and replace in one step: the rows go straight from the ERP to PostgreSQL in
            // batches and only the count is journaled. A retry deletes and re-inserts the date's
            // rows in a new transaction.
            let rows: u64 = self
                .steps
                .run(&format!("copy {table}"), || async move {
                    flow.store
                        .copy_from(&flow.erp, table, date)
                        .await
                        .map_err(copy_error)
                })
                .await?;
            copied += rows;
            self.steps.set_state(ROWS_COPIED, copied);
            report.tables.push(TableCopy {
                table: table.clone(),
                rows,
            });
        }
        report.phase = Phase::Succeeded;
        self.record(&mut report, false).await?;
        self.steps.set_state(PHASE, Phase::Succeeded);
        Ok(report)
    }

    /// A report of `job` ending in `phase`: nothing copied, no times, the jobs as last seen;
    /// the duration is filled in when it is recorded.
    fn report(
        &self,
        job: &str,
        phase: Phase,
        erp_status: &str,
        error: Option<&str>,
    ) -> ClosingReport {
        ClosingReport {
            date: self.date,
            phase,
            job: job.to_owned(),
            erp_status: erp_status.to_owned(),
            started_at: rfc3339(DateTime::from_timestamp(self.started, 0)),
            ended_at: None,
            tables: Vec::new(),
            duration_seconds: 0,
            error: error.map(str::to_owned),
            jobs: self.seen().jobs.clone(),
        }
    }

    async fn record(&self, report: &mut ClosingReport, timed_out: bool) -> Result<(), StepFailed> {
        let flow = self.flow;
        let finished = flow.now(self.steps, "finished").await?;
        report.duration_seconds = u64::try_from(finished - self.started).unwrap_or(0);
        report.jobs = self.seen().jobs.clone();
        let snapshot = &*report;
        self.steps
            .run("record", || async move {
                flow.store.record(snapshot).await.map_err(store_error)?;
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
}

/// The EMF counter of closings ending in `phase`.
fn outcome_counter(phase: Phase) -> orabridge_shared::metrics::Counter {
    match phase {
        Phase::Succeeded => counter!("ClosingSucceeded"),
        Phase::Cancelled => counter!("ClosingCancelled"),
        _ => counter!("ClosingFailed"),
    }
}
