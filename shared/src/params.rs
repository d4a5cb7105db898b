//! A parameter store in the spirit of Powertools' Parameters utility.
//!
//! [`ParameterStore`] sits in front of a [`ParameterSource`] (SSM in Lambda, memory in tests) and
//! keeps what it fetched in an in-memory cache that lives as long as the warm container, so most
//! invocations read their configuration without a network call. It:
//!
//! - fetches several names in one round trip (SSM `GetParameters`, ten names per call, which is
//!   the service's limit);
//! - decrypts SecureStrings on request, and keeps every value in a [`SecretString`];
//! - expires entries after a TTL, or earlier with [`GetOptions::max_age`], and re-reads on
//!   [`GetOptions::force_refresh`];
//! - serves the last known value when the source is down (stale-on-error), counting and logging
//!   the failure, because a configuration outage should not become an application outage;
//! - reports names the source does not know as [`ParameterError::NotFound`], never as an outage.
//!
//! Two concurrent misses for the same name may both call the source; that costs one extra call
//! and keeps the lock out of the await. Counters are kept in [`CacheStats`] and emitted as metrics (`ParameterCacheHit`,
//! `ParameterFetch`, `ParameterStaleServe`, `ParameterFetchFailure`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::clock::{Clock, SystemClock};
use crate::errors::{BoxError, chain};

/// SSM `GetParameters` accepts at most ten names per call.
pub const SSM_GET_PARAMETERS_LIMIT: usize = 10;

/// The default time a fetched value is served from the cache.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// What a [`ParameterSource`] returned for one batch of names.
#[derive(Default)]
pub struct Fetched {
    /// The values found, by name.
    pub values: Vec<(String, SecretString)>,
    /// The names the source does not know.
    pub missing: Vec<String>,
}

/// The source could not answer (network, throttling, permissions): an outage, not a missing name.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct ParameterSourceError {
    operation: &'static str,
    #[source]
    source: BoxError,
}

impl ParameterSourceError {
    /// Wraps the adapter's own error, keeping it as the source.
    pub fn new(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

/// A backend that can read parameters by name: the port behind [`ParameterStore`].
pub trait ParameterSource: Send + Sync {
    /// Reads `names` in as few calls as the backend allows. `decrypt` asks for SecureStrings in
    /// plain text.
    fn fetch(
        &self,
        names: &[String],
        decrypt: bool,
    ) -> impl Future<Output = Result<Fetched, ParameterSourceError>> + Send;
}

/// The SSM Parameter Store adapter.
#[derive(Debug, Clone)]
pub struct SsmParameterSource {
    client: aws_sdk_ssm::Client,
}

impl SsmParameterSource {
    /// An adapter over an SSM client (see [`crate::aws::ssm_client`]).
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Self { client }
    }
}

/// Whether `name` ends in a version or label selector (`/app/key:3`, `/app/key:prod`). SSM
/// names cannot contain `:` ("Naming constraints", Parameter Store docs), but an ARN can, so
/// only the last path segment is looked at.
pub fn has_selector(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'))
}

impl SsmParameterSource {
    /// A name with a selector, read on its own: SSM answers with the bare name (the selector
    /// in a separate `Selector` field, which emulators may leave out), so `GetParameters` could
    /// not tell `/x:1` from `/x:prod` and `/x` in one answer. One `GetParameter` per such name
    /// is unambiguous; selectors are rare (pinning a version), so the extra calls are too.
    async fn fetch_one(
        &self,
        name: &str,
        decrypt: bool,
        fetched: &mut Fetched,
    ) -> Result<(), ParameterSourceError> {
        let response = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(decrypt)
            .send()
            .await;
        match response {
            Ok(output) => match output.parameter().and_then(|p| p.value()) {
                Some(value) => fetched
                    .values
                    .push((name.to_owned(), SecretString::from(value))),
                None => fetched.missing.push(name.to_owned()),
            },
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_parameter_not_found() || e.is_parameter_version_not_found()
                }) =>
            {
                fetched.missing.push(name.to_owned());
            }
            Err(err) => return Err(ParameterSourceError::new("SSM GetParameter", err)),
        }
        Ok(())
    }
}

impl ParameterSource for SsmParameterSource {
    async fn fetch(
        &self,
        names: &[String],
        decrypt: bool,
    ) -> Result<Fetched, ParameterSourceError> {
        let mut fetched = Fetched::default();
        let (selected, plain): (Vec<&String>, Vec<&String>) =
            names.iter().partition(|name| has_selector(name));
        for name in selected {
            self.fetch_one(name, decrypt, &mut fetched).await?;
        }
        for batch in plain.chunks(SSM_GET_PARAMETERS_LIMIT) {
            let response = self
                .client
                .get_parameters()
                .set_names(Some(batch.iter().map(|name| (*name).clone()).collect()))
                .with_decryption(decrypt)
                .send()
                .await
                .map_err(|err| ParameterSourceError::new("SSM GetParameters", err))?;
            for parameter in response.parameters() {
                if let (Some(name), Some(value)) = (parameter.name(), parameter.value()) {
                    fetched
                        .values
                        .push((name.to_owned(), SecretString::from(value)));
                }
            }
            fetched
                .missing
                .extend(response.invalid_parameters().iter().cloned());
        }
        Ok(fetched)
    }
}

/// An in-memory [`ParameterSource`] for tests and local runs. Clones share the same state, so a
/// test can keep a handle, change values or take the source "down", and watch the calls made.
#[derive(Debug, Clone, Default)]
pub struct MemoryParameterSource {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    values: HashMap<String, String>,
    unavailable: bool,
    calls: Vec<Vec<String>>,
}

impl MemoryParameterSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        // A panic while holding this lock can only come from a test; keep serving its state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets (or replaces) a value.
    pub fn put(&self, name: &str, value: &str) -> &Self {
        self.state()
            .values
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// Deletes a value.
    pub fn remove(&self, name: &str) {
        self.state().values.remove(name);
    }

    /// Makes every later fetch fail (`false`) or succeed again (`true`).
    pub fn set_available(&self, available: bool) {
        self.state().unavailable = !available;
    }

    /// The names requested by each fetch so far, one entry per call.
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.state().calls.clone()
    }
}

impl ParameterSource for MemoryParameterSource {
    async fn fetch(
        &self,
        names: &[String],
        _decrypt: bool,
    ) -> Result<Fetched, ParameterSourceError> {
        let mut state = self.state();
        state.calls.push(names.to_vec());
        if state.unavailable {
            return Err(ParameterSourceError::new(
                "in-memory parameter source",
                "source marked unavailable",
            ));
        }
        let mut fetched = Fetched::default();
        for name in names {
            match state.values.get(name) {
                Some(value) => fetched
                    .values
                    .push((name.clone(), SecretString::from(value.as_str()))),
                None => fetched.missing.push(name.clone()),
            }
        }
        Ok(fetched)
    }
}

/// Why a parameter could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ParameterError {
    /// The source answered, and does not know these names. Not retried, not served stale: a
    /// deleted parameter is a configuration error to fix, not an outage to ride out.
    #[error("parameter not found: {}", names.join(", "))]
    NotFound {
        /// The unknown names.
        names: Vec<String>,
    },
    /// The source could not be reached and nothing was cached for these names.
    #[error("parameter store unavailable and nothing cached for {}", names.join(", "))]
    Unavailable {
        /// The names that could not be served.
        names: Vec<String>,
        /// What went wrong talking to the source.
        #[source]
        source: ParameterSourceError,
    },
}

/// Where a served value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A cached value younger than its TTL.
    Cache,
    /// Fetched from the source during this call.
    Source,
    /// A cached value past its TTL, served because the source failed.
    Stale,
}

/// One served parameter. Its value is a secret; `Debug` never shows it.
#[derive(Clone)]
pub struct Parameter {
    value: SecretString,
    age: Duration,
    origin: Origin,
}

impl Parameter {
    /// The value, for code that needs the text (a URL, a key to put in a header).
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// The value, still wrapped.
    pub fn secret(&self) -> &SecretString {
        &self.value
    }

    /// How long ago the value was fetched from the source.
    pub fn age(&self) -> Duration {
        self.age
    }

    /// Where the value came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parameter")
            .field("value", &"[REDACTED]")
            .field("age", &self.age)
            .field("origin", &self.origin)
            .finish()
    }
}

/// How to read a parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetOptions {
    /// Ask the source to decrypt SecureStrings.
    pub decrypt: bool,
    /// Skip the cache and read from the source (stale values are still served if it fails).
    pub force_refresh: bool,
    /// Treat cached values older than this as expired, for this call (default: the store's TTL).
    pub max_age: Option<Duration>,
}

impl GetOptions {
    /// Plain String / StringList parameters, cached for the store's TTL.
    pub fn plain() -> Self {
        Self::default()
    }

    /// SecureString parameters, decrypted.
    pub fn decrypted() -> Self {
        Self {
            decrypt: true,
            ..Self::default()
        }
    }

    /// The same options, bypassing the cache.
    pub fn force_refresh(self) -> Self {
        Self {
            force_refresh: true,
            ..self
        }
    }

    /// The same options, with another freshness bound than the store's TTL for this call.
    pub fn max_age(self, max_age: Duration) -> Self {
        Self {
            max_age: Some(max_age),
            ..self
        }
    }
}

/// Counters since the store was created (one warm container's lifetime).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Names served from a fresh cache entry.
    pub hits: u64,
    /// Calls made to the source.
    pub fetches: u64,
    /// Names served from an expired entry because the source failed.
    pub stale_serves: u64,
    /// Source calls that failed.
    pub fetch_failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    fetches: AtomicU64,
    stale_serves: AtomicU64,
    fetch_failures: AtomicU64,
}

#[derive(Hash, PartialEq, Eq, Clone)]
struct CacheKey {
    name: String,
    // A decrypted SecureString and its ciphertext are different values.
    decrypted: bool,
}

struct Entry {
    value: SecretString,
    fetched_at: Instant,
}

/// A caching parameter store over a [`ParameterSource`]. Build it once at start-up and share it
/// (`&` or `Arc`) across invocations: the cache is the point.
pub struct ParameterStore<S, C = SystemClock> {
    source: S,
    clock: C,
    ttl: Duration,
    cache: Mutex<HashMap<CacheKey, Entry>>,
    counters: Counters,
}

impl<S> ParameterStore<S, SystemClock> {
    /// A store with the given TTL and the system clock.
    pub fn new(source: S, ttl: Duration) -> Self {
        Self::with_clock(source, ttl, SystemClock)
    }
}

impl<S, C> fmt::Debug for ParameterStore<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParameterStore")
            .field("ttl", &self.ttl)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<S, C> ParameterStore<S, C> {
    /// A store with an explicit clock (tests use [`crate::clock::ManualClock`]).
    pub fn with_clock(source: S, ttl: Duration, clock: C) -> Self {
        Self {
            source,
            clock,
            ttl,
            cache: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.counters.hits.load(Ordering::Relaxed),
            fetches: self.counters.fetches.load(Ordering::Relaxed),
            stale_serves: self.counters.stale_serves.load(Ordering::Relaxed),
            fetch_failures: self.counters.fetch_failures.load(Ordering::Relaxed),
        }
    }

    /// The configured TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Drops every cached value.
    pub fn clear(&self) {
        self.cache().clear();
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<CacheKey, Entry>> {
        // Nothing panics while holding this lock; recover rather than poison every invocation.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<S: ParameterSource, C: Clock> ParameterStore<S, C> {
    /// Reads one parameter.
    pub async fn get(&self, name: &str, options: GetOptions) -> Result<Parameter, ParameterError> {
        let mut values = self.get_many(&[name], options).await?;
        values.remove(name).ok_or_else(|| ParameterError::NotFound {
            names: vec![name.to_owned()],
        })
    }

    /// Reads several parameters, fetching every name that is not fresh in the cache in one
    /// source call (batched by the adapter where the backend has a per-call limit).
    pub async fn get_many(
        &self,
        names: &[&str],
        options: GetOptions,
    ) -> Result<HashMap<String, Parameter>, ParameterError> {
        let now = self.clock.now();
        let max_age = options.max_age.unwrap_or(self.ttl);
        let mut served = HashMap::with_capacity(names.len());
        let mut to_fetch = Vec::new();
        {
            let cache = self.cache();
            for &name in names {
                let key = key(name, options.decrypt);
                match cache.get(&key) {
                    Some(entry)
                        if !options.force_refresh
                            && now.saturating_duration_since(entry.fetched_at) < max_age =>
                    {
                        served.insert(
                            name.to_owned(),
                            Parameter {
                                value: entry.value.clone(),
                                age: now.saturating_duration_since(entry.fetched_at),
                                origin: Origin::Cache,
                            },
                        );
                    }
                    _ if !to_fetch.iter().any(|n: &String| n == name) => {
                        to_fetch.push(name.to_owned())
                    }
                    _ => {}
                }
            }
        }
        self.count(
            &self.counters.hits,
            "ParameterCacheHit",
            served.len() as u64,
        );
        if to_fetch.is_empty() {
            return Ok(served);
        }

        self.count(&self.counters.fetches, "ParameterFetch", 1);
        match self.source.fetch(&to_fetch, options.decrypt).await {
            Ok(fetched) => {
                let mut cache = self.cache();
                for name in &fetched.missing {
                    cache.remove(&key(name, options.decrypt));
                }
                if !fetched.missing.is_empty() {
                    return Err(ParameterError::NotFound {
                        names: fetched.missing,
                    });
                }
                for (name, value) in fetched.values {
                    served.insert(
                        name.clone(),
                        Parameter {
                            value: value.clone(),
                            age: Duration::ZERO,
                            origin: Origin::Source,
                        },
                    );
                    cache.insert(
                        key(&name, options.decrypt),
                        Entry {
                            value,
                            fetched_at: now,
                        },
                    );
                }
                Ok(served)
            }
            Err(error) => {
                self.count(&self.counters.fetch_failures, "ParameterFetchFailure", 1);
                self.serve_stale(to_fetch, options.decrypt, now, served, error)
            }
        }
    }

    fn serve_stale(
        &self,
        names: Vec<String>,
        decrypt: bool,
        now: Instant,
        mut served: HashMap<String, Parameter>,
        error: ParameterSourceError,
    ) -> Result<HashMap<String, Parameter>, ParameterError> {
        let cache = self.cache();
        let (cached, uncached): (Vec<_>, Vec<_>) = names
            .into_iter()
            .partition(|name| cache.contains_key(&key(name, decrypt)));
        if !uncached.is_empty() {
            tracing::error!(parameters = ?uncached, error = %chain(&error), "parameter store unavailable and nothing cached");
            return Err(ParameterError::Unavailable {
                names: uncached,
                source: error,
            });
        }
        tracing::warn!(parameters = ?cached, error = %chain(&error), "parameter store unavailable; serving cached values past their TTL");
        self.count(
            &self.counters.stale_serves,
            "ParameterStaleServe",
            cached.len() as u64,
        );
        for name in cached {
            if let Some(entry) = cache.get(&key(&name, decrypt)) {
                let parameter = Parameter {
                    value: entry.value.clone(),
                    age: now.saturating_duration_since(entry.fetched_at),
                    origin: Origin::Stale,
                };
                served.insert(name, parameter);
            }
        }
        Ok(served)
    }

    fn count(&self, counter: &AtomicU64, metric: &'static str, by: u64) {
        if by > 0 {
            counter.fetch_add(by, Ordering::Relaxed);
            metrics::counter!(metric).increment(by);
        }
    }
}

fn key(name: &str, decrypted: bool) -> CacheKey {
    CacheKey {
        name: name.to_owned(),
        decrypted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const TTL: Duration = Duration::from_secs(60);

    fn store() -> (
        MemoryParameterSource,
        ManualClock,
        ParameterStore<MemoryParameterSource, ManualClock>,
    ) {
        let source = MemoryParameterSource::new();
        source
            .put("/app/endpoint", "http://10.0.0.1:3000")
            .put("/app/key", "s3cret");
        let clock = ManualClock::new();
        let store = ParameterStore::with_clock(source.clone(), TTL, clock.clone());
        (source, clock, store)
    }

    #[tokio::test]
    async fn several_names_are_fetched_in_one_source_call() {
        let (source, _, store) = store();
        let values = store
            .get_many(&["/app/endpoint", "/app/key"], GetOptions::decrypted())
            .await
            .unwrap();
        assert_eq!(values["/app/endpoint"].expose(), "http://10.0.0.1:3000");
        assert_eq!(values["/app/key"].expose(), "s3cret");
        assert_eq!(source.calls().len(), 1);
        assert_eq!(source.calls()[0].len(), 2);
    }

    #[tokio::test]
    async fn values_are_served_from_cache_within_the_ttl() {
        let (source, clock, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        clock.advance(TTL - Duration::from_secs(1));
        let again = store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        assert_eq!(again.origin(), Origin::Cache);
        assert_eq!(again.age(), TTL - Duration::from_secs(1));
        assert_eq!(source.calls().len(), 1);
        assert_eq!(store.stats().hits, 1);
    }

    #[tokio::test]
    async fn expired_values_are_refetched_and_pick_up_changes() {
        let (source, clock, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        source.put("/app/endpoint", "http://10.0.0.2:3000");
        clock.advance(TTL);
        let fresh = store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        assert_eq!(fresh.expose(), "http://10.0.0.2:3000");
        assert_eq!(fresh.origin(), Origin::Source);
    }

    #[tokio::test]
    async fn force_refresh_bypasses_a_fresh_cache_entry() {
        let (source, _, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        source.put("/app/endpoint", "http://10.0.0.3:3000");
        let forced = store
            .get("/app/endpoint", GetOptions::plain().force_refresh())
            .await
            .unwrap();
        assert_eq!(forced.expose(), "http://10.0.0.3:3000");
        assert_eq!(source.calls().len(), 2);
    }

    #[tokio::test]
    async fn max_age_can_stretch_the_ttl_for_one_call() {
        let (source, clock, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        clock.advance(TTL * 2);
        let cached = store
            .get("/app/endpoint", GetOptions::plain().max_age(TTL * 3))
            .await
            .unwrap();
        assert_eq!(cached.origin(), Origin::Cache);
        assert_eq!(source.calls().len(), 1);
    }

    #[tokio::test]
    async fn max_age_tightens_the_ttl_for_one_call() {
        let (source, clock, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        clock.advance(Duration::from_secs(5));
        store
            .get(
                "/app/endpoint",
                GetOptions::plain().max_age(Duration::from_secs(2)),
            )
            .await
            .unwrap();
        assert_eq!(source.calls().len(), 2);
    }

    #[tokio::test]
    async fn stale_values_are_served_and_counted_when_the_source_fails() {
        let (source, clock, store) = store();
        store
            .get("/app/key", GetOptions::decrypted())
            .await
            .unwrap();
        clock.advance(TTL * 3);
        source.set_available(false);
        let stale = store
            .get("/app/key", GetOptions::decrypted())
            .await
            .unwrap();
        assert_eq!(stale.expose(), "s3cret");
        assert_eq!(stale.origin(), Origin::Stale);
        assert_eq!(stale.age(), TTL * 3);
        let stats = store.stats();
        assert_eq!((stats.stale_serves, stats.fetch_failures), (1, 1));
    }

    #[tokio::test]
    async fn a_cold_cache_with_the_source_down_is_unavailable() {
        let (source, _, store) = store();
        source.set_available(false);
        let err = store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ParameterError::Unavailable { names, .. } if names == &["/app/endpoint"]),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn one_uncached_name_makes_a_batch_unavailable_even_if_others_are_cached() {
        let (source, clock, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        clock.advance(TTL);
        source.set_available(false);
        let err = store
            .get_many(&["/app/endpoint", "/app/key"], GetOptions::plain())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ParameterError::Unavailable { names, .. } if names == &["/app/key"]),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn missing_names_are_reported_by_name_and_not_served_stale() {
        let (source, clock, store) = store();
        store
            .get("/app/endpoint", GetOptions::plain())
            .await
            .unwrap();
        source.remove("/app/endpoint");
        clock.advance(TTL);
        let err = store
            .get_many(&["/app/endpoint", "/app/nope"], GetOptions::plain())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter not found: /app/endpoint, /app/nope"
        );
        // The deleted name is gone from the cache too: an outage now cannot resurrect it.
        source.set_available(false);
        assert!(matches!(
            store.get("/app/endpoint", GetOptions::plain()).await,
            Err(ParameterError::Unavailable { .. })
        ));
    }

    #[tokio::test]
    async fn decrypted_and_encrypted_reads_are_cached_separately() {
        let (source, _, store) = store();
        store
            .get("/app/key", GetOptions::decrypted())
            .await
            .unwrap();
        store.get("/app/key", GetOptions::plain()).await.unwrap();
        assert_eq!(source.calls().len(), 2);
    }

    #[tokio::test]
    async fn duplicate_names_in_one_call_are_fetched_once() {
        let (source, _, store) = store();
        let values = store
            .get_many(&["/app/key", "/app/key"], GetOptions::decrypted())
            .await
            .unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(source.calls()[0], vec!["/app/key".to_owned()]);
    }

    #[test]
    fn debug_output_never_contains_the_value() {
        let parameter = Parameter {
            value: SecretString::from("s3cret"),
            age: Duration::ZERO,
            origin: Origin::Source,
        };
        assert!(!format!("{parameter:?}").contains("s3cret"));
    }
}
