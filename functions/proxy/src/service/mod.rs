//! The proxy service: a [`ProxyRequest`] in, a [`ProxyResponse`] out, over ports only.
//!
//! [`Proxy`] is built once in `main` and shared by every warm invocation, so the parameter
//! cache, the circuit breakers and the upstream connection pool outlive single requests. It is
//! generic over its ports (parameter source, upstream client, queue, clock, idempotency
//! records), which is how the tests run it against moto, real loopback upstreams and a manual
//! clock. The routes: forwarding (here), [`health`] and [`ingestion`]; the API Gateway events
//! are converted in [`crate::apigw`].

mod health;
mod ingestion;

use std::time::Duration;

use orabridge_shared::clock::Clock;
use orabridge_shared::errors::chain;
use orabridge_shared::idempotency::{DynamoDbIdempotencyStore, Idempotency, IdempotencyStore};
use orabridge_shared::params::{GetOptions, ParameterError, ParameterSource, ParameterStore};
use orabridge_shared::queue::MessageQueue;
use orabridge_shared::sensor::ValidationRules;
use secrecy::SecretString;

use crate::breaker::CircuitBreakers;
use crate::client::UpstreamClient;
use crate::config::ProxyConfig;
use crate::error::ProxyError;
use crate::exchange::{ProxyRequest, ProxyResponse};
use crate::forward::{ForwardError, OutgoingRequest, forward};
use crate::headers::upstream_request_headers;
use crate::path::forward_path;
use crate::response::client_response;
use crate::upstreams::{Upstream, parse_upstreams};
use crate::{Route, route};

pub use ingestion::{IDEMPOTENCY_KEY, IDEMPOTENCY_REPLAYED};

/// The proxy with its long-lived state. `I` keeps the idempotency records of ingestion
/// (DynamoDB in the Lambda, memory in tests).
pub struct Proxy<S, H, Q, C, I = DynamoDbIdempotencyStore> {
    config: ProxyConfig,
    params: ParameterStore<S, C>,
    breakers: CircuitBreakers<C>,
    clock: C,
    /// When the endpoints were last re-read because no upstream was reachable.
    last_forced_refresh: std::sync::Mutex<Option<std::time::Instant>>,
    client: H,
    queue: Q,
    rules: ValidationRules,
    /// Set when `IDEMPOTENCY_TABLE` is: honours `Idempotency-Key` on ingestion.
    idempotency: Option<Idempotency<I>>,
}

/// What the proxy is built over. `I` keeps the idempotency records of ingestion (DynamoDB in
/// the Lambda, memory in tests).
pub struct Ports<S, H, Q, C, I = DynamoDbIdempotencyStore> {
    /// Where the endpoints and the key are read (SSM in the Lambda).
    pub parameters: S,
    /// The HTTP client to the upstreams.
    pub upstreams: H,
    /// Where ingestion sends the readings (`SENSOR_QUEUE_URL`).
    pub queue: Q,
    /// The clock of the parameter cache's TTL, the breakers' cool-downs and reading ages.
    pub clock: C,
    /// The idempotency records: when given, ingestion honours `Idempotency-Key`
    /// (`IDEMPOTENCY_TABLE` in the Lambda).
    pub idempotency: Option<I>,
}

/// Composes the proxy from its configuration and ports: what `main` serves and what the tests
/// invoke ([`Function::handle`](orabridge_shared::start::Function::handle)).
pub fn build<S, H, Q, C, I>(
    config: ProxyConfig,
    ports: Ports<S, H, Q, C, I>,
) -> Proxy<S, H, Q, C, I>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
    I: IdempotencyStore,
{
    let idempotency = ports.idempotency.map(|store| {
        Idempotency::new(
            store,
            &config.idempotency_scope,
            config.idempotency_expires_after,
        )
    });
    let params =
        ParameterStore::with_clock(ports.parameters, config.param_ttl, ports.clock.clone());
    let breakers = CircuitBreakers::new(
        config.breaker_failures,
        config.breaker_cool_down,
        ports.clock.clone(),
    );
    let rules = ValidationRules {
        max_age: config.max_reading_age,
        ..ValidationRules::default()
    };
    Proxy {
        config,
        params,
        breakers,
        clock: ports.clock,
        last_forced_refresh: std::sync::Mutex::new(None),
        client: ports.upstreams,
        queue: ports.queue,
        rules,
        idempotency,
    }
}

/// The endpoints and key, as read from SSM for one request.
struct UpstreamSettings {
    upstreams: Vec<Upstream>,
    key: SecretString,
    age: Duration,
}

impl<S, H, Q, C, I> Proxy<S, H, Q, C, I>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
    I: IdempotencyStore,
{
    /// The parameter store (its statistics feed `/health` and the tests).
    pub fn params(&self) -> &ParameterStore<S, C> {
        &self.params
    }

    /// The circuit breakers.
    pub fn breakers(&self) -> &CircuitBreakers<C> {
        &self.breakers
    }

    /// The configuration the proxy was built with.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// Answers one request. Never fails: every error becomes the contract's JSON answer.
    pub async fn respond(&self, request: ProxyRequest) -> ProxyResponse {
        let result = match route(request.method.as_str(), &request.path) {
            Route::Forward => self.forward(&request).await,
            Route::Health => self.health(request.budget).await,
            Route::IngestSensorData => match self.config.sensor_queue_url.as_deref() {
                Some(queue_url) => self.ingest(&request, queue_url).await,
                None => Err(ProxyError::NotFound),
            },
            Route::Unknown => Err(ProxyError::NotFound),
        };
        result.unwrap_or_else(|error| {
            let (status, method) = (error.public().0, &request.method);
            if status.is_server_error() {
                tracing::error!(error = &error as &dyn std::error::Error, status = status.as_u16(), %method, "request failed");
            } else {
                tracing::warn!(error = %chain(&error), status = status.as_u16(), %method, "request refused");
            }
            error.response(&request.client.request_id)
        })
    }

    /// The request body, or 413 when it is over `MAX_BODY_BYTES`.
    fn checked_body<'r>(&self, request: &'r ProxyRequest) -> Result<&'r [u8], ProxyError> {
        let body = request.body.as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(ProxyError::BodyTooLarge {
                size: body.len(),
                limit: self.config.max_body_bytes,
            });
        }
        Ok(body)
    }

    /// [`Self::settings`] within the request's deadline: a slow SSM must not hold the request
    /// past the time Lambda and API Gateway give it.
    async fn settings_by(
        &self,
        deadline: tokio::time::Instant,
        force_refresh: bool,
    ) -> Result<UpstreamSettings, ProxyError> {
        tokio::time::timeout_at(deadline, self.settings(force_refresh))
            .await
            .unwrap_or(Err(ProxyError::Upstream(ForwardError::DeadlineExceeded {
                attempts: Vec::new(),
            })))
    }

    /// Whether a request that reached no upstream may re-read the endpoints from SSM now: at
    /// most once per breaker cool-down. While every circuit is open each request reaches
    /// nothing, and SSM's throughput quota is shared by the whole account and region, so a
    /// refresh per request during an outage would throttle the other functions' reads too.
    fn may_force_refresh(&self) -> bool {
        let now = self.clock.now();
        let mut last = self
            .last_forced_refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if now.saturating_duration_since(at) < self.config.breaker_cool_down => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    async fn settings(&self, force_refresh: bool) -> Result<UpstreamSettings, ProxyError> {
        let names = [
            self.config.upstream_param.as_str(),
            self.config.internal_key_param.as_str(),
        ];
        // One GetParameters call: decryption is harmless for the String and needed for the key.
        let mut options = GetOptions::decrypted();
        options.force_refresh = force_refresh;
        let mut values = self
            .params
            .get_many(&names, options)
            .await
            .map_err(ProxyError::Configuration)?;
        let missing = |name: &str| {
            ProxyError::Configuration(ParameterError::NotFound {
                names: vec![name.to_owned()],
            })
        };
        let list = values.remove(names[0]).ok_or_else(|| missing(names[0]))?;
        let key = values.remove(names[1]).ok_or_else(|| missing(names[1]))?;
        let upstreams = parse_upstreams(list.expose(), self.config.allow_plain_http)
            .map_err(ProxyError::UpstreamList)?;
        Ok(UpstreamSettings {
            upstreams,
            age: list.age().max(key.age()),
            key: key.secret().clone(),
        })
    }

    async fn forward(&self, request: &ProxyRequest) -> Result<ProxyResponse, ProxyError> {
        let (client, budget) = (&request.client, request.budget);
        self.checked_body(request)?;
        let body = request.body.clone();
        let mut path_and_query = forward_path(&request.path).map_err(ProxyError::BadPath)?;
        if let Some(query) = request.query.as_deref().filter(|q| !q.is_empty()) {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        let deadline = tokio::time::Instant::now() + budget;
        let settings = self.settings_by(deadline, false).await?;
        let headers = upstream_request_headers(&request.headers, client, &settings.key)?;
        let outgoing = OutgoingRequest {
            method: request.method.clone(),
            path_and_query,
            headers,
            body,
        };
        let per_attempt = self.config.upstream_timeout;
        let result = match forward(
            &self.client,
            &self.breakers,
            &settings.upstreams,
            &outgoing,
            per_attempt,
            self.config.response_limit,
            deadline,
        )
        .await
        {
            Err(error) if error.nothing_reached() && self.may_force_refresh() => {
                // Every endpoint refused: they may have just moved. Re-read SSM once.
                tracing::warn!("no upstream reachable; re-reading the endpoints from SSM");
                let fresh = self.settings_by(deadline, true).await?;
                if fresh.upstreams == settings.upstreams {
                    Err(error)
                } else {
                    let mut outgoing = outgoing;
                    outgoing.headers =
                        upstream_request_headers(&request.headers, client, &fresh.key)?;
                    forward(
                        &self.client,
                        &self.breakers,
                        &fresh.upstreams,
                        &outgoing,
                        per_attempt,
                        self.config.response_limit,
                        deadline,
                    )
                    .await
                }
            }
            other => other,
        };
        // `forward` checked that the answer fits in a Lambda response as serialised.
        let forwarded = result.map_err(ProxyError::Upstream)?;
        Ok(client_response(
            forwarded.response.status,
            &forwarded.response.headers,
            forwarded.response.body,
        ))
    }
}
