//! Composes the workflow service. [`build`] binds the workflow over its ports (the ERP and the
//! results store) into a Restate endpoint: `main` and the tests call it and differ only in the
//! ports they pass. [`from_config`] is `main`'s way in: from the configuration (secrets already
//! resolved) it opens the PostgreSQL pool, runs the migrations, chooses the ERP (for Oracle,
//! loading the Instant Client at start so a missing layer fails the init by name) and builds.

use orabridge_shared::oracle::{self as ora, OracleError};
use restate_sdk::endpoint::Endpoint;
use secrecy::ExposeSecret;

use crate::config::{ErpConfig, ServiceConfig};
use crate::erp::{Erp, OracleErp, SimulatedErp};
use crate::flow::{FinanceClosing, Timing};
use crate::pg::{StoreError, pool};
use crate::store::{ClosingStore, PostgresStore};

/// What the workflow is built over.
pub struct ServicePorts<E, S> {
    /// The ERP that runs the closing job.
    pub erp: E,
    /// Where closings are recorded and their results copied.
    pub store: S,
}

/// The Restate endpoint serving the workflow over `ports`, copying `config`'s result tables on
/// its timing.
pub fn build<E, S>(config: &ServiceConfig, ports: ServicePorts<E, S>) -> Endpoint
where
    E: Erp + 'static,
    S: ClosingStore + 'static,
{
    let timing = Timing {
        poll_interval: config.poll_interval,
        max_duration: config.max_duration,
        retry: config.retry,
    };
    let workflow =
        FinanceClosing::new(ports.erp, ports.store, config.result_tables.clone(), timing);
    Endpoint::builder().bind(workflow).build()
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceStartError {
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

/// The endpoint for `config`: its PostgreSQL store migrated and its ERP ready.
pub async fn from_config(config: &ServiceConfig) -> Result<Endpoint, ServiceStartError> {
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
    match &config.erp {
        ErpConfig::Simulated {
            schema,
            job_duration,
        } => {
            tracing::warn!(schema, "using the SIMULATED ERP, not Oracle");
            let erp = SimulatedErp::new(pool, schema, *job_duration)?;
            erp.migrate().await?;
            Ok(build(config, ServicePorts { erp, store }))
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
            .map_err(ServiceStartError::OracleSettings)?;
            Ok(build(config, ServicePorts { erp, store }))
        }
    }
}
