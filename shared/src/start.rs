//! The one start-up order every function's `main` follows, and the trait through which `main`
//! and the tests hand a function its events.
//!
//! [`Start::new`] installs logging and the EMF recorder first, so whatever fails later is
//! logged like any other error. [`Start::settings`] reads the parameters a settings plan
//! references in one batched, decrypted read. `main` then parses its configuration, builds the
//! ports (AWS clients from [`Start::sdk`]), composes the function with its crate's `build`, and
//! [`Start::serve`]s it: the runtime loop with the tracing span and the metrics flush of
//! [`metrics::run`](crate::metrics::run).
//!
//! The SDK configuration is loaded once, by the first step that asks for it: a function whose
//! settings are all in its environment and that calls no AWS service before its first event
//! starts without it.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ProcessEnv;
use crate::metrics::{Collector, MetricsError};
use crate::params::{ParameterStore, SsmParameterSource};
use crate::settings::{Settings, SettingsError, SettingsPlan};

/// A composed function: what `main` serves and what the tests invoke, event by event.
///
/// Every `main` runs on tokio's current-thread runtime, one invocation at a time, so neither the
/// function nor its futures need to be `Send`.
pub trait Function: 'static {
    /// The event as Lambda hands it (`Box<RawValue>` for a function that reads the raw text).
    type Event: DeserializeOwned;
    /// The answer, serialized as Lambda returns it.
    type Output: Serialize;
    /// Why an invocation failed, as the Lambda diagnostic a caller or an alarm sees.
    type Error: Into<Diagnostic> + Debug;

    /// Handles one invocation.
    fn handle(
        &self,
        event: LambdaEvent<Self::Event>,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>>;
}

/// Why a function could not start: its init fails with the cause chain in the log.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The metrics recorder could not be installed.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The AWS SDK configuration could not be loaded (`SSL_CERT_FILE` names an unusable file).
    #[error("the AWS SDK configuration could not be loaded")]
    Sdk(#[source] std::io::Error),
    /// A referenced parameter could not be read.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// A function's start-up: logging and metrics installed, the SDK configuration loaded on first
/// use.
pub struct Start {
    metrics: &'static Collector,
    sdk: tokio::sync::OnceCell<SdkConfig>,
    /// The store [`Start::settings`] read through, kept for [`Start::take_parameter_store`].
    parameters: std::sync::Mutex<Option<ParameterStore<SsmParameterSource>>>,
}

impl Start {
    /// Installs the log subscriber and the EMF recorder, whose `service` dimension defaults to
    /// `function`. Call once, first thing in `main`.
    pub fn new(function: &str) -> Result<Self, StartError> {
        Ok(Self {
            metrics: crate::lambda::init(function)?,
            sdk: tokio::sync::OnceCell::new(),
            parameters: std::sync::Mutex::new(None),
        })
    }

    /// The AWS SDK configuration ([`crate::aws::load_sdk_config`]), loaded by the first call.
    pub async fn sdk(&self) -> Result<&SdkConfig, StartError> {
        self.sdk
            .get_or_try_init(crate::aws::load_sdk_config)
            .await
            .map_err(StartError::Sdk)
    }

    /// Resolves `plan`: every parameter it references in one batched read, none (and no SDK)
    /// when it references none.
    pub async fn settings(
        &self,
        plan: SettingsPlan<ProcessEnv>,
    ) -> Result<Settings<ProcessEnv>, StartError> {
        let store = match plan.needs_parameters() {
            true => Some(crate::aws::ssm_parameter_store(self.sdk().await?)),
            false => None,
        };
        let settings = plan.resolve(store.as_ref()).await?;
        *self.parameters.lock().unwrap_or_else(|p| p.into_inner()) = store;
        Ok(settings)
    }

    /// The SSM parameter store [`Start::settings`] read through, if it needed one: a function
    /// that reads more parameters after start-up reuses its client instead of building a
    /// second one.
    pub fn take_parameter_store(&self) -> Option<ParameterStore<SsmParameterSource>> {
        self.parameters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Serves `function` until the runtime stops: one invocation at a time, each in the
    /// runtime's tracing span (the `requestId` of every log line), metrics flushed after each.
    pub async fn serve<F: Function>(self, function: F) -> Result<(), lambda_runtime::Error> {
        let function = Arc::new(function);
        crate::metrics::run(
            self.metrics,
            service_fn(move |event: LambdaEvent<F::Event>| {
                let function = Arc::clone(&function);
                async move { function.handle(event).await }
            }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test in this binary that installs the process-wide recorder.
    #[tokio::test]
    async fn settings_without_parameter_references_need_no_sdk() {
        let start = Start::new("start-test").expect("the first recorder of this process");
        let settings = start
            .settings(SettingsPlan::new(ProcessEnv))
            .await
            .expect("no parameter to read");
        drop(settings);
        assert!(
            !start.sdk.initialized(),
            "a plan without references loads no SDK configuration"
        );
        assert!(
            start.take_parameter_store().is_none(),
            "nor a parameter store"
        );
    }
}
