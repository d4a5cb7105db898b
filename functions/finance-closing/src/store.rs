//! Where closings are recorded and their results copied: the [`ClosingStore`] port, its
//! PostgreSQL adapter ([`PostgresStore`]: migrations run at start, `closing_runs`, and the
//! per-date replacement of a result table's rows in one transaction, so a retried or forced
//! copy never leaves two copies of a day) and an in-memory one ([`MemoryClosingStore`]) for the
//! workflow's unit tests.
//!
//! Result tables have one shape whatever the ERP table looks like: `(closing_date, row_no,
//! data jsonb)`, one JSON object per source row keyed by column name. That keeps the copy
//! schema-agnostic (the Genius tables change without a migration here) while staying
//! queryable (`data->>'AMOUNT'`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use tokio_postgres::types::Json;

use crate::closing::{ClosingDate, ClosingReport};
use crate::erp::{Erp, ErpError, ResultMessage, result_channel};
pub use crate::pg::StoreError;
use crate::pg::quoted_identifier;

/// Why a table's copy failed, on which side.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Fetching from the ERP.
    #[error("fetching the results failed")]
    Erp(#[source] ErpError),
    /// Writing to PostgreSQL.
    #[error("writing the results failed")]
    Store(#[source] StoreError),
}

/// A stored run of a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// The report as returned then.
    pub report: ClosingReport,
}

/// The phase as `closing_runs.status` holds it (`succeeded`, `failed`, `cancelled`).
fn phase_name(phase: crate::closing::Phase) -> String {
    serde_json::to_value(phase)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The workflow's store: the outcome of each date's closing and the copied result rows.
pub trait ClosingStore: Send + Sync {
    /// The recorded run of `date`, if any.
    fn run_of(
        &self,
        date: ClosingDate,
    ) -> impl Future<Output = Result<Option<StoredRun>, StoreError>> + Send;

    /// Records (or replaces) the outcome of `report`'s date.
    fn record(&self, report: &ClosingReport)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces `date`'s rows of `table` with the rows arriving on `batches`, all or nothing:
    /// nothing replaces the old rows unless [`ResultMessage::End`] arrives. Returns how many
    /// rows the table now holds for the date.
    fn replace_results(
        &self,
        table: &str,
        date: ClosingDate,
        batches: mpsc::Receiver<ResultMessage>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Copies `date`'s rows of `table` from `erp`: its fetch and
    /// [`replace_results`](Self::replace_results) run side by side over a bounded channel, so a
    /// batch is written while the next is fetched and memory stays flat whatever the size.
    fn copy_from<E: Erp>(
        &self,
        erp: &E,
        table: &str,
        date: ClosingDate,
    ) -> impl Future<Output = Result<u64, CopyError>> + Send {
        async move {
            let (sender, receiver) = result_channel();
            let (fetched, written) = tokio::join!(
                erp.fetch_results(table, date, sender),
                self.replace_results(table, date, receiver)
            );
            match (fetched, written) {
                (Ok(()), Ok(rows)) => Ok(rows),
                // The insert failed first; its error is the cause.
                (Ok(()) | Err(ErpError::Abandoned), Err(err)) => Err(CopyError::Store(err)),
                (Err(err), _) => Err(CopyError::Erp(err)),
            }
        }
    }
}

/// The reporting database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
}

// Each migration runs once, in order, recorded in `schema_migrations`.
const MIGRATIONS: &[&str] = &["CREATE TABLE {s}.closing_runs (
        closing_date date PRIMARY KEY,
        status text NOT NULL,
        job text,
        started_at timestamptz,
        ended_at timestamptz,
        row_counts jsonb NOT NULL DEFAULT '{}'::jsonb,
        error text,
        report jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())"];

impl PostgresStore {
    /// The store in `schema`.
    pub fn new(pool: Pool, schema: &str) -> Result<Self, StoreError> {
        Ok(Self {
            pool,
            schema: quoted_identifier(schema)?,
        })
    }

    /// Runs the pending migrations and creates the result tables (idempotent; concurrent
    /// starts serialise on an advisory lock).
    pub async fn migrate(&self, result_tables: &[String]) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One lock id for every orabridge migration: two cold starts must not race.
        tx.execute("SELECT pg_advisory_xact_lock(7213401)", &[])
            .await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now())",
            s = self.schema
        ))
        .await?;
        let applied: i32 = tx
            .query_one(
                &format!(
                    "SELECT coalesce(max(version), 0) FROM {}.schema_migrations",
                    self.schema
                ),
                &[],
            )
            .await?
            .get(0);
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            let version = index as i32 + 1;
            if version > applied {
                tx.batch_execute(&migration.replace("{s}", &self.schema))
                    .await?;
                tx.execute(
                    &format!(
                        "INSERT INTO {}.schema_migrations (version) VALUES ($1)",
                        self.schema
                    ),
                    &[&version],
                )
                .await?;
            }
        }
        for table in result_tables {
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {s}.{t} (
                     closing_date date NOT NULL,
                     row_no integer NOT NULL,
                     data jsonb NOT NULL,
                     PRIMARY KEY (closing_date, row_no))",
                s = self.schema,
                t = quoted_identifier(table)?
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The recorded run of `date`, if any.
    async fn stored_run(&self, date: ClosingDate) -> Result<Option<StoredRun>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT status, report FROM {}.closing_runs WHERE closing_date = $1",
                    self.schema
                ),
                &[&date.date()],
            )
            .await?;
        Ok(row.map(|row| StoredRun {
            status: row.get(0),
            report: row.get::<_, Json<ClosingReport>>(1).0,
        }))
    }

    /// Records (or replaces) the outcome of `report.date`.
    async fn record_report(&self, report: &ClosingReport) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let status = phase_name(report.phase);
        let counts: serde_json::Map<String, serde_json::Value> = report
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.rows.into()))
            .collect();
        let parse = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        client
            .execute(
                &format!(
                    "INSERT INTO {}.closing_runs
                         (closing_date, status, job, started_at, ended_at, row_counts, error, report, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
                     ON CONFLICT (closing_date) DO UPDATE SET
                         status = EXCLUDED.status, job = EXCLUDED.job,
                         started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
                         row_counts = EXCLUDED.row_counts, error = EXCLUDED.error,
                         report = EXCLUDED.report, updated_at = now()",
                    self.schema
                ),
                &[
                    &report.date.date(),
                    &status,
                    &report.job,
                    &parse(&report.started_at),
                    &parse(&report.ended_at),
                    &Json(serde_json::Value::Object(counts)),
                    &report.error,
                    &Json(report),
                ],
            )
            .await?;
        Ok(())
    }

    /// Replaces `date`'s rows of `table` with the rows arriving on `batches`, in one
    /// transaction: each batch is inserted as it arrives (one multi-row `INSERT ... unnest`),
    /// so memory holds a few batches whatever the table's size, and the transaction commits
    /// only on [`ResultMessage::End`]. Returns how many rows the table now holds for the date.
    async fn replace_rows(
        &self,
        table: &str,
        date: ClosingDate,
        mut batches: mpsc::Receiver<ResultMessage>,
    ) -> Result<u64, StoreError> {
        let target = format!("{}.{}", self.schema, quoted_identifier(table)?);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            &format!("DELETE FROM {target} WHERE closing_date = $1"),
            &[&date.date()],
        )
        .await?;
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {target} (closing_date, row_no, data)
                 SELECT $1, * FROM unnest($2::integer[], $3::jsonb[])"
            ))
            .await?;
        let mut copied: u64 = 0;
        loop {
            match batches.recv().await {
                Some(ResultMessage::Batch { columns, rows }) => {
                    let first = i32::try_from(copied).map_err(|_| StoreError::TooManyRows)?;
                    let numbers: Vec<i32> = (first..).take(rows.len()).collect();
                    let objects: Vec<Json<serde_json::Value>> = rows
                        .into_iter()
                        .map(|row| {
                            Json(serde_json::Value::Object(
                                columns
                                    .iter()
                                    .zip(row)
                                    .map(|(column, cell)| (column.clone(), cell.into()))
                                    .collect(),
                            ))
                        })
                        .collect();
                    tx.execute(&insert, &[&date.date(), &numbers, &objects])
                        .await?;
                    copied += numbers.len() as u64;
                }
                Some(ResultMessage::End) => break,
                // The ERP side failed: the transaction rolls back when dropped.
                None => return Err(StoreError::Incomplete { copied }),
            }
        }
        tx.commit().await?;
        Ok(copied)
    }

    /// How many rows `table` holds for `date`.
    pub async fn count_results(&self, table: &str, date: ClosingDate) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}.{} WHERE closing_date = $1",
                    self.schema,
                    quoted_identifier(table)?
                ),
                &[&date.date()],
            )
            .await?;
        Ok(row.get(0))
    }
}

impl ClosingStore for PostgresStore {
    async fn run_of(&self, date: ClosingDate) -> Result<Option<StoredRun>, StoreError> {
        self.stored_run(date).await
    }

    async fn record(&self, report: &ClosingReport) -> Result<(), StoreError> {
        self.record_report(report).await
    }

    async fn replace_results(
        &self,
        table: &str,
        date: ClosingDate,
        batches: mpsc::Receiver<ResultMessage>,
    ) -> Result<u64, StoreError> {
        self.replace_rows(table, date, batches).await
    }
}

/// An in-memory [`ClosingStore`] for the workflow's unit tests. Clones share their state, so a
/// test keeps a handle and reads what the workflow recorded and copied.
#[derive(Debug, Clone, Default)]
pub struct MemoryClosingStore {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    runs: BTreeMap<ClosingDate, StoredRun>,
    results: BTreeMap<(String, ClosingDate), Vec<Vec<Option<String>>>>,
    records: usize,
    failing_records: usize,
}

impl MemoryClosingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        // Only a panicking test can poison it; keep serving its state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rows of `table` for `date`.
    pub fn rows(&self, table: &str, date: ClosingDate) -> usize {
        self.state()
            .results
            .get(&(table.to_owned(), date))
            .map_or(0, Vec::len)
    }

    /// How many times an outcome was recorded (a replayed step must not record twice).
    pub fn records(&self) -> usize {
        self.state().records
    }

    /// Makes the next `times` records fail as a lost connection pool does.
    pub fn fail_next_records(&self, times: usize) {
        self.state().failing_records = times;
    }
}

impl ClosingStore for MemoryClosingStore {
    async fn run_of(&self, date: ClosingDate) -> Result<Option<StoredRun>, StoreError> {
        Ok(self.state().runs.get(&date).cloned())
    }

    async fn record(&self, report: &ClosingReport) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.failing_records > 0 {
            state.failing_records -= 1;
            return Err(StoreError::Pool(deadpool_postgres::PoolError::Closed));
        }
        state.records += 1;
        state.runs.insert(
            report.date,
            StoredRun {
                status: phase_name(report.phase),
                report: report.clone(),
            },
        );
        Ok(())
    }

    async fn replace_results(
        &self,
        table: &str,
        date: ClosingDate,
        mut batches: mpsc::Receiver<ResultMessage>,
    ) -> Result<u64, StoreError> {
        let mut rows = Vec::new();
        loop {
            match batches.recv().await {
                Some(ResultMessage::Batch { rows: batch, .. }) => rows.extend(batch),
                Some(ResultMessage::End) => break,
                None => {
                    return Err(StoreError::Incomplete {
                        copied: rows.len() as u64,
                    });
                }
            }
        }
        let copied = rows.len() as u64;
        self.state().results.insert((table.to_owned(), date), rows);
        Ok(copied)
    }
}
