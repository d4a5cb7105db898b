//! The proxy's configuration, read once at start-up from the environment.

use std::time::Duration;

use orabridge_shared::config::{ConfigError, ConfigReader, VarSource};

/// The largest request body that reaches the function: Lambda takes a 6 MB (6 × 2^20 bytes)
/// invocation payload, a base64 body of N bytes takes 4N/3 of it, and the rest of the event
/// (headers twice in v1, the request context) is kept under about 400 KB:
/// 4,400,000 × 4/3 = 5,866,667 bytes. Larger bodies are refused by Lambda before the proxy runs.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4_400_000;

/// API Gateway ends every integration after 29 seconds, whatever the Lambda's own timeout.
pub const API_GATEWAY_LIMIT: Duration = Duration::from_secs(29);

/// Everything the proxy reads from its environment (defaults from the contract).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// SSM String with one base URL or an ordered, comma-separated list.
    pub upstream_param: String,
    /// SSM SecureString with the internal API key.
    pub internal_key_param: String,
    /// Whether an `http://` upstream is allowed (`ALLOW_PLAIN_HTTP_UPSTREAM`, default false):
    /// the key and the callers' data would cross the network in clear text.
    pub allow_plain_http: bool,
    /// How long parameters are cached in the warm container.
    pub param_ttl: Duration,
    /// The most one upstream attempt may take, connection included.
    pub upstream_timeout: Duration,
    /// The most establishing a connection may take; a connect that times out is a connect
    /// error, so even a POST may move on to the next upstream.
    pub connect_timeout: Duration,
    /// Request bodies above this get 413 (`MAX_BODY_BYTES`). The default is what fits in
    /// Lambda's 6 MB invocation payload once API Gateway has base64-encoded the body (with
    /// binary media types `*/*`, every body is) and added the event around it.
    pub max_body_bytes: usize,
    /// Upstream answers whose Lambda response would weigh more get the proxy's own 502: Lambda's
    /// response limit, not a setting ([`crate::response::LAMBDA_RESPONSE_LIMIT`]).
    pub response_limit: usize,
    /// Time kept back from the Lambda's remaining time to answer before it is cut off.
    pub deadline_margin: Duration,
    /// Consecutive failures that open an upstream's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit skips its upstream before one trial request.
    pub breaker_cool_down: Duration,
    /// Enables `POST /ingest/sensor-data` when set.
    pub sensor_queue_url: Option<String>,
    /// Oldest reading timestamp accepted by ingestion (`MAX_AGE`, default `30d`).
    pub max_reading_age: Duration,
    /// The DynamoDB table of idempotency records (`IDEMPOTENCY_TABLE`); when set, ingestion
    /// honours `Idempotency-Key`.
    pub idempotency_table: Option<String>,
    /// How long an ingestion answer is replayed to retries under its key
    /// (`IDEMPOTENCY_EXPIRES_AFTER`, default `1h`, as Powertools).
    pub idempotency_expires_after: Duration,
    /// Prefix of the idempotency record ids: the function's name (`AWS_LAMBDA_FUNCTION_NAME`,
    /// set by Lambda) and the operation, as Powertools scopes its records.
    pub idempotency_scope: String,
}

impl ProxyConfig {
    /// Reads the configuration; the error names the variable at fault.
    pub fn from_source(vars: impl VarSource) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(vars);
        // The endpoints and the key are re-read from SSM while the function runs, so an
        // endpoint change or a key rotation needs no redeploy: neither is taken as a value.
        reader.parameter_only("UPSTREAM", "UPSTREAM_PARAM")?;
        reader.parameter_only("INTERNAL_KEY", "INTERNAL_KEY_PARAM")?;
        let config = Self {
            upstream_param: reader.string_or("UPSTREAM_PARAM", "/munbon/oracle-api-endpoint"),
            internal_key_param: reader.string_or("INTERNAL_KEY_PARAM", "/munbon/internal-key"),
            allow_plain_http: reader.flag_or("ALLOW_PLAIN_HTTP_UPSTREAM", false)?,
            param_ttl: reader.positive_duration_or("PARAM_TTL", Duration::from_secs(60))?,
            upstream_timeout: reader
                .positive_duration_or("UPSTREAM_TIMEOUT", Duration::from_secs(10))?,
            connect_timeout: reader
                .positive_duration_or("UPSTREAM_CONNECT_TIMEOUT", Duration::from_secs(2))?,
            max_body_bytes: reader.parse_or("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            response_limit: crate::response::LAMBDA_RESPONSE_LIMIT,
            deadline_margin: reader.duration_or("DEADLINE_MARGIN", Duration::from_millis(500))?,
            breaker_failures: reader.parse_or("BREAKER_FAILURES", 3)?,
            breaker_cool_down: reader.duration_or("BREAKER_COOL_DOWN", Duration::from_secs(30))?,
            sensor_queue_url: reader.optional_string("SENSOR_QUEUE_URL"),
            max_reading_age: reader
                .positive_duration_or("MAX_AGE", Duration::from_secs(30 * 86_400))?,
            idempotency_table: reader.optional_string("IDEMPOTENCY_TABLE"),
            // Zero is refused: a retry must find the first answer.
            idempotency_expires_after: reader
                .positive_duration_or("IDEMPOTENCY_EXPIRES_AFTER", Duration::from_secs(3600))?,
            idempotency_scope: format!(
                "{}.ingest-sensor-data",
                reader.string_or("AWS_LAMBDA_FUNCTION_NAME", "proxy")
            ),
        };
        if config.allow_plain_http {
            tracing::warn!(
                "ALLOW_PLAIN_HTTP_UPSTREAM is set: http:// upstreams are used, and the internal key and callers' data cross the network in clear text"
            );
        }
        if config.breaker_failures == 0 {
            return Err(ConfigError::Malformed {
                name: "BREAKER_FAILURES".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_defaults_apply_when_nothing_is_set() {
        let config = ProxyConfig::from_source([("UNRELATED", "x")]).unwrap();
        assert_eq!(config.upstream_param, "/munbon/oracle-api-endpoint");
        assert_eq!(config.internal_key_param, "/munbon/internal-key");
        assert!(!config.allow_plain_http, "https only unless allowed");
        assert_eq!(config.param_ttl, Duration::from_secs(60));
        assert_eq!(config.upstream_timeout, Duration::from_secs(10));
        assert_eq!(config.max_body_bytes, 4_400_000);
        assert!(config.max_body_bytes.div_ceil(3) * 4 < crate::response::LAMBDA_RESPONSE_LIMIT);
        assert_eq!(config.sensor_queue_url, None);
        assert_eq!(config.idempotency_table, None);
        assert_eq!(config.idempotency_expires_after, Duration::from_secs(3600));
        assert_eq!(config.idempotency_scope, "proxy.ingest-sensor-data");
    }

    #[test]
    fn a_malformed_value_names_its_variable() {
        let err = ProxyConfig::from_source([("UPSTREAM_TIMEOUT", "10 seconds")]).unwrap_err();
        assert_eq!(err.variable(), "UPSTREAM_TIMEOUT");
        // The old names still read their unit, and a value in the new syntax is refused there.
        let err = ProxyConfig::from_source([("UPSTREAM_TIMEOUT_MS", "10s")]).unwrap_err();
        assert_eq!(err.variable(), "UPSTREAM_TIMEOUT_MS");
        let config = ProxyConfig::from_source([("UPSTREAM_TIMEOUT_MS", "2500")]).unwrap();
        assert_eq!(config.upstream_timeout, Duration::from_millis(2500));
        let err = ProxyConfig::from_source([("BREAKER_FAILURES", "0")]).unwrap_err();
        assert_eq!(err.variable(), "BREAKER_FAILURES");
        let err = ProxyConfig::from_source([("IDEMPOTENCY_EXPIRES_AFTER", "0s")]).unwrap_err();
        assert_eq!(err.variable(), "IDEMPOTENCY_EXPIRES_AFTER");
    }

    #[test]
    fn an_upstream_or_key_given_as_a_value_is_refused_naming_the_parameter_variable() {
        let err = ProxyConfig::from_source([("UPSTREAM", "https://10.0.0.1")]).unwrap_err();
        assert_eq!(err.variable(), "UPSTREAM");
        assert!(err.to_string().contains("set UPSTREAM_PARAM"), "{err}");
        let key = "k-8d1f0c2e-live-secret";
        let err = ProxyConfig::from_source([("INTERNAL_KEY", key)]).unwrap_err();
        assert_eq!(err.variable(), "INTERNAL_KEY");
        assert!(err.to_string().contains("set INTERNAL_KEY_PARAM"), "{err}");
        assert!(
            !format!("{err} {err:?}").contains(key),
            "the key never in the error"
        );
    }
}
