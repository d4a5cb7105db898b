//! The proxy service: an API Gateway request in, an HTTP response out.
//!
//! [`Proxy`] is built once in `main` and shared by every warm invocation, so the parameter
//! cache, the circuit breakers and the upstream connection pool outlive single requests. It is
//! generic over its ports (parameter source, upstream client, clock), which is how the tests run
//! it against moto, real loopback upstreams and a manual clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use orabridge_shared::clock::Clock;
use orabridge_shared::errors::chain;
use orabridge_shared::idempotency::{
    Decision, DynamoDbIdempotencyStore, Idempotency, IdempotencyError, IdempotencyKey,
    IdempotencyStore, KeyError,
};
use orabridge_shared::params::{GetOptions, ParameterError, ParameterSource, ParameterStore};
use secrecy::SecretString;
use serde_json::json;

use crate::breaker::CircuitBreakers;
use crate::client::{UpstreamClient, UpstreamRequest};
use crate::config::{API_GATEWAY_LIMIT, ProxyConfig};
use crate::forward::{ForwardError, OutgoingRequest, forward};
use crate::headers::{
    ClientContext, HeaderError, INTERNAL_KEY, internal_key_value, upstream_request_headers,
};
use crate::ingest::{IngestError, ingest};
use crate::path::{PathError, forward_path};
use crate::response::into_lambda_response;
use crate::upstreams::{Upstream, UpstreamListError, parse_upstreams};
use crate::{Route, route};
use orabridge_shared::metrics::counter;
use orabridge_shared::queue::MessageQueue;
use orabridge_shared::sensor::ValidationRules;

/// How long `/health` waits for each upstream's own `/health`.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything that can go wrong, each mapped to one status and one client-facing code. The
/// detail (addresses, SDK errors) goes to the log; the client gets the code and a fixed text.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The path could leave `/api/v1/`.
    #[error("request path refused")]
    BadPath(#[source] PathError),
    /// The request body is over `MAX_BODY_BYTES`.
    #[error("request body of {size} bytes is over the {limit}-byte limit")]
    BodyTooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The route exists in the contract but is switched off or not built.
    #[error("route not available")]
    NotFound,
    /// SSM could not give the endpoints or the key (and nothing was cached).
    #[error("configuration unavailable")]
    Configuration(#[source] ParameterError),
    /// The endpoint list in SSM is not usable.
    #[error("upstream list in SSM is invalid")]
    UpstreamList(#[source] UpstreamListError),
    /// The key in SSM cannot be sent as a header value.
    #[error("internal key in SSM is not a valid header value")]
    InvalidKey,
    /// A client header cannot be forwarded.
    #[error("request header not forwardable")]
    BadHeader,
    /// `POST /ingest/sensor-data` did not enqueue every reading.
    #[error("sensor readings not ingested")]
    Ingest(#[source] IngestError),
    /// No upstream gave a usable answer.
    #[error("no upstream answered")]
    Upstream(#[source] ForwardError),
    /// The `Idempotency-Key` header is not a usable key.
    #[error("Idempotency-Key header refused")]
    IdempotencyKey(#[source] KeyError),
    /// Another invocation is still serving a request under the same key.
    #[error("a request under the same Idempotency-Key is in progress")]
    IdempotencyInFlight,
    /// The key was used before with a different body.
    #[error("Idempotency-Key reused with a different body")]
    IdempotencyKeyReused,
    /// The idempotency records could not be read or written; nothing was enqueued.
    #[error("idempotency records unavailable")]
    Idempotency(#[source] IdempotencyError),
}

/// The request header that makes `POST /ingest/sensor-data` safe to retry
/// (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Set to `true` on an answer replayed from the idempotency record.
pub const IDEMPOTENCY_REPLAYED: &str = "idempotency-replayed";

impl From<HeaderError> for ProxyError {
    fn from(error: HeaderError) -> Self {
        match error {
            HeaderError::InvalidKey => ProxyError::InvalidKey,
            HeaderError::InvalidValue { .. } => ProxyError::BadHeader,
        }
    }
}

/// How long one `SendMessageBatch` call may take: the SDK's attempt timeout for API calls
/// (`shared::aws::api_timeouts`). No ingest batch starts later than this before the deadline.
const INGEST_CALL_ALLOWANCE: Duration = Duration::from_secs(5);

impl ProxyError {
    /// The status, code and message the client sees.
    pub fn public(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ProxyError::BadPath(_) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request path is not allowed",
            ),
            ProxyError::BadHeader => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "a request header cannot be forwarded",
            ),
            ProxyError::BodyTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            ),
            ProxyError::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such route"),
            ProxyError::Ingest(IngestError::TooMany { .. }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_readings",
                "too many readings in one request; nothing was queued: send them in smaller requests",
            ),
            ProxyError::Ingest(IngestError::Enqueue { .. }) => (
                StatusCode::BAD_GATEWAY,
                "enqueue_failed",
                "some readings could not be queued; resend the ones listed as failed",
            ),
            ProxyError::Ingest(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_readings",
                "the body must be valid sensor readings; nothing was queued",
            ),
            ProxyError::Configuration(_) | ProxyError::UpstreamList(_) | ProxyError::InvalidKey => {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "configuration_unavailable",
                    "the proxy's configuration is unavailable; try again shortly",
                )
            }
            ProxyError::Upstream(ForwardError::DeadlineExceeded { .. }) => (
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                "the upstream did not answer in time",
            ),
            ProxyError::Upstream(_) => (
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                "no upstream could serve the request",
            ),
            ProxyError::IdempotencyKey(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "the Idempotency-Key header must be 1 to 256 visible ASCII characters; nothing was queued",
            ),
            ProxyError::IdempotencyInFlight => (
                StatusCode::CONFLICT,
                "request_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ),
            ProxyError::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different body; a new request needs a new key",
            ),
            ProxyError::Idempotency(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "idempotency_unavailable",
                "the request could not be made safe to retry just now; nothing was queued: retry shortly",
            ),
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), where waiting helps.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ProxyError::IdempotencyInFlight | ProxyError::Idempotency(_) => Some(1),
            _ => None,
        }
    }

    /// The JSON body the client gets for this error.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        let (_, code, message) = self.public();
        let mut body = json!({"error": code, "message": message, "requestId": request_id});
        if let (Some(extra), Some(fields)) = (self.details(), body.as_object_mut()) {
            fields.extend(extra.as_object().cloned().unwrap_or_default());
        }
        body
    }

    /// Extra fields for the error body: the sender's own data, never internal detail.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            ProxyError::Ingest(IngestError::Invalid(invalid)) => Some(json!({ "errors": invalid })),
            ProxyError::Ingest(IngestError::TooMany { received, limit }) => {
                Some(json!({ "received": received, "limit": limit }))
            }
            ProxyError::IdempotencyKey(reason) => Some(json!({ "reason": reason.to_string() })),
            ProxyError::Ingest(IngestError::Enqueue {
                accepted, failed, ..
            }) => Some(json!({
                "accepted": accepted.iter().map(|(index, id)| json!({"index": index, "messageId": id})).collect::<Vec<_>>(),
                "failed": failed,
            })),
            _ => None,
        }
    }
}

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

/// The endpoints and key, as read from SSM for one request.
struct Settings {
    upstreams: Vec<Upstream>,
    key: SecretString,
    age: Duration,
}

impl<S, H, Q, C> Proxy<S, H, Q, C>
where
    S: ParameterSource,
    H: UpstreamClient,
    Q: MessageQueue,
    C: Clock + Clone,
{
    /// Builds the proxy from its configuration and ports, without idempotency records (see
    /// [`Proxy::with_idempotency`]).
    pub fn new(config: ProxyConfig, source: S, client: H, queue: Q, clock: C) -> Self {
        let params = ParameterStore::with_clock(source, config.param_ttl, clock.clone());
        let breakers = CircuitBreakers::new(
            config.breaker_failures,
            config.breaker_cool_down,
            clock.clone(),
        );
        let rules = ValidationRules {
            max_age: config.max_reading_age,
            ..ValidationRules::default()
        };
        Self {
            config,
            params,
            breakers,
            clock,
            last_forced_refresh: std::sync::Mutex::new(None),
            client,
            queue,
            rules,
            idempotency: None,
        }
    }
}

impl<S, H, Q, C, I> Proxy<S, H, Q, C, I> {
    /// The same proxy, honouring `Idempotency-Key` on ingestion with records in `idempotency`.
    pub fn with_idempotency<J: IdempotencyStore>(
        self,
        idempotency: Idempotency<J>,
    ) -> Proxy<S, H, Q, C, J> {
        Proxy {
            config: self.config,
            params: self.params,
            breakers: self.breakers,
            clock: self.clock,
            last_forced_refresh: self.last_forced_refresh,
            client: self.client,
            queue: self.queue,
            rules: self.rules,
            idempotency: Some(idempotency),
        }
    }
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

    /// Handles one API Gateway request. Never fails: every error becomes a JSON response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let client = client_context(&request);
        let budget = time_budget(&request, self.config.deadline_margin);
        let method = request.method().clone();
        let path = request.raw_http_path().to_owned();
        let result = match route(method.as_str(), &path) {
            Route::Forward => self.forward(request, &path, &client, budget).await,
            Route::Health => self.health(budget).await,
            Route::IngestSensorData => match self.config.sensor_queue_url.as_deref() {
                Some(queue_url) => self.ingest(&request, queue_url, &client, budget).await,
                None => Err(ProxyError::NotFound),
            },
            Route::Unknown => Err(ProxyError::NotFound),
        };
        result.unwrap_or_else(|error| {
            let (status, _, _) = error.public();
            if status.is_server_error() {
                tracing::error!(error = &error as &dyn std::error::Error, status = status.as_u16(), %method, "request failed");
            } else {
                tracing::warn!(error = %chain(&error), status = status.as_u16(), %method, "request refused");
            }
            let mut response = json_response(status, &error.body(&client.request_id));
            if let Some(seconds) = error.retry_after() {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
            response
        })
    }

    /// The request body, or 413 when it is over `MAX_BODY_BYTES`.
    fn checked_body<'r>(&self, request: &'r Request) -> Result<&'r [u8], ProxyError> {
        let body = request.body().as_ref();
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
    ) -> Result<Settings, ProxyError> {
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

    async fn settings(&self, force_refresh: bool) -> Result<Settings, ProxyError> {
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
        let upstreams = parse_upstreams(list.expose()).map_err(ProxyError::UpstreamList)?;
        Ok(Settings {
            upstreams,
            age: list.age().max(key.age()),
            key: key.secret().clone(),
        })
    }

    async fn forward(
        &self,
        request: Request,
        path: &str,
        client: &ClientContext,
        budget: Duration,
    ) -> Result<Response<Body>, ProxyError> {
        let body = Bytes::copy_from_slice(self.checked_body(&request)?);
        let mut path_and_query = forward_path(path).map_err(ProxyError::BadPath)?;
        if let Some(query) = request.uri().query().filter(|q| !q.is_empty()) {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        let deadline = tokio::time::Instant::now() + budget;
        let settings = self.settings_by(deadline, false).await?;
        let headers = upstream_request_headers(request.headers(), client, &settings.key)?;
        let outgoing = OutgoingRequest {
            method: request.method().clone(),
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
                        upstream_request_headers(request.headers(), client, &fresh.key)?;
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
        Ok(into_lambda_response(
            forwarded.response.status,
            &forwarded.response.headers,
            forwarded.response.body,
        ))
    }

    async fn ingest(
        &self,
        request: &Request,
        queue_url: &str,
        client: &ClientContext,
        budget: Duration,
    ) -> Result<Response<Body>, ProxyError> {
        let body = self.checked_body(request)?;
        let key = request
            .headers()
            .get(IDEMPOTENCY_KEY)
            .map(|value| IdempotencyKey::parse(value.as_bytes()))
            .transpose()
            .map_err(ProxyError::IdempotencyKey)?;
        let now = chrono::Utc::now();
        // A batch call started later than this could outlive the invocation: one SQS call is
        // given up to INGEST_CALL_ALLOWANCE by the SDK's attempt timeout.
        let start_by = tokio::time::Instant::now() + budget.saturating_sub(INGEST_CALL_ALLOWANCE);
        let enqueue = || async move {
            let message_ids = ingest(
                &self.queue,
                queue_url,
                body,
                now,
                &self.rules,
                Some(start_by),
            )
            .await
            .map_err(ProxyError::Ingest)?;
            counter!("ReadingsEnqueued").increment(message_ids.len() as u64);
            tracing::info!(readings = message_ids.len(), "sensor readings enqueued");
            Ok(
                json!({"accepted": message_ids.len(), "messageIds": message_ids, "requestId": client.request_id}),
            )
        };
        let (Some(idempotency), Some(key)) = (&self.idempotency, key) else {
            return enqueue()
                .await
                .map(|answer| json_response(StatusCode::ACCEPTED, &answer));
        };

        let deadline = now + chrono::Duration::from_std(budget).unwrap_or(chrono::Duration::MAX);
        let decision =
            tokio::time::timeout_at(start_by, idempotency.begin(&key, body, now, deadline))
                .await
                .unwrap_or_else(|_| {
                    Err(IdempotencyError::Unavailable(
                        "no answer from the idempotency table before the deadline".into(),
                    ))
                })
                .map_err(ProxyError::Idempotency)?;
        let claimed = match decision {
            Decision::Proceed(claimed) => claimed,
            Decision::Replay(data) => return replayed(&data, &idempotency.record_id(&key)),
            Decision::InFlight => return Err(ProxyError::IdempotencyInFlight),
            Decision::PayloadMismatch => return Err(ProxyError::IdempotencyKeyReused),
        };
        let answer = match enqueue().await {
            Ok(answer) => answer,
            // Part of the readings is on the queue: the answer saying which is what a retry
            // under this key must get, so nothing is enqueued twice.
            Err(ProxyError::Ingest(error)) if error.enqueued_any() => {
                let error = ProxyError::Ingest(error);
                let body = error.body(&client.request_id);
                self.store_answer(idempotency, claimed, error.public().0, body)
                    .await;
                return Err(error);
            }
            // Nothing was enqueued: the key is given back, so the client may retry it.
            Err(error) => {
                if let Err(release) = idempotency.release(claimed).await {
                    tracing::error!(
                        error = &release as &dyn std::error::Error,
                        "idempotency key not released; retries under it answer 409 until the invocation's deadline"
                    );
                }
                return Err(error);
            }
        };
        let response = json_response(StatusCode::ACCEPTED, &answer);
        self.store_answer(idempotency, claimed, StatusCode::ACCEPTED, answer)
            .await;
        Ok(response)
    }

    /// Keeps the answer of a claimed request for its retries. A failure here is logged and
    /// counted, not answered: the readings are enqueued, and the client must hear so.
    async fn store_answer(
        &self,
        idempotency: &Idempotency<I>,
        claimed: orabridge_shared::idempotency::Claimed,
        status: StatusCode,
        body: serde_json::Value,
    ) {
        let status = status.as_u16();
        let data = json!(StoredAnswer { status, body }).to_string();
        if let Err(error) = idempotency.finish(claimed, &data, chrono::Utc::now()).await {
            counter!("IdempotencyRecordsNotStored").increment(1);
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "answer not stored; a retry after the invocation's deadline would enqueue the readings again"
            );
        }
    }

    async fn health(&self, budget: Duration) -> Result<Response<Body>, ProxyError> {
        let deadline = tokio::time::Instant::now() + budget;
        let settings = self.settings_by(deadline, false).await?;
        let mut results = Vec::with_capacity(settings.upstreams.len());
        for upstream in &settings.upstreams {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut headers = http::HeaderMap::new();
            // A probe without the key still tells whether the upstream is up.
            if let Ok(key) = internal_key_value(&settings.key) {
                headers.insert(INTERNAL_KEY, key);
            }
            let started = tokio::time::Instant::now();
            let outcome = self
                .client
                .send(
                    UpstreamRequest {
                        method: http::Method::GET,
                        url: format!("{}/health", upstream.base),
                        headers,
                        body: Bytes::new(),
                    },
                    HEALTH_PROBE_TIMEOUT.min(remaining),
                )
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok(response) if response.status.is_success() => {
                    return Ok(json_response(
                        StatusCode::OK,
                        &json!({
                            "status": "ok",
                            "upstream": upstream.role,
                            "latencyMs": latency_ms,
                            "parametersAgeSecs": settings.age.as_secs(),
                        }),
                    ));
                }
                Ok(response) => results.push(json!({"upstream": upstream.role, "result": format!("status {}", response.status.as_u16())})),
                Err(error) => {
                    tracing::warn!(upstream = %upstream.role, error = %chain(&error), "health probe failed");
                    results.push(json!({"upstream": upstream.role, "result": probe_failure(&error)}));
                }
            }
        }
        Ok(json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "status": "unavailable",
                "upstreams": results,
                "parametersAgeSecs": settings.age.as_secs(),
            }),
        ))
    }
}

fn probe_failure(error: &crate::client::SendError) -> &'static str {
    match error {
        crate::client::SendError::Connect(_) => "connect_error",
        crate::client::SendError::Timeout(_) => "timeout",
        crate::client::SendError::ResponseTooLarge { .. } | crate::client::SendError::Failed(_) => {
            "error"
        }
    }
}

/// The answer kept in an idempotency record's `data`, replayed to retries.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredAnswer {
    status: u16,
    body: serde_json::Value,
}

/// The answer stored in record `id`, as first sent, marked as replayed.
fn replayed(data: &str, id: &str) -> Result<Response<Body>, ProxyError> {
    let stored: StoredAnswer = serde_json::from_str(data).map_err(|error| {
        ProxyError::Idempotency(IdempotencyError::Malformed {
            id: id.to_owned(),
            reason: format!("data is not a stored answer: {error}"),
        })
    })?;
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::ACCEPTED);
    counter!("IdempotentReplays").increment(1);
    tracing::info!(
        status = status.as_u16(),
        "answer replayed from the idempotency record"
    );
    let mut response = json_response(status, &stored.body);
    response
        .headers_mut()
        .insert(IDEMPOTENCY_REPLAYED, http::HeaderValue::from_static("true"));
    Ok(response)
}

/// The API Gateway request id and client details of either payload version.
pub fn client_context(request: &Request) -> ClientContext {
    let (request_id, source_ip) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => {
            (ctx.request_id.clone(), ctx.identity.source_ip.clone())
        }
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.request_id.clone(), ctx.http.source_ip.clone())
        }
        _ => (None, None),
    };
    let trace_id = request
        .headers()
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            request
                .lambda_context_ref()
                .and_then(|c| c.xray_trace_id.clone())
        });
    ClientContext {
        request_id: request_id.unwrap_or_default(),
        source_ip,
        trace_id,
    }
}

/// What is left for this request: the Lambda's remaining time or API Gateway's 29 s, whichever
/// ends first, less a margin to send the answer.
fn time_budget(request: &Request, margin: Duration) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    budget(
        request.lambda_context_ref().map(|ctx| ctx.deadline),
        now_ms,
        margin,
    )
}

/// Deadlines before 2001 are not wall-clock times: Lambda sends epoch milliseconds, but some
/// emulators (`cargo lambda watch` sends `600000`) send a duration. Those are ignored rather
/// than read as "already expired", which would turn every request into a 504.
const EARLIEST_PLAUSIBLE_DEADLINE_MS: u64 = 978_307_200_000;

fn budget(deadline_ms: Option<u64>, now_ms: u64, margin: Duration) -> Duration {
    let lambda = deadline_ms
        .filter(|&deadline| deadline >= EARLIEST_PLAUSIBLE_DEADLINE_MS)
        .map(|deadline| Duration::from_millis(deadline.saturating_sub(now_ms)));
    lambda
        .map_or(API_GATEWAY_LIMIT, |l| l.min(API_GATEWAY_LIMIT))
        .saturating_sub(margin)
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_smaller_of_lambda_time_and_the_gateway_limit_less_the_margin() {
        let now = 1_795_000_000_000;
        let margin = Duration::from_millis(500);
        assert_eq!(
            budget(Some(now + 10_000), now, margin),
            Duration::from_millis(9_500)
        );
        assert_eq!(
            budget(Some(now + 900_000), now, margin),
            Duration::from_millis(28_500)
        );
        assert_eq!(budget(Some(now - 5), now, margin), Duration::ZERO);
        assert_eq!(budget(None, now, margin), Duration::from_millis(28_500));
    }

    #[test]
    fn a_deadline_that_is_not_a_wall_clock_time_is_ignored() {
        let now = 1_795_000_000_000;
        assert_eq!(
            budget(Some(600_000), now, Duration::ZERO),
            API_GATEWAY_LIMIT
        );
    }

    #[test]
    fn every_error_maps_to_the_contract_status() {
        let cases = [
            (ProxyError::BadPath(PathError::DotSegment), 400),
            (ProxyError::BodyTooLarge { size: 2, limit: 1 }, 413),
            (ProxyError::NotFound, 404),
            (ProxyError::InvalidKey, 503),
            (ProxyError::from(HeaderError::InvalidKey), 503),
            (
                ProxyError::from(HeaderError::InvalidValue {
                    name: "X-Request-Id",
                }),
                400,
            ),
            (
                ProxyError::Upstream(ForwardError::AllFailed { attempts: vec![] }),
                502,
            ),
            (
                ProxyError::Upstream(ForwardError::ResponseTooLarge { attempts: vec![] }),
                502,
            ),
            (
                ProxyError::Upstream(ForwardError::DeadlineExceeded { attempts: vec![] }),
                504,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.public().0.as_u16(), status, "{error:?}");
        }
    }
}
