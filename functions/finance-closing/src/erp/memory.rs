//! An in-memory ERP on a [`ManualClock`]: a submitted job runs for its duration of virtual
//! time, so the workflow's unit tests take a six-hour closing, a cancel or a job that outruns
//! `MAX_DURATION` in microseconds. Faults are armed per operation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use orabridge_shared::clock::{Clock, ManualClock};

use super::simulated::send_simulated_rows;
use super::{Erp, ErpError, JobStatus, ResultSender, Submission};
use crate::closing::{ClosingDate, JobState};

/// An ERP call, to arm a fault on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// [`Erp::submit`].
    Submit,
    /// [`Erp::poll`].
    Poll,
    /// [`Erp::stop`].
    Stop,
    /// [`Erp::fetch_results`].
    FetchResults,
}

#[derive(Debug, Clone)]
struct Fault {
    remaining: u32,
    permanent: bool,
    message: String,
}

#[derive(Debug)]
struct Job {
    started: DateTime<Utc>,
    fail_with: Option<String>,
    stopped: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct State {
    jobs: BTreeMap<String, Job>,
    failing_dates: BTreeMap<ClosingDate, String>,
    faults: BTreeMap<Operation, Fault>,
    calls: BTreeMap<Operation, usize>,
}

/// The in-memory ERP. Clones share their jobs, so a test keeps a handle to arm faults and
/// count calls.
#[derive(Debug, Clone)]
pub struct MemoryErp {
    clock: ManualClock,
    job_duration: Duration,
    rows_per_table: u64,
    state: Arc<Mutex<State>>,
}

/// Rows per result table per date, as the PostgreSQL-backed simulator produces them.
const MEMORY_ROWS: u64 = 40;

impl MemoryErp {
    /// An ERP whose jobs take `job_duration` on `clock`.
    pub fn new(clock: ManualClock, job_duration: Duration) -> Self {
        Self {
            clock,
            job_duration,
            rows_per_table: MEMORY_ROWS,
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Only a panicking test can poison it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rows per result table and date (40 unless changed).
    pub fn rows_per_table(&self) -> u64 {
        self.rows_per_table
    }

    /// Makes the jobs submitted from now on for `date` fail with `message`.
    pub fn fail_date(&self, date: ClosingDate, message: &str) {
        self.state().failing_dates.insert(date, message.to_owned());
    }

    /// Makes the next `times` calls of `operation` fail: transiently (a lost connection), or
    /// with `permanent`, as a refusal.
    pub fn fail_next(&self, operation: Operation, times: u32, permanent: bool, message: &str) {
        self.state().faults.insert(
            operation,
            Fault {
                remaining: times,
                permanent,
                message: message.to_owned(),
            },
        );
    }

    /// How many times `operation` was called, failed calls included.
    pub fn calls(&self, operation: Operation) -> usize {
        self.state().calls.get(&operation).copied().unwrap_or(0)
    }

    /// How many jobs exist.
    pub fn jobs(&self) -> usize {
        self.state().jobs.len()
    }

    /// Counts the call and raises the fault armed on `operation`, if any.
    fn enter(&self, operation: Operation) -> Result<(), ErpError> {
        let mut state = self.state();
        *state.calls.entry(operation).or_default() += 1;
        let Some(fault) = state.faults.get_mut(&operation).filter(|f| f.remaining > 0) else {
            return Ok(());
        };
        fault.remaining -= 1;
        Err(match fault.permanent {
            true => ErpError::Permanent(fault.message.clone()),
            false => ErpError::Transient(fault.message.clone().into()),
        })
    }
}

impl Erp for MemoryErp {
    async fn submit(&self, job: &str, date: ClosingDate) -> Result<Submission, ErpError> {
        self.enter(Operation::Submit)?;
        let now = self.clock.wall();
        let mut state = self.state();
        if state.jobs.contains_key(job) {
            return Ok(Submission::AlreadyExists);
        }
        let fail_with = state.failing_dates.get(&date).cloned();
        state.jobs.insert(
            job.to_owned(),
            Job {
                started: now,
                fail_with,
                stopped: None,
            },
        );
        Ok(Submission::Submitted)
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        self.enter(Operation::Poll)?;
        let now = self.clock.wall();
        let state = self.state();
        let job = state
            .jobs
            .get(job)
            .ok_or_else(|| ErpError::Permanent(format!("no job named {job}")))?;
        let ends = job.started + self.job_duration;
        let (state, ended_at) = match (&job.stopped, &job.fail_with) {
            (Some(at), _) => (JobState::Stopped, Some(*at)),
            (None, _) if now < ends => (JobState::Running, None),
            (None, Some(error)) => (
                JobState::Failed {
                    error: error.clone(),
                },
                Some(ends),
            ),
            (None, None) => (JobState::Succeeded, Some(ends)),
        };
        Ok(JobStatus {
            state,
            started_at: Some(job.started),
            ended_at,
        })
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        self.enter(Operation::Stop)?;
        let now = self.clock.wall();
        let duration = self.job_duration;
        if let Some(job) = self.state().jobs.get_mut(job)
            && job.stopped.is_none()
            && now < job.started + duration
        {
            job.stopped = Some(now);
        }
        Ok(())
    }

    async fn fetch_results(
        &self,
        table: &str,
        date: ClosingDate,
        rows: ResultSender,
    ) -> Result<(), ErpError> {
        self.enter(Operation::FetchResults)?;
        send_simulated_rows(table, date, self.rows_per_table, rows).await
    }
}
