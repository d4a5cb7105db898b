//! The consumer's configuration, read once at start-up from the environment (and, for the
//! thresholds document, the SSM parameter `THRESHOLDS_PARAM` names).

use std::time::Duration;

use orabridge_shared::config::{ConfigError, ConfigReader, VarSource};
use orabridge_shared::sensor::ValidationRules;
use orabridge_shared::settings::SettingsPlan;

use crate::consumer::{DEFAULT_DEADLINE_MARGIN, DEFAULT_WRITE_CONCURRENCY, WriteSettings};

/// Everything the consumer reads from its environment.
#[derive(Debug, Clone)]
pub struct SensorConsumerConfig {
    /// The data-lake bucket (`BUCKET`, required).
    pub bucket: String,
    /// Where and how to write.
    pub writes: WriteSettings,
    /// The thresholds document (`THRESHOLDS`, or the parameter `THRESHOLDS_PARAM` names;
    /// `THRESHOLDS_JSON` is its old name).
    pub thresholds: Option<String>,
}

impl SensorConsumerConfig {
    /// The settings read as values or parameter references: the thresholds document.
    pub fn settings<V: VarSource>(vars: V) -> SettingsPlan<V> {
        SettingsPlan::new(vars).setting("THRESHOLDS")
    }

    /// Reads the configuration from resolved [`settings`](Self::settings); the error names the
    /// variable at fault.
    pub fn from_source(vars: impl VarSource) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(vars);
        Ok(Self {
            bucket: reader.string("BUCKET")?,
            writes: WriteSettings {
                prefix: reader.string_or("PREFIX", ""),
                alert_queue_url: reader.optional_string("ALERT_QUEUE_URL"),
                rules: ValidationRules {
                    max_age: reader
                        .positive_duration_or("MAX_AGE", Duration::from_secs(30 * 86_400))?,
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
                deadline_margin: reader.duration_or("DEADLINE_MARGIN", DEFAULT_DEADLINE_MARGIN)?,
            },
            thresholds: reader.optional_string_renamed("THRESHOLDS", "THRESHOLDS_JSON"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_is_required_and_named_when_missing() {
        let err = SensorConsumerConfig::from_source([("PREFIX", "lake")]).unwrap_err();
        assert_eq!(err.variable(), "BUCKET");
    }

    #[test]
    fn defaults_apply() {
        let config = SensorConsumerConfig::from_source([("BUCKET", "b")]).unwrap();
        assert_eq!(config.writes.prefix, "");
        assert_eq!(config.writes.alert_queue_url, None);
        assert_eq!(config.writes.write_concurrency, DEFAULT_WRITE_CONCURRENCY);
        assert_eq!(config.writes.deadline_margin, DEFAULT_DEADLINE_MARGIN);
        let err = SensorConsumerConfig::from_source([("BUCKET", "b"), ("WRITE_CONCURRENCY", "0")])
            .unwrap_err();
        assert_eq!(err.variable(), "WRITE_CONCURRENCY");
        assert_eq!(
            config.writes.rules.max_age,
            Duration::from_secs(30 * 86_400)
        );
        let config =
            SensorConsumerConfig::from_source([("BUCKET", "b"), ("MAX_AGE", "7d")]).unwrap();
        assert_eq!(config.writes.rules.max_age, Duration::from_secs(7 * 86_400));
    }

    #[tokio::test]
    async fn the_thresholds_are_a_value_a_parameter_or_their_old_name() {
        use orabridge_shared::params::{MemoryParameterSource, ParameterStore};
        let ssm = MemoryParameterSource::new();
        ssm.put("/prod/thresholds", r#"{"from": "ssm"}"#);
        let store = ParameterStore::new(ssm, Duration::from_secs(60));
        let vars = [("BUCKET", "b"), ("THRESHOLDS_PARAM", "/prod/thresholds")];
        let settings = SensorConsumerConfig::settings(vars)
            .resolve(Some(&store))
            .await
            .unwrap();
        let config = SensorConsumerConfig::from_source(&settings).unwrap();
        assert_eq!(config.thresholds.as_deref(), Some(r#"{"from": "ssm"}"#));
        let inline =
            SensorConsumerConfig::from_source([("BUCKET", "b"), ("THRESHOLDS_JSON", "{}")]);
        assert_eq!(inline.unwrap().thresholds.as_deref(), Some("{}"));
    }
}
