//! The configuration of both modes, read once at start-up: the trigger's Restate ingress, and
//! the service's ERP, PostgreSQL connection, result tables and pacing.
//!
//! Secrets and endpoints are settings in `shared::settings`' sense: `X` locally, `X_PARAM` (an
//! SSM parameter, SecureString for secrets) in AWS. [`TriggerConfig::settings`] and
//! [`ServiceConfig::settings`] name them, `main` resolves them in one read, and `from_source`
//! parses the result; secrets stay in `SecretString`.

use std::time::Duration;

use orabridge_shared::config::{ConfigError, ConfigReader, VarSource};
use orabridge_shared::oracle::{self, ConnectOptions};
use orabridge_shared::postgres::{RootCertificates, SslMode, TlsSettings};
use orabridge_shared::settings::SettingsPlan;
use secrecy::SecretString;

use crate::erp::oracle::DateArgument;
use crate::flow::RetryPolicy;

/// Which ERP the workflow drives.
#[derive(Debug, Clone)]
pub enum ErpConfig {
    /// Genius on Oracle.
    Oracle {
        /// Who connects where, with the call timeout (`ORACLE_CALL_TIMEOUT`, default 60 s) and
        /// the connect timeout (`ORACLE_CONNECT_TIMEOUT`, default 10 s); the password is
        /// `ORACLE_PASSWORD`, or the parameter `ORACLE_PASSWORD_PARAM` names.
        connect: ConnectOptions,
        /// `[SCHEMA.]PACKAGE.PROCEDURE` run as the closing.
        procedure: String,
        /// Owner of the result tables.
        results_owner: String,
        /// How the procedure takes the closing date.
        date_argument: DateArgument,
    },
    /// The simulated ERP (named as such in every log line).
    Simulated {
        /// Schema of the simulator's tables.
        schema: String,
        /// How long a simulated closing takes.
        job_duration: Duration,
    },
}

/// The PostgreSQL side.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database.
    pub database: String,
    /// User.
    pub user: String,
    /// Password (`PG_PASSWORD` or `PG_PASSWORD_PARAM`; absent: trust or peer authentication).
    pub password: Option<SecretString>,
    /// Schema of `closing_runs` and the result tables.
    pub schema: String,
    /// `PG_SSLMODE` (libpq's modes, default `prefer` as in libpq) and `PG_SSLROOTCERT`.
    pub tls: TlsSettings,
}

/// `PG_SSLMODE` and `PG_SSLROOTCERT`; a `verify-*` mode without root certificates is refused
/// here, at start, rather than at the first connection.
fn postgres_tls(reader: &ConfigReader<impl VarSource>) -> Result<TlsSettings, ConfigError> {
    let mode = match reader.optional_string("PG_SSLMODE") {
        None => SslMode::Prefer,
        Some(text) => SslMode::parse(&text).ok_or_else(|| ConfigError::Malformed {
            name: "PG_SSLMODE".into(),
            reason: format!(
                "expected one of {}, got {text:?}",
                SslMode::NAMES.join(", ")
            ),
        })?,
    };
    let root_certificates = reader
        .optional_string("PG_SSLROOTCERT")
        .map(|text| RootCertificates::parse(&text));
    let settings = TlsSettings {
        mode,
        root_certificates,
    };
    settings.check().map_err(|_| ConfigError::Missing {
        name: format!(
            "PG_SSLROOTCERT (PG_SSLMODE={} checks the server's certificate against it: a \
             PEM bundle such as the RDS CA bundle, or `system`)",
            mode.as_str()
        ),
    })?;
    Ok(settings)
}

/// The whole service configuration.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The ERP.
    pub erp: ErpConfig,
    /// PostgreSQL.
    pub postgres: PostgresConfig,
    /// Result tables copied after a successful job.
    pub result_tables: Vec<String>,
    /// Durable sleep between polls.
    pub poll_interval: Duration,
    /// Longest a job may run.
    pub max_duration: Duration,
    /// How steps retry transient failures.
    pub retry: RetryPolicy,
}

/// The trigger's configuration: where Restate's ingress is and the token it may need.
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    /// `RESTATE_INGRESS_URL` (or the parameter `RESTATE_INGRESS_URL_PARAM` names).
    pub ingress_url: String,
    /// `RESTATE_TOKEN` (or `RESTATE_TOKEN_PARAM`): a bearer token, for Restate Cloud.
    pub token: Option<SecretString>,
}

impl TriggerConfig {
    /// The settings the trigger reads, as values or parameter references.
    pub fn settings<V: VarSource>(vars: V) -> SettingsPlan<V> {
        SettingsPlan::new(vars)
            .setting("RESTATE_INGRESS_URL")
            .setting("RESTATE_TOKEN")
    }

    /// Reads the configuration from resolved [`settings`](Self::settings).
    pub fn from_source(vars: impl VarSource) -> Result<TriggerConfig, ConfigError> {
        let reader = ConfigReader::new(vars);
        Ok(TriggerConfig {
            ingress_url: reader.string("RESTATE_INGRESS_URL").map_err(|_| {
                ConfigError::Missing {
                    name: "RESTATE_INGRESS_URL (or RESTATE_INGRESS_URL_PARAM)".into(),
                }
            })?,
            token: reader.optional_secret("RESTATE_TOKEN")?,
        })
    }
}

impl ServiceConfig {
    /// The settings the service reads as values or parameter references: the two passwords.
    pub fn settings<V: VarSource>(vars: V) -> SettingsPlan<V> {
        SettingsPlan::new(vars)
            .setting("PG_PASSWORD")
            .setting("ORACLE_PASSWORD")
    }

    /// Reads the configuration from resolved [`settings`](Self::settings), naming any variable
    /// that is missing or malformed.
    pub fn from_source(vars: impl VarSource) -> Result<ServiceConfig, ConfigError> {
        let reader = ConfigReader::new(vars);
        let erp = match reader.string_or("ERP_BACKEND", "oracle").as_str() {
            "oracle" => oracle_erp(&reader)?,
            "simulated" => ErpConfig::Simulated {
                schema: reader.string_or("SIMULATOR_SCHEMA", "erp_simulator"),
                job_duration: reader
                    .positive_duration_or("SIMULATED_JOB_DURATION", Duration::from_secs(30))?,
            },
            other => {
                return Err(ConfigError::Malformed {
                    name: "ERP_BACKEND".into(),
                    reason: format!("expected oracle or simulated, got {other:?}"),
                });
            }
        };
        let result_tables: Vec<String> = reader
            .string("CLOSING_RESULT_TABLES")?
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        Ok(ServiceConfig {
            erp,
            postgres: PostgresConfig {
                host: reader.string("PG_HOST")?,
                port: reader.parse_or("PG_PORT", 5432)?,
                database: reader.string("PG_DATABASE")?,
                user: reader.string("PG_USER")?,
                password: reader.optional_secret("PG_PASSWORD")?,
                schema: reader.string_or("PG_SCHEMA", "finance"),
                tls: postgres_tls(&reader)?,
            },
            result_tables,
            poll_interval: reader.positive_duration_or("POLL_INTERVAL", Duration::from_secs(60))?,
            max_duration: reader
                .positive_duration_or("MAX_DURATION", Duration::from_secs(8 * 3600))?,
            retry: retry_policy(&reader)?,
        })
    }
}

/// The Oracle ERP's settings: the procedure, the login and the date argument.
fn oracle_erp(reader: &ConfigReader<impl VarSource>) -> Result<ErpConfig, ConfigError> {
    let procedure = reader.string("CLOSING_PROCEDURE")?;
    let user = reader.string("ORACLE_USER")?;
    // SCHEMA.PACKAGE.PROCEDURE names the owner; otherwise the tables are the user's.
    let results_owner = reader
        .optional_string("CLOSING_RESULT_OWNER")
        .unwrap_or_else(|| {
            let parts: Vec<&str> = procedure.split('.').collect();
            if parts.len() == 3 {
                parts[0].to_owned()
            } else {
                user.clone()
            }
        });
    Ok(ErpConfig::Oracle {
        connect: ConnectOptions {
            connect_string: reader.string("ORACLE_CONNECT_STRING")?,
            password: reader
                .secret("ORACLE_PASSWORD")
                .map_err(|_| ConfigError::Missing {
                    name: "ORACLE_PASSWORD (or ORACLE_PASSWORD_PARAM)".into(),
                })?,
            username: user,
            call_timeout: reader
                .positive_duration_or("ORACLE_CALL_TIMEOUT", Duration::from_secs(60))?,
            connect_timeout: oracle::connect_timeout(reader)?,
        },
        procedure,
        results_owner,
        date_argument: match reader.optional_string("CLOSING_DATE_ARGUMENT") {
            None => DateArgument::Date,
            Some(text) => DateArgument::parse(&text).ok_or_else(|| ConfigError::Malformed {
                name: "CLOSING_DATE_ARGUMENT".into(),
                reason: format!(
                    "expected `date` or `text:<Oracle format model>` such as \
                     text:YYYY-MM-DD, got {text:?}"
                ),
            })?,
        },
    })
}

/// How steps retry transient failures (`RETRY_*`, each more than zero).
fn retry_policy(reader: &ConfigReader<impl VarSource>) -> Result<RetryPolicy, ConfigError> {
    let default = RetryPolicy::default();
    Ok(RetryPolicy {
        initial_delay: reader.positive_duration_or("RETRY_INITIAL_DELAY", default.initial_delay)?,
        max_delay: reader.positive_duration_or("RETRY_MAX_DELAY", default.max_delay)?,
        max_duration: reader.positive_duration_or("RETRY_MAX_DURATION", default.max_duration)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: [(&str, &str); 5] = [
        ("PG_HOST", "127.0.0.1"),
        ("PG_DATABASE", "postgres"),
        ("PG_USER", "postgres"),
        ("CLOSING_RESULT_TABLES", "gl_balances, claims_reserves,"),
        ("ERP_BACKEND", "simulated"),
    ];

    #[test]
    fn the_simulated_backend_needs_only_postgres_and_the_tables() {
        let config = ServiceConfig::from_source(PG).expect("config");
        assert_eq!(config.result_tables, ["gl_balances", "claims_reserves"]);
        assert_eq!(config.poll_interval, Duration::from_secs(60));
        assert_eq!(config.max_duration, Duration::from_secs(28_800));
        assert!(matches!(config.erp, ErpConfig::Simulated { .. }));
        assert!(config.postgres.password.is_none());
        assert_eq!(
            config.postgres.tls,
            TlsSettings::default(),
            "libpq's prefer"
        );
    }

    #[test]
    fn postgres_tls_takes_libpq_modes_and_verifying_needs_root_certificates() {
        let with = |extra: &[(&'static str, &'static str)]| {
            ServiceConfig::from_source(
                PG.iter()
                    .chain(extra)
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        };
        let config = with(&[
            ("PG_SSLMODE", "verify-full"),
            ("PG_SSLROOTCERT", "/opt/certs/rds-global-bundle.pem"),
        ])
        .expect("verify-full");
        assert_eq!(config.postgres.tls.mode, SslMode::VerifyFull);
        assert_eq!(
            config.postgres.tls.root_certificates,
            Some(RootCertificates::File(
                "/opt/certs/rds-global-bundle.pem".into()
            ))
        );
        let system = with(&[("PG_SSLMODE", "verify-ca"), ("PG_SSLROOTCERT", "system")])
            .expect("system roots");
        assert_eq!(
            system.postgres.tls.root_certificates,
            Some(RootCertificates::System)
        );
        assert_eq!(
            with(&[("PG_SSLMODE", "require")])
                .expect("require")
                .postgres
                .tls
                .mode,
            SslMode::Require
        );
        let err = with(&[("PG_SSLMODE", "verify-full")]).expect_err("no roots");
        assert!(err.to_string().contains("PG_SSLROOTCERT"), "{err}");
        let err = with(&[("PG_SSLMODE", "on")]).expect_err("unknown mode");
        assert_eq!(err.variable(), "PG_SSLMODE");
    }

    #[tokio::test]
    async fn the_template_variables_configure_the_oracle_backend() {
        use orabridge_shared::params::{MemoryParameterSource, ParameterStore};
        use secrecy::ExposeSecret;
        let ssm = MemoryParameterSource::new();
        ssm.put(
            "/orabridge/prod/finance-closing/oracle-password",
            "from-ssm",
        )
        .put("/orabridge/prod/finance-closing/pg-password", "pg-from-ssm");
        let store = ParameterStore::new(ssm.clone(), Duration::from_secs(60));
        let plan = ServiceConfig::settings([
            ("ERP_BACKEND", "oracle"),
            ("ORACLE_USER", "GENIUS_BATCH"),
            ("ORACLE_CONNECT_STRING", "//10.0.0.9:1521/GENIUS"),
            ("ORACLE_CONNECT_TIMEOUT", "3s"),
            (
                "ORACLE_PASSWORD_PARAM",
                "/orabridge/prod/finance-closing/oracle-password",
            ),
            ("CLOSING_PROCEDURE", "GENIUS.PKG_CLOSING.RUN_DAILY"),
            ("CLOSING_RESULT_TABLES", "GL_BALANCES"),
            ("PG_HOST", "reporting.internal"),
            ("PG_PORT", "5433"),
            ("PG_DATABASE", "reporting"),
            ("PG_USER", "closing"),
            ("PG_SCHEMA", "finance"),
            (
                "PG_PASSWORD_PARAM",
                "/orabridge/prod/finance-closing/pg-password",
            ),
        ]);
        assert!(plan.needs_parameters());
        let settings = plan.resolve(Some(&store)).await.expect("parameters");
        assert_eq!(ssm.calls().len(), 1, "both passwords in one read");
        let config = ServiceConfig::from_source(&settings).expect("config");
        let ErpConfig::Oracle {
            results_owner,
            connect,
            ..
        } = &config.erp
        else {
            panic!("oracle expected");
        };
        assert_eq!(results_owner, "GENIUS");
        assert_eq!(connect.password.expose_secret(), "from-ssm");
        // The connect timeout reaches the string the Oracle client is given.
        assert_eq!(
            connect.client_connect_string().as_deref(),
            Some("//10.0.0.9:1521/GENIUS?connect_timeout=3&transport_connect_timeout=3")
        );
        assert_eq!(
            config.postgres.password.as_ref().map(|p| p.expose_secret()),
            Some("pg-from-ssm")
        );
        assert_eq!(config.postgres.port, 5433);
        assert_eq!(config.retry, RetryPolicy::default());
    }

    #[test]
    fn the_date_argument_is_a_date_unless_the_procedure_takes_text() {
        assert_eq!(DateArgument::parse("date"), Some(DateArgument::Date));
        assert_eq!(
            DateArgument::parse("text:YYYYMMDD"),
            Some(DateArgument::Text("YYYYMMDD".into()))
        );
        assert_eq!(
            DateArgument::parse("text:DD.MM.YYYY"),
            Some(DateArgument::Text("DD.MM.YYYY".into()))
        );
        for bad in ["", "text:", "varchar", "text:YYYY'); DROP", "number"] {
            assert_eq!(DateArgument::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_trigger_takes_its_ingress_as_a_value_or_a_parameter_and_names_it_when_missing() {
        let plan = TriggerConfig::settings([("RESTATE_INGRESS_URL_PARAM", "/prod/ingress")]);
        assert_eq!(plan.parameters().collect::<Vec<_>>(), ["/prod/ingress"]);
        let config = TriggerConfig::from_source([("RESTATE_INGRESS_URL", "http://127.0.0.1:8080")])
            .expect("a value");
        assert_eq!(config.ingress_url, "http://127.0.0.1:8080");
        assert!(config.token.is_none());
        let err = TriggerConfig::from_source([("RESTATE_TOKEN", "t")]).expect_err("no url");
        assert!(
            err.to_string().contains("RESTATE_INGRESS_URL_PARAM"),
            "{err}"
        );
    }

    #[test]
    fn mistakes_name_the_variable() {
        let vars: std::collections::HashMap<String, String> = PG
            .iter()
            .chain(&[("POLL_INTERVAL", "soon")])
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let err = ServiceConfig::from_source(vars).expect_err("bad interval");
        assert_eq!(err.variable(), "POLL_INTERVAL");
        let err = ServiceConfig::from_source([("ERP_BACKEND", "sap")]).expect_err("bad backend");
        assert_eq!(err.variable(), "ERP_BACKEND");
        let err = ServiceConfig::from_source([
            ("ERP_BACKEND", "oracle"),
            ("CLOSING_PROCEDURE", "P.R"),
            ("ORACLE_USER", "U"),
            ("ORACLE_CONNECT_STRING", "c"),
        ])
        .expect_err("no password");
        assert!(err.to_string().contains("ORACLE_PASSWORD"), "{err}");
    }
}
