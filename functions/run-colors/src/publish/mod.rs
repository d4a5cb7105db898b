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

use orabridge_shared::object_store::{ConditionalStore, ObjectReadError, ObjectStoreError};
use serde::Serialize;

use crate::emit::{DATA_FILES, MANIFEST_FILE, Manifest};
use crate::values;

mod pointer;

use pointer::move_pointer;
pub use pointer::{POINTER_ATTEMPTS, PointerUpdate};

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
}
