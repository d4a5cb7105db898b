//! Builds the workflow from its configuration (secrets already resolved by `main`): the
//! PostgreSQL pool, migrations run, the ERP chosen, and for Oracle the Instant Client loaded at
//! start so a missing layer fails the init by name.

use orabridge_shared::oracle::{self as ora, OracleError};
use restate_sdk::endpoint::Endpoint;
use secrecy::ExposeSecret;

use crate::config::{ErpConfig, ServiceConfig};
use crate::erp::{OracleErp, SimulatedErp};
use crate::flow::{FinanceClosing, Timing};
use crate::pg::{StoreError, pool};
use crate::store::PostgresStore;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// PostgreSQL could not be prepared.
    #[error("preparing PostgreSQL failed")]
    Store(#[from] StoreError),
    /// The Oracle client could not be loaded.
    #[error(transparent)]
    Oracle(#[from] OracleError),
    /// The Oracle settings are invalid.
    #[error("the Oracle settings are invalid: {0}")]
    OracleSettings(String),
}

/// The Restate endpoint serving the workflow for `config`, with migrations run.
pub async fn build(config: &ServiceConfig) -> Result<Endpoint, StartError> {
    let pg = &config.postgres;
    let mut pg_config = tokio_postgres::Config::new();
    pg_config
        .host(&pg.host)
        .port(pg.port)
        .dbname(&pg.database)
        .user(&pg.user)
        .application_name("orabridge-finance-closing");
    if let Some(password) = &pg.password {
        pg_config.password(password.expose_secret());
    }
    let pool = pool(pg_config, &pg.tls, 4)?;
    let store = PostgresStore::new(pool.clone(), &pg.schema)?;
    store.migrate(&config.result_tables).await?;
    let tables = config.result_tables.clone();
    let timing = Timing {
        poll_interval: config.poll_interval,
        max_duration: config.max_duration,
        retry: config.retry,
    };
    let endpoint = Endpoint::builder();
    let endpoint = match &config.erp {
        ErpConfig::Simulated {
            schema,
            job_duration,
        } => {
            tracing::warn!(schema, "using the SIMULATED ERP, not Oracle");
            let simulator = SimulatedErp::new(pool, schema, *job_duration)?;
            simulator.migrate().await?;
            endpoint.bind(FinanceClosing::new(simulator, store, tables, timing))
        }
        ErpConfig::Oracle {
            connect,
            procedure,
            results_owner,
            date_argument,
        } => {
            ora::load_client()?;
            let erp = OracleErp::new(
                connect.clone(),
                procedure,
                results_owner,
                date_argument.clone(),
            )
            .map_err(StartError::OracleSettings)?;
            endpoint.bind(FinanceClosing::new(erp, store, tables, timing))
        }
    };
    Ok(endpoint.build())
}
