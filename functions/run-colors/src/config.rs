//! The function's configuration, read once at start-up: where the rules and the colors come
//! from, where runs are published, and the Oracle connection.
//!
//! The seven Oracle settings are settings in `shared::settings`' sense: `ORACLE_HOST` (and so on)
//! given directly, or the parameter `ORACLE_HOST_PARAM` names, or by default the parameter
//! `<ORACLE_PARAM_PREFIX>host` (the spec's layout). `main` resolves them in one SSM read.

use std::path::PathBuf;
use std::time::Duration;

use orabridge_shared::config::{ConfigError, ConfigReader, VarSource};
use orabridge_shared::oracle::{self as ora, ConnectOptions, Identifier};
use orabridge_shared::settings::SettingsPlan;

/// Where the rules document is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesLocation {
    /// A local file (`RULES_FILE`).
    File(PathBuf),
    /// An SSM parameter (`RULES_PARAM`).
    Parameter(String),
    /// An S3 object (`RULES_S3_URI=s3://bucket/key`).
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// Where the colors are read from.
#[derive(Debug, Clone)]
pub enum ColorsLocation {
    /// A CSV file (`COLORS_CSV`): local runs and the demo.
    Csv(PathBuf),
    /// The Oracle table, with its connection settings resolved at start-up.
    Oracle(OracleConfig),
}

/// The function's configuration, read once at start-up.
#[derive(Debug, Clone)]
pub struct RunColorsConfig {
    /// Bucket of the published runs (`BUCKET`).
    pub bucket: String,
    /// Key prefix of the runs (`RUNS_PREFIX`, default `run-colors`).
    pub prefix: String,
    /// The rules document.
    pub rules: RulesLocation,
    /// The colors.
    pub colors: ColorsLocation,
    /// Where run folders are staged before upload (`WORK_DIR`, default the system temp dir).
    pub work_dir: PathBuf,
}

impl RunColorsConfig {
    /// The settings read as values or parameter references: the seven Oracle settings, unless
    /// the colors come from a CSV file.
    pub fn settings<V: VarSource>(vars: V) -> SettingsPlan<V> {
        let reader = ConfigReader::new(&vars);
        let csv = reader.optional_string("COLORS_CSV").is_some();
        let prefix = reader.optional_string("ORACLE_PARAM_PREFIX");
        let plan = SettingsPlan::new(vars);
        if csv {
            return plan;
        }
        OracleConfig::settings(plan, prefix.as_deref())
    }

    /// Reads the configuration from resolved [`settings`](Self::settings), naming any variable
    /// that is missing or malformed.
    pub fn from_source(vars: impl VarSource) -> Result<RunColorsConfig, ConfigError> {
        let reader = ConfigReader::new(vars);
        // The rules are read at the start of every run, so a change needs no redeploy: the
        // document is not taken as a value.
        reader.parameter_only("RULES", "RULES_PARAM")?;
        let rules = match (
            reader.optional_string("RULES_PARAM"),
            reader.optional_string("RULES_FILE"),
            reader.optional_string("RULES_S3_URI"),
        ) {
            (Some(name), None, None) => RulesLocation::Parameter(name),
            (None, Some(path), None) => RulesLocation::File(path.into()),
            (None, None, Some(uri)) => {
                let (bucket, key) = uri
                    .strip_prefix("s3://")
                    .and_then(|rest| rest.split_once('/'))
                    .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
                    .ok_or_else(|| ConfigError::Malformed {
                        name: "RULES_S3_URI".into(),
                        reason: format!("expected s3://bucket/key, got {uri:?}"),
                    })?;
                RulesLocation::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }
            }
            (None, None, None) => {
                return Err(ConfigError::Missing {
                    name: "RULES_PARAM (or RULES_FILE or RULES_S3_URI)".into(),
                });
            }
            _ => {
                return Err(ConfigError::Malformed {
                    name: "RULES_PARAM".into(),
                    reason: "set exactly one of RULES_PARAM, RULES_FILE and RULES_S3_URI".into(),
                });
            }
        };
        let colors = match reader.optional_string("COLORS_CSV") {
            Some(path) => ColorsLocation::Csv(path.into()),
            None => ColorsLocation::Oracle(OracleConfig::from_source(
                &reader,
                reader.positive_duration_or("ORACLE_CALL_TIMEOUT", Duration::from_secs(120))?,
            )?),
        };
        Ok(RunColorsConfig {
            bucket: reader.string("BUCKET")?,
            prefix: reader.string_or("RUNS_PREFIX", "run-colors"),
            rules,
            colors,
            work_dir: reader
                .optional_string("WORK_DIR")
                .map_or_else(std::env::temp_dir, PathBuf::from),
        })
    }
}

/// The Oracle settings under the prefix, in the order the spec lists them; each is read from
/// `ORACLE_<NAME>` (or the parameter `ORACLE_<NAME>_PARAM` names) before `<prefix><name>`.
pub const ORACLE_SETTINGS: [&str; 7] = [
    "host",
    "port",
    "service_name",
    "username",
    "password",
    "schema",
    "table",
];

/// Where the colors live and how to log in.
#[derive(Debug, Clone)]
pub struct OracleConfig {
    /// Connection and login.
    pub connect: ConnectOptions,
    /// The schema (owner) of the colors table.
    pub schema: Identifier,
    /// The colors table.
    pub table: Identifier,
}

fn oracle_variable(name: &str) -> String {
    format!("ORACLE_{}", name.to_ascii_uppercase())
}

impl OracleConfig {
    /// Adds the seven settings to `plan`, defaulting to the parameters under `prefix` (the
    /// value of `ORACLE_PARAM_PREFIX`; a trailing `/` is added when missing).
    pub fn settings<V: VarSource>(plan: SettingsPlan<V>, prefix: Option<&str>) -> SettingsPlan<V> {
        let prefix = prefix.map(|prefix| match prefix.ends_with('/') {
            true => prefix.to_owned(),
            false => format!("{prefix}/"),
        });
        ORACLE_SETTINGS.iter().fold(plan, |plan, name| {
            let variable = oracle_variable(name);
            match &prefix {
                Some(prefix) => plan.setting_with_default(
                    &variable,
                    &format!("{prefix}{name}"),
                    "ORACLE_PARAM_PREFIX",
                ),
                None => plan.setting(&variable),
            }
        })
    }

    /// Reads the seven resolved settings, naming the variable of any that is missing or
    /// malformed (a schema or table that is not a plain identifier is refused here, before
    /// any connection).
    pub fn from_source(
        reader: &ConfigReader<impl VarSource>,
        call_timeout: Duration,
    ) -> Result<OracleConfig, ConfigError> {
        let text = |name: &str| {
            let variable = oracle_variable(name);
            reader.string(&variable).map_err(|_| ConfigError::Missing {
                name: format!(
                    "{variable} (or {variable}_PARAM, or the parameter {name} under \
                     ORACLE_PARAM_PREFIX)"
                ),
            })
        };
        let identifier = |what: &'static str| -> Result<Identifier, ConfigError> {
            Identifier::parse(what, &text(what)?).map_err(|err| ConfigError::Malformed {
                name: oracle_variable(what),
                reason: err.to_string(),
            })
        };
        let port = text("port")?;
        let port: u16 = port.parse().map_err(|_| ConfigError::Malformed {
            name: "ORACLE_PORT".into(),
            reason: format!("{port:?} is not a port number"),
        })?;
        Ok(OracleConfig {
            connect: ConnectOptions {
                username: text("username")?,
                password: reader
                    .secret("ORACLE_PASSWORD")
                    .map_err(|_| ConfigError::Missing {
                        name: "ORACLE_PASSWORD (or ORACLE_PASSWORD_PARAM, or the parameter \
                           password under ORACLE_PARAM_PREFIX)"
                            .into(),
                    })?,
                connect_string: ora::easy_connect(&text("host")?, port, &text("service_name")?),
                call_timeout,
                connect_timeout: ora::connect_timeout(reader)?,
            },
            schema: identifier("schema")?,
            table: identifier("table")?,
        })
    }
}
