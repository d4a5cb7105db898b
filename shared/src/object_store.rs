//! The object store port, with its S3 adapter and an in-memory one: [`ObjectStore`] writes
//! whole objects, [`ObjectReader`] reads them back (run-colors' rules document).
//!
//! Writes are whole-object puts under deterministic keys: writing the same key twice replaces
//! the object, which is what makes redelivered batches idempotent.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::errors::BoxError;

/// A put failed; the object may or may not exist. Callers retry the whole write.
#[derive(Debug, thiserror::Error)]
#[error("writing {key} failed")]
pub struct ObjectStoreError {
    key: String,
    #[source]
    source: BoxError,
}

impl ObjectStoreError {
    /// Wraps an adapter error for `key`.
    pub fn new(key: &str, source: impl Into<BoxError>) -> Self {
        Self {
            key: key.to_owned(),
            source: source.into(),
        }
    }
}

/// A read failed: the object is not there, or the store could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ObjectReadError {
    /// The store answered: there is no object under this key.
    #[error("{key} does not exist")]
    NotFound {
        /// The key.
        key: String,
    },
    /// The store could not be read (network, permissions, throttling).
    #[error("reading {key} failed")]
    Failed {
        /// The key.
        key: String,
        /// The adapter's error.
        #[source]
        source: BoxError,
    },
}

/// Somewhere to read whole objects by key.
pub trait ObjectReader: Send + Sync {
    /// The content of `key`.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, ObjectReadError>> + Send;
}

/// Somewhere to put whole objects by key.
pub trait ObjectStore: Send + Sync {
    /// Writes (or replaces) `key`.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), ObjectStoreError>> + Send;

    /// Writes (or replaces) `key` with the content of a local file. The default reads the file
    /// into memory; the S3 adapter streams it from disk instead.
    fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        content_type: &str,
    ) -> impl Future<Output = Result<(), ObjectStoreError>> + Send {
        async move {
            let body = tokio::fs::read(path)
                .await
                .map_err(|err| ObjectStoreError::new(key, err))?;
            self.put(key, body, content_type).await
        }
    }
}

/// The S3 adapter: one bucket.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ObjectStore {
    /// An adapter writing to `bucket` (see [`crate::aws::s3_client`]).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

impl ObjectStore for S3ObjectStore {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        self.put_body(key, body.into(), content_type).await
    }

    async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        // Streamed from disk: a run's colors.json can be larger than the function's memory.
        let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
            .await
            .map_err(|err| ObjectStoreError::new(key, err))?;
        self.put_body(key, body, content_type).await
    }
}

impl ObjectReader for S3ObjectStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectReadError> {
        let failed = |source: BoxError| ObjectReadError::Failed {
            key: key.to_owned(),
            source,
        };
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(ObjectReadError::NotFound {
                    key: key.to_owned(),
                });
            }
            Err(err) => return Err(failed(err.into())),
        };
        let body = object.body.collect().await.map_err(|e| failed(e.into()))?;
        Ok(body.into_bytes().to_vec())
    }
}

impl S3ObjectStore {
    async fn put_body(
        &self,
        key: &str,
        body: aws_sdk_s3::primitives::ByteStream,
        content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|err| ObjectStoreError::new(key, err))?;
        Ok(())
    }
}

/// An in-memory store for tests. Clones share state; it can be taken down or told to refuse
/// keys under a prefix.
#[derive(Debug, Clone, Default)]
pub struct MemoryObjectStore {
    state: Arc<Mutex<MemoryStoreState>>,
}

#[derive(Debug, Default)]
struct MemoryStoreState {
    objects: BTreeMap<String, Vec<u8>>,
    refuse_prefix: Option<String>,
    puts: usize,
}

impl MemoryObjectStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryStoreState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every object, by key.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.state().objects.clone()
    }

    /// How many puts were attempted.
    pub fn puts(&self) -> usize {
        self.state().puts
    }

    /// Refuses puts of keys starting with `prefix` (`Some("")` refuses everything).
    pub fn refuse_prefix(&self, prefix: Option<&str>) {
        self.state().refuse_prefix = prefix.map(str::to_owned);
    }
}

impl ObjectStore for MemoryObjectStore {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        let mut state = self.state();
        state.puts += 1;
        if state
            .refuse_prefix
            .as_deref()
            .is_some_and(|prefix| key.starts_with(prefix))
        {
            return Err(ObjectStoreError::new(key, "store refused the write"));
        }
        state.objects.insert(key.to_owned(), body);
        Ok(())
    }
}

impl ObjectReader for MemoryObjectStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectReadError> {
        self.state()
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| ObjectReadError::NotFound {
                key: key.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_put_reads_back_and_a_missing_key_is_not_found() {
        let store = MemoryObjectStore::new();
        store
            .put("config/rules.json", b"{}".to_vec(), "application/json")
            .await
            .unwrap();
        assert_eq!(store.get("config/rules.json").await.unwrap(), b"{}");
        let err = store.get("config/other.json").await.unwrap_err();
        assert!(matches!(err, ObjectReadError::NotFound { ref key } if key == "config/other.json"));
        assert_eq!(err.to_string(), "config/other.json does not exist");
    }
}
