//! PostgreSQL plumbing shared by the results store and the simulated ERP: the connection pool
//! (TLS, timeouts, verified reuse), identifier quoting, and the error of a PostgreSQL call.

use std::time::Duration;

/// The connection pool [`pool`] builds, for callers outside this crate.
pub use deadpool_postgres::Pool;
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use orabridge_shared::postgres::{PgTlsError, TlsSettings, apply_timeouts, tls_connector};

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
