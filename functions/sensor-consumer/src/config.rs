//! The consumer's configuration, read once at start-up from the environment.

use std::time::Duration;

use orabridge_shared::config::{ConfigError, ConfigReader, VarSource};
use orabridge_shared::sensor::ValidationRules;

use crate::consumer::{DEFAULT_WRITE_CONCURRENCY, Settings};

/// Everything the consumer reads from its environment.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The data-lake bucket (`BUCKET`, required).
    pub bucket: String,
    /// Where and how to write.
    pub settings: Settings,
    /// Inline thresholds document (`THRESHOLDS_JSON`).
    pub thresholds_json: Option<String>,
    /// SSM parameter holding the thresholds document (`THRESHOLDS_PARAM`).
    pub thresholds_param: Option<String>,
}

impl ConsumerConfig {
    /// Reads the configuration; the error names the variable at fault.
    pub fn from_source(vars: impl VarSource) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(vars);
        let max_age_days: u64 = reader.parse_or("MAX_AGE_DAYS", 30)?;
        Ok(Self {
            bucket: reader.string("BUCKET")?,
            settings: Settings {
                prefix: reader.string_or("PREFIX", ""),
                alert_queue_url: reader.optional_string("ALERT_QUEUE_URL"),
                rules: ValidationRules {
                    max_age: Duration::from_secs(max_age_days * 86_400),
                    ..ValidationRules::default()
                },
                write_concurrency: match reader
                    .parse_or("WRITE_CONCURRENCY", DEFAULT_WRITE_CONCURRENCY)?
                {
                    0 => {
                        return Err(ConfigError::Malformed {
                            name: "WRITE_CONCURRENCY".into(),
                            reason: "must be at least 1".into(),
                        });
                    }
                    n => n,
                },
            },
            thresholds_json: reader.optional_string("THRESHOLDS_JSON"),
            thresholds_param: reader.optional_string("THRESHOLDS_PARAM"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_is_required_and_named_when_missing() {
        let err = ConsumerConfig::from_source([("PREFIX", "lake")]).unwrap_err();
        assert_eq!(err.variable(), "BUCKET");
    }

    #[test]
    fn defaults_apply() {
        let config = ConsumerConfig::from_source([("BUCKET", "b")]).unwrap();
        assert_eq!(config.settings.prefix, "");
        assert_eq!(config.settings.alert_queue_url, None);
        assert_eq!(config.settings.write_concurrency, DEFAULT_WRITE_CONCURRENCY);
        let err =
            ConsumerConfig::from_source([("BUCKET", "b"), ("WRITE_CONCURRENCY", "0")]).unwrap_err();
        assert_eq!(err.variable(), "WRITE_CONCURRENCY");
        assert_eq!(
            config.settings.rules.max_age,
            Duration::from_secs(30 * 86_400)
        );
    }
}
