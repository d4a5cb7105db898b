//! The **simulated ERP**, whose jobs live in PostgreSQL so they outlast every process: the
//! demo's ERP and the adapter tier's tests (crashes, restarts, faults between scheduler calls).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};

use super::{Erp, ErpError, JobStatus, ResultMessage, ResultRow, ResultSender, Submission};
use crate::closing::{ClosingDate, JobState};
use crate::pg::{StoreError, quoted_identifier};

/// Where the simulated ERP can be told to fail a submit: before each of the three scheduler
/// calls, and after the last one (the call succeeded but its answer was lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitFault {
    /// Before `CREATE_JOB`: nothing exists yet.
    BeforeCreate,
    /// After `CREATE_JOB` (which commits by itself): a DISABLED job without its argument.
    AfterCreate,
    /// After the argument is set: a DISABLED job with its argument.
    AfterArgument,
    /// After `ENABLE`: the job runs, but the caller saw an error.
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

    fn name(self) -> &'static str {
        match self {
            SubmitFault::BeforeCreate => "before_create",
            SubmitFault::AfterCreate => "after_create",
            SubmitFault::AfterArgument => "after_argument",
            SubmitFault::AfterEnable => "after_enable",
        }
    }
}

/// An error the simulator was told to raise.
#[derive(Debug, thiserror::Error)]
#[error("simulated ERP: {0}")]
pub struct SimulatedFault(String);

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
/// appears. A submitted job goes through Oracle's three scheduler calls (create DISABLED, set
/// the argument, enable), each committed on its own as `DBMS_SCHEDULER` commits them, and can
/// be told to fail at each; an enabled job "runs" for the configured duration, can be told to
/// fail for a date, and its result rows are a deterministic function of table and date.
#[derive(Clone)]
pub struct SimulatedErp {
    pool: Pool,
    schema: String,
    duration: Duration,
    rows_per_table: u64,
}

/// Rows per result table per date in the simulator, unless [`SimulatedErp::with_rows`] says.
pub const SIMULATED_ROWS: u32 = 40;

/// The simulator hands out rows in batches of this many, as the Oracle adapter fetches them.
pub const SIMULATED_BATCH_ROWS: usize = orabridge_shared::oracle::FETCH_ARRAY_SIZE as usize;

impl SimulatedErp {
    /// A simulator keeping its jobs in `schema` (created by [`SimulatedErp::migrate`]); each job
    /// takes `duration`.
    pub fn new(pool: Pool, schema: &str, duration: Duration) -> Result<Self, StoreError> {
        Ok(Self {
            pool,
            schema: quoted_identifier(schema)?,
            duration,
            rows_per_table: u64::from(SIMULATED_ROWS),
        })
    }

    /// The same simulator producing `rows` rows per result table and date (the copy benchmark
    /// asks for a million).
    pub fn with_rows(mut self, rows: u64) -> Self {
        self.rows_per_table = rows;
        self
    }

    /// Creates the simulator's tables (and adds what newer versions need to older ones).
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
                 ALTER TABLE {s}.jobs
                     ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'DISABLED',
                     ADD COLUMN IF NOT EXISTS argument date,
                     ADD COLUMN IF NOT EXISTS enabled_at timestamptz;
                 CREATE TABLE IF NOT EXISTS {s}.failures (
                     closing_date date PRIMARY KEY,
                     message text NOT NULL);
                 CREATE TABLE IF NOT EXISTS {s}.submit_faults (
                     point text PRIMARY KEY,
                     remaining integer NOT NULL,
                     permanent boolean NOT NULL,
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

    /// Makes the next `times` submits fail at `point` with `message`: a lost connection
    /// (transient, retried) or, with `permanent`, a refusal such as ORA-06550 for an unknown
    /// procedure. Kept in PostgreSQL, so it holds across the workflow's processes.
    pub async fn fail_submit(
        &self,
        point: SubmitFault,
        times: i32,
        permanent: bool,
        message: &str,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO {}.submit_faults (point, remaining, permanent, message)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (point) DO UPDATE SET remaining = EXCLUDED.remaining,
                         permanent = EXCLUDED.permanent, message = EXCLUDED.message",
                    self.schema
                ),
                &[&point.name(), &times, &permanent, &message],
            )
            .await?;
        Ok(())
    }

    /// Raises the fault armed at `point`, if any, using one of its times.
    async fn fault_at(
        &self,
        client: &deadpool_postgres::Client,
        point: SubmitFault,
    ) -> Result<(), ErpError> {
        let armed = client
            .query_opt(
                &format!(
                    "UPDATE {}.submit_faults SET remaining = remaining - 1
                     WHERE point = $1 AND remaining > 0 RETURNING permanent, message",
                    self.schema
                ),
                &[&point.name()],
            )
            .await
            .map_err(StoreError::from)?;
        match armed {
            None => Ok(()),
            Some(row) if row.get::<_, bool>(0) => Err(ErpError::Permanent(row.get(1))),
            Some(row) => Err(ErpError::Transient(Box::new(SimulatedFault(row.get(1))))),
        }
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

    /// The scheduler state of `job` (`DISABLED`, `ENABLED`) and its date argument, as a test
    /// inspects what a submit left behind.
    pub async fn job_setup(
        &self,
        job: &str,
    ) -> Result<Option<(String, Option<chrono::NaiveDate>)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT state, argument FROM {}.jobs WHERE name = $1",
                    self.schema
                ),
                &[&job],
            )
            .await?;
        Ok(row.map(|row| (row.get(0), row.get(1))))
    }

    /// The column names of every simulated result table.
    pub fn result_columns() -> Arc<[String]> {
        ["CLOSING_DATE", "ACCOUNT", "AMOUNT", "CURRENCY"]
            .map(str::to_owned)
            .into()
    }

    /// Row `index` of `table` for `date`: a deterministic function of the three.
    pub fn result_row(table: &str, date: ClosingDate, index: u64) -> ResultRow {
        let digest = Sha256::digest(format!("{table}|{date}|{index}"));
        let cents = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()) % 10_000_000;
        vec![
            Some(date.to_string()),
            Some(format!(
                "{}-{:04}",
                table.to_ascii_uppercase(),
                1000 + index * 7
            )),
            Some(format!("{}.{:02}", cents / 100, cents % 100)),
            Some(["EUR", "USD", "GBP"][(digest[8] % 3) as usize].to_owned()),
        ]
    }
}

impl Erp for SimulatedErp {
    async fn submit(&self, job: &str, date: ClosingDate) -> Result<Submission, ErpError> {
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let s = &self.schema;
        self.fault_at(&client, SubmitFault::BeforeCreate).await?;
        let state: Option<String> = client
            .query_opt(
                &format!("SELECT state FROM {s}.jobs WHERE name = $1"),
                &[&job],
            )
            .await
            .map_err(StoreError::from)?
            .map(|row| row.get(0));
        let outcome = match state.as_deref() {
            None => Submission::Submitted,
            Some("DISABLED") => Submission::Recovered,
            Some(_) => return Ok(Submission::AlreadyExists),
        };
        if state.is_none() {
            // CREATE_JOB: committed by itself, DISABLED, no argument yet.
            client
                .execute(
                    &format!(
                        "INSERT INTO {s}.jobs (name, closing_date, duration_ms, fail_with)
                         SELECT $1, $2, $3, (SELECT message FROM {s}.failures WHERE closing_date = $2)
                         ON CONFLICT (name) DO NOTHING"
                    ),
                    &[&job, &date.date(), &(self.duration.as_millis() as i64)],
                )
                .await
                .map_err(StoreError::from)?;
        }
        self.fault_at(&client, SubmitFault::AfterCreate).await?;
        client
            .execute(
                &format!("UPDATE {s}.jobs SET argument = $2 WHERE name = $1"),
                &[&job, &date.date()],
            )
            .await
            .map_err(StoreError::from)?;
        self.fault_at(&client, SubmitFault::AfterArgument).await?;
        // ENABLE: the job starts now; it refuses to start without its argument, as Oracle's
        // scheduler does (ORA-27457).
        let enabled = client
            .execute(
                &format!(
                    "UPDATE {s}.jobs SET state = 'ENABLED', enabled_at = now()
                     WHERE name = $1 AND state = 'DISABLED' AND argument IS NOT NULL"
                ),
                &[&job],
            )
            .await
            .map_err(StoreError::from)?;
        if enabled != 1 {
            return Err(ErpError::Permanent(format!(
                "simulated ERP: ORA-27457: argument 1 of job {job} has no value"
            )));
        }
        self.fault_at(&client, SubmitFault::AfterEnable).await?;
        Ok(outcome)
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT enabled_at,
                            enabled_at + duration_ms * interval '1 millisecond' AS ends_at,
                            fail_with, stopped_at, now() AS now
                     FROM {}.jobs WHERE name = $1",
                    self.schema
                ),
                &[&job],
            )
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| ErpError::Permanent(format!("no job named {job}")))?;
        // A DISABLED job never starts: it stays scheduled, which is what an interrupted submit
        // left behind before submission could recover it.
        let Some(started) = row.get::<_, Option<DateTime<Utc>>>("enabled_at") else {
            return Ok(JobStatus {
                state: JobState::Scheduled,
                started_at: None,
                ended_at: None,
            });
        };
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
                       AND (enabled_at IS NULL
                            OR now() < enabled_at + duration_ms * interval '1 millisecond')",
                    self.schema
                ),
                &[&job],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn fetch_results(
        &self,
        table: &str,
        date: ClosingDate,
        rows: ResultSender,
    ) -> Result<(), ErpError> {
        quoted_identifier(table)?;
        send_simulated_rows(table, date, self.rows_per_table, rows).await
    }
}

/// Sends `count` rows of the simulated `table` for `date` ([`SimulatedErp::result_row`]) in
/// fetch-array batches, then [`ResultMessage::End`]: the simulated ERPs' `fetch_results`.
pub async fn send_simulated_rows(
    table: &str,
    date: ClosingDate,
    count: u64,
    rows: ResultSender,
) -> Result<(), ErpError> {
    let columns = SimulatedErp::result_columns();
    let mut index = 0;
    while index < count {
        let end = (index + SIMULATED_BATCH_ROWS as u64).min(count);
        let batch = (index..end)
            .map(|i| SimulatedErp::result_row(table, date, i))
            .collect();
        rows.send(ResultMessage::Batch {
            columns: Arc::clone(&columns),
            rows: batch,
        })
        .await
        .map_err(|_| ErpError::Abandoned)?;
        index = end;
    }
    rows.send(ResultMessage::End)
        .await
        .map_err(|_| ErpError::Abandoned)
}
