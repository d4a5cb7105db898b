//! The PostgreSQL side: a connection pool, migrations run at start, `closing_runs`, and the
//! per-date replacement of a result table's rows in one transaction, so a retried or forced
//! copy never leaves two copies of a day.
//!
//! Result tables have one shape whatever the ERP table looks like: `(closing_date, row_no,
//! data jsonb)`, one JSON object per source row keyed by column name. That keeps the copy
//! schema-agnostic (the Genius tables change without a migration here) while staying
//! queryable (`data->>'AMOUNT'`).

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use orabridge_shared::postgres::{PgTlsError, TlsSettings, apply_timeouts, tls_connector};
use tokio::sync::mpsc;
use tokio_postgres::types::Json;

use crate::closing::{ClosingDate, ClosingReport};
use crate::erp::{Erp, ErpError, ResultMessage, result_channel};

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
    /// The ERP stopped sending rows before the end; nothing was committed.
    #[error("the ERP stopped sending rows after {copied}; the copy was rolled back")]
    Incomplete {
        /// Rows received before it stopped.
        copied: u64,
    },
    /// More rows for one date than `row_no` (an `integer`) can number.
    #[error("more than 2^31 rows for one date")]
    TooManyRows,
    /// TLS could not be set up (`PG_SSLMODE`, `PG_SSLROOTCERT`).
    #[error("PostgreSQL TLS could not be set up")]
    Tls(#[from] PgTlsError),
}

impl StoreError {
    /// Whether retrying cannot help: a bad name or TLS setting, a rejected login, an unknown
    /// database, schema or table, a missing privilege (SQLSTATE classes 28, 3D, 3F and 42, in
    /// "PostgreSQL Error Codes", https://www.postgresql.org/docs/15/errcodes-appendix.html).
    /// Lost connections, timeouts and an exhausted pool are worth retrying.
    pub fn is_permanent(&self) -> bool {
        let permanent_state = |err: &tokio_postgres::Error| {
            err.code().is_some_and(|state| {
                let class = &state.code()[..2];
                matches!(class, "28" | "3D" | "3F" | "42")
            })
        };
        match self {
            StoreError::InvalidIdentifier(_)
            | StoreError::Tls(_)
            | StoreError::TooManyRows
            | StoreError::Build(_) => true,
            StoreError::Postgres(err) => permanent_state(err),
            StoreError::Pool(deadpool_postgres::PoolError::Backend(err)) => permanent_state(err),
            StoreError::Pool(_) | StoreError::Incomplete { .. } => false,
        }
    }
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

/// A pool of at most `max_size` connections over `tls`, with connect and keepalive timeouts
/// ([`orabridge_shared::postgres::apply_timeouts`]).
pub fn pool(
    mut config: tokio_postgres::Config,
    tls: &TlsSettings,
    max_size: usize,
) -> Result<Pool, StoreError> {
    apply_timeouts(&mut config);
    let connector = tls_connector(&mut config, tls)?;
    let manager = Manager::from_config(
        config,
        connector,
        ManagerConfig {
            // `Fast` only asks whether the client noticed its connection close; a connection a
            // NAT gateway dropped while the workflow slept looks open until the next write. A
            // round trip before each reuse finds it and opens a new one instead.
            recycling_method: RecyclingMethod::Verified,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .timeouts(deadpool_postgres::Timeouts {
            // Waiting for a free connection, and opening one (TLS included).
            wait: Some(Duration::from_secs(30)),
            create: Some(Duration::from_secs(15)),
            // The reuse check of a silently dropped connection would otherwise wait for the
            // kernel to give up on it (the 60 s TCP user timeout): a healthy one answers in
            // milliseconds, so after 5 s the connection is discarded and a new one opened.
            recycle: Some(Duration::from_secs(5)),
        })
        .build()?)
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

    /// Replaces `date`'s rows of `table` with the rows arriving on `batches`, in one
    /// transaction: each batch is inserted as it arrives (one multi-row `INSERT ... unnest`),
    /// so memory holds a few batches whatever the table's size, and the transaction commits
    /// only on [`ResultMessage::End`]. Returns how many rows the table now holds for the date.
    pub async fn replace_results(
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

    /// Copies `date`'s rows of `table` from `erp`: its fetch and [`Store::replace_results`] run
    /// side by side over a bounded channel, so a batch is written while the next is fetched and
    /// memory stays flat whatever the table's size.
    pub async fn copy_from(
        &self,
        erp: &impl Erp,
        table: &str,
        date: ClosingDate,
    ) -> Result<u64, CopyError> {
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
