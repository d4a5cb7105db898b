//! Typed configuration read from environment variables, failing fast.
//!
//! Every function loads its configuration once, in `main`, through a [`ConfigReader`]. A missing
//! or malformed variable stops start-up with a [`ConfigError`] that names the variable, so a bad
//! deployment fails on its first invocation with a message an operator can act on. The reader
//! takes its values from a [`VarSource`]: the process environment in Lambda, a map in tests
//! (code never writes the process environment; that belongs in `template.yaml`).

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

/// Where configuration values come from.
pub trait VarSource {
    /// The raw value of `name`, or `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment, the source used by every Lambda function.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl VarSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl VarSource for [(&str, &str)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

impl<const N: usize> VarSource for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

/// Why a configuration value could not be read. Each variant names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The variable is not set, or set to an empty string.
    #[error("missing required environment variable {name}")]
    Missing {
        /// The variable's name.
        name: String,
    },
    /// The variable is set but its value does not parse. Secret values are never quoted.
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed {
        /// The variable's name.
        name: String,
        /// What was expected, with the offending value when it is not a secret.
        reason: String,
    },
}

impl ConfigError {
    /// The name of the variable this error is about.
    pub fn variable(&self) -> &str {
        match self {
            ConfigError::Missing { name } | ConfigError::Malformed { name, .. } => name,
        }
    }
}

/// Reads typed values from a [`VarSource`].
///
/// Empty values count as unset: a template that writes `FOO: ""` means "no value", and treating
/// it as one would turn a deployment mistake into a confusing parse error later.
#[derive(Debug, Clone, Copy)]
pub struct ConfigReader<S> {
    source: S,
}

impl ConfigReader<ProcessEnv> {
    /// A reader over the process environment.
    pub fn from_env() -> Self {
        Self { source: ProcessEnv }
    }
}

impl<S: VarSource> ConfigReader<S> {
    /// A reader over any source, typically a map in tests.
    pub fn new(source: S) -> Self {
        Self { source }
    }

    fn raw(&self, name: &str) -> Option<String> {
        self.source
            .var(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// The value of `name` as a string, if set.
    pub fn optional_string(&self, name: &str) -> Option<String> {
        self.raw(name)
    }

    /// The value of `name` as a string; [`ConfigError::Missing`] when unset.
    pub fn string(&self, name: &str) -> Result<String, ConfigError> {
        self.raw(name).ok_or_else(|| missing(name))
    }

    /// The value of `name` as a string, or `default` when unset.
    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    /// The value of `name` parsed as `T`, if set.
    pub fn optional<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.raw(name)
            .map(|value| {
                value.parse::<T>().map_err(|err| ConfigError::Malformed {
                    name: name.to_owned(),
                    reason: format!("{value:?} is not a valid {}: {err}", short_type_name::<T>()),
                })
            })
            .transpose()
    }

    /// The value of `name` parsed as `T`; an error when it is unset or does not parse.
    pub fn required<T>(&self, name: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(name)?.ok_or_else(|| missing(name))
    }

    /// The value of `name` parsed as `T`, or `default` when unset (a malformed value is still an
    /// error: silently falling back would hide a typo in the template).
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// A boolean (`true/false`, `1/0`, `yes/no`, any case), or `default` when unset.
    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
            Some(v) => Err(ConfigError::Malformed {
                name: name.to_owned(),
                reason: format!("{v:?} is not a boolean (true/false)"),
            }),
        }
    }

    /// A duration given in whole seconds, or `default` when unset.
    pub fn secs_or(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        Ok(self
            .optional::<u64>(name)?
            .map(Duration::from_secs)
            .unwrap_or(default))
    }

    /// A duration given in whole milliseconds, or `default` when unset.
    pub fn millis_or(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        Ok(self
            .optional::<u64>(name)?
            .map(Duration::from_millis)
            .unwrap_or(default))
    }

    /// A secret, kept in a [`SecretString`] so it cannot reach a log line by accident.
    pub fn secret(&self, name: &str) -> Result<SecretString, ConfigError> {
        self.optional_secret(name)?.ok_or_else(|| missing(name))
    }

    /// A secret if set. Never fails today; returns `Result` so callers treat it like the rest.
    pub fn optional_secret(&self, name: &str) -> Result<Option<SecretString>, ConfigError> {
        Ok(self.raw(name).map(SecretString::from))
    }
}

fn missing(name: &str) -> ConfigError {
    ConfigError::Missing {
        name: name.to_owned(),
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn missing_variable_error_names_the_variable() {
        let reader = ConfigReader::new([("OTHER", "x")]);
        let err = reader.string("UPSTREAM_PARAM").unwrap_err();
        assert_eq!(err.variable(), "UPSTREAM_PARAM");
        assert_eq!(
            err.to_string(),
            "missing required environment variable UPSTREAM_PARAM"
        );
    }

    #[test]
    fn empty_or_blank_value_counts_as_missing() {
        let reader = ConfigReader::new([("BUCKET", "   ")]);
        assert!(matches!(
            reader.string("BUCKET"),
            Err(ConfigError::Missing { .. })
        ));
        assert_eq!(reader.string_or("BUCKET", "fallback"), "fallback");
    }

    #[test]
    fn malformed_number_error_names_variable_and_value() {
        let reader = ConfigReader::new([("PARAM_TTL_SECS", "sixty")]);
        let err = reader
            .secs_or("PARAM_TTL_SECS", Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(err.variable(), "PARAM_TTL_SECS");
        let text = err.to_string();
        assert!(text.contains("PARAM_TTL_SECS"), "{text}");
        assert!(text.contains("\"sixty\""), "{text}");
        assert!(text.contains("u64"), "{text}");
    }

    #[test]
    fn defaults_apply_only_when_unset() {
        let reader = ConfigReader::new([("UPSTREAM_TIMEOUT_MS", "2500")]);
        assert_eq!(
            reader
                .millis_or("UPSTREAM_TIMEOUT_MS", Duration::from_secs(10))
                .unwrap(),
            Duration::from_millis(2500)
        );
        assert_eq!(
            reader.parse_or("MAX_BODY_BYTES", 6_000_000usize).unwrap(),
            6_000_000
        );
    }

    #[test]
    fn required_values_parse_with_surrounding_spaces_trimmed() {
        let reader = ConfigReader::new([("PG_PORT", " 5433 ")]);
        assert_eq!(reader.required::<u16>("PG_PORT").unwrap(), 5433);
        assert!(matches!(
            reader.required::<u16>("PG_HOST"),
            Err(ConfigError::Missing { name }) if name == "PG_HOST"
        ));
    }

    #[test]
    fn flags_accept_common_spellings_and_reject_others() {
        let reader = ConfigReader::new([("A", "YES"), ("B", "0"), ("C", "maybe")]);
        assert!(reader.flag_or("A", false).unwrap());
        assert!(!reader.flag_or("B", true).unwrap());
        assert!(reader.flag_or("UNSET", true).unwrap());
        assert_eq!(reader.flag_or("C", false).unwrap_err().variable(), "C");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let reader = ConfigReader::new([("PG_PASSWORD", "hunter2")]);
        let secret = reader.secret("PG_PASSWORD").unwrap();
        assert_eq!(secret.expose_secret(), "hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn map_sources_work_like_the_environment() {
        let map: HashMap<String, String> = [("REGION".to_owned(), "eu-west-1".to_owned())].into();
        let reader = ConfigReader::new(map);
        assert_eq!(reader.string("REGION").unwrap(), "eu-west-1");
    }
}
