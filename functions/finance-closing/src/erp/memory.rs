//! An in-memory ERP on a [`ManualClock`]: Oracle's scheduler as [`Scheduler`] models it, its
//! jobs running for their duration of virtual time, so the workflow's unit tests take a
//! six-hour closing, a cancel, a job that waits for a slave or outruns `MAX_DURATION` in
//! microseconds. Faults are armed per operation; the scheduler watches how many jobs of a date
//! could run at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use orabridge_shared::clock::{Clock, ManualClock};

use super::scheduler::{Job, Scheduler, SchedulerError, Slaves};
use super::simulated::send_simulated_rows;
use super::{Erp, ErpError, JobStatus, ResultSender, Submission};
use crate::closing::{ClosingDate, JobSeen};

/// An ERP call, to arm a fault on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// [`Erp::submit`].
    Submit,
    /// [`Erp::poll`].
    Poll,
    /// [`Erp::jobs_of`].
    ListJobs,
    /// [`Erp::disable`].
    Disable,
    /// [`Erp::stop`].
    Stop,
    /// [`Erp::fetch_results`].
    FetchResults,
}

#[derive(Debug, Clone)]
struct Fault {
    // Calls let through before the fault applies.
    skip: usize,
    remaining: u32,
    permanent: bool,
    message: String,
}

#[derive(Debug, Default)]
struct State {
    scheduler: Scheduler,
    failing_dates: BTreeMap<ClosingDate, String>,
    faults: BTreeMap<Operation, Fault>,
    calls: BTreeMap<Operation, usize>,
}

/// The in-memory ERP. Clones share their jobs, so a test keeps a handle to arm faults, count
/// calls and look at the scheduler.
#[derive(Debug, Clone)]
pub struct MemoryErp {
    clock: ManualClock,
    job_duration: Duration,
    rows_per_table: u64,
    state: Arc<Mutex<State>>,
}

/// Rows per result table per date, as the PostgreSQL-backed simulator produces them.
const MEMORY_ROWS: u64 = 40;

/// A scheduler error as the Oracle adapter reports one it does not expect: permanent.
fn refused(err: SchedulerError) -> ErpError {
    ErpError::Permanent(err.to_string())
}

impl MemoryErp {
    /// An ERP whose jobs start as soon as they are enabled and take `job_duration` on `clock`.
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
        self.fail_after(operation, 0, times, permanent, message);
    }

    /// Lets `skip` calls of `operation` through, then fails the `times` after them.
    pub fn fail_after(
        &self,
        operation: Operation,
        skip: usize,
        times: u32,
        permanent: bool,
        message: &str,
    ) {
        self.state().faults.insert(
            operation,
            Fault {
                skip,
                remaining: times,
                permanent,
                message: message.to_owned(),
            },
        );
    }

    /// How job slaves take enabled jobs from now on ([`Slaves::Held`]: none is).
    pub fn set_slaves(&self, slaves: Slaves) {
        let now = self.clock.wall();
        self.state().scheduler.set_slaves(slaves, now);
    }

    /// How long stopping a running job takes (see [`Scheduler::set_stop_time`]).
    pub fn set_stop_time(&self, stop_takes: Duration) {
        self.state().scheduler.set_stop_time(stop_takes);
    }

    /// How many times `operation` was called, failed calls included.
    pub fn calls(&self, operation: Operation) -> usize {
        self.state().calls.get(&operation).copied().unwrap_or(0)
    }

    /// How many jobs exist.
    pub fn jobs(&self) -> usize {
        self.state().scheduler.jobs().count()
    }

    /// The job named `name` as the scheduler holds it now.
    pub fn job(&self, name: &str) -> Option<Job> {
        let now = self.clock.wall();
        let mut state = self.state();
        state.scheduler.advance(now);
        state.scheduler.job(name).cloned()
    }

    /// Every job of `date` as the scheduler holds it now.
    pub fn jobs_of_date(&self, date: ClosingDate) -> Vec<Job> {
        let now = self.clock.wall();
        let mut state = self.state();
        state.scheduler.advance(now);
        state.scheduler.jobs_of(date).cloned().collect()
    }

    /// The most jobs of `date` that were enabled or running at one moment, so far.
    pub fn peak_runnable(&self, date: ClosingDate) -> usize {
        let now = self.clock.wall();
        let mut state = self.state();
        state.scheduler.advance(now);
        state.scheduler.peak_runnable(date)
    }

    /// Counts the call and raises the fault armed on `operation`, if any.
    fn enter(&self, operation: Operation) -> Result<(), ErpError> {
        let mut state = self.state();
        *state.calls.entry(operation).or_default() += 1;
        let Some(fault) = state.faults.get_mut(&operation).filter(|f| f.remaining > 0) else {
            return Ok(());
        };
        if fault.skip > 0 {
            fault.skip -= 1;
            return Ok(());
        }
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
        let fail_with = state.failing_dates.get(&date).cloned();
        let created = Job::created(job, date, self.job_duration, fail_with);
        // Faults here are armed before the call (`enter`), so the block is never cut part-way.
        state
            .scheduler
            .submit(created, now, None)
            .map_err(|point| ErpError::Transient(format!("submit cut {point:?}").into()))
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        self.enter(Operation::Poll)?;
        let now = self.clock.wall();
        self.state()
            .scheduler
            .status(job, now)
            .ok_or_else(|| ErpError::Permanent(format!("no scheduler job named {job}")))
    }

    async fn jobs_of(&self, date: ClosingDate) -> Result<Vec<JobSeen>, ErpError> {
        self.enter(Operation::ListJobs)?;
        let now = self.clock.wall();
        Ok(self.state().scheduler.seen(date, now))
    }

    async fn disable(&self, job: &str) -> Result<(), ErpError> {
        self.enter(Operation::Disable)?;
        let now = self.clock.wall();
        let mut state = self.state();
        state.scheduler.disable_settling(job, now).map_err(refused)
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        self.enter(Operation::Stop)?;
        let now = self.clock.wall();
        let mut state = self.state();
        state.scheduler.stop_settling(job, now).map_err(refused)
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
