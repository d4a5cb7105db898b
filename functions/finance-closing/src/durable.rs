//! The durable-execution port the closing is written against, and its in-memory adapter.
//!
//! A closing is a sequence of named **steps** whose results are journaled, **durable sleeps**
//! that a cancel request cuts short, and **state** a status reader sees while it sleeps. After a
//! crash (or a Lambda timeout) the workflow runs again from the top: journaled steps return
//! their recorded result without running, so only the unfinished step runs again. Restate
//! provides this in production (`workflow::RestateSteps`); [`MemoryJournal`] provides it in
//! the unit tests, where it can stop the workflow at any entry, before or after the step's side
//! effect, and replay it, on a [`ManualClock`] that the sleeps advance.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use orabridge_shared::clock::ManualClock;
use orabridge_shared::errors::BoxError;

/// Why a step's action failed.
#[derive(Debug)]
pub enum StepError {
    /// Worth retrying under the step's policy (a lost connection, a timeout).
    Transient(BoxError),
    /// Retrying cannot help; the step fails for good with this message.
    Permanent(String),
}

/// A step that failed for good: a permanent error, or its retries ran out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StepFailed(pub String);

/// How a durable sleep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Wake {
    /// It slept the whole interval.
    Slept,
    /// A cancel request arrived first.
    Cancelled,
}

/// What a step or a sleep returns. Boxed: with `impl Future` here, rustc cannot prove the
/// closing's nested futures `Send` for every lifetime (rust-lang/rust#100013), which Restate's
/// handler futures must be; one allocation per step is nothing beside its round trips.
pub type StepFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StepFailed>> + Send + 'a>>;

/// Durable execution as the closing uses it. An action may borrow what the caller holds for
/// as long as the step runs; it is `Fn`, since a step calls it again on each retry.
pub trait DurableSteps: Send + Sync {
    /// Runs `action` as the step `name`, retrying transient failures under the step policy,
    /// once per workflow: on a replay the journaled result is returned and `action` not run.
    fn run<'a, T, A, Fut>(&'a self, name: &'a str, action: A) -> StepFuture<'a, T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        A: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = Result<T, StepError>> + Send + 'a;

    /// Sleeps `duration` durably, or less when the workflow is asked to cancel.
    fn sleep_or_cancel(&self, duration: Duration) -> StepFuture<'_, Wake>;

    /// Whether a cancel was asked for, read durably (a replay reads the same answer).
    fn cancel_requested(&self) -> StepFuture<'_, bool>;

    /// Sleeps `duration` durably whatever is asked meanwhile (a cancel already being carried
    /// out must not cut the waits that follow it short).
    fn sleep(&self, duration: Duration) -> StepFuture<'_, ()>;

    /// Sets the state `key` that the status handler reads.
    fn set_state<T: Serialize + Send + 'static>(&self, key: &'static str, value: T);
}

/// Where [`MemoryJournal::stop_at`] interrupts the entry it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPoint {
    /// Before the entry's action runs: a crash between two steps.
    Before,
    /// After a step's action ran but before its result was journaled: a crash inside the
    /// step, so its side effect happened and will happen again on the replay.
    AfterEffect,
}

#[derive(Debug, Clone)]
enum Entry {
    Step {
        name: String,
        outcome: Result<serde_json::Value, String>,
    },
    Sleep(Wake),
    Peek(bool),
}

#[derive(Debug, Default)]
struct Journal {
    entries: Vec<Entry>,
    // The position of the current invocation in `entries`.
    cursor: usize,
    stop: Option<(usize, StopPoint)>,
    cancel_requested: bool,
    // A cancel that arrives during the sleep of this number (1-based) of the first invocation.
    cancel_at_sleep: Option<usize>,
    sleeps: usize,
    state: BTreeMap<&'static str, serde_json::Value>,
    actions_run: Vec<String>,
}

/// An in-memory journal: [`DurableSteps`] as Restate provides them, for the unit tests. Steps
/// are retried at once (no backoff) up to `max_attempts`; sleeps advance the clock.
pub struct MemoryJournal {
    clock: ManualClock,
    max_attempts: u32,
    journal: Mutex<Journal>,
    stopped: Notify,
}

impl MemoryJournal {
    /// An empty journal sleeping on `clock`, trying a step at most `max_attempts` times.
    pub fn new(clock: ManualClock, max_attempts: u32) -> Self {
        Self {
            clock,
            max_attempts: max_attempts.max(1),
            journal: Mutex::new(Journal::default()),
            stopped: Notify::new(),
        }
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        // Only a panicking test can poison it.
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Interrupts the next invocation at entry `index` (0-based), at `point`.
    pub fn stop_at(&self, index: usize, point: StopPoint) {
        self.journal().stop = Some((index, point));
    }

    /// Asks the workflow to cancel: its current or next sleep wakes as [`Wake::Cancelled`].
    pub fn cancel(&self) {
        self.journal().cancel_requested = true;
    }

    /// Asks the workflow to cancel while it sleeps its `sleep`th cancellable sleep (1-based):
    /// that sleep and the later ones wake as [`Wake::Cancelled`].
    pub fn cancel_at_sleep(&self, sleep: usize) {
        self.journal().cancel_at_sleep = Some(sleep);
    }

    /// How many entries are journaled.
    pub fn len(&self) -> usize {
        self.journal().entries.len()
    }

    /// Whether nothing is journaled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of the steps whose action ran, in order, across every invocation and retry.
    pub fn actions_run(&self) -> Vec<String> {
        self.journal().actions_run.clone()
    }

    /// The state `key` as last set.
    pub fn state<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.journal().state.get(key).cloned()?;
        serde_json::from_value(value).ok()
    }

    /// Runs `workflow` as one invocation, replaying the journal from its start: its output, or
    /// `None` when [`stop_at`](Self::stop_at) interrupted it (the future is dropped there, as a
    /// crashed process's would be).
    pub async fn invoke<F: Future>(&self, workflow: F) -> Option<F::Output> {
        self.journal().cursor = 0;
        tokio::select! {
            biased;
            _ = self.stopped.notified() => None,
            output = workflow => Some(output),
        }
    }

    /// The journaled entry at the cursor, if replaying; moves the cursor past it.
    fn replayed(&self) -> Option<Entry> {
        let mut journal = self.journal();
        let entry = journal.entries.get(journal.cursor).cloned()?;
        journal.cursor += 1;
        Some(entry)
    }

    /// Whether the new entry about to be made is where the test asked to stop, at `point`.
    fn stops_here(&self, point: StopPoint) -> bool {
        let journal = self.journal();
        journal.stop == Some((journal.entries.len(), point))
    }

    /// Stops this invocation: the select in [`invoke`](Self::invoke) drops the workflow.
    async fn crash(&self) -> ! {
        self.journal().stop = None;
        self.stopped.notify_one();
        std::future::pending().await
    }

    fn append(&self, entry: Entry) {
        let mut journal = self.journal();
        journal.entries.push(entry);
        journal.cursor = journal.entries.len();
    }
}

impl DurableSteps for MemoryJournal {
    fn run<'a, T, A, Fut>(&'a self, name: &'a str, action: A) -> StepFuture<'a, T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        A: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = Result<T, StepError>> + Send + 'a,
    {
        Box::pin(self.run_step(name, action))
    }

    fn sleep_or_cancel(&self, duration: Duration) -> StepFuture<'_, Wake> {
        Box::pin(self.journaled_sleep(duration, true))
    }

    fn sleep(&self, duration: Duration) -> StepFuture<'_, ()> {
        Box::pin(async move { self.journaled_sleep(duration, false).await.map(|_| ()) })
    }

    fn cancel_requested(&self) -> StepFuture<'_, bool> {
        Box::pin(async move {
            Ok(match self.replayed() {
                Some(Entry::Peek(asked)) => asked,
                Some(other) => panic!("non-deterministic replay: a peek found {other:?}"),
                None => {
                    if self.stops_here(StopPoint::Before) || self.stops_here(StopPoint::AfterEffect)
                    {
                        self.crash().await;
                    }
                    let asked = self.journal().cancel_requested;
                    self.append(Entry::Peek(asked));
                    asked
                }
            })
        })
    }

    fn set_state<T: Serialize + Send + 'static>(&self, key: &'static str, value: T) {
        if let Ok(value) = serde_json::to_value(value) {
            self.journal().state.insert(key, value);
        }
    }
}

impl MemoryJournal {
    async fn run_step<T, A, Fut>(&self, name: &str, action: A) -> Result<T, StepFailed>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        A: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<T, StepError>> + Send,
    {
        let outcome = match self.replayed() {
            Some(Entry::Step {
                name: journaled,
                outcome,
            }) if journaled == name => outcome,
            Some(other) => panic!("non-deterministic replay: step {name:?} found {other:?}"),
            None => {
                if self.stops_here(StopPoint::Before) {
                    self.crash().await;
                }
                let mut attempt = 1;
                let outcome = loop {
                    self.journal().actions_run.push(name.to_owned());
                    match action().await {
                        Ok(value) => break serde_json::to_value(value).map_err(|e| e.to_string()),
                        Err(StepError::Permanent(message)) => break Err(message),
                        Err(StepError::Transient(err)) if attempt >= self.max_attempts => {
                            break Err(orabridge_shared::errors::chain(err.as_ref()).to_string());
                        }
                        Err(StepError::Transient(_)) => attempt += 1,
                    }
                };
                if self.stops_here(StopPoint::AfterEffect) {
                    self.crash().await;
                }
                self.append(Entry::Step {
                    name: name.to_owned(),
                    outcome: outcome.clone(),
                });
                outcome
            }
        };
        let value = outcome.map_err(StepFailed)?;
        serde_json::from_value(value).map_err(|e| StepFailed(e.to_string()))
    }

    async fn journaled_sleep(
        &self,
        duration: Duration,
        cancellable: bool,
    ) -> Result<Wake, StepFailed> {
        Ok(match self.replayed() {
            Some(Entry::Sleep(wake)) => wake,
            Some(other) => panic!("non-deterministic replay: a sleep found {other:?}"),
            None => {
                if self.stops_here(StopPoint::Before) || self.stops_here(StopPoint::AfterEffect) {
                    self.crash().await;
                }
                let cancelled = {
                    let mut journal = self.journal();
                    if cancellable {
                        journal.sleeps += 1;
                        if journal
                            .cancel_at_sleep
                            .is_some_and(|at| journal.sleeps >= at)
                        {
                            journal.cancel_requested = true;
                        }
                    }
                    cancellable && journal.cancel_requested
                };
                let wake = if cancelled {
                    Wake::Cancelled
                } else {
                    self.clock.advance(duration);
                    Wake::Slept
                };
                self.append(Entry::Sleep(wake));
                // Another workflow on the same clock gets its turn, as it would while this
                // one sleeps in Restate.
                tokio::task::yield_now().await;
                wake
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::DateTime;
    use orabridge_shared::clock::Clock;

    fn journal() -> MemoryJournal {
        MemoryJournal::new(ManualClock::at(DateTime::UNIX_EPOCH), 3)
    }

    async fn two_steps(journal: &MemoryJournal) -> Result<(u32, u32), StepFailed> {
        let a = journal.run("a", || async { Ok(1u32) }).await?;
        let b = journal.run("b", || async { Ok(2u32) }).await?;
        Ok((a, b))
    }

    #[tokio::test]
    async fn a_replay_returns_journaled_results_and_runs_only_the_unfinished_step() {
        let journal = journal();
        journal.stop_at(1, StopPoint::AfterEffect);
        assert_eq!(journal.invoke(two_steps(&journal)).await, None);
        assert_eq!(journal.len(), 1, "b's result was lost with the crash");
        assert_eq!(journal.invoke(two_steps(&journal)).await, Some(Ok((1, 2))));
        assert_eq!(journal.actions_run(), ["a", "b", "b"]);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_then_fail_the_step_for_good() {
        let journal = journal();
        let calls = Arc::new(AtomicI64::new(0));
        let counted = Arc::clone(&calls);
        let failed = journal
            .run("flaky", move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { Err::<u32, _>(StepError::Transient("connection reset".into())) }
            })
            .await;
        assert_eq!(failed, Err(StepFailed("connection reset".into())));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let refused = journal
            .run("refused", || async {
                Err::<u32, _>(StepError::Permanent("ORA-06550".into()))
            })
            .await;
        assert_eq!(refused, Err(StepFailed("ORA-06550".into())));
        assert_eq!(
            journal.actions_run().len(),
            4,
            "a permanent error is not retried"
        );
    }

    #[tokio::test]
    async fn sleeps_advance_the_clock_unless_cancelled() {
        let clock = ManualClock::at(DateTime::UNIX_EPOCH);
        let journal = MemoryJournal::new(clock.clone(), 1);
        assert_eq!(
            journal.sleep_or_cancel(Duration::from_secs(60)).await,
            Ok(Wake::Slept)
        );
        assert_eq!(clock.wall().timestamp(), 60);
        journal.cancel();
        assert_eq!(
            journal.sleep_or_cancel(Duration::from_secs(60)).await,
            Ok(Wake::Cancelled)
        );
        assert_eq!(clock.wall().timestamp(), 60);
        assert_eq!(journal.sleep(Duration::from_secs(30)).await, Ok(()));
        assert_eq!(
            clock.wall().timestamp(),
            90,
            "a plain sleep sleeps after a cancel too"
        );
    }
}
