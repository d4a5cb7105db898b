//! `latest.json`, moved only forward: read with its ETag, replaced only by a run with a later
//! `asOf` (or `force`), by a conditional write on the version read, decided again whenever
//! another writer came first.

use orabridge_shared::object_store::{ConditionalPutError, ConditionalStore, Precondition};
use serde::Serialize;

use super::{Latest, PublishFailure};
use crate::values;

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

/// Conditional writes of the pointer tried before giving up: each failed one means another
/// run replaced it in the few milliseconds between a read and a write, and at most one run
/// at a time is configured (`ReservedConcurrentExecutions: 1`), so a handful is plenty.
pub const POINTER_ATTEMPTS: usize = 5;

/// Points `key` at `ours` if it is newer than what the pointer holds (or `force`), by a
/// conditional write on the version read, deciding again whenever another writer came first.
pub(super) async fn move_pointer(
    store: &impl ConditionalStore,
    key: &str,
    ours: &Latest,
    force: bool,
) -> Result<PointerUpdate, PublishFailure> {
    let mut body = serde_json::to_vec_pretty(ours).unwrap_or_default();
    body.push(b'\n');
    let moved = |reason: String| PointerUpdate {
        moved: true,
        reason,
        current: ours.clone(),
    };
    // Whether a conditional write of ours was refused: when the pointer then holds this run,
    // that write landed and only its answer was lost (the SDK's retry of it got 412).
    let mut refused = false;
    for _ in 0..POINTER_ATTEMPTS {
        let current = match store.get_tagged(key).await {
            Ok(current) => current,
            // S3 answers a read of a missing key with 403 to a role without s3:ListBucket on
            // the bucket: the first pointer needs only s3:PutObject, and If-None-Match: * makes
            // it safe to try. If a pointer exists after all (412), the read's error stands.
            Err(read) => {
                return match store
                    .put_if(key, body.clone(), "application/json", Precondition::Absent)
                    .await
                {
                    Ok(()) => Ok(moved("the first pointer".to_owned())),
                    Err(ConditionalPutError::Changed { .. }) => Err(read.into()),
                    Err(ConditionalPutError::Failed(err)) => Err(err.into()),
                };
            }
        };
        let pointed: Option<Latest> = current
            .as_ref()
            .and_then(|tagged| serde_json::from_slice(&tagged.body).ok());
        let reason = match (&current, &pointed) {
            (None, _) => "the first pointer".to_owned(),
            (Some(_), Some(pointed)) if refused && pointed.run_id == ours.run_id => {
                return Ok(moved(
                    "a write whose answer was lost had moved it".to_owned(),
                ));
            }
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
            Ok(()) => return Ok(moved(reason)),
            Err(ConditionalPutError::Changed { .. }) => {
                refused = true;
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
    use orabridge_shared::object_store::{MemoryObjectStore, ObjectReader, ObjectStore};
    use orabridge_shared::testkit::{FaultyStore, ReadPlan, WritePlan};

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
    async fn a_pointer_that_cannot_be_read_is_created_only_if_absent() {
        // Every read fails, as S3's do (403) for a missing key to a role without s3:ListBucket.
        let store = FaultyStore::new(MemoryObjectStore::new()).on_read(|_| ReadPlan::Fail);
        let ours = pointing_at("ours", "2026-11-20T16:15:00Z");
        let first = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(first.moved, "{first:?}");
        assert_eq!(current(store.inner()).await, ours);
        // Now one exists and still cannot be read: the read's error, nothing overwritten.
        let later = pointing_at("later", "2026-11-20T16:30:00Z");
        let err = move_pointer(&store, "latest.json", &later, false)
            .await
            .unwrap_err();
        assert!(matches!(err, PublishFailure::Read(_)), "{err}");
        assert_eq!(current(store.inner()).await, ours);
    }

    #[tokio::test]
    async fn a_write_that_landed_but_lost_its_answer_counts_as_moved() {
        // The first conditional write lands but answers 412, as when the SDK retries a write
        // whose answer was lost.
        let store = FaultyStore::new(MemoryObjectStore::new()).on_write(|call| {
            match call.conditional && call.earlier == 0 {
                true => WritePlan::LandsButAnswersChanged,
                false => WritePlan::Pass,
            }
        });
        let ours = pointing_at("ours", "2026-11-20T16:15:00Z");
        let update = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(update.moved, "{update:?}");
        assert_eq!(current(store.inner()).await, ours);
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
    /// conditional write, once per entry.
    fn racing(theirs: Vec<Latest>) -> FaultyStore<MemoryObjectStore> {
        FaultyStore::new(MemoryObjectStore::new()).on_write(move |call| {
            match theirs.get(call.earlier).filter(|_| call.conditional) {
                Some(theirs) => WritePlan::RacedBy(serde_json::to_vec(theirs).unwrap()),
                None => WritePlan::Pass,
            }
        })
    }

    #[tokio::test]
    async fn a_writer_that_raced_in_is_never_overwritten_unseen() {
        let ours = pointing_at("ours", "2026-11-20T16:15:00Z");
        // A newer run lands between our read and our write: we see it and keep it.
        let store = racing(vec![pointing_at("newer", "2026-11-20T16:30:00Z")]);
        let update = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(!update.moved);
        assert_eq!(update.current.run_id, "newer");
        // An older one lands instead: we read again and still move past it.
        let store = racing(vec![pointing_at("older", "2026-11-20T16:00:00Z")]);
        let update = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap();
        assert!(update.moved);
        assert_eq!(current(store.inner()).await, ours);
        // Someone wins every race: the publication fails rather than write blindly.
        let store = racing(
            (0..POINTER_ATTEMPTS)
                .map(|i| pointing_at(&format!("older-{i}"), "2026-11-20T16:00:00Z"))
                .collect(),
        );
        let err = move_pointer(&store, "latest.json", &ours, false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PublishFailure::Contended(POINTER_ATTEMPTS)),
            "{err}"
        );
    }
}
