//! The ERP port (`submit`, `poll`, `stop`, `fetch_results`) and the **simulated ERP**, whose
//! jobs live in PostgreSQL so they outlast every process, for the demo and the tests. The
//! Oracle adapter (DBMS_SCHEDULER) implements the same port.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};

use crate::closing::{ClosingDate, JobState};
use crate::store::{StoreError, quoted_identifier};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// A new job was created.
    Submitted,
    /// A job with that name existed: it was reused, not submitted again.
    AlreadyExists,
}

/// One result table's rows for a date, as text (`None` is NULL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultRows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Option<String>>>,
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
}

/// The ERP as the closing workflow sees it. Every call is idempotent.
pub trait Erp: Send + Sync {
    /// Submits the closing of `date` as job `job`, reusing it if it exists.
    fn submit(
        &self,
        job: &str,
        date: ClosingDate,
    ) -> impl Future<Output = Result<Submission, ErpError>> + Send;
    /// The job's state.
    fn poll(&self, job: &str) -> impl Future<Output = Result<JobStatus, ErpError>> + Send;
    /// Stops the job if it still runs.
    fn stop(&self, job: &str) -> impl Future<Output = Result<(), ErpError>> + Send;
    /// The rows of result table `table` for `date`.
    fn fetch_results(
        &self,
        table: &str,
        date: ClosingDate,
    ) -> impl Future<Output = Result<ResultRows, ErpError>> + Send;
}

impl From<StoreError> for ErpError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::InvalidIdentifier(name) => {
                ErpError::Permanent(format!("{name:?} is not a valid table name"))
            }
            other => ErpError::Transient(Box::new(other)),
        }
    }
}

/// The simulated ERP: a stand-in for Genius on Oracle, named as a simulator wherever it
/// appears. A submitted job "runs" for the configured duration, can be told to fail for a date,
/// and its result rows are a deterministic function of table and date.
#[derive(Clone)]
pub struct SimulatedErp {
    pool: Pool,
    schema: String,
    duration: Duration,
}

/// Rows per result table per date in the simulator.
pub const SIMULATED_ROWS: u32 = 40;

impl SimulatedErp {
    /// A simulator keeping its jobs in `schema` (created by [`SimulatedErp::migrate`]); each job
    /// takes `duration`.
    pub fn new(pool: Pool, schema: &str, duration: Duration) -> Result<Self, StoreError> {
        Ok(Self {
            pool,
            schema: quoted_identifier(schema)?,
            duration,
        })
    }

    /// Creates the simulator's tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {s};
                 CREATE TABLE IF NOT EXISTS {s}.jobs (
                     name text PRIMARY KEY,
                     closing_date date NOT NULL,
                     submitted_at timestamptz NOT NULL DEFAULT now(),
                     duration_ms bigint NOT NULL,
                     fail_with text,
                     stopped_at timestamptz);
                 CREATE TABLE IF NOT EXISTS {s}.failures (
                     closing_date date PRIMARY KEY,
                     message text NOT NULL);",
                s = self.schema
            ))
            .await
            .map_err(StoreError::from)
    }

    /// Makes every job submitted from now on for `date` fail with `message` (`None` clears it).
    pub async fn fail_date(
        &self,
        date: ClosingDate,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        match message {
            Some(message) => {
                client
                    .execute(
                        &format!(
                            "INSERT INTO {}.failures (closing_date, message) VALUES ($1, $2)
                             ON CONFLICT (closing_date) DO UPDATE SET message = EXCLUDED.message",
                            self.schema
                        ),
                        &[&date.date(), &message],
                    )
                    .await?
            }
            None => {
                client
                    .execute(
                        &format!(
                            "DELETE FROM {}.failures WHERE closing_date = $1",
                            self.schema
                        ),
                        &[&date.date()],
                    )
                    .await?
            }
        };
        Ok(())
    }

    /// How many jobs were ever submitted for `date` (tests check "submitted once").
    pub async fn jobs_for(&self, date: ClosingDate) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}.jobs WHERE closing_date = $1",
                    self.schema
                ),
                &[&date.date()],
            )
            .await?;
        Ok(row.get(0))
    }

    /// The deterministic result rows of `table` for `date`.
    pub fn results_for(table: &str, date: ClosingDate) -> ResultRows {
        let columns = ["CLOSING_DATE", "ACCOUNT", "AMOUNT", "CURRENCY"]
            .map(str::to_owned)
            .to_vec();
        let rows = (0..SIMULATED_ROWS)
            .map(|i| {
                let digest = Sha256::digest(format!("{table}|{date}|{i}"));
                let cents =
                    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()) % 10_000_000;
                vec![
                    Some(date.to_string()),
                    Some(format!(
                        "{}-{:04}",
                        table.to_ascii_uppercase(),
                        1000 + i * 7
                    )),
                    Some(format!("{}.{:02}", cents / 100, cents % 100)),
                    Some(["EUR", "USD", "GBP"][(digest[8] % 3) as usize].to_owned()),
                ]
            })
            .collect();
        ResultRows { columns, rows }
    }
}

impl Erp for SimulatedErp {
    async fn submit(&self, job: &str, date: ClosingDate) -> Result<Submission, ErpError> {
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let inserted = client
            .execute(
                &format!(
                    "INSERT INTO {s}.jobs (name, closing_date, duration_ms, fail_with)
                     SELECT $1, $2, $3, (SELECT message FROM {s}.failures WHERE closing_date = $2)
                     ON CONFLICT (name) DO NOTHING",
                    s = self.schema
                ),
                &[&job, &date.date(), &(self.duration.as_millis() as i64)],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(if inserted == 1 {
            Submission::Submitted
        } else {
            Submission::AlreadyExists
        })
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT submitted_at,
                            submitted_at + duration_ms * interval '1 millisecond' AS ends_at,
                            fail_with, stopped_at, now() AS now
                     FROM {}.jobs WHERE name = $1",
                    self.schema
                ),
                &[&job],
            )
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| ErpError::Permanent(format!("no job named {job}")))?;
        let started: DateTime<Utc> = row.get("submitted_at");
        let ends: DateTime<Utc> = row.get("ends_at");
        let fail_with: Option<String> = row.get("fail_with");
        let stopped: Option<DateTime<Utc>> = row.get("stopped_at");
        let now: DateTime<Utc> = row.get("now");
        let (state, ended_at) = match stopped {
            Some(at) => (JobState::Stopped, Some(at)),
            None if now < ends => (JobState::Running, None),
            None => match fail_with {
                Some(error) => (JobState::Failed { error }, Some(ends)),
                None => (JobState::Succeeded, Some(ends)),
            },
        };
        Ok(JobStatus {
            state,
            started_at: Some(started),
            ended_at,
        })
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        let client = self.pool.get().await.map_err(StoreError::from)?;
        client
            .execute(
                &format!(
                    "UPDATE {}.jobs SET stopped_at = now()
                     WHERE name = $1 AND stopped_at IS NULL
                       AND now() < submitted_at + duration_ms * interval '1 millisecond'",
                    self.schema
                ),
                &[&job],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn fetch_results(&self, table: &str, date: ClosingDate) -> Result<ResultRows, ErpError> {
        quoted_identifier(table)?;
        Ok(SimulatedErp::results_for(table, date))
    }
}
