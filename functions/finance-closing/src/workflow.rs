//! The `FinanceClosing` Restate workflow, keyed by closing date: the Restate side of the
//! closing in [`crate::flow`]. [`RestateSteps`] implements the durable-steps port on a
//! `WorkflowContext` (journaled `ctx.run` steps with the retry policy, a durable sleep raced
//! against the `cancel` promise, workflow state), and the handlers are `run`, `status` and
//! `cancel`.

use std::time::Duration;

use restate_sdk::context::RunRetryPolicy;
use restate_sdk::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::closing::{ClosingReport, JobSeen, Phase};
use crate::durable::{DurableSteps, StepError, StepFailed, StepFuture, Wake};
use crate::erp::Erp;
use crate::flow::{ClosingStatus, FinanceClosing, RetryPolicy, RunRequest};
use crate::flow::{JOB, JOBS, LAST_POLL, PHASE, ROWS_COPIED};
use crate::store::ClosingStore;

const CANCEL: &str = "cancel";

/// The step retry policy in Restate's terms: exponential backoff from `initial_delay`,
/// doubling up to `max_delay`, given up after `max_duration`.
fn step_policy(retry: &RetryPolicy) -> RunRetryPolicy {
    RunRetryPolicy::new()
        .initial_delay(retry.initial_delay)
        .exponentiation_factor(2.0)
        .max_delay(retry.max_delay)
        .max_duration(retry.max_duration)
}

/// The durable-steps port on a Restate workflow context.
pub struct RestateSteps<'a, 'ctx> {
    ctx: &'a WorkflowContext<'ctx>,
    retry: RunRetryPolicy,
}

impl DurableSteps for RestateSteps<'_, '_> {
    fn run<'a, T, A, Fut>(&'a self, name: &'a str, action: A) -> StepFuture<'a, T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        A: Fn() -> Fut + Send + Sync + 'a,
        Fut: std::future::Future<Output = Result<T, StepError>> + Send + 'a,
    {
        // The context, seen for this step's lifetime (it is covariant), so the action may borrow
        // what the caller holds for that long.
        let ctx: &'a WorkflowContext<'a> = self.ctx;
        let step = ctx
            .run(move || {
                let attempt = action();
                async move {
                    match attempt.await {
                        Ok(value) => Ok(Json(value)),
                        // Retried under the step's policy.
                        Err(StepError::Transient(source)) => Err(HandlerError::from(source)),
                        Err(StepError::Permanent(message)) => {
                            Err(TerminalError::new(message).into())
                        }
                    }
                }
            })
            .name(name)
            .retry_policy(self.retry.clone());
        Box::pin(async move {
            step.await
                .map(Json::into_inner)
                .map_err(|err| StepFailed(err.message().to_owned()))
        })
    }

    fn sleep_or_cancel(&self, duration: Duration) -> StepFuture<'_, Wake> {
        let ctx = self.ctx;
        Box::pin(async move {
            let race = async {
                Ok::<_, TerminalError>(restate_sdk::select! {
                    _ = ctx.sleep(duration) => Wake::Slept,
                    _ = ctx.promise::<bool>(CANCEL) => Wake::Cancelled,
                })
            };
            race.await
                .map_err(|err| StepFailed(err.message().to_owned()))
        })
    }

    fn cancel_requested(&self) -> StepFuture<'_, bool> {
        let ctx = self.ctx;
        Box::pin(async move {
            ctx.peek_promise::<bool>(CANCEL)
                .await
                .map(|asked| asked.is_some())
                .map_err(|err| StepFailed(err.message().to_owned()))
        })
    }

    fn sleep(&self, duration: Duration) -> StepFuture<'_, ()> {
        let ctx = self.ctx;
        Box::pin(async move {
            ctx.sleep(duration)
                .await
                .map_err(|err| StepFailed(err.message().to_owned()))
        })
    }

    fn set_state<T: Serialize + Send + 'static>(&self, key: &'static str, value: T) {
        self.ctx.set(key, Json(value));
    }
}

#[restate_sdk::workflow(name = "FinanceClosing")]
impl<E: Erp + 'static, S: ClosingStore + 'static> FinanceClosing<E, S> {
    /// Runs the closing of the key's date once; a second start attaches to this one.
    #[handler]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        request: Json<RunRequest>,
    ) -> HandlerResult<Json<ClosingReport>> {
        let key = ctx.key().to_owned();
        let steps = RestateSteps {
            ctx: &ctx,
            retry: step_policy(&self.timing().retry),
        };
        match self.close_date(&steps, &key, request.into_inner()).await {
            Ok(report) => Ok(Json(report)),
            Err(StepFailed(message)) => Err(TerminalError::new(message).into()),
        }
    }

    /// The current phase, job, last poll and rows copied (readable while `run` sleeps).
    #[handler]
    async fn status(&self, ctx: SharedWorkflowContext<'_>) -> HandlerResult<Json<ClosingStatus>> {
        Ok(Json(ClosingStatus {
            phase: ctx.get::<Json<Phase>>(PHASE).await?.map(Json::into_inner),
            job: ctx.get::<Json<String>>(JOB).await?.map(Json::into_inner),
            last_poll: ctx
                .get::<Json<String>>(LAST_POLL)
                .await?
                .map(Json::into_inner),
            rows_copied: ctx
                .get::<Json<u64>>(ROWS_COPIED)
                .await?
                .map_or(0, Json::into_inner),
            jobs: ctx
                .get::<Json<Vec<JobSeen>>>(JOBS)
                .await?
                .map_or_else(Vec::new, Json::into_inner),
        }))
    }

    /// Asks the running workflow to stop the job and end as `cancelled`.
    #[handler]
    async fn cancel(&self, ctx: SharedWorkflowContext<'_>) -> HandlerResult<()> {
        ctx.resolve_promise::<bool>(CANCEL, true);
        Ok(())
    }
}
