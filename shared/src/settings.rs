//! Settings given as a value or as the name of a parameter that holds it.
//!
//! One vocabulary for every function: a setting `X` is either set directly (`X=...`, for local
//! runs and tests) or referenced (`X_PARAM=/path/in/ssm`, the usual case in AWS, where secrets
//! and endpoints live in Parameter Store). `X_PARAM` always names the parameter that holds
//! `X`. Most settings are read once, here, at start-up; the few a function re-reads while it
//! runs, so that changing them needs no redeploy (the proxy's `UPSTREAM_PARAM` and
//! `INTERNAL_KEY_PARAM`, run-colors' `RULES_PARAM`), are read by the function itself, and their
//! `X` given as a value is refused rather than ignored
//! ([`ConfigReader::parameter_only`](crate::config::ConfigReader::parameter_only)). Some settings also have a default parameter (run-colors
//! reads `ORACLE_HOST` from `<ORACLE_PARAM_PREFIX>host` unless either is set).
//!
//! A function names the settings it reads in a [`SettingsPlan`] over its environment, which only
//! looks at the variables. [`SettingsPlan::resolve`] then reads every referenced parameter in one
//! batched, decrypted parameter-store read (decryption leaves a plain String as it is, so one
//! call serves both) and returns [`Settings`]: a [`VarSource`] in which each resolved setting
//! reads like a variable, so the function's typed configuration is parsed by the same
//! [`ConfigReader`](crate::config::ConfigReader) code whichever way a value was given. A plan
//! without references needs no parameter store, and so no AWS configuration, at all.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::config::{ConfigReader, VarSource};
use crate::params::{GetOptions, ParameterError, ParameterSource, ParameterStore};

/// The suffix of the variable that names a setting's parameter: `X_PARAM` for `X`.
pub const PARAMETER_SUFFIX: &str = "_PARAM";

/// One setting to be read from a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    /// The setting, as its variable is named (`PG_PASSWORD`).
    setting: String,
    /// The variable that chose the parameter (`PG_PASSWORD_PARAM`, `ORACLE_PARAM_PREFIX`).
    named_by: String,
    /// The parameter.
    parameter: String,
}

/// The settings a function reads, and which of them come from parameters.
#[derive(Debug, Clone)]
pub struct SettingsPlan<V> {
    vars: V,
    references: Vec<Reference>,
}

impl<V: VarSource> SettingsPlan<V> {
    /// A plan over `vars` (the process environment in Lambda, an array in tests) that reads
    /// nothing from parameters yet.
    pub fn new(vars: V) -> Self {
        Self {
            vars,
            references: Vec::new(),
        }
    }

    /// Reads `name` from its variable, or else from the parameter `name_PARAM` names.
    pub fn setting(self, name: &str) -> Self {
        self.setting_or_default(name, None)
    }

    /// Reads `name` from its variable, else from the parameter `name_PARAM` names, else from
    /// `default_parameter` (a parameter, and the variable that chose it).
    pub fn setting_with_default(self, name: &str, parameter: &str, chosen_by: &str) -> Self {
        self.setting_or_default(name, Some((parameter, chosen_by)))
    }

    fn setting_or_default(mut self, name: &str, default: Option<(&str, &str)>) -> Self {
        // Read as every setting is read: trimmed, an empty value counting as unset.
        let reader = ConfigReader::new(&self.vars);
        if reader.optional_string(name).is_some() {
            return self;
        }
        let named_by = format!("{name}{PARAMETER_SUFFIX}");
        let reference = match reader.optional_string(&named_by) {
            Some(parameter) => Some((parameter, named_by)),
            None => {
                default.map(|(parameter, chosen_by)| (parameter.to_owned(), chosen_by.to_owned()))
            }
        };
        if let Some((parameter, named_by)) = reference {
            self.references.push(Reference {
                setting: name.to_owned(),
                named_by,
                parameter,
            });
        }
        self
    }

    /// Whether any setting is read from a parameter: only then is a parameter store needed.
    pub fn needs_parameters(&self) -> bool {
        !self.references.is_empty()
    }

    /// The parameters the plan reads, in the order the settings were named.
    pub fn parameters(&self) -> impl Iterator<Item = &str> {
        self.references.iter().map(|r| r.parameter.as_str())
    }

    /// Reads every referenced parameter in one batched, decrypted read of `store` (needed only
    /// when [`needs_parameters`](Self::needs_parameters)), naming the variable behind any
    /// parameter that is missing or could not be read.
    pub async fn resolve<S: ParameterSource, C: Clock>(
        self,
        store: Option<&ParameterStore<S, C>>,
    ) -> Result<Settings<V>, SettingsError> {
        let mut resolved = HashMap::with_capacity(self.references.len());
        if self.references.is_empty() {
            return Ok(Settings {
                vars: self.vars,
                resolved,
            });
        }
        let Some(store) = store else {
            return Err(SettingsError::NoParameterStore {
                variable: self.references[0].named_by.clone(),
            });
        };
        let names: Vec<&str> = self.parameters().collect();
        let fetched = match store.get_many(&names, GetOptions::decrypted()).await {
            Ok(fetched) => fetched,
            Err(ParameterError::NotFound { names }) => {
                let missing = self
                    .references
                    .iter()
                    .filter(|r| names.contains(&r.parameter))
                    .map(MissingParameter::from)
                    .collect();
                return Err(SettingsError::NotFound { missing });
            }
            Err(source) => {
                return Err(SettingsError::Unavailable {
                    variables: self.references.iter().map(|r| r.named_by.clone()).collect(),
                    source,
                });
            }
        };
        for reference in &self.references {
            // Two settings may share a parameter; each gets its own copy of the value.
            let value = match fetched.get(&reference.parameter) {
                Some(parameter) => parameter.secret().clone(),
                None => {
                    return Err(SettingsError::NotFound {
                        missing: vec![MissingParameter::from(reference)],
                    });
                }
            };
            resolved.insert(reference.setting.clone(), value);
        }
        Ok(Settings {
            vars: self.vars,
            resolved,
        })
    }
}

/// The environment with every referenced setting resolved: read it with a
/// [`ConfigReader`](crate::config::ConfigReader) as you would the environment. Resolved values
/// stay in [`SecretString`]s until a reader asks for one.
#[derive(Debug)]
pub struct Settings<V> {
    vars: V,
    resolved: HashMap<String, SecretString>,
}

impl<V: VarSource> VarSource for Settings<V> {
    fn var(&self, name: &str) -> Option<String> {
        match self.resolved.get(name) {
            Some(value) => Some(value.expose_secret().to_owned()),
            None => self.vars.var(name),
        }
    }
}

/// A setting whose parameter does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingParameter {
    /// The setting (`PG_PASSWORD`).
    pub setting: String,
    /// The variable that named the parameter (`PG_PASSWORD_PARAM`).
    pub named_by: String,
    /// The parameter.
    pub parameter: String,
}

impl From<&Reference> for MissingParameter {
    fn from(reference: &Reference) -> Self {
        Self {
            setting: reference.setting.clone(),
            named_by: reference.named_by.clone(),
            parameter: reference.parameter.clone(),
        }
    }
}

impl std::fmt::Display for MissingParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (parameter {}, named by {})",
            self.setting, self.parameter, self.named_by
        )
    }
}

/// Why the settings could not be resolved. Every variant names the variables at fault; none
/// carries a value.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The parameter store answered and does not hold these parameters.
    #[error(
        "no value for {}: set the variable, or create the parameter",
        join(missing)
    )]
    NotFound {
        /// The settings and the parameters they point to.
        missing: Vec<MissingParameter>,
    },
    /// The parameter store could not be read.
    #[error("reading the parameters named by {} failed", variables.join(", "))]
    Unavailable {
        /// The variables that named the parameters.
        variables: Vec<String>,
        /// What went wrong.
        #[source]
        source: ParameterError,
    },
    /// A setting is a parameter reference but no parameter store was given.
    #[error("{variable} names a parameter, but this process has no parameter store")]
    NoParameterStore {
        /// The variable that named the parameter.
        variable: String,
    },
}

impl SettingsError {
    /// The first variable this error is about: the one to look at first.
    pub fn variable(&self) -> &str {
        match self {
            SettingsError::NotFound { missing } => {
                missing.first().map_or("", |m| m.named_by.as_str())
            }
            SettingsError::Unavailable { variables, .. } => {
                variables.first().map_or("", String::as_str)
            }
            SettingsError::NoParameterStore { variable } => variable,
        }
    }
}

fn join(missing: &[MissingParameter]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::params::MemoryParameterSource;

    fn store(source: &MemoryParameterSource) -> ParameterStore<MemoryParameterSource> {
        ParameterStore::new(source.clone(), Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_setting_is_its_value_or_the_parameter_its_param_variable_names() {
        let source = MemoryParameterSource::new();
        source.put("/prod/pg-password", "from-ssm");
        source.put("/prod/ingress-url", "https://restate.internal:8080");
        let vars = [
            ("PG_HOST", "db.internal"),
            ("PG_PASSWORD_PARAM", "/prod/pg-password"),
            ("RESTATE_INGRESS_URL_PARAM", "/prod/ingress-url"),
            // Both given: the value wins, and its parameter is not read.
            ("RESTATE_TOKEN", "local-token"),
            ("RESTATE_TOKEN_PARAM", "/prod/token"),
        ];
        let plan = SettingsPlan::new(vars)
            .setting("PG_HOST")
            .setting("PG_PASSWORD")
            .setting("RESTATE_INGRESS_URL")
            .setting("RESTATE_TOKEN")
            .setting("ORACLE_PASSWORD");
        assert!(plan.needs_parameters());
        assert_eq!(
            plan.parameters().collect::<Vec<_>>(),
            ["/prod/pg-password", "/prod/ingress-url"]
        );
        let settings = plan.resolve(Some(&store(&source))).await.unwrap();
        assert_eq!(
            source.calls().len(),
            1,
            "one batched read: {:?}",
            source.calls()
        );
        let reader = ConfigReader::new(&settings);
        assert_eq!(reader.string("PG_HOST").unwrap(), "db.internal");
        assert_eq!(reader.string("PG_PASSWORD").unwrap(), "from-ssm");
        assert_eq!(
            reader.string("RESTATE_INGRESS_URL").unwrap(),
            "https://restate.internal:8080"
        );
        assert_eq!(reader.string("RESTATE_TOKEN").unwrap(), "local-token");
        assert_eq!(reader.optional_string("ORACLE_PASSWORD"), None);
    }

    #[tokio::test]
    async fn values_only_need_no_parameter_store() {
        let plan = SettingsPlan::new([("PG_PASSWORD", "local")]).setting("PG_PASSWORD");
        assert!(!plan.needs_parameters());
        let settings = plan
            .resolve(None::<&ParameterStore<MemoryParameterSource>>)
            .await
            .unwrap();
        assert_eq!(settings.var("PG_PASSWORD").as_deref(), Some("local"));
    }

    #[tokio::test]
    async fn a_default_parameter_is_read_unless_the_value_or_its_param_is_set() {
        let source = MemoryParameterSource::new();
        source.put("/colors/oracle/host", "10.0.0.9");
        source.put("/elsewhere/port", "1522");
        let vars = [
            ("ORACLE_PORT_PARAM", "/elsewhere/port"),
            ("ORACLE_TABLE", "COLORS"),
        ];
        let prefix = "/colors/oracle/";
        let plan =
            ["host", "port", "table"]
                .into_iter()
                .fold(SettingsPlan::new(vars), |plan, name| {
                    plan.setting_with_default(
                        &format!("ORACLE_{}", name.to_ascii_uppercase()),
                        &format!("{prefix}{name}"),
                        "ORACLE_PARAM_PREFIX",
                    )
                });
        let settings = plan.resolve(Some(&store(&source))).await.unwrap();
        assert_eq!(settings.var("ORACLE_HOST").as_deref(), Some("10.0.0.9"));
        assert_eq!(settings.var("ORACLE_PORT").as_deref(), Some("1522"));
        assert_eq!(settings.var("ORACLE_TABLE").as_deref(), Some("COLORS"));
    }

    #[tokio::test]
    async fn missing_parameters_are_named_with_the_variable_that_pointed_at_them() {
        let source = MemoryParameterSource::new();
        source.put("/prod/pg-password", "secret-value");
        let plan = SettingsPlan::new([
            ("PG_PASSWORD_PARAM", "/prod/pg-password"),
            ("ORACLE_PASSWORD_PARAM", "/prod/oracle-password"),
        ])
        .setting("PG_PASSWORD")
        .setting("ORACLE_PASSWORD");
        let err = plan.resolve(Some(&store(&source))).await.unwrap_err();
        assert_eq!(err.variable(), "ORACLE_PASSWORD_PARAM");
        let text = err.to_string();
        assert_eq!(
            text,
            "no value for ORACLE_PASSWORD (parameter /prod/oracle-password, named by \
             ORACLE_PASSWORD_PARAM): set the variable, or create the parameter"
        );
        assert!(!text.contains("secret-value"));
    }

    #[tokio::test]
    async fn an_unreachable_store_or_no_store_fails_naming_the_variables() {
        let source = MemoryParameterSource::new();
        source.set_available(false);
        let plan = || SettingsPlan::new([("PG_PASSWORD_PARAM", "/p")]).setting("PG_PASSWORD");
        let err = plan().resolve(Some(&store(&source))).await.unwrap_err();
        assert!(
            matches!(&err, SettingsError::Unavailable { variables, .. } if variables == &["PG_PASSWORD_PARAM"]),
            "{err:?}"
        );
        let err = plan()
            .resolve(None::<&ParameterStore<MemoryParameterSource>>)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "PG_PASSWORD_PARAM names a parameter, but this process has no parameter store"
        );
    }
}
