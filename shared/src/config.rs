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

    /// The value of `name` trimmed, or `None` when it is unset or blank: the one reading of a
    /// variable the suite uses, since a template or a shell leaves `NAME=` and `NAME=" "` as
    /// easily as it leaves the variable out.
    fn non_empty(&self, name: &str) -> Option<String> {
        self.var(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }
}

/// The process environment, the source used by every Lambda function.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<T: VarSource + ?Sized> VarSource for &T {
    fn var(&self, name: &str) -> Option<String> {
        (**self).var(name)
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
    /// The variable is set (or its parameter holds a value) but the value does not parse.
    /// Secret values are never quoted.
    #[error("{name} is malformed: {reason}")]
    Malformed {
        /// The variable's name.
        name: String,
        /// What was expected, with the offending value when it is not a secret.
        reason: String,
    },
    /// The variable is set, but this function does not read it as a value: it reads the
    /// setting at run time from the parameter another variable names.
    #[error(
        "{name} is not read: this function reads it at run time from the parameter \
         {parameter_variable} names, so a change needs no redeploy; set {parameter_variable} \
         instead"
    )]
    ParameterOnly {
        /// The variable's name.
        name: String,
        /// The variable that names the parameter.
        parameter_variable: String,
    },
}

impl ConfigError {
    /// The name of the variable this error is about.
    pub fn variable(&self) -> &str {
        match self {
            ConfigError::Missing { name }
            | ConfigError::Malformed { name, .. }
            | ConfigError::ParameterOnly { name, .. } => name,
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
        self.source.non_empty(name)
    }

    /// The value of `name` as a string, if set.
    pub fn optional_string(&self, name: &str) -> Option<String> {
        self.raw(name)
    }

    /// The value of `name`, or else of `old_name` (what it was called before it was renamed),
    /// with a warning that names the variable to use instead.
    pub fn optional_string_renamed(&self, name: &str, old_name: &str) -> Option<String> {
        self.raw(name).or_else(|| {
            let value = self.raw(old_name)?;
            tracing::warn!(
                variable = %old_name,
                use_instead = %name,
                "{old_name} is deprecated: set {name} instead"
            );
            Some(value)
        })
    }

    /// Refuses `name` when it is set: a setting this function reads only from the parameter
    /// `parameter_variable` names, at run time, so that changing it needs no redeploy. Given
    /// directly it would be silently ignored; the error names the variable to set instead and
    /// never carries the value.
    pub fn parameter_only(&self, name: &str, parameter_variable: &str) -> Result<(), ConfigError> {
        match self.raw(name) {
            None => Ok(()),
            Some(_) => Err(ConfigError::ParameterOnly {
                name: name.to_owned(),
                parameter_variable: parameter_variable.to_owned(),
            }),
        }
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

    /// A duration (see [`parse_duration`]: `500ms`, `60s`, `15m`, `8h`, `30d`, or a bare number
    /// of seconds), or `default` when unset.
    ///
    /// The names that carried their unit (`PARAM_TTL_SECS`, `UPSTREAM_TIMEOUT_MS`,
    /// `MAX_AGE_DAYS`) still work: when `name` is unset, `name_SECS`, `name_MS` and `name_DAYS`
    /// are read as a whole number in that unit, and a warning names the variable to use instead,
    /// once per read (at start-up, since configuration is read once).
    pub fn duration_or(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        if let Some(text) = self.raw(name) {
            return parse_duration(&text).ok_or_else(|| ConfigError::Malformed {
                name: name.to_owned(),
                reason: format!("expected a duration like {DURATION_EXAMPLES}, got {text:?}"),
            });
        }
        for (suffix, unit) in LEGACY_DURATION_UNITS {
            let legacy = format!("{name}{suffix}");
            if let Some(count) = self.optional::<u64>(&legacy)? {
                tracing::warn!(
                    variable = %legacy,
                    use_instead = %name,
                    "{legacy} is deprecated: set {name} (for example {name}={count}{}) instead",
                    unit.suffix,
                );
                return Ok(Duration::from_millis(
                    count.saturating_mul(unit.milliseconds),
                ));
            }
        }
        Ok(default)
    }

    /// Like [`duration_or`](Self::duration_or), refusing zero: an interval, a timeout or an age
    /// limit of nothing is a typo, not a setting.
    pub fn positive_duration_or(
        &self,
        name: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let value = self.duration_or(name, default)?;
        if value.is_zero() {
            return Err(ConfigError::Malformed {
                name: name.to_owned(),
                reason: "must be longer than zero".into(),
            });
        }
        Ok(value)
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

/// How a duration is written, for error messages.
const DURATION_EXAMPLES: &str = "500ms, 60s, 15m, 8h or 30d";

struct LegacyUnit {
    milliseconds: u64,
    /// The same unit in [`parse_duration`]'s syntax, for the deprecation message.
    suffix: &'static str,
}

/// The unit suffixes of the variable names used before [`ConfigReader::duration_or`].
const LEGACY_DURATION_UNITS: [(&str, LegacyUnit); 3] = [
    (
        "_SECS",
        LegacyUnit {
            milliseconds: 1_000,
            suffix: "s",
        },
    ),
    (
        "_MS",
        LegacyUnit {
            milliseconds: 1,
            suffix: "ms",
        },
    ),
    (
        "_DAYS",
        LegacyUnit {
            milliseconds: 86_400_000,
            suffix: "d",
        },
    ),
];

/// Parses the one duration syntax every setting uses: a whole number with a unit, `ms`, `s`,
/// `m`, `h` or `d` (`500ms`, `60s`, `15m`, `8h`, `30d`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = |per_unit: u64| number.checked_mul(per_unit).map(Duration::from_secs);
    match unit {
        "" | "s" => Some(Duration::from_secs(number)),
        "ms" => Some(Duration::from_millis(number)),
        "m" => seconds(60),
        "h" => seconds(3600),
        "d" => seconds(86_400),
        _ => None,
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
    fn every_reader_of_a_variable_takes_blank_as_unset_and_trims() {
        let vars: HashMap<String, String> = [
            ("SET", "  eu-west-1 "),
            ("BLANK", " \t"),
            ("EMPTY", ""),
            ("METRICS_NAMESPACE", " "),
            ("SERVICE_NAME", " p "),
            ("AWS_REGION", " "),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(vars.non_empty("SET").as_deref(), Some("eu-west-1"));
        assert_eq!(vars.non_empty("BLANK"), None);
        assert_eq!(vars.non_empty("EMPTY"), None);
        assert_eq!(vars.non_empty("UNSET"), None);
        // The shared settings read through it: a blank region or namespace is unset.
        assert!(
            crate::aws::EnvironmentShortcuts::from_env(&vars)
                .region
                .is_none()
        );
        let metrics = crate::metrics::MetricsSettings::from_source(&vars, "proxy");
        assert_eq!(metrics.service, "p");
        assert!(!metrics.namespace.trim().is_empty());
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
        let reader = ConfigReader::new([("BREAKER_FAILURES", "three")]);
        let err = reader.parse_or("BREAKER_FAILURES", 3u32).unwrap_err();
        assert_eq!(err.variable(), "BREAKER_FAILURES");
        let text = err.to_string();
        assert!(text.contains("BREAKER_FAILURES"), "{text}");
        assert!(text.contains("\"three\""), "{text}");
        assert!(text.contains("u32"), "{text}");
    }

    #[test]
    fn defaults_apply_only_when_unset() {
        let reader = ConfigReader::new([("UPSTREAM_TIMEOUT", "2500ms")]);
        assert_eq!(
            reader
                .duration_or("UPSTREAM_TIMEOUT", Duration::from_secs(10))
                .unwrap(),
            Duration::from_millis(2500)
        );
        assert_eq!(
            reader
                .duration_or("PARAM_TTL", Duration::from_secs(60))
                .unwrap(),
            Duration::from_secs(60)
        );
        assert_eq!(
            reader.parse_or("MAX_BODY_BYTES", 6_000_000usize).unwrap(),
            6_000_000
        );
    }

    #[test]
    fn durations_take_one_syntax_with_the_usual_units() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration(" 60s "), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("8h"), Some(Duration::from_secs(28_800)));
        assert_eq!(parse_duration("30d"), Some(Duration::from_secs(2_592_000)));
        for bad in ["", "h", "1.5h", "10 s", "1w", "-1", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        let reader = ConfigReader::new([("POLL_INTERVAL", "soon"), ("MAX_DURATION", "0s")]);
        let err = reader
            .duration_or("POLL_INTERVAL", Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(err.variable(), "POLL_INTERVAL");
        assert!(err.to_string().contains("\"soon\""), "{err}");
        assert_eq!(
            reader
                .positive_duration_or("MAX_DURATION", Duration::from_secs(1))
                .unwrap_err()
                .variable(),
            "MAX_DURATION"
        );
    }

    #[test]
    fn the_old_names_with_a_unit_still_work_and_log_the_name_to_use() {
        let logs = crate::logging::CapturedLogs::new();
        let settings = crate::logging::LogSettings {
            format: crate::logging::LogFormat::Json,
            filter: "warn".into(),
        };
        let reader = ConfigReader::new([
            ("PARAM_TTL_SECS", "90"),
            ("UPSTREAM_TIMEOUT_MS", "2500"),
            ("MAX_AGE_DAYS", "7"),
            ("BREAKER_COOL_DOWN_SECS", "ten"),
        ]);
        let read = tracing::subscriber::with_default(
            crate::logging::subscriber(&settings, logs.clone()),
            || {
                (
                    reader.duration_or("PARAM_TTL", Duration::ZERO),
                    reader.duration_or("UPSTREAM_TIMEOUT", Duration::ZERO),
                    reader.duration_or("MAX_AGE", Duration::ZERO),
                    reader.duration_or("BREAKER_COOL_DOWN", Duration::ZERO),
                )
            },
        );
        assert_eq!(read.0.unwrap(), Duration::from_secs(90));
        assert_eq!(read.1.unwrap(), Duration::from_millis(2500));
        assert_eq!(read.2.unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(read.3.unwrap_err().variable(), "BREAKER_COOL_DOWN_SECS");
        let warnings: Vec<String> = logs
            .json_lines()
            .iter()
            .map(|line| line["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            warnings,
            [
                "PARAM_TTL_SECS is deprecated: set PARAM_TTL (for example PARAM_TTL=90s) instead",
                "UPSTREAM_TIMEOUT_MS is deprecated: set UPSTREAM_TIMEOUT (for example \
                 UPSTREAM_TIMEOUT=2500ms) instead",
                "MAX_AGE_DAYS is deprecated: set MAX_AGE (for example MAX_AGE=7d) instead",
            ]
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
