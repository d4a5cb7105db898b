//! The **simulated ERP**, whose scheduler lives in PostgreSQL so it outlasts every process: the
//! demo's ERP and the adapter tier's tests (crashes, restarts, faults between scheduler calls).
//! Its jobs follow [`Scheduler`], the model of Oracle's documented scheduler the in-memory ERP
//! runs too; each port call loads it under a row lock, applies the calls and stores it back,
//! so each call is committed as `DBMS_SCHEDULER` commits its own.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};
use tokio_postgres::types::Json;

use super::scheduler::{Job, OracleState, Scheduler, SchedulerError, Slaves};
use super::{Erp, ErpError, JobStatus, ResultMessage, ResultRow, ResultSender, Submission};
use crate::closing::{ClosingDate, JobSeen};
use crate::pg::{StoreError, quoted_identifier};

pub use super::scheduler::SubmitFault;

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

/// Where the simulator's faults are armed: a submit's points, and the poll.
const POLL_FAULT: &str = "poll";

/// The simulated ERP: a stand-in for Genius on Oracle, named as a simulator wherever it
/// appears. A submitted job goes through Oracle's scheduler calls (create DISABLED, set the
/// argument, enable), each committed on its own, and can be told to fail at each; an enabled
/// job waits for a job slave, "runs" for the configured duration, can be told to fail for a
/// date, and its result rows are a deterministic function of table and date.
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
    /// A simulator keeping its scheduler in `schema` (created by [`SimulatedErp::migrate`]);
    /// each job takes `duration`.
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

    /// Creates the simulator's tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {s};
                 CREATE TABLE IF NOT EXISTS {s}.scheduler (
                     one boolean PRIMARY KEY DEFAULT true CHECK (one),
                     state jsonb NOT NULL);
                 INSERT INTO {s}.scheduler (state) VALUES ('{{}}') ON CONFLICT DO NOTHING;
                 CREATE TABLE IF NOT EXISTS {s}.failures (
                     closing_date date PRIMARY KEY,
                     message text NOT NULL);
                 CREATE TABLE IF NOT EXISTS {s}.faults (
                     point text PRIMARY KEY,
                     remaining integer NOT NULL,
                     permanent boolean NOT NULL,
                     message text NOT NULL);",
                s = self.schema
            ))
            .await
            .map_err(StoreError::from)
    }

    /// Runs `call` on the scheduler as stored, under its row lock, and stores what it left.
    async fn scheduler<T>(&self, call: impl FnOnce(&mut Scheduler) -> T) -> Result<T, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_one(
                &format!("SELECT state FROM {}.scheduler FOR UPDATE", self.schema),
                &[],
            )
            .await?;
        let mut scheduler: Scheduler = row.get::<_, Json<Scheduler>>(0).0;
        scheduler.advance(Utc::now());
        let answer = call(&mut scheduler);
        tx.execute(
            &format!("UPDATE {}.scheduler SET state = $1", self.schema),
            &[&Json(&scheduler)],
        )
        .await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// How job slaves take enabled jobs from now on ([`Slaves::Held`]: none is, as with
    /// `JOB_QUEUE_PROCESSES` at 0).
    pub async fn set_slaves(&self, slaves: Slaves) -> Result<(), StoreError> {
        self.scheduler(|scheduler| scheduler.set_slaves(slaves, Utc::now()))
            .await
    }

    /// How long stopping a running job takes (see [`Scheduler::set_stop_time`]).
    pub async fn set_stop_time(&self, stop_takes: Duration) -> Result<(), StoreError> {
        self.scheduler(|scheduler| scheduler.set_stop_time(stop_takes))
            .await
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
        self.arm(point.name(), times, permanent, message).await
    }

    /// Makes the next `times` polls fail with `message` (with `permanent`: as a refusal, the
    /// way a poll of a view the database lacks fails).
    pub async fn fail_poll(
        &self,
        times: i32,
        permanent: bool,
        message: &str,
    ) -> Result<(), StoreError> {
        self.arm(POLL_FAULT, times, permanent, message).await
    }

    async fn arm(
        &self,
        point: &str,
        times: i32,
        permanent: bool,
        message: &str,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO {}.faults (point, remaining, permanent, message)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (point) DO UPDATE SET remaining = EXCLUDED.remaining,
                         permanent = EXCLUDED.permanent, message = EXCLUDED.message",
                    self.schema
                ),
                &[&point, &times, &permanent, &message],
            )
            .await?;
        Ok(())
    }

    /// Uses one time of the fault armed at `point`, if any: its error.
    async fn armed(&self, point: &str) -> Result<Option<ErpError>, StoreError> {
        let client = self.pool.get().await?;
        let armed = client
            .query_opt(
                &format!(
                    "UPDATE {}.faults SET remaining = remaining - 1
                     WHERE point = $1 AND remaining > 0 RETURNING permanent, message",
                    self.schema
                ),
                &[&point],
            )
            .await?;
        Ok(armed.map(|row| match row.get::<_, bool>(0) {
            true => ErpError::Permanent(row.get(1)),
            false => ErpError::Transient(Box::new(SimulatedFault(row.get(1)))),
        }))
    }

    /// The submit point whose fault is armed, if any (the first, in the order a submit passes
    /// them), with its error; using one of its times.
    async fn submit_cut(&self) -> Result<Option<(SubmitFault, ErpError)>, StoreError> {
        for point in SubmitFault::ALL {
            if let Some(err) = self.armed(point.name()).await? {
                return Ok(Some((point, err)));
            }
        }
        Ok(None)
    }

    /// How many jobs were ever created for `date` and not dropped (tests check "submitted
    /// once").
    pub async fn jobs_for(&self, date: ClosingDate) -> Result<i64, StoreError> {
        self.scheduler(|scheduler| scheduler.jobs_of(date).count() as i64)
            .await
    }

    /// The job named `job` as the scheduler holds it now.
    pub async fn job(&self, job: &str) -> Result<Option<Job>, StoreError> {
        self.scheduler(|scheduler| scheduler.job(job).cloned())
            .await
    }

    /// The most jobs of `date` that were enabled or running at one moment, so far.
    pub async fn peak_runnable(&self, date: ClosingDate) -> Result<usize, StoreError> {
        self.scheduler(|scheduler| scheduler.peak_runnable(date))
            .await
    }

    /// The scheduler `STATE` of `job` and whether its date argument is set, as a test
    /// inspects what a submit left behind.
    pub async fn job_setup(&self, job: &str) -> Result<Option<(OracleState, bool)>, StoreError> {
        Ok(self
            .job(job)
            .await?
            .map(|job| (job.state, job.argument_set)))
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

    async fn failure_for(&self, date: ClosingDate) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT message FROM {}.failures WHERE closing_date = $1",
                    self.schema
                ),
                &[&date.date()],
            )
            .await?;
        Ok(row.map(|row| row.get(0)))
    }
}

/// A scheduler error as the Oracle adapter reports one it does not expect: permanent.
fn refused(err: SchedulerError) -> ErpError {
    ErpError::Permanent(format!("simulated ERP: {err}"))
}

impl Erp for SimulatedErp {
    async fn submit(&self, job: &str, date: ClosingDate) -> Result<Submission, ErpError> {
        let cut = self.submit_cut().await?;
        let fail_with = self.failure_for(date).await?;
        let created = Job::created(job, date, self.duration, fail_with);
        let point = cut.as_ref().map(|(point, _)| *point);
        let done = self
            .scheduler(|scheduler| scheduler.submit(created, Utc::now(), point))
            .await?;
        match (done, cut) {
            (Ok(submission), _) => Ok(submission),
            (Err(_), Some((_, err))) => Err(err),
            (Err(point), None) => Err(ErpError::Transient(Box::new(SimulatedFault(format!(
                "submit cut {point:?}"
            ))))),
        }
    }

    async fn poll(&self, job: &str) -> Result<JobStatus, ErpError> {
        if let Some(err) = self.armed(POLL_FAULT).await? {
            return Err(err);
        }
        self.scheduler(|scheduler| scheduler.status(job, Utc::now()))
            .await?
            .ok_or_else(|| ErpError::Permanent(format!("simulated ERP: no job named {job}")))
    }

    async fn jobs_of(&self, date: ClosingDate) -> Result<Vec<JobSeen>, ErpError> {
        Ok(self
            .scheduler(|scheduler| scheduler.seen(date, Utc::now()))
            .await?)
    }

    async fn disable(&self, job: &str) -> Result<(), ErpError> {
        self.scheduler(|scheduler| scheduler.disable_settling(job, Utc::now()))
            .await?
            .map_err(refused)
    }

    async fn stop(&self, job: &str) -> Result<(), ErpError> {
        self.scheduler(|scheduler| scheduler.stop_settling(job, Utc::now()))
            .await?
            .map_err(refused)
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
