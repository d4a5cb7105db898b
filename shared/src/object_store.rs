//! The object store port, with its S3 adapter and an in-memory one: [`ObjectStore`] writes
//! whole objects, [`ObjectReader`] reads them back (run-colors' rules document), and
//! [`ConditionalStore`] replaces an object only if nobody else did since it was read (S3's
//! conditional writes: run-colors' `latest.json`).
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

/// An object's content with its entity tag, the version a conditional write names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// The content.
    pub body: Vec<u8>,
    /// The entity tag, as the store gave it (S3 quotes it).
    pub etag: String,
}

/// What a conditional write requires of the object it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition<'a> {
    /// That there is none yet (`If-None-Match: *`).
    Absent,
    /// That it is still the version with this entity tag (`If-Match`).
    Unchanged(&'a str),
}

/// A conditional write that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConditionalPutError {
    /// The precondition no longer holds: another writer created or replaced the object (S3:
    /// 412 Precondition Failed; 409 ConditionalRequestConflict when writes raced; 404 when it
    /// was deleted). Read it again and decide again.
    #[error("{key} changed since it was read")]
    Changed {
        /// The key.
        key: String,
    },
    /// The store could not be written (network, permissions, throttling).
    #[error(transparent)]
    Failed(#[from] ObjectStoreError),
}

/// A store that reads objects with their entity tags and writes them on a [`Precondition`],
/// so two writers of one key never overwrite each other unseen.
pub trait ConditionalStore: ObjectStore {
    /// The object under `key` with its entity tag; `None` when there is none.
    fn get_tagged(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Tagged>, ObjectReadError>> + Send;

    /// Writes `key` only if `precondition` holds when the store applies the write.
    fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        precondition: Precondition<'_>,
    ) -> impl Future<Output = Result<(), ConditionalPutError>> + Send;
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

impl S3ObjectStore {
    /// The object at `key` as S3 answers GetObject, or `None` when S3 says there is no such key.
    async fn get_object(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, ObjectReadError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Some(object)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(read_failed(key, err.into())),
        }
    }
}

/// A read of `key` that failed for `source`.
fn read_failed(key: &str, source: BoxError) -> ObjectReadError {
    ObjectReadError::Failed {
        key: key.to_owned(),
        source,
    }
}

/// The whole body of an object S3 returned for `key`.
async fn read_body(
    key: &str,
    object: aws_sdk_s3::operation::get_object::GetObjectOutput,
) -> Result<Vec<u8>, ObjectReadError> {
    let body = object
        .body
        .collect()
        .await
        .map_err(|e| read_failed(key, e.into()))?;
    Ok(body.into_bytes().to_vec())
}

impl ObjectReader for S3ObjectStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectReadError> {
        match self.get_object(key).await? {
            Some(object) => read_body(key, object).await,
            None => Err(ObjectReadError::NotFound {
                key: key.to_owned(),
            }),
        }
    }
}

/// HTTP statuses of a conditional PutObject that mean "the object is not the one you read"
/// (Amazon S3 User Guide, "How to prevent object overwrites with conditional writes",
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): 412 when
/// the condition fails, 409 when a concurrent conditional write to the key conflicted (retry),
/// 404 when an `If-Match` names an object that was deleted.
const CONDITION_NOT_MET: [u16; 3] = [412, 409, 404];

impl ConditionalStore for S3ObjectStore {
    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, ObjectReadError> {
        let Some(object) = self.get_object(key).await? else {
            return Ok(None);
        };
        // Without an ETag no conditional write can name this version: a failed read, not an
        // If-Match on "" that could never hold.
        let etag = match object.e_tag() {
            Some(etag) if !etag.is_empty() => etag.to_owned(),
            _ => return Err(read_failed(key, "the object came without an ETag".into())),
        };
        Ok(Some(Tagged {
            body: read_body(key, object).await?,
            etag,
        }))
    }

    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        precondition: Precondition<'_>,
    ) -> Result<(), ConditionalPutError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into());
        let put = match precondition {
            Precondition::Absent => put.if_none_match("*"),
            Precondition::Unchanged(etag) => put.if_match(etag),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| CONDITION_NOT_MET.contains(&r.status().as_u16())) =>
            {
                Err(ConditionalPutError::Changed {
                    key: key.to_owned(),
                })
            }
            Err(err) => Err(ObjectStoreError::new(key, err).into()),
        }
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

/// An in-memory store for tests. Clones share state; the test kit's `FaultyStore` makes it
/// misbehave.
#[derive(Debug, Clone, Default)]
pub struct MemoryObjectStore {
    state: Arc<Mutex<MemoryStoreState>>,
}

#[derive(Debug, Default)]
struct MemoryStoreState {
    objects: BTreeMap<String, Vec<u8>>,
}

/// The in-memory store's entity tag: a digest of the content, quoted as S3 quotes its own.
fn memory_etag(body: &[u8]) -> String {
    format!(
        "\"{}\"",
        crate::encoding::hex(&crate::encoding::sha256(body)[..16])
    )
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
}

impl ObjectStore for MemoryObjectStore {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), ObjectStoreError> {
        self.state().objects.insert(key.to_owned(), body);
        Ok(())
    }
}

impl ConditionalStore for MemoryObjectStore {
    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, ObjectReadError> {
        Ok(self.state().objects.get(key).map(|body| Tagged {
            etag: memory_etag(body),
            body: body.clone(),
        }))
    }

    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        precondition: Precondition<'_>,
    ) -> Result<(), ConditionalPutError> {
        // One lock for the check and the write: S3 applies a condition atomically too.
        let mut state = self.state();
        let holds = match (precondition, state.objects.get(key)) {
            (Precondition::Absent, existing) => existing.is_none(),
            (Precondition::Unchanged(etag), Some(existing)) => memory_etag(existing) == etag,
            (Precondition::Unchanged(_), None) => false,
        };
        if !holds {
            return Err(ConditionalPutError::Changed {
                key: key.to_owned(),
            });
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

    #[tokio::test]
    async fn a_conditional_write_holds_only_while_the_object_is_the_one_read() {
        let store = MemoryObjectStore::new();
        let key = "latest.json";
        assert_eq!(store.get_tagged(key).await.unwrap(), None);
        store
            .put_if(key, b"1".to_vec(), "text/plain", Precondition::Absent)
            .await
            .unwrap();
        let first = store.get_tagged(key).await.unwrap().unwrap();
        let again = store
            .put_if(key, b"x".to_vec(), "text/plain", Precondition::Absent)
            .await;
        assert!(matches!(again, Err(ConditionalPutError::Changed { .. })));
        store
            .put_if(
                key,
                b"2".to_vec(),
                "text/plain",
                Precondition::Unchanged(&first.etag),
            )
            .await
            .unwrap();
        let stale = store
            .put_if(
                key,
                b"3".to_vec(),
                "text/plain",
                Precondition::Unchanged(&first.etag),
            )
            .await;
        assert!(matches!(stale, Err(ConditionalPutError::Changed { .. })));
        assert_eq!(store.get(key).await.unwrap(), b"2");
    }
}
