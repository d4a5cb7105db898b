//! The ERP port as the closing workflow sees it (`submit`, `poll`, `jobs_of`, `disable`, `stop`,
//! `fetch_results`) and its adapters: [`oracle`] (Genius on Oracle, through `DBMS_SCHEDULER`),
//! [`simulated`] (jobs in PostgreSQL, for the demo and the adapter tests) and [`memory`] (jobs in
//! memory on a virtual clock, for the workflow's unit tests). Both fakes run [`scheduler`], the
//! scheduler's documented rules as a model, so the workflow meets Oracle's behaviour, not ours.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::closing::{ClosingDate, JobSeen, JobState};

pub mod memory;
pub mod oracle;
pub mod scheduler;
pub mod simulated;

pub use memory::MemoryErp;
pub use oracle::OracleErp;
pub use simulated::SimulatedErp;

/// A job's state with its times.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobStatus {
    /// Where the job is.
    pub state: JobState,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// What `submit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Submission {
    /// A new job was created, given its argument and enabled.
    Submitted,
    /// A job of this attempt existed but was DISABLED (an earlier submit stopped after creating
    /// it): it was given its argument and enabled.
    Recovered,
    /// A job with that name existed and was enabled: it was reused, not submitted again.
    AlreadyExists,
    /// Another job of the date was enabled or running: this one was not enabled (it may be
    /// left DISABLED, for the next submit to recover once the other is settled).
    Blocked,
}

/// One result row's cells as text (`None` is NULL).
pub type ResultRow = Vec<Option<String>>;

/// What the ERP side of a copy sends to the PostgreSQL side.
#[derive(Debug)]
pub enum ResultMessage {
    /// The next rows, at most one fetch array's worth.
    Batch {
        /// Column names (shared by every batch of the table).
        columns: Arc<[String]>,
        /// The rows.
        rows: Vec<ResultRow>,
    },
    /// Every row was sent: only now may the copy commit.
    End,
}

/// Batches in flight between the fetch and the insert: with one being fetched and one being
/// written, a copy holds at most four batches whatever the table's size.
pub const BATCHES_IN_FLIGHT: usize = 2;

/// The sending half of a copy; [`result_channel`] makes both halves.
pub type ResultSender = mpsc::Sender<ResultMessage>;

/// A bounded channel for one table's copy.
pub fn result_channel() -> (ResultSender, mpsc::Receiver<ResultMessage>) {
    mpsc::channel(BATCHES_IN_FLIGHT)
}

/// An ERP call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ErpError {
    /// Worth retrying (network, lost connection, pool exhausted).
    #[error("the ERP is unavailable for now")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Retrying will not help (unknown job, missing table, rejected call).
    #[error("the ERP refused the call: {0}")]
    Permanent(String),
    /// The PostgreSQL side of a copy stopped taking rows (its own error says why).
    #[error("the copy stopped taking rows")]
    Abandoned,
}

/// The ERP as the closing workflow sees it. Every call is idempotent.
pub trait Erp: Send + Sync {
    /// Submits the closing of `date` as job `job`: creates it, gives it the date and enables
    /// it, or finishes that for a DISABLED job of the same name, or reuses an enabled one; never
    /// enables it while another job of the date is enabled or running ([`Submission::Blocked`]).
    fn submit(
        &self,
        job: &str,
        date: ClosingDate,
    ) -> impl Future<Output = Result<Submission, ErpError>> + Send;
    /// The job's state.
    fn poll(&self, job: &str) -> impl Future<Output = Result<JobStatus, ErpError>> + Send;
    /// Every job of `date`'s attempts (named [`ClosingDate::job_prefix`]`N`), by name, with
    /// the state its scheduler shows.
    fn jobs_of(
        &self,
        date: ClosingDate,
    ) -> impl Future<Output = Result<Vec<JobSeen>, ErpError>> + Send;
    /// Keeps the job from starting: a pending one never will; a running one runs on to its
    /// end. A job that no longer exists is left alone.
    fn disable(&self, job: &str) -> impl Future<Output = Result<(), ErpError>> + Send;
    /// Disables the job and asks a running one to stop. The stop may take effect later (the
    /// procedure rolls back): poll until the job no longer runs.
    fn stop(&self, job: &str) -> impl Future<Output = Result<(), ErpError>> + Send;
    /// Sends the rows of result table `table` for `date` to `rows` in batches, then
    /// [`ResultMessage::End`]; a failure sends no `End`.
    fn fetch_results(
        &self,
        table: &str,
        date: ClosingDate,
        rows: ResultSender,
    ) -> impl Future<Output = Result<(), ErpError>> + Send;
}

/// The port's view of a job's `STATE` in `*_SCHEDULER_JOBS` (`None`: no such job any more),
/// of its latest run's `STATUS` in `*_SCHEDULER_JOB_RUN_DETAILS` and of that run's error text.
/// Every value Oracle 11.2 documents for `STATE` has its arm (a test walks the catalogue's list).
pub fn job_state(
    scheduler_state: Option<&str>,
    run_status: Option<&str>,
    error: Option<&str>,
) -> JobState {
    let failed = || JobState::Failed {
        error: error
            .filter(|e| !e.trim().is_empty())
            .unwrap_or("Oracle gave no error text for the job's run")
            .trim()
            .to_owned(),
    };
    let from_run = || match run_status {
        Some("SUCCEEDED") => JobState::Succeeded,
        Some("STOPPED") => JobState::Stopped,
        Some(_) => failed(),
        None => JobState::Disabled,
    };
    match scheduler_state {
        // A chain step that cannot go on still holds the job: it runs until someone acts. A
        // remote job runs elsewhere, where this port cannot see it end.
        Some("RUNNING" | "CHAIN_STALLED" | "REMOTE") => JobState::Running,
        Some("SCHEDULED" | "RETRY SCHEDULED") => JobState::Scheduled,
        // A job that ran shows its run's end, should Oracle ever show such a job DISABLED.
        Some("DISABLED") if run_status.is_some() => from_run(),
        Some("DISABLED") => JobState::Disabled,
        Some("SUCCEEDED") => JobState::Succeeded,
        Some("FAILED" | "BROKEN") => failed(),
        Some("STOPPED") => JobState::Stopped,
        // Will not run again (its schedule or run count ran out): the last run says how.
        Some("COMPLETED") => from_run(),
        // A state this code does not know: assumed able to run, so nothing starts beside it.
        Some(_) => JobState::Running,
        // Dropped: the run details say how its run ended; without any, it never ran.
        None => from_run(),
    }
}
