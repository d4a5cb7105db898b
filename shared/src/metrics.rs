//! Metrics as CloudWatch Embedded Metric Format (EMF) lines.
//!
//! Code records metrics through the `metrics` facade (`counter!`, `histogram!`, re-exported
//! here); the `metrics_cloudwatch_embedded` recorder installed by [`init`] collects them and
//! writes one EMF JSON document to stdout at the end of each invocation, which CloudWatch turns
//! into metrics without an API call. Each document carries the `service` dimension, the request
//! id and X-Ray trace id as properties, and a `ColdStart` count on the first invocation.
//!
//! [`run`] and [`run_http`] start the Lambda runtime with that flush and the runtime's tracing
//! layer (the per-invocation span that gives every log line its `requestId`).

pub use ::metrics::{
    Counter, Unit, counter, describe_counter, describe_histogram, gauge, histogram,
};
pub use metrics_cloudwatch_embedded::Collector;
pub use metrics_cloudwatch_embedded::lambda::service::{run, run_http};

use crate::config::VarSource;

/// The namespace used when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "Orabridge";

/// What the EMF documents are labelled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The CloudWatch namespace (`METRICS_NAMESPACE`, default [`DEFAULT_NAMESPACE`]).
    pub namespace: String,
    /// The `service` dimension (`SERVICE_NAME`, default: the function's own name).
    pub service: String,
}

impl MetricsSettings {
    /// Reads the settings; `default_service` names the function when `SERVICE_NAME` is unset.
    pub fn from_source(vars: &impl VarSource, default_service: &str) -> Self {
        Self {
            namespace: vars
                .non_empty("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            service: vars
                .non_empty("SERVICE_NAME")
                .unwrap_or_else(|| default_service.into()),
        }
    }
}

/// The metrics recorder could not be installed (one is already installed in this process).
#[derive(Debug, thiserror::Error)]
#[error("could not install the EMF metrics recorder")]
pub struct MetricsError(#[source] metrics_cloudwatch_embedded::Error);

/// The recorder [`init`] installed, for [`flush_now`].
static INSTALLED: std::sync::OnceLock<&'static Collector> = std::sync::OnceLock::new();

/// Installs the process-wide EMF recorder. Call once, in `main`.
pub fn init(settings: &MetricsSettings) -> Result<&'static Collector, MetricsError> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(settings.namespace.clone())
        .with_dimension("service", settings.service.clone())
        .lambda_cold_start_metric("ColdStart")
        .with_lambda_request_id("requestId")
        .with_lambda_xray_trace_id("xrayTraceId")
        .init()
        .map_err(MetricsError)?;
    let _ = INSTALLED.set(collector);
    Ok(collector)
}

/// Writes what was recorded so far as one EMF document on stdout, now. For code that runs
/// outside [`run`]'s end-of-invocation flush: the Restate workflow served by its own Lambda
/// endpoint. Without an installed recorder (tests, local runs) it writes nothing.
pub fn flush_now() {
    if let Some(collector) = INSTALLED.get() {
        // Metrics are best effort: a closed stdout must not fail the step that counted.
        let _ = collector.flush(std::io::stdout().lock());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_the_suite_namespace_and_the_function_name() {
        let settings = MetricsSettings::from_source(&[("OTHER", "x")], "proxy");
        assert_eq!(settings.namespace, "Orabridge");
        assert_eq!(settings.service, "proxy");
    }

    #[test]
    fn settings_follow_the_environment_when_set() {
        let settings = MetricsSettings::from_source(
            &[
                ("METRICS_NAMESPACE", "Munbon"),
                ("SERVICE_NAME", "edge-proxy"),
            ],
            "proxy",
        );
        assert_eq!(settings.namespace, "Munbon");
        assert_eq!(settings.service, "edge-proxy");
    }
}
