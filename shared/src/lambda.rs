//! Glue between the functions' error enums and the Lambda runtime.
//!
//! Each function maps its boundary error enum to a Lambda [`Diagnostic`] explicitly: the
//! `errorType` is a stable name a CloudWatch alarm or a Step Functions `Catch` can match, and
//! the message carries the whole cause chain so the invocation error is self-explanatory.
//!
//! Every function's `main` runs on tokio's current-thread runtime: Lambda hands a function one
//! event at a time, and below 1,769 MB of memory it has less than one vCPU. The I/O still
//! overlaps on that thread, blocking work goes to `spawn_blocking`, and no worker threads are
//! started during the cold start.

use std::error::Error;

pub use lambda_runtime::Diagnostic;

/// What every function's `main` does first: the log subscriber, then the EMF metrics recorder
/// whose `service` dimension defaults to `function`. The recorder is for `metrics::run`.
pub fn init(
    function: &str,
) -> Result<&'static crate::metrics::Collector, crate::metrics::MetricsError> {
    crate::logging::init();
    crate::metrics::init(&crate::metrics::MetricsSettings::from_source(
        &crate::config::ProcessEnv,
        function,
    ))
}

/// A [`Diagnostic`] whose `errorType` is `error_type` and whose message is the error's cause
/// chain (`outer: cause: root cause`).
pub fn diagnostic(error_type: &str, error: &(dyn Error + 'static)) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: crate::errors::chain(error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("publishing the run failed")]
    struct Publish(#[source] std::io::Error);

    #[test]
    fn diagnostics_carry_the_type_and_the_whole_cause_chain() {
        let err = Publish(std::io::Error::other("bucket not found"));
        let diagnostic = diagnostic("PublishFailed", &err);
        assert_eq!(diagnostic.error_type, "PublishFailed");
        assert_eq!(
            diagnostic.error_message,
            "publishing the run failed: bucket not found"
        );
    }
}
