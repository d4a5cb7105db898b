//! One failure-injecting object store for every test that needs a store to misbehave: a write
//! refused at a chosen key, a read that fails, a conditional write another writer races, a
//! write that lands but loses its answer, and writes held open to count how many overlap.
//!
//! [`FaultyStore`] wraps any store (memory or S3 on moto) and asks the test's rules what to do
//! with each call, so a test names the fault it injects instead of re-implementing the store's
//! forwarding.

use std::future::Future;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::object_store::{
    ConditionalPutError, ConditionalStore, ObjectReadError, ObjectReader, ObjectStore,
    ObjectStoreError, Precondition, Tagged,
};

/// One write the store was asked to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCall {
    /// The key.
    pub key: String,
    /// Whether it is a conditional write (`put_if`).
    pub conditional: bool,
    /// How many writes of the same kind (conditional or not) came before it.
    pub earlier: usize,
}

/// What the store does with a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WritePlan {
    /// Write as asked.
    Pass,
    /// Refuse it: nothing lands, the caller gets a store error.
    Refuse,
    /// Another writer's `body` lands under the key first, then the write as asked (a race
    /// between a read and a conditional write).
    RacedBy(Vec<u8>),
    /// The write lands, but its answer says the precondition failed: what a caller sees when
    /// the SDK retried a conditional write whose first answer was lost. A plain write has no
    /// precondition to fail: it just lands.
    LandsButAnswersChanged,
}

/// What the store does with a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPlan {
    /// Read as asked.
    Pass,
    /// Fail, as S3 answers 403 for a key a role may not list.
    Fail,
}

type WriteRule = Box<dyn Fn(&WriteCall) -> WritePlan + Send + Sync>;
type ReadRule = Box<dyn Fn(&str) -> ReadPlan + Send + Sync>;

/// A store that forwards to `inner` unless the test's rules say otherwise.
pub struct FaultyStore<S> {
    inner: S,
    writes: WriteRule,
    reads: ReadRule,
    hold_writes: Option<Duration>,
    counts: Mutex<(usize, usize)>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl<S> FaultyStore<S> {
    /// A store that passes everything to `inner` until rules are added.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            writes: Box::new(|_| WritePlan::Pass),
            reads: Box::new(|_| ReadPlan::Pass),
            hold_writes: None,
            counts: Mutex::new((0, 0)),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }

    /// Decides every write with `rule`, in place of any earlier write rule ([`refusing`]
    /// included).
    ///
    /// [`refusing`]: Self::refusing
    pub fn on_write(
        mut self,
        rule: impl Fn(&WriteCall) -> WritePlan + Send + Sync + 'static,
    ) -> Self {
        self.writes = Box::new(rule);
        self
    }

    /// Refuses the writes of keys for which `refused` holds, in place of any earlier write
    /// rule.
    pub fn refusing(self, refused: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.on_write(move |call| match refused(&call.key) {
            true => WritePlan::Refuse,
            false => WritePlan::Pass,
        })
    }

    /// Decides every read (`get`, `get_tagged`) with `rule`.
    pub fn on_read(mut self, rule: impl Fn(&str) -> ReadPlan + Send + Sync + 'static) -> Self {
        self.reads = Box::new(rule);
        self
    }

    /// Keeps every write open for `hold` before it reaches `inner` (a refused one before it
    /// fails), so writes that overlap are seen overlapping
    /// ([`most_in_flight`](Self::most_in_flight)).
    pub fn holding_writes(mut self, hold: Duration) -> Self {
        self.hold_writes = Some(hold);
        self
    }

    /// The most writes that were in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The plan for the next write of `key`, counted.
    fn plan(&self, key: &str, conditional: bool) -> WritePlan {
        let earlier = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let count = match conditional {
                true => &mut counts.1,
                false => &mut counts.0,
            };
            *count += 1;
            *count - 1
        };
        (self.writes)(&WriteCall {
            key: key.to_owned(),
            conditional,
            earlier,
        })
    }

    /// Holds the write open when asked to, counting it in flight meanwhile.
    async fn held<T>(&self, write: impl Future<Output = T>) -> T {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Some(hold) = self.hold_writes {
            tokio::time::sleep(hold).await;
        }
        let outcome = write.await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    fn refused(key: &str) -> ObjectStoreError {
        ObjectStoreError::new(key, "injected failure: the test refused this write")
    }

    fn unreadable(key: &str) -> ObjectReadError {
        ObjectReadError::Failed {
            key: key.to_owned(),
            source: "injected failure: AccessDenied".into(),
        }
    }
}

impl<S: ObjectStore> FaultyStore<S> {
    /// Runs `write` as `plan` says, for a plain write.
    async fn plain(
        &self,
        key: &str,
        content_type: &str,
        write: impl Future<Output = Result<(), ObjectStoreError>>,
    ) -> Result<(), ObjectStoreError> {
        match self.plan(key, false) {
            WritePlan::Refuse => self.held(async { Err(Self::refused(key)) }).await,
            WritePlan::RacedBy(theirs) => {
                self.inner.put(key, theirs, content_type).await?;
                self.held(write).await
            }
            WritePlan::Pass | WritePlan::LandsButAnswersChanged => self.held(write).await,
        }
    }
}

impl<S: ObjectStore> ObjectStore for FaultyStore<S> {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        self.plain(key, content_type, self.inner.put(key, body, content_type))
            .await
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        self.plain(
            key,
            content_type,
            self.inner.put_file(key, path, content_type),
        )
        .await
    }
}

impl<S: ConditionalStore> ConditionalStore for FaultyStore<S> {
    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, ObjectReadError> {
        match (self.reads)(key) {
            ReadPlan::Fail => Err(Self::unreadable(key)),
            ReadPlan::Pass => self.inner.get_tagged(key).await,
        }
    }

    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        precondition: Precondition<'_>,
    ) -> Result<(), ConditionalPutError> {
        let write = self.inner.put_if(key, body, content_type, precondition);
        match self.plan(key, true) {
            WritePlan::Pass => self.held(write).await,
            WritePlan::Refuse => self.held(async { Err(Self::refused(key).into()) }).await,
            WritePlan::RacedBy(theirs) => {
                self.inner.put(key, theirs, content_type).await?;
                self.held(write).await
            }
            WritePlan::LandsButAnswersChanged => {
                self.held(write).await?;
                Err(ConditionalPutError::Changed {
                    key: key.to_owned(),
                })
            }
        }
    }
}

impl<S: ObjectReader> ObjectReader for FaultyStore<S> {
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectReadError> {
        match (self.reads)(key) {
            ReadPlan::Fail => Err(Self::unreadable(key)),
            ReadPlan::Pass => self.inner.get(key).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object_store::MemoryObjectStore;

    #[tokio::test]
    async fn each_plan_does_what_it_says_and_everything_else_passes() {
        let store = FaultyStore::new(MemoryObjectStore::new()).on_write(|call| {
            match (call.key.as_str(), call.conditional, call.earlier) {
                ("refused", ..) => WritePlan::Refuse,
                ("raced", true, 0) => WritePlan::RacedBy(b"theirs".to_vec()),
                ("lost", true, _) => WritePlan::LandsButAnswersChanged,
                _ => WritePlan::Pass,
            }
        });
        store.put("kept", b"1".to_vec(), "t").await.expect("passes");
        assert!(store.put("refused", b"1".to_vec(), "t").await.is_err());
        // The race lands first: the write that expected nothing there is refused.
        let raced = store
            .put_if("raced", b"ours".to_vec(), "t", Precondition::Absent)
            .await;
        assert!(matches!(raced, Err(ConditionalPutError::Changed { .. })));
        let lost = store
            .put_if("lost", b"ours".to_vec(), "t", Precondition::Absent)
            .await;
        assert!(matches!(lost, Err(ConditionalPutError::Changed { .. })));
        let objects = store.inner().objects();
        assert_eq!(objects["kept"], b"1");
        assert_eq!(objects["raced"], b"theirs");
        assert_eq!(objects["lost"], b"ours", "the write landed");
        assert!(!objects.contains_key("refused"));

        let unreadable = FaultyStore::new(MemoryObjectStore::new()).on_read(|_| ReadPlan::Fail);
        unreadable
            .put("k", b"1".to_vec(), "t")
            .await
            .expect("writes pass");
        assert!(unreadable.get("k").await.is_err());
        assert!(unreadable.get_tagged("k").await.is_err());
    }
}
