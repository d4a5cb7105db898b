//! Oracle's job scheduler (`DBMS_SCHEDULER`) as Oracle 11.2 documents it, for the one-off jobs
//! the closing submits: the model both fake ERPs run, so the workflow's tests meet the
//! scheduler's real rules instead of our memory of them. [`super::MemoryErp`] keeps a
//! [`Scheduler`] in memory; [`super::SimulatedErp`] keeps its jobs in PostgreSQL and applies the
//! same transitions. Every rule below cites the page it was read from; the catalogue kept as
//! data (`shared/data/oracle-11.2.json`) holds the states and error texts.
//!
//! The life of a job: created `DISABLED`; `ENABLE` makes it `SCHEDULED`, where it waits for the
//! job coordinator to hand it to a job slave (for as long as there is none: no job runs while
//! `JOB_QUEUE_PROCESSES` is 0; Administrator's Guide 11.2, "Scheduler Architecture",
//! https://docs.oracle.com/cd/E24693_01/server.11203/e17120/schedover004.htm); a slave runs it
//! (`RUNNING`); the run ends `SUCCEEDED` or `FAILED` (values of `STATE`,
//! https://docs.oracle.com/cd/E24693_01/server.11203/e24448/statviews_2046.htm), and this model
//! takes a one-off job to be no longer enabled then, which no page read here states either way.
//! `STOP_JOB` ends a running job `STOPPED` and raises ORA-27366 for one that is not running,
//! leaving a pending job to start later; `DISABLE` keeps a pending job from starting and lets a
//! running one finish; `DROP_JOB` removes a job that is not running and, with `force`, stops a
//! running one first (without it, ORA-27478). These rules come from Oracle's 11.2 package
//! specification of `DBMS_SCHEDULER`, whose comments the catalogue's `scheduler_rules` quote.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobStatus, Submission, job_state};
use crate::closing::{ClosingDate, JobSeen};

/// A job's `STATE` as `*_SCHEDULER_JOBS` shows it: the values 11.2 documents that a one-off
/// job can take (the repeating-job and chain states never occur for the closing's job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OracleState {
    /// `DISABLED`: created but not enabled, or disabled before it started.
    Disabled,
    /// `SCHEDULED`: enabled, waiting for a job slave.
    Scheduled,
    /// `RUNNING`: a job slave runs it.
    Running,
    /// `SUCCEEDED`: the one-off run ended without error.
    Succeeded,
    /// `FAILED`: the one-off run ended with an error.
    Failed,
    /// `STOPPED`: `STOP_JOB` ended the run.
    Stopped,
    /// `BROKEN`: disabled after failing more than `max_failures` times.
    Broken,
}

impl OracleState {
    /// The text Oracle shows in the `STATE` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OracleState::Disabled => "DISABLED",
            OracleState::Scheduled => "SCHEDULED",
            OracleState::Running => "RUNNING",
            OracleState::Succeeded => "SUCCEEDED",
            OracleState::Failed => "FAILED",
            OracleState::Stopped => "STOPPED",
            OracleState::Broken => "BROKEN",
        }
    }
}

/// An error a scheduler call raised, with Oracle's number, as the adapters map them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ORA-{code:05}: {text}")]
pub struct SchedulerError {
    /// The ORA- number.
    pub code: i32,
    /// Oracle's message, with the job's name in it.
    pub text: String,
}

/// The ORA- numbers the scheduler's procedures raise for the closing's calls (Oracle Database
/// Error Messages 11.2, https://docs.oracle.com/cd/E11882_01/server.112/e17766/e24280.htm).
pub mod codes {
    /// ORA-27365: the job was told to stop but has not stopped yet (it rolls back).
    pub const STOP_PENDING: i32 = 27365;
    /// ORA-27366: `STOP_JOB` on a job that is not running.
    pub const NOT_RUNNING: i32 = 27366;
    /// ORA-27457: `ENABLE` on a job whose arguments are not all set.
    pub const ARGUMENT_MISSING: i32 = 27457;
    /// ORA-27475: the name is not a job.
    pub const UNKNOWN_JOB: i32 = 27475;
    /// ORA-27476: the object does not exist.
    pub const DOES_NOT_EXIST: i32 = 27476;
    /// ORA-27477: `CREATE_JOB` of a name that exists.
    pub const ALREADY_EXISTS: i32 = 27477;
    /// ORA-27478: `DROP_JOB` without `force` on a running job.
    pub const RUNNING: i32 = 27478;
    /// Not an Oracle error: a call the model does not know the documented answer to.
    pub const NOT_MODELLED: i32 = 0;

    /// Whether `STOP_JOB`'s error `code` still leaves the job unable to run once it was
    /// disabled: it was not running, it was told to stop and rolls back, or it is gone.
    pub fn stop_settles(code: i32) -> bool {
        matches!(
            code,
            NOT_RUNNING | STOP_PENDING | UNKNOWN_JOB | DOES_NOT_EXIST
        )
    }

    /// Whether `DISABLE`'s error `code` means there is nothing left to disable: the job is gone.
    pub fn disable_settles(code: i32) -> bool {
        matches!(code, UNKNOWN_JOB | DOES_NOT_EXIST)
    }
}

/// Where a submit can be cut off (a lost connection): before each of its scheduler calls, and
/// after the last one (the call succeeded but its answer was lost). Each call commits by
/// itself, so what came before the cut stays done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitFault {
    /// Before `CREATE_JOB`: nothing exists yet.
    BeforeCreate,
    /// After `CREATE_JOB`: a DISABLED job without its argument.
    AfterCreate,
    /// After the argument is set: a DISABLED job with its argument.
    AfterArgument,
    /// After `ENABLE`: the job is enabled, but the caller saw an error.
    AfterEnable,
}

impl SubmitFault {
    /// Every point, in the order a submit passes them.
    pub const ALL: [SubmitFault; 4] = [
        SubmitFault::BeforeCreate,
        SubmitFault::AfterCreate,
        SubmitFault::AfterArgument,
        SubmitFault::AfterEnable,
    ];

    /// The point's name, where a fault is stored.
    pub fn name(self) -> &'static str {
        match self {
            SubmitFault::BeforeCreate => "before_create",
            SubmitFault::AfterCreate => "after_create",
            SubmitFault::AfterArgument => "after_argument",
            SubmitFault::AfterEnable => "after_enable",
        }
    }
}

fn error(code: i32, job: &str) -> SchedulerError {
    let text = match code {
        codes::STOP_PENDING => {
            format!("job \"{job}\" has been notified to stop, but failed to do so immediately")
        }
        codes::NOT_RUNNING => format!("job \"{job}\" is not running"),
        codes::ARGUMENT_MISSING => format!("argument 1 of job \"{job}\" has no value"),
        codes::UNKNOWN_JOB => format!("\"{job}\" must be a job"),
        codes::ALREADY_EXISTS => format!("job \"{job}\" already exists"),
        codes::RUNNING => format!("job \"{job}\" is running"),
        _ => format!("\"{job}\" does not exist"),
    };
    SchedulerError { code, text }
}

/// How job slaves pick up enabled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slaves {
    /// A slave takes an enabled job this long after it became eligible.
    After(Duration),
    /// No slave takes any job (`JOB_QUEUE_PROCESSES` = 0, or every slave busy): enabled jobs
    /// wait as `SCHEDULED`, for ever if need be.
    Held,
}

/// One job of the closing, as the scheduler keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The job's name (`FC_20261120_A1`).
    pub name: String,
    /// The closing date it was created for.
    pub date: ClosingDate,
    /// Its `STATE`.
    pub state: OracleState,
    /// Its `ENABLED` flag: a disabled job never starts, a running one may be disabled.
    pub enabled: bool,
    /// Whether argument 1 (the date) is set: `ENABLE` refuses a job without it.
    pub argument_set: bool,
    /// When a slave could take it: when it was enabled, or when slaves came back.
    pub eligible_at: Option<DateTime<Utc>>,
    /// When its run started.
    pub started_at: Option<DateTime<Utc>>,
    /// When its run ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// When a stop that was requested while it rolled back takes effect.
    pub stopping_at: Option<DateTime<Utc>>,
    /// How long its run takes.
    pub run_time: Duration,
    /// The error its run ends with, if it is to fail (the procedure's own error).
    pub fail_with: Option<String>,
}

impl Job {
    /// A job as `CREATE_JOB` leaves it: disabled, without its argument.
    pub fn created(
        name: &str,
        date: ClosingDate,
        run_time: Duration,
        fail_with: Option<String>,
    ) -> Job {
        Job {
            name: name.to_owned(),
            date,
            state: OracleState::Disabled,
            enabled: false,
            argument_set: false,
            eligible_at: None,
            started_at: None,
            ended_at: None,
            stopping_at: None,
            run_time,
            fail_with,
        }
    }

    /// Whether the job is enabled or running: what may run the closing procedure now or later.
    pub fn can_run(&self) -> bool {
        self.state == OracleState::Running || (self.enabled && self.state == OracleState::Scheduled)
    }

    /// Moves the job to `now`: a slave takes it, its run ends, a pending stop completes.
    pub fn advance(&mut self, now: DateTime<Utc>, slaves: Slaves) {
        if self.state == OracleState::Scheduled
            && self.enabled
            && let (Slaves::After(delay), Some(eligible)) = (slaves, self.eligible_at)
            && now >= eligible + delay
        {
            self.state = OracleState::Running;
            self.started_at = Some(eligible + delay);
        }
        let Some(started) = self
            .started_at
            .filter(|_| self.state == OracleState::Running)
        else {
            return;
        };
        let finishes = started + self.run_time;
        match self.stopping_at {
            Some(stop) if stop <= finishes && now >= stop => self.end(OracleState::Stopped, stop),
            _ if now >= finishes => {
                let state = match self.fail_with {
                    Some(_) => OracleState::Failed,
                    None => OracleState::Succeeded,
                };
                self.end(state, finishes);
            }
            _ => {}
        }
    }

    /// A one-off job is no longer enabled once its run ended ("Scheduler Concepts": a job that
    /// will not run again is disabled).
    fn end(&mut self, state: OracleState, at: DateTime<Utc>) {
        self.state = state;
        self.enabled = false;
        self.ended_at = Some(at);
        self.stopping_at = None;
    }
}

/// The scheduler's jobs and its slaves, with a watch on the one-job-per-date rule. It
/// serializes whole: the simulated ERP stores it in PostgreSQL between calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Scheduler {
    jobs: BTreeMap<String, Job>,
    slaves: Option<Slaves>,
    stop_takes: Duration,
    peak: BTreeMap<ClosingDate, usize>,
}

impl Scheduler {
    /// A scheduler whose slaves take a job at once and whose stops take effect at once.
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// How slaves pick jobs up from now on; slaves coming back make waiting jobs eligible now.
    pub fn set_slaves(&mut self, slaves: Slaves, now: DateTime<Utc>) {
        self.advance(now);
        if self.slaves() == Slaves::Held && slaves != Slaves::Held {
            for job in self
                .jobs
                .values_mut()
                .filter(|job| job.state == OracleState::Scheduled)
            {
                job.eligible_at = Some(now);
            }
        }
        self.slaves = Some(slaves);
    }

    /// How slaves pick jobs up.
    pub fn slaves(&self) -> Slaves {
        self.slaves.unwrap_or(Slaves::After(Duration::ZERO))
    }

    /// How long a stop of a running job takes: zero stops it at once; longer answers
    /// ORA-27365 and the job stays `RUNNING` while it rolls back.
    pub fn set_stop_time(&mut self, stop_takes: Duration) {
        self.stop_takes = stop_takes;
    }

    /// Moves every job to `now`.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        let slaves = self.slaves();
        for job in self.jobs.values_mut() {
            job.advance(now, slaves);
        }
        self.watch();
    }

    /// Records, per date, the most jobs that could run at one moment.
    fn watch(&mut self) {
        let mut runnable: BTreeMap<ClosingDate, usize> = BTreeMap::new();
        for job in self.jobs.values().filter(|job| job.can_run()) {
            *runnable.entry(job.date).or_default() += 1;
        }
        for (date, count) in runnable {
            let peak = self.peak.entry(date).or_default();
            *peak = (*peak).max(count);
        }
    }

    /// The most jobs of `date` that were enabled or running at one moment.
    pub fn peak_runnable(&self, date: ClosingDate) -> usize {
        self.peak.get(&date).copied().unwrap_or(0)
    }

    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.get(name)
    }

    /// Every job of `date`, by name.
    pub fn jobs_of(&self, date: ClosingDate) -> impl Iterator<Item = &Job> {
        self.jobs.values().filter(move |job| job.date == date)
    }

    /// Every job.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    /// Whether a job of `date` other than `name` is enabled or running.
    pub fn others_can_run(&self, date: ClosingDate, name: &str) -> bool {
        self.jobs_of(date)
            .any(|job| job.name != name && job.can_run())
    }

    /// The job's status at `now`, as a poll reads it; `None` for a job that does not exist.
    pub fn status(&mut self, name: &str, now: DateTime<Utc>) -> Option<JobStatus> {
        self.advance(now);
        let job = self.jobs.get(name)?;
        Some(JobStatus {
            state: job_state(Some(job.state.as_str()), None, job.fail_with.as_deref()),
            started_at: job.started_at,
            ended_at: job.ended_at,
        })
    }

    /// Every job of `date` at `now`, as the port lists them.
    pub fn seen(&mut self, date: ClosingDate, now: DateTime<Utc>) -> Vec<JobSeen> {
        self.advance(now);
        self.jobs_of(date)
            .map(|job| JobSeen {
                job: job.name.clone(),
                state: job_state(Some(job.state.as_str()), None, job.fail_with.as_deref()),
            })
            .collect()
    }

    /// What the Oracle adapter's submit block does, call by call: creates `job` unless a job
    /// of its name exists, sets its argument and enables it, unless it was enabled already
    /// (reused) or another job of its date can run (left DISABLED). `cut` interrupts it at a
    /// point, with the calls before it done: `Err` names the point.
    pub fn submit(
        &mut self,
        job: Job,
        now: DateTime<Utc>,
        cut: Option<SubmitFault>,
    ) -> Result<Submission, SubmitFault> {
        let at = |point| match cut == Some(point) {
            true => Err(point),
            false => Ok(()),
        };
        at(SubmitFault::BeforeCreate)?;
        self.advance(now);
        let (name, date) = (job.name.clone(), job.date);
        let existed = match self.jobs.get(&name).map(|job| job.state) {
            None => false,
            Some(OracleState::Disabled) => true,
            Some(_) => return Ok(Submission::AlreadyExists),
        };
        if !existed {
            self.jobs.insert(name.clone(), job);
        }
        at(SubmitFault::AfterCreate)?;
        if let Some(job) = self.jobs.get_mut(&name) {
            job.argument_set = true;
        }
        at(SubmitFault::AfterArgument)?;
        if self.others_can_run(date, &name) {
            return Ok(Submission::Blocked);
        }
        // The argument was just set, so ENABLE cannot refuse for its want.
        let _ = self.enable(&name, now);
        at(SubmitFault::AfterEnable)?;
        Ok(match existed {
            true => Submission::Recovered,
            false => Submission::Submitted,
        })
    }

    /// The port's `disable` as the Oracle adapter sends it: `DISABLE(force => TRUE)`, a job
    /// that is gone counting as disabled.
    pub fn disable_settling(
        &mut self,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        match self.disable(name, now) {
            Err(err) if !codes::disable_settles(err.code) => Err(err),
            _ => Ok(()),
        }
    }

    /// The port's `stop` as the Oracle adapter sends it: `DISABLE(force => TRUE)`, then
    /// `STOP_JOB`, the errors that leave the job unable to run counting as done.
    pub fn stop_settling(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        self.disable_settling(name, now)?;
        match self.stop(name, now) {
            Err(err) if !codes::stop_settles(err.code) => Err(err),
            _ => Ok(()),
        }
    }

    /// Puts back a job read from storage (the simulated ERP keeps them in PostgreSQL).
    pub fn restore(&mut self, job: Job) {
        self.jobs.insert(job.name.clone(), job);
    }

    fn existing(&mut self, name: &str) -> Result<&mut Job, SchedulerError> {
        self.jobs
            .get_mut(name)
            .ok_or_else(|| error(codes::UNKNOWN_JOB, name))
    }

    /// `CREATE_JOB(enabled => FALSE)`: a disabled job without its argument; ORA-27477 if the
    /// name is taken.
    pub fn create(&mut self, job: Job, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        self.advance(now);
        if self.jobs.contains_key(&job.name) {
            return Err(error(codes::ALREADY_EXISTS, &job.name));
        }
        self.jobs.insert(job.name.clone(), job);
        Ok(())
    }

    /// `SET_JOB_ANYDATA_VALUE` / `SET_JOB_ARGUMENT_VALUE` for argument 1.
    pub fn set_argument(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        self.advance(now);
        self.existing(name)?.argument_set = true;
        Ok(())
    }

    /// `ENABLE`: a disabled job becomes `SCHEDULED` and waits for a slave; ORA-27457 without
    /// its argument. Enabling an enabled or ended job changes nothing.
    pub fn enable(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        self.advance(now);
        let job = self.existing(name)?;
        if !job.argument_set {
            return Err(error(codes::ARGUMENT_MISSING, name));
        }
        match job.state {
            OracleState::Disabled => {
                job.state = OracleState::Scheduled;
                job.enabled = true;
                job.eligible_at = Some(now);
            }
            OracleState::Scheduled | OracleState::Running => {}
            // What ENABLE does to a one-off job whose run ended is not on a page read here,
            // and the closing never asks it: the model refuses rather than guess.
            ended => {
                return Err(SchedulerError {
                    code: codes::NOT_MODELLED,
                    text: format!("the model does not know ENABLE on a {} job", ended.as_str()),
                });
            }
        }
        self.advance(now);
        Ok(())
    }

    /// `DISABLE`: a pending job will not start; a running one goes on to the end of its run,
    /// disabled. Disabling a disabled job is no error (the package specification: `force`
    /// only points out dependencies of programs, chains and windows, so it changes nothing
    /// for a job).
    pub fn disable(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        self.advance(now);
        let job = self.existing(name)?;
        if job.state == OracleState::Scheduled {
            job.state = OracleState::Disabled;
        }
        job.enabled = false;
        Ok(())
    }

    /// `STOP_JOB(force => FALSE)`: a running job ends `STOPPED` (or, when stops take time,
    /// answers ORA-27365 and ends when its rollback does); any other job raises ORA-27366 and
    /// is left as it was, so a pending job still starts later.
    pub fn stop(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        self.advance(now);
        let stop_takes = self.stop_takes;
        let job = self.existing(name)?;
        if job.state != OracleState::Running {
            return Err(error(codes::NOT_RUNNING, name));
        }
        if stop_takes.is_zero() {
            job.end(OracleState::Stopped, now);
            return Ok(());
        }
        if job.stopping_at.is_none() {
            job.stopping_at = Some(now + stop_takes);
        }
        Err(error(codes::STOP_PENDING, name))
    }

    /// `DROP_JOB(force)`: removes a job that is not running; a running one raises ORA-27478
    /// without `force` and is stopped, then dropped, with it.
    pub fn drop_job(
        &mut self,
        name: &str,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        self.advance(now);
        let job = self.existing(name)?;
        if job.state == OracleState::Running {
            if !force {
                return Err(error(codes::RUNNING, name));
            }
            // "stopped by calling stop_job with force set to false", which may answer 27365.
            self.stop(name, now)?;
        }
        self.jobs.remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! One test per documented transition. "Spec" is Oracle's 11.2 package specification of
    //! DBMS_SCHEDULER (its comments on each procedure), the same source the catalogue's
    //! `scheduler_rules` quote; error texts are in the catalogue's `errors`.

    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::minutes(minutes)
    }

    fn date() -> ClosingDate {
        ClosingDate::parse("2026-11-20").expect("date")
    }

    /// A scheduler holding `FC_20261120_A1`, enabled at minute 0, that runs for an hour.
    fn enabled(slaves: Slaves) -> Scheduler {
        let mut scheduler = Scheduler::new();
        scheduler.set_slaves(slaves, at(0));
        let job = Job::created("FC_20261120_A1", date(), Duration::from_secs(3600), None);
        assert_eq!(
            scheduler.submit(job, at(0), None),
            Ok(Submission::Submitted)
        );
        scheduler
    }

    fn state(scheduler: &mut Scheduler, minute: i64) -> (OracleState, bool) {
        scheduler.advance(at(minute));
        let job = scheduler.job("FC_20261120_A1").expect("job");
        (job.state, job.enabled)
    }

    #[test]
    fn create_job_leaves_a_disabled_job_and_refuses_a_taken_name() {
        // Spec, CREATE_JOB: `enabled` defaults to FALSE; ORA-27477 for a name in use.
        let mut scheduler = Scheduler::new();
        let job = Job::created("J", date(), Duration::ZERO, None);
        scheduler.create(job.clone(), at(0)).expect("created");
        assert_eq!(
            scheduler.job("J").map(|j| (j.state, j.enabled)),
            Some((OracleState::Disabled, false))
        );
        let taken = scheduler.create(job, at(0)).expect_err("taken");
        assert_eq!(taken.code, codes::ALREADY_EXISTS);
    }

    #[test]
    fn enable_needs_every_argument_and_is_harmless_on_an_enabled_job() {
        // Spec, CREATE_JOB: with number_of_arguments above zero "values must be set for each
        // of the arguments before enabling the job" (ORA-27457); ENABLE "will NOT return an
        // error if the object was already enabled".
        let mut scheduler = Scheduler::new();
        scheduler
            .create(Job::created("J", date(), Duration::ZERO, None), at(0))
            .expect("created");
        assert_eq!(
            scheduler.enable("J", at(0)).expect_err("no argument").code,
            codes::ARGUMENT_MISSING
        );
        scheduler.set_argument("J", at(0)).expect("argument");
        scheduler.set_slaves(Slaves::Held, at(0));
        scheduler.enable("J", at(0)).expect("enabled");
        scheduler.enable("J", at(1)).expect("enabled again");
        assert_eq!(
            scheduler.job("J").map(|j| j.state),
            Some(OracleState::Scheduled)
        );
        assert_eq!(
            scheduler.enable("NOPE", at(1)).expect_err("unknown").code,
            codes::UNKNOWN_JOB
        );
    }

    #[test]
    fn an_enabled_job_waits_for_a_slave_for_as_long_as_there_is_none() {
        // Jobs are run by job slaves; with JOB_QUEUE_PROCESSES at 0 no job runs (11.2
        // Reference, JOB_QUEUE_PROCESSES).
        let mut scheduler = enabled(Slaves::Held);
        assert_eq!(
            state(&mut scheduler, 60 * 24 * 30),
            (OracleState::Scheduled, true)
        );
        scheduler.set_slaves(Slaves::After(Duration::from_secs(60)), at(60 * 24 * 30));
        assert_eq!(
            state(&mut scheduler, 60 * 24 * 30 + 1),
            (OracleState::Running, true)
        );
    }

    #[test]
    fn a_one_off_run_ends_succeeded_or_failed_and_no_longer_enabled() {
        let mut scheduler = enabled(Slaves::After(Duration::ZERO));
        assert_eq!(state(&mut scheduler, 59), (OracleState::Running, true));
        assert_eq!(state(&mut scheduler, 60), (OracleState::Succeeded, false));
        let mut failing = Scheduler::new();
        let job = Job::created(
            "F",
            date(),
            Duration::from_secs(60),
            Some("ORA-20001: no".into()),
        );
        failing.submit(job, at(0), None).expect("submitted");
        failing.advance(at(1));
        assert_eq!(
            failing.job("F").map(|j| (j.state, j.enabled)),
            Some((OracleState::Failed, false))
        );
    }

    #[test]
    fn stop_job_stops_a_running_job_and_refuses_one_that_is_not_running_which_still_starts() {
        // Spec, STOP_JOB: stops jobs "that are currently running"; ORA-27366 "An attempt was
        // made to stop a job that was not running". Nothing in STOP_JOB disables the job.
        let mut pending = enabled(Slaves::Held);
        assert_eq!(
            pending
                .stop("FC_20261120_A1", at(1))
                .expect_err("pending")
                .code,
            codes::NOT_RUNNING
        );
        pending.set_slaves(Slaves::After(Duration::ZERO), at(2));
        assert_eq!(
            state(&mut pending, 3),
            (OracleState::Running, true),
            "started after the stop"
        );

        let mut running = enabled(Slaves::After(Duration::ZERO));
        running.stop("FC_20261120_A1", at(5)).expect("stopped");
        assert_eq!(state(&mut running, 6), (OracleState::Stopped, false));
        assert_eq!(
            running
                .stop("FC_20261120_A1", at(7))
                .expect_err("ended")
                .code,
            codes::NOT_RUNNING
        );
    }

    #[test]
    fn a_stop_that_cannot_happen_at_once_answers_27365_and_ends_when_the_rollback_does() {
        // ORA-27365: "it has been notified to stop ... stopped as soon as possible after its
        // current uninterruptable operation is done".
        let mut scheduler = enabled(Slaves::After(Duration::ZERO));
        scheduler.set_stop_time(Duration::from_secs(300));
        assert_eq!(
            scheduler
                .stop("FC_20261120_A1", at(10))
                .expect_err("pending")
                .code,
            codes::STOP_PENDING
        );
        assert_eq!(state(&mut scheduler, 14), (OracleState::Running, true));
        assert_eq!(state(&mut scheduler, 15), (OracleState::Stopped, false));
    }

    #[test]
    fn disable_keeps_a_pending_job_from_starting_and_lets_a_running_one_finish() {
        // Spec, DISABLE: "will NOT return an error if the object was already disabled"; force
        // only points out dependencies. A disabled job is not picked up by a slave.
        let mut pending = enabled(Slaves::Held);
        pending.disable("FC_20261120_A1", at(1)).expect("disabled");
        pending
            .disable("FC_20261120_A1", at(1))
            .expect("disabled again");
        pending.set_slaves(Slaves::After(Duration::ZERO), at(2));
        assert_eq!(state(&mut pending, 600), (OracleState::Disabled, false));

        let mut running = enabled(Slaves::After(Duration::ZERO));
        running.disable("FC_20261120_A1", at(1)).expect("disabled");
        assert_eq!(state(&mut running, 2), (OracleState::Running, false));
        assert_eq!(state(&mut running, 60), (OracleState::Succeeded, false));
    }

    #[test]
    fn drop_job_refuses_a_running_job_without_force_and_stops_it_first_with_force() {
        // Spec, DROP_JOB: "If force and defer are false, dropping a job with running instances
        // will fail" (ORA-27478); "If force is true, all running instances of the job will be
        // stopped by calling stop_job with force set to false".
        let mut running = enabled(Slaves::After(Duration::ZERO));
        let refused = running
            .drop_job("FC_20261120_A1", false, at(1))
            .expect_err("running");
        assert_eq!(refused.code, codes::RUNNING);
        running
            .drop_job("FC_20261120_A1", true, at(2))
            .expect("dropped");
        assert!(running.job("FC_20261120_A1").is_none());
        let mut slow = enabled(Slaves::After(Duration::ZERO));
        slow.set_stop_time(Duration::from_secs(300));
        let rolling_back = slow
            .drop_job("FC_20261120_A1", true, at(1))
            .expect_err("27365");
        assert_eq!(
            rolling_back.code,
            codes::STOP_PENDING,
            "STOP_JOB's answer, as it is called"
        );
        let mut pending = enabled(Slaves::Held);
        pending
            .drop_job("FC_20261120_A1", false, at(1))
            .expect("dropped");
        assert!(pending.job("FC_20261120_A1").is_none());
        assert_eq!(
            pending
                .stop("FC_20261120_A1", at(2))
                .expect_err("gone")
                .code,
            codes::UNKNOWN_JOB
        );
    }

    #[test]
    fn a_submit_enables_nothing_while_another_job_of_the_date_can_run() {
        let mut scheduler = enabled(Slaves::Held);
        let second = Job::created("FC_20261120_A2", date(), Duration::from_secs(60), None);
        assert_eq!(
            scheduler.submit(second.clone(), at(1), None),
            Ok(Submission::Blocked)
        );
        assert_eq!(
            scheduler.job("FC_20261120_A2").map(|j| j.state),
            Some(OracleState::Disabled)
        );
        scheduler
            .disable_settling("FC_20261120_A1", at(2))
            .expect("settled");
        assert_eq!(
            scheduler.submit(second, at(3), None),
            Ok(Submission::Recovered)
        );
        assert_eq!(scheduler.peak_runnable(date()), 1);
    }

    #[test]
    fn every_error_the_model_raises_is_one_the_catalogue_documents() {
        let catalogue = orabridge_shared::oracle_sql::catalogue::catalogue();
        for code in [
            codes::STOP_PENDING,
            codes::NOT_RUNNING,
            codes::ARGUMENT_MISSING,
            codes::UNKNOWN_JOB,
            codes::DOES_NOT_EXIST,
            codes::ALREADY_EXISTS,
            codes::RUNNING,
        ] {
            assert!(catalogue.has_error(&format!("ORA-{code:05}")), "ORA-{code}");
        }
        let documented = catalogue
            .values("USER_SCHEDULER_JOBS.STATE")
            .expect("states");
        for state in [
            OracleState::Disabled,
            OracleState::Scheduled,
            OracleState::Running,
            OracleState::Succeeded,
            OracleState::Failed,
            OracleState::Broken,
        ] {
            assert!(documented.iter().any(|s| s == state.as_str()), "{state:?}");
        }
        // STOPPED is what a stopped job's run shows (the run and log STATUS values); the
        // jobs view's documented list does not name it, so the adapters read it either way.
        let run_status = catalogue
            .values("USER_SCHEDULER_JOB_RUN_DETAILS.STATUS")
            .expect("status");
        assert!(
            run_status
                .iter()
                .any(|s| s == OracleState::Stopped.as_str())
        );
    }
}
