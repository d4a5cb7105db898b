//! Idempotent requests: a client's retry under the same key gets the first answer again and
//! causes nothing twice. Records live in DynamoDB in the table layout of Powertools for AWS
//! Lambda, so one table can serve functions written with Powertools in other languages.
//!
//! The layout (Powertools' defaults, see its idempotency documentation):
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `id` | S, partition key | `<scope>#<sha256 of the caller's identity and the client's key>` |
//! | `expiration` | N, the table's TTL attribute | epoch seconds after which the record is void |
//! | `in_progress_expiration` | N | epoch milliseconds after which an `INPROGRESS` record is void |
//! | `status` | S | `INPROGRESS` or `COMPLETED` |
//! | `data` | S | the stored answer, once completed |
//! | `validation` | S | sha256 of the request's payload |
//!
//! A request first claims its key ([`Idempotency::begin`]) with a conditional put of an
//! `INPROGRESS` record that expires with the invocation's deadline: the put succeeds only when no
//! live record holds the id (none, an expired one, or an `INPROGRESS` one whose invocation has
//! ended), which is Powertools' own condition. The winner does the work and stores its answer
//! ([`Idempotency::finish`]), or gives the key back ([`Idempotency::release`]) when nothing was
//! done, so the client may retry. A loser learns what holds the key: the stored answer to
//! replay, a request still in flight, or a different payload under the same key.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::encoding::sha256_hex;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use crate::errors::BoxError;

/// The longest key a client may send, in bytes (as Powertools and most payment APIs allow).
pub const MAX_KEY_BYTES: usize = 256;

/// The `status` of a record still being worked on.
pub const STATUS_IN_PROGRESS: &str = "INPROGRESS";
/// The `status` of a record holding its answer.
pub const STATUS_COMPLETED: &str = "COMPLETED";

/// Powertools' claim condition: no record, an expired record, or an `INPROGRESS` record whose
/// invocation's deadline has passed.
const CLAIM_CONDITION: &str = "attribute_not_exists(#id) OR #expiry < :now OR \
    (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)";

/// Why a client's idempotency key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty, or only spaces.
    #[error("is empty")]
    Empty,
    /// Longer than [`MAX_KEY_BYTES`].
    #[error("is {length} bytes long; at most {limit} are accepted")]
    TooLong {
        /// The key's length in bytes.
        length: usize,
        /// [`MAX_KEY_BYTES`].
        limit: usize,
    },
    /// Holds a character other than visible ASCII or a space.
    #[error("may contain only visible ASCII characters and spaces")]
    Malformed,
}

/// A client's idempotency key, checked. Its text is never stored or logged: records are keyed
/// by its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(..)")
    }
}

impl IdempotencyKey {
    /// Checks a key as received (for instance an `Idempotency-Key` header's bytes).
    pub fn parse(raw: &[u8]) -> Result<Self, KeyError> {
        if raw.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooLong {
                length: raw.len(),
                limit: MAX_KEY_BYTES,
            });
        }
        if !raw.iter().all(|byte| (0x20..=0x7e).contains(byte)) {
            return Err(KeyError::Malformed);
        }
        let text = std::str::from_utf8(raw)
            .map_err(|_| KeyError::Malformed)?
            .trim();
        if text.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self(text.to_owned()))
    }
}

/// A record's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `INPROGRESS`: a request holds the key and is working.
    InProgress,
    /// `COMPLETED`: the answer is stored in `data`.
    Completed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => STATUS_IN_PROGRESS,
            Status::Completed => STATUS_COMPLETED,
        }
    }
}

/// One idempotency record, attribute for attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `id`.
    pub id: String,
    /// `status`.
    pub status: Status,
    /// `expiration`, epoch seconds.
    pub expiration: i64,
    /// `in_progress_expiration`, epoch milliseconds.
    pub in_progress_expiration: Option<i64>,
    /// `data`.
    pub data: Option<String>,
    /// `validation`.
    pub validation: Option<String>,
}

impl Record {
    /// Whether the record still holds its id at `now`, by the claim condition's rules.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        let expired = self.expiration < now.timestamp();
        let invocation_over = self.status == Status::InProgress
            && self
                .in_progress_expiration
                .is_some_and(|at| at < now.timestamp_millis());
        !expired && !invocation_over
    }
}

/// The outcome of a conditional put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The record was written: the key is ours.
    Claimed,
    /// A live record holds the id.
    Held(Record),
    /// A live record held the id when the put was refused, and was gone when read: try again.
    Vanished,
}

/// The record store could not answer. Nothing about the key is known; the caller does not do the
/// work (it could not be made idempotent) and tells its client to retry.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The table refused for throughput (throttling, provisioned capacity, request limits).
    #[error("the idempotency table is throttling requests")]
    Throttled(#[source] BoxError),
    /// The table could not be reached or failed.
    #[error("the idempotency table is unavailable")]
    Unavailable(#[source] BoxError),
    /// A record under the id is not in the layout this module writes.
    #[error("idempotency record {id} is malformed: {reason}")]
    Malformed {
        /// The record's id (a hash, never the client's key).
        id: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where records are kept: DynamoDB ([`DynamoDbIdempotencyStore`]) or memory
/// ([`MemoryIdempotencyStore`]).
pub trait IdempotencyStore: Send + Sync {
    /// Writes `record` unless a live record holds its id at `now`.
    fn claim(
        &self,
        record: &Record,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, IdempotencyError>> + Send;

    /// Marks `id` completed with `data`, void after `expiration` (epoch seconds).
    fn complete(
        &self,
        id: &str,
        data: &str,
        expiration: i64,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;

    /// Deletes `id`, so the key can be claimed again.
    fn release(&self, id: &str) -> impl Future<Output = Result<(), IdempotencyError>> + Send;
}

/// What a request should do with its key.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// The key is ours: do the work, then [`Idempotency::finish`] or [`Idempotency::release`].
    Proceed(Claimed),
    /// The same request completed before: answer with this stored data and do nothing.
    Replay(String),
    /// The same request is being worked on by another invocation.
    InFlight,
    /// The key was used with a different payload.
    PayloadMismatch,
}

/// A claimed key, to be finished or released.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a claimed key stays INPROGRESS until finished or released"]
pub struct Claimed {
    id: String,
}

/// Idempotent requests over a store, for one scope (a function and an operation).
#[derive(Debug, Clone)]
pub struct Idempotency<S> {
    store: S,
    scope: String,
    expires_after: Duration,
}

impl<S: IdempotencyStore> Idempotency<S> {
    /// Records under `scope` (for instance `<function name>.ingest`), answers kept for
    /// `expires_after` (Powertools' default is one hour).
    pub fn new(store: S, scope: impl Into<String>, expires_after: Duration) -> Self {
        Self {
            store,
            scope: scope.into(),
            expires_after,
        }
    }

    /// The record id of `key` sent by `caller` (an authenticated identity; `None` where the
    /// API authenticates nobody): the scope and the sha256 of both, so two callers who pick the
    /// same key never meet, the client's text stays out of the table, and every id has the same
    /// length, as Powertools' ids do.
    pub fn record_id(&self, caller: Option<&str>, key: &IdempotencyKey) -> String {
        let hash = match caller {
            Some(caller) => {
                crate::encoding::hex(&crate::encoding::sha256_of_parts(&[caller, key.0.as_str()]))
            }
            None => sha256_hex(key.0.as_bytes()),
        };
        format!("{}#{hash}", self.scope)
    }

    /// Claims `key` of `caller` for a request with `payload`, at `now`, until the invocation's
    /// `deadline` (when Lambda ends it: the work cannot outlive that, so neither may the claim
    /// end sooner, or a retry would redo work still under way).
    pub async fn begin(
        &self,
        caller: Option<&str>,
        key: &IdempotencyKey,
        payload: &[u8],
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<Decision, IdempotencyError> {
        let validation = sha256_hex(payload);
        let record = Record {
            id: self.record_id(caller, key),
            status: Status::InProgress,
            expiration: self.expiration(now),
            in_progress_expiration: Some(deadline.timestamp_millis()),
            data: None,
            validation: Some(validation.clone()),
        };
        // A record can vanish between the refused put and the read (released by its holder):
        // the second put then normally succeeds.
        for _ in 0..2 {
            match self.store.claim(&record, now).await? {
                Claim::Claimed => {
                    return Ok(Decision::Proceed(Claimed {
                        id: record.id.clone(),
                    }));
                }
                Claim::Vanished => continue,
                Claim::Held(held) => {
                    // A record without a hash (written by a function that does not validate
                    // payloads) cannot be told apart, so it is taken as the same request.
                    if held
                        .validation
                        .as_ref()
                        .is_some_and(|hash| *hash != validation)
                    {
                        return Ok(Decision::PayloadMismatch);
                    }
                    return match (held.status, held.data) {
                        (Status::Completed, Some(data)) => Ok(Decision::Replay(data)),
                        (Status::Completed, None) => Err(IdempotencyError::Malformed {
                            id: held.id,
                            reason: "COMPLETED without data".into(),
                        }),
                        (Status::InProgress, _) => Ok(Decision::InFlight),
                    };
                }
            }
        }
        Ok(Decision::InFlight)
    }

    /// Stores the answer of a claimed request, kept for `expires_after` from `now`.
    pub async fn finish(
        &self,
        claimed: Claimed,
        data: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IdempotencyError> {
        self.store
            .complete(&claimed.id, data, self.expiration(now))
            .await
    }

    /// Gives a claimed key back: the request did nothing, and the client may retry it.
    pub async fn release(&self, claimed: Claimed) -> Result<(), IdempotencyError> {
        self.store.release(&claimed.id).await
    }

    fn expiration(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp()
            .saturating_add(i64::try_from(self.expires_after.as_secs()).unwrap_or(i64::MAX))
    }
}

/// The DynamoDB adapter: one table with partition key `id` and TTL on `expiration`.
#[derive(Debug, Clone)]
pub struct DynamoDbIdempotencyStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbIdempotencyStore {
    /// An adapter over `table` (see [`crate::aws::dynamodb_client`]).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn read(&self, id: &str) -> Result<Option<Record>, IdempotencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(|item| record_from(id, &item)).transpose()
    }
}

impl IdempotencyStore for DynamoDbIdempotencyStore {
    async fn claim(&self, record: &Record, now: DateTime<Utc>) -> Result<Claim, IdempotencyError> {
        let mut item = HashMap::from([
            ("id".to_owned(), AttributeValue::S(record.id.clone())),
            (
                "expiration".to_owned(),
                AttributeValue::N(record.expiration.to_string()),
            ),
            (
                "status".to_owned(),
                AttributeValue::S(record.status.as_str().to_owned()),
            ),
        ]);
        if let Some(at) = record.in_progress_expiration {
            item.insert(
                "in_progress_expiration".into(),
                AttributeValue::N(at.to_string()),
            );
        }
        if let Some(hash) = &record.validation {
            item.insert("validation".into(), AttributeValue::S(hash.clone()));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiry", "in_progress_expiration")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .expression_attribute_values(
                ":now_in_millis",
                AttributeValue::N(now.timestamp_millis().to_string()),
            )
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            )
            // The holder comes back with the refusal, saving a read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let refusal = match result {
            Ok(_) => return Ok(Claim::Claimed),
            Err(error) => match error.as_service_error() {
                Some(service) if service.is_conditional_check_failed_exception() => {
                    match service {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                            refused,
                        ) => refused.item.clone(),
                        _ => None,
                    }
                }
                _ => return Err(classify(error)),
            },
        };
        let held = match refusal {
            Some(item) => Some(record_from(&record.id, &item)?),
            // Older emulators and tables do not return the item: read it.
            None => self.read(&record.id).await?,
        };
        Ok(held.map_or(Claim::Vanished, Claim::Held))
    }

    async fn complete(
        &self,
        id: &str,
        data: &str,
        expiration: i64,
    ) -> Result<(), IdempotencyError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_owned()))
            .update_expression("SET #data = :data, #expiry = :expiry, #status = :status")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":data", AttributeValue::S(data.to_owned()))
            .expression_attribute_values(":expiry", AttributeValue::N(expiration.to_string()))
            .expression_attribute_values(":status", AttributeValue::S(STATUS_COMPLETED.into()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn release(&self, id: &str) -> Result<(), IdempotencyError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_owned()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// Throughput refusals apart from every other failure: DynamoDB's error codes for them
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>).
fn classify<E, R>(error: SdkError<E, R>) -> IdempotencyError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let throttled = matches!(
        error.code(),
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
        )
    );
    if throttled {
        IdempotencyError::Throttled(error.into())
    } else {
        IdempotencyError::Unavailable(error.into())
    }
}

fn record_from(
    id: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<Record, IdempotencyError> {
    let malformed = |reason: &str| IdempotencyError::Malformed {
        id: id.to_owned(),
        reason: reason.to_owned(),
    };
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
    let number = |name: &str| -> Result<Option<i64>, IdempotencyError> {
        match item.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_n()
                .ok()
                // Powertools for TypeScript writes `:now` as a fraction of seconds.
                .and_then(|n| n.parse::<f64>().ok())
                .map(|n| Some(n as i64))
                .ok_or_else(|| malformed(&format!("{name} is not a number"))),
        }
    };
    let status = match text("status").as_deref() {
        Some(STATUS_IN_PROGRESS) => Status::InProgress,
        Some(STATUS_COMPLETED) => Status::Completed,
        _ => return Err(malformed("status is neither INPROGRESS nor COMPLETED")),
    };
    Ok(Record {
        id: id.to_owned(),
        status,
        expiration: number("expiration")?.ok_or_else(|| malformed("expiration is missing"))?,
        in_progress_expiration: number("in_progress_expiration")?,
        data: text("data"),
        validation: text("validation"),
    })
}

/// How an in-memory store fails, for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Every call is refused as throttled.
    Throttled,
    /// Every call fails as unreachable.
    Unavailable,
}

/// An in-memory store with DynamoDB's claim semantics. Clones share state; it can be told to
/// fail every call.
#[derive(Debug, Clone, Default)]
pub struct MemoryIdempotencyStore {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    records: HashMap<String, Record>,
    outage: Option<Outage>,
}

impl MemoryIdempotencyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record, by id.
    pub fn records(&self) -> HashMap<String, Record> {
        self.lock().records.clone()
    }

    /// Fails every call from now on (`Some`), or stops failing (`None`).
    pub fn set_outage(&self, outage: Option<Outage>) {
        self.lock().outage = outage;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn available(&self) -> Result<std::sync::MutexGuard<'_, MemoryState>, IdempotencyError> {
        let state = self.lock();
        match state.outage {
            None => Ok(state),
            Some(Outage::Throttled) => Err(IdempotencyError::Throttled(
                "ProvisionedThroughputExceededException (simulated)".into(),
            )),
            Some(Outage::Unavailable) => Err(IdempotencyError::Unavailable(
                "connection refused (simulated)".into(),
            )),
        }
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    async fn claim(&self, record: &Record, now: DateTime<Utc>) -> Result<Claim, IdempotencyError> {
        let mut state = self.available()?;
        match state.records.get(&record.id) {
            Some(held) if held.is_live(now) => Ok(Claim::Held(held.clone())),
            _ => {
                state.records.insert(record.id.clone(), record.clone());
                Ok(Claim::Claimed)
            }
        }
    }

    async fn complete(
        &self,
        id: &str,
        data: &str,
        expiration: i64,
    ) -> Result<(), IdempotencyError> {
        let mut state = self.available()?;
        let record = state
            .records
            .entry(id.to_owned())
            .or_insert_with(|| Record {
                id: id.to_owned(),
                status: Status::Completed,
                expiration,
                in_progress_expiration: None,
                data: None,
                validation: None,
            });
        record.status = Status::Completed;
        record.data = Some(data.to_owned());
        record.expiration = expiration;
        Ok(())
    }

    async fn release(&self, id: &str) -> Result<(), IdempotencyError> {
        self.available()?.records.remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn idempotency() -> (Idempotency<MemoryIdempotencyStore>, MemoryIdempotencyStore) {
        let store = MemoryIdempotencyStore::new();
        let idempotency =
            Idempotency::new(store.clone(), "proxy.ingest", Duration::from_secs(3600));
        (idempotency, store)
    }

    fn key(text: &str) -> IdempotencyKey {
        IdempotencyKey::parse(text.as_bytes()).unwrap()
    }

    /// Begins `key` and expects to proceed; anything else fails the test with `why`.
    async fn proceed(
        idempotency: &Idempotency<MemoryIdempotencyStore>,
        key_text: &str,
        payload: &[u8],
        (now, deadline): (DateTime<Utc>, DateTime<Utc>),
        why: &str,
    ) -> Claimed {
        match idempotency
            .begin(None, &key(key_text), payload, now, deadline)
            .await
        {
            Ok(Decision::Proceed(claimed)) => claimed,
            other => panic!("{why}: {other:?}"),
        }
    }

    #[test]
    fn keys_are_visible_ascii_of_at_most_256_bytes() {
        assert!(IdempotencyKey::parse(b"8e03978e-40d5-43e8-bc93-6894a57f9324").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 256]).is_ok());
        assert_eq!(
            IdempotencyKey::parse(&[b'k'; 257]),
            Err(KeyError::TooLong {
                length: 257,
                limit: 256
            })
        );
        assert_eq!(IdempotencyKey::parse(b"   "), Err(KeyError::Empty));
        assert_eq!(IdempotencyKey::parse(b""), Err(KeyError::Empty));
        assert_eq!(
            IdempotencyKey::parse(b"tab\there"),
            Err(KeyError::Malformed)
        );
        assert_eq!(
            IdempotencyKey::parse("clé".as_bytes()),
            Err(KeyError::Malformed)
        );
    }

    #[test]
    fn a_key_never_shows_in_debug_output_or_record_ids() {
        let (idempotency, _) = idempotency();
        let secret = key("customer-4711-order-99");
        assert!(!format!("{secret:?}").contains("4711"));
        let id = idempotency.record_id(None, &secret);
        assert!(id.starts_with("proxy.ingest#"));
        assert_eq!(id.len(), "proxy.ingest#".len() + 64);
        assert!(!id.contains("4711"));
        // Two callers' same key are two records, of the same shape.
        let alice = idempotency.record_id(Some("jwt:alice"), &secret);
        let bob = idempotency.record_id(Some("jwt:bob"), &secret);
        assert_ne!(alice, bob);
        assert_ne!(alice, id);
        assert_eq!(alice.len(), id.len());
        assert!(!alice.contains("alice"));
    }

    #[tokio::test]
    async fn the_first_request_proceeds_and_its_retry_replays_the_stored_answer() {
        let (idempotency, store) = idempotency();
        let now = at("2026-11-20T10:00:00Z");
        let deadline = at("2026-11-20T10:00:29Z");
        let claimed = proceed(
            &idempotency,
            "k1",
            b"{}",
            (now, deadline),
            "the first request must proceed",
        )
        .await;
        let record = store.records().into_values().next().unwrap();
        assert_eq!(record.status, Status::InProgress);
        assert_eq!(
            record.in_progress_expiration,
            Some(deadline.timestamp_millis())
        );
        assert_eq!(record.expiration, now.timestamp() + 3600);
        idempotency
            .finish(claimed, "the answer", now)
            .await
            .unwrap();
        assert_eq!(
            idempotency
                .begin(None, &key("k1"), b"{}", now, deadline)
                .await
                .unwrap(),
            Decision::Replay("the answer".into())
        );
    }

    #[tokio::test]
    async fn a_key_in_flight_a_different_payload_and_a_released_key_are_told_apart() {
        let (idempotency, _) = idempotency();
        let now = at("2026-11-20T10:00:00Z");
        let deadline = at("2026-11-20T10:00:29Z");
        let claimed = proceed(
            &idempotency,
            "k",
            b"A",
            (now, deadline),
            "the first request must proceed",
        )
        .await;
        assert_eq!(
            idempotency
                .begin(None, &key("k"), b"A", now, deadline)
                .await
                .unwrap(),
            Decision::InFlight
        );
        assert_eq!(
            idempotency
                .begin(None, &key("k"), b"B", now, deadline)
                .await
                .unwrap(),
            Decision::PayloadMismatch
        );
        idempotency.release(claimed).await.unwrap();
        assert!(matches!(
            idempotency
                .begin(None, &key("k"), b"B", now, deadline)
                .await
                .unwrap(),
            Decision::Proceed(_)
        ));
    }

    #[tokio::test]
    async fn an_in_progress_record_is_void_after_its_invocations_deadline_and_a_completed_one_after_expiry()
     {
        let (idempotency, _) = idempotency();
        let now = at("2026-11-20T10:00:00Z");
        let deadline = at("2026-11-20T10:00:29Z");
        let _abandoned = proceed(
            &idempotency,
            "k",
            b"A",
            (now, deadline),
            "the first request must proceed",
        )
        .await;
        // The invocation was killed before it finished: after its deadline the key is free.
        let later = at("2026-11-20T10:00:30Z");
        let claimed = proceed(
            &idempotency,
            "k",
            b"A",
            (later, later),
            "an in-progress record past its deadline must not hold the key",
        )
        .await;
        idempotency.finish(claimed, "done", later).await.unwrap();
        let within = at("2026-11-20T10:59:00Z");
        assert_eq!(
            idempotency
                .begin(None, &key("k"), b"A", within, within)
                .await
                .unwrap(),
            Decision::Replay("done".into())
        );
        let after = at("2026-11-20T11:01:00Z");
        assert!(matches!(
            idempotency
                .begin(None, &key("k"), b"A", after, after)
                .await
                .unwrap(),
            Decision::Proceed(_)
        ));
    }

    #[tokio::test]
    async fn an_outage_is_an_error_not_a_decision() {
        let (idempotency, store) = idempotency();
        let now = at("2026-11-20T10:00:00Z");
        store.set_outage(Some(Outage::Throttled));
        assert!(matches!(
            idempotency.begin(None, &key("k"), b"A", now, now).await,
            Err(IdempotencyError::Throttled(_))
        ));
        store.set_outage(Some(Outage::Unavailable));
        assert!(matches!(
            idempotency.begin(None, &key("k"), b"A", now, now).await,
            Err(IdempotencyError::Unavailable(_))
        ));
        assert!(store.records().is_empty());
    }
}
