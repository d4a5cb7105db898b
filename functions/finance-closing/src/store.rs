//! The PostgreSQL side: a connection pool, migrations run at start, `closing_runs`, and the
//! per-date replacement of a result table's rows in one transaction, so a retried or forced
//! copy never leaves two copies of a day.
//!
//! Result tables have one shape whatever the ERP table looks like: `(closing_date, row_no,
//! data jsonb)`, one JSON object per source row keyed by column name. That keeps the copy
//! schema-agnostic (the Genius tables change without a migration here) while staying
//! queryable (`data->>'AMOUNT'`).

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::Json;

use crate::closing::{ClosingDate, ClosingReport};
use crate::erp::ResultRows;

/// A PostgreSQL operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had from the pool.
    #[error("no PostgreSQL connection available")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("a PostgreSQL statement failed")]
    Postgres(#[from] tokio_postgres::Error),
    /// A schema or table name that is not a plain identifier.
    #[error(
        "{0:?} is not a valid PostgreSQL identifier (letters, digits and _; not starting with a digit)"
    )]
    InvalidIdentifier(String),
    /// The pool could not be built.
    #[error("the PostgreSQL pool could not be built")]
    Build(#[from] deadpool_postgres::BuildError),
}

/// `name` checked to be a plain identifier and returned double-quoted, lower-cased (what
/// PostgreSQL folds unquoted names to, so `psql` users can type it bare).
pub fn quoted_identifier(name: &str) -> Result<String, StoreError> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63;
    if !valid {
        return Err(StoreError::InvalidIdentifier(name.to_owned()));
    }
    Ok(format!("\"{}\"", name.to_ascii_lowercase()))
}

/// A pool of at most `max_size` connections.
pub fn pool(config: tokio_postgres::Config, max_size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            // A connection that died while the workflow slept is found before it is used.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager).max_size(max_size).build()?)
}

/// A stored run of a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// The report as returned then.
    pub report: ClosingReport,
}

/// The reporting database.
#[derive(Clone)]
pub struct Store {
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

impl Store {
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
    pub async fn run_of(&self, date: ClosingDate) -> Result<Option<StoredRun>, StoreError> {
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
    pub async fn record(&self, report: &ClosingReport) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let status = serde_json::to_value(report.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
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

    /// Replaces `date`'s rows of `table` with `rows`, in one transaction, in batches; returns
    /// how many rows the table now holds for the date.
    pub async fn replace_results(
        &self,
        table: &str,
        date: ClosingDate,
        rows: &ResultRows,
    ) -> Result<u64, StoreError> {
        const BATCH: usize = 1_000;
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
        for (batch_index, batch) in rows.rows.chunks(BATCH).enumerate() {
            let numbers: Vec<i32> = (0..batch.len())
                .map(|i| (batch_index * BATCH + i) as i32)
                .collect();
            let objects: Vec<Json<serde_json::Value>> = batch
                .iter()
                .map(|row| {
                    Json(serde_json::Value::Object(
                        rows.columns
                            .iter()
                            .zip(row)
                            .map(|(column, cell)| (column.clone(), cell.clone().into()))
                            .collect(),
                    ))
                })
                .collect();
            tx.execute(&insert, &[&date.date(), &numbers, &objects])
                .await?;
        }
        tx.commit().await?;
        Ok(rows.rows.len() as u64)
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
