//! Publication of a finished run folder: to S3 under `<prefix>/runs/<date>/<run_id>/`, then
//! `<prefix>/latest.json` pointing at it.
//!
//! The pointer is written last and only after every file is in place, so a reader that follows
//! `latest.json` never sees half a run; a failure anywhere before it leaves the previous pointer
//! untouched. Run folders are immutable by construction (the run id hashes the outputs), so a
//! retried publication rewrites identical objects.
//!
//! The pointer only moves forward. Lambda retries and delays asynchronous events (a scheduled
//! run can arrive hours late, or twice), so an older run can finish after a newer one: it
//! publishes its folder, reads the pointer, and replaces it only when its own `as_of` is later
//! (or the invocation says `force`). The replacement is an S3 conditional write on the version
//! read (`If-Match`, or `If-None-Match: *` for the first pointer), so a writer that raced in
//! between is never overwritten unseen: the condition fails, and the decision is made again on
//! what that writer left.

use std::path::Path;

use orabridge_shared::object_store::{
    ConditionalPutError, ConditionalStore, ObjectReadError, ObjectStoreError, Precondition,
};
use serde::Serialize;

use crate::emit::{DATA_FILES, MANIFEST_FILE, Manifest};
use crate::values;

/// Where a run was published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Latest {
    /// The run id.
    pub run_id: String,
    /// The run's `as_of`.
    pub as_of: String,
    /// The run folder's key prefix, ending in `/`.
    pub folder: String,
    /// The manifest's key.
    pub manifest: String,
}

/// What became of `latest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PointerUpdate {
    /// Whether this run's publication moved it to this run.
    pub moved: bool,
    /// Why, in words: the first pointer, a newer run, forced, or what it kept.
    pub reason: String,
    /// What it points at now (this run when `moved`).
    pub current: Latest,
}

/// A publication that did not complete; `latest.json` was not changed by it.
#[derive(Debug, thiserror::Error)]
#[error("publishing run {run_id} failed; latest.json still points at the previous run")]
pub struct PublishError {
    run_id: String,
    #[source]
    source: PublishFailure,
}

/// Why a publication failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    /// A file or the pointer could not be written.
    #[error(transparent)]
    Write(#[from] ObjectStoreError),
    /// The pointer could not be read.
    #[error(transparent)]
    Read(#[from] ObjectReadError),
    /// Other writers kept replacing the pointer between each read and write.
    #[error("latest.json changed under every one of {0} conditional writes")]
    Contended(usize),
}

/// Conditional writes of the pointer tried before giving up: each failed one means another
/// run replaced it in the few milliseconds between a read and a write, and at most one run
/// at a time is configured (`ReservedConcurrentExecutions: 1`), so a handful is plenty.
pub const POINTER_ATTEMPTS: usize = 5;

/// The S3 layout of runs under one prefix.
#[derive(Debug, Clone)]
pub struct RunLayout {
    prefix: String,
}

impl RunLayout {
    /// Runs under `prefix` (surrounding slashes ignored; empty means the bucket root).
    pub fn new(prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        Self {
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
        }
    }

    /// `<prefix>/runs/<YYYY-MM-DD>/<run_id>/`
    pub fn folder(&self, manifest: &Manifest) -> String {
        let date = values::parse_timestamp(&manifest.as_of)
            .map(values::format_date)
            .unwrap_or_else(|| manifest.as_of.chars().take(10).collect());
        format!("{}runs/{date}/{}/", self.prefix, manifest.run_id)
    }

    /// `<prefix>/latest.json`
    pub fn latest_key(&self) -> String {
        format!("{}latest.json", self.prefix)
    }
}

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") {
        "application/json"
    } else {
        "text/csv; charset=utf-8"
    }
}

/// Uploads the run folder `dir` (as written by [`crate::run::run`]) and then moves the pointer
/// to it if this run is newer than the one it points at, or `force`.
pub async fn publish(
    store: &impl ConditionalStore,
    layout: &RunLayout,
    dir: &Path,
    manifest: &Manifest,
    force: bool,
) -> Result<(Latest, PointerUpdate), PublishError> {
    let folder = layout.folder(manifest);
    let fail = |source: PublishFailure| PublishError {
        run_id: manifest.run_id.clone(),
        source,
    };
    // The four files at once: each put is one round trip to S3, and none depends on another
    // (BENCHMARKS.md, "with production latency", shows the gain). The pointer waits for all.
    let puts = DATA_FILES.iter().chain([&MANIFEST_FILE]).map(|name| {
        let key = format!("{folder}{name}");
        let path = dir.join(name);
        async move { store.put_file(&key, &path, content_type(name)).await }
    });
    futures_util::future::try_join_all(puts)
        .await
        .map_err(|err| fail(err.into()))?;
    let latest = Latest {
        run_id: manifest.run_id.clone(),
        as_of: manifest.as_of.clone(),
        manifest: format!("{folder}{MANIFEST_FILE}"),
        folder,
    };
    let update = move_pointer(store, &layout.latest_key(), &latest, force)
        .await
        .map_err(fail)?;
    Ok((latest, update))
}

/// Points `key` at `ours` if it is newer than what the pointer holds (or `force`), by a
/// conditional write on the version read, deciding again whenever another writer came first.
async fn move_pointer(
    store: &impl ConditionalStore,
    key: &str,
    ours: &Latest,
    force: bool,
) -> Result<PointerUpdate, PublishFailure> {
    let mut body = serde_json::to_vec_pretty(ours).unwrap_or_default();
    body.push(b'\n');
    for _ in 0..POINTER_ATTEMPTS {
        let current = store.get_tagged(key).await?;
        let pointed: Option<Latest> = current
            .as_ref()
            .and_then(|tagged| serde_json::from_slice(&tagged.body).ok());
        let reason = match (&current, &pointed) {
            (None, _) => "the first pointer".to_owned(),
            (Some(_), _) if force => "forced".to_owned(),
            (Some(_), None) => "the pointer there was unreadable".to_owned(),
            (Some(_), Some(pointed)) => match newer(ours, pointed) {
                Some(reason) => reason,
                None => {
                    return Ok(PointerUpdate {
                        moved: false,
                        reason: kept_reason(ours, pointed),
                        current: pointed.clone(),
                    });
                }
            },
        };
        let precondition = match &current {
            None => Precondition::Absent,
            Some(tagged) => Precondition::Unchanged(&tagged.etag),
        };
        match store
            .put_if(key, body.clone(), "application/json", precondition)
            .await
        {
            Ok(()) => {
                return Ok(PointerUpdate {
                    moved: true,
                    reason,
                    current: ours.clone(),
                });
            }
            Err(ConditionalPutError::Changed { .. }) => {
                tracing::info!(run_id = %ours.run_id, "latest.json changed while publishing; reading it again");
            }
            Err(ConditionalPutError::Failed(err)) => return Err(err.into()),
        }
    }
    Err(PublishFailure::Contended(POINTER_ATTEMPTS))
}

/// Why `ours` replaces `pointed`, or `None` when it must not: only a strictly later `as_of`
/// moves the pointer. Two runs as of the same instant (a retried event) keep the first.
fn newer(ours: &Latest, pointed: &Latest) -> Option<String> {
    match (
        values::parse_timestamp(&ours.as_of),
        values::parse_timestamp(&pointed.as_of),
    ) {
        (Some(ours), Some(theirs)) if ours > theirs => Some("a newer run".to_owned()),
        (Some(_), None) => Some("the pointer's asOf was unreadable".to_owned()),
        _ => None,
    }
}

fn kept_reason(ours: &Latest, pointed: &Latest) -> String {
    if ours.run_id == pointed.run_id {
        "already pointing at this run".to_owned()
    } else {
        format!(
            "kept run {} as of {}, not older than this run's {}",
            pointed.run_id, pointed.as_of, ours.as_of
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::{RowCounts, RulesSummary};

    fn manifest() -> Manifest {
        Manifest {
            run_id: "20261120T160000Z-0a1b2c3d".into(),
            as_of: "2026-11-20T23:30:00-05:00".into(),
            source: "memory".into(),
            rows: RowCounts::default(),
            securities: 0,
            rules: RulesSummary {
                count: 0,
                price_order: "desc".into(),
                sha256: String::new(),
            },
            duration_ms: 0,
            files: vec![],
        }
    }

    #[test]
    fn the_folder_date_is_the_utc_date_of_as_of_and_slashes_are_normalised() {
        let layout = RunLayout::new("/market-pulse/colors/");
        assert_eq!(
            layout.folder(&manifest()),
            "market-pulse/colors/runs/2026-11-21/20261120T160000Z-0a1b2c3d/"
        );
        assert_eq!(layout.latest_key(), "market-pulse/colors/latest.json");
        let root = RunLayout::new("");
        assert_eq!(root.latest_key(), "latest.json");
        assert!(root.folder(&manifest()).starts_with("runs/2026-11-21/"));
    }

    use orabridge_shared::object_store::{MemoryObjectStore, ObjectReader, ObjectStore, Tagged};

    fn pointing_at(run_id: &str, as_of: &str) -> Latest {
        Latest {
            run_id: run_id.into(),
            as_of: as_of.into(),
            folder: format!("runs/{run_id}/"),
            manifest: format!("runs/{run_id}/manifest.json"),
        }
    }

    async fn current(store: &MemoryObjectStore) -> Latest {
        serde_json::from_slice(&store.get("latest.json").await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_pointer_moves_only_to_a_later_as_of_unless_forced() {
        let store = MemoryObjectStore::new();
        let late = pointing_at("late", "2026-11-20T16:15:00Z");
        let early = pointing_at("early", "2026-11-20T11:15:00-05:00");
        let first = move_pointer(&store, "latest.json", &late, false)
            .await
            .unwrap();
        assert!(first.moved && first.reason == "the first pointer");
        let kept = move_pointer(&store, "latest.json", &early, false)
            .await
            .unwrap();
        assert!(
            !kept.moved,
            "an instant not later (the same, in another offset) keeps it"
        );
        assert_eq!(kept.current, late);
        let again = move_pointer(&store, "latest.json", &late, false)
            .await
            .unwrap();
        assert_eq!(
            (again.moved, again.reason.as_str()),
            (false, "already pointing at this run")
        );
        assert_eq!(current(&store).await, late);
        let forced = move_pointer(&store, "latest.json", &early, true)
            .await
            .unwrap();
        assert!(forced.moved);
        assert_eq!(current(&store).await, early);
        let newer = pointing_at("newer", "2026-11-20T16:30:00Z");
        assert!(
            move_pointer(&store, "latest.json", &newer, false)
                .await
                .unwrap()
                .moved
        );
    }

    #[tokio::test]
    async fn an_unreadable_pointer_is_replaced() {
        let store = MemoryObjectStore::new();
        store
            .put("latest.json", b"<html>".to_vec(), "text/html")
            .await
            .unwrap();
        let ours = pointing_at("r", "2026-11-20T16:15:00Z");
        let update = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(update.moved, "{update:?}");
        assert_eq!(current(&store).await, ours);
    }

    /// A store where another run writes `theirs` to the pointer between this run's read and its
    /// conditional write, `races` times.
    struct Racing {
        inner: MemoryObjectStore,
        theirs: Vec<Latest>,
        races: std::sync::Mutex<usize>,
    }

    impl ObjectStore for Racing {
        async fn put(
            &self,
            key: &str,
            body: Vec<u8>,
            content_type: &str,
        ) -> Result<(), ObjectStoreError> {
            self.inner.put(key, body, content_type).await
        }
    }

    impl ConditionalStore for Racing {
        async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, ObjectReadError> {
            self.inner.get_tagged(key).await
        }

        async fn put_if(
            &self,
            key: &str,
            body: Vec<u8>,
            content_type: &str,
            precondition: Precondition<'_>,
        ) -> Result<(), ConditionalPutError> {
            let race = {
                let mut races = self.races.lock().unwrap();
                let race = *races;
                *races += 1;
                race
            };
            if let Some(theirs) = self.theirs.get(race) {
                let body = serde_json::to_vec(theirs).unwrap();
                self.inner.put(key, body, content_type).await?;
            }
            self.inner
                .put_if(key, body, content_type, precondition)
                .await
        }
    }

    #[tokio::test]
    async fn a_writer_that_raced_in_is_never_overwritten_unseen() {
        let ours = pointing_at("ours", "2026-11-20T16:15:00Z");
        // A newer run lands between our read and our write: we see it and keep it.
        let store = Racing {
            inner: MemoryObjectStore::new(),
            theirs: vec![pointing_at("newer", "2026-11-20T16:30:00Z")],
            races: Default::default(),
        };
        let update = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(!update.moved);
        assert_eq!(update.current.run_id, "newer");
        // An older one lands instead: we read again and still move past it.
        let store = Racing {
            inner: MemoryObjectStore::new(),
            theirs: vec![pointing_at("older", "2026-11-20T16:00:00Z")],
            races: Default::default(),
        };
        let update = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(update.moved);
        assert_eq!(current(&store.inner).await, ours);
        // Someone wins every race: the publication fails rather than write blindly.
        let store = Racing {
            inner: MemoryObjectStore::new(),
            theirs: (0..POINTER_ATTEMPTS)
                .map(|i| pointing_at(&format!("older-{i}"), "2026-11-20T16:00:00Z"))
                .collect(),
            races: Default::default(),
        };
        let err = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PublishFailure::Contended(POINTER_ATTEMPTS)),
            "{err}"
        );
    }
}
