//! The message queue port ([`MessageQueue`]) with its SQS adapter and an in-memory one.
//!
//! Sending is always batched: SQS `SendMessageBatch` takes at most ten messages and 256 KiB per
//! call, and [`batches`] splits a list to fit both. A batch call can succeed for some entries
//! and fail for others, so the result is per entry: callers retry or report exactly the ones
//! that failed.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::stream::{self, StreamExt};

use crate::errors::BoxError;

/// SQS `SendMessageBatch` takes at most ten entries.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// ... and at most 256 KiB of message bodies in total.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// One message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The entry id, unique within a batch, echoed in the outcome.
    pub id: String,
    /// The message body.
    pub body: String,
    /// The message group (`MessageGroupId`), which a FIFO queue requires of every message and
    /// orders by; ignored by a standard queue, so it is set only for a FIFO URL.
    pub group_id: Option<String>,
    /// The deduplication id (`MessageDeduplicationId`): a FIFO queue drops a second message
    /// with the same id sent within five minutes. Required by a FIFO queue without
    /// content-based deduplication.
    pub deduplication_id: Option<String>,
}

impl OutgoingMessage {
    /// A message for a standard queue.
    pub fn new(id: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            body: body.into(),
            ..Self::default()
        }
    }

    /// The same message with its FIFO group and deduplication id, when `queue_url` is a FIFO
    /// queue's ([`is_fifo_url`]); unchanged for a standard queue.
    pub fn for_queue(mut self, queue_url: &str, group_id: &str, deduplication_id: &str) -> Self {
        if is_fifo_url(queue_url) {
            self.group_id = Some(group_id.to_owned());
            self.deduplication_id = Some(deduplication_id.to_owned());
        }
        self
    }
}

/// Whether `queue_url` names a FIFO queue: SQS requires a FIFO queue's name to end in `.fifo`
/// ("Amazon SQS FIFO queue quotas"/"FIFO queue key terms", SQS Developer Guide).
pub fn is_fifo_url(queue_url: &str) -> bool {
    queue_url.ends_with(".fifo")
}

/// What happened to one entry of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted, with the queue's message id.
    Sent {
        /// The entry id.
        id: String,
        /// The queue's message id.
        message_id: String,
    },
    /// Refused.
    Failed {
        /// The entry id.
        id: String,
        /// The queue's error code.
        code: String,
        /// True when resending the same entry cannot succeed.
        sender_fault: bool,
    },
}

/// The whole batch call failed (network, throttling, permissions): no entry was accepted.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct QueueError {
    operation: &'static str,
    #[source]
    source: BoxError,
}

impl QueueError {
    /// Wraps an adapter error.
    pub fn new(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

/// A queue that accepts batches of messages.
pub trait MessageQueue: Send + Sync {
    /// Sends one batch (at most [`MAX_BATCH_ENTRIES`] entries, [`MAX_BATCH_BYTES`] bytes).
    fn send_batch(
        &self,
        queue_url: &str,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<Vec<SendOutcome>, QueueError>> + Send;
}

/// Splits `messages` into batches that respect both SQS batch limits, keeping their order.
pub fn batches(messages: &[OutgoingMessage]) -> Vec<&[OutgoingMessage]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, message) in messages.iter().enumerate() {
        let full =
            index - start == MAX_BATCH_ENTRIES || bytes + message.body.len() > MAX_BATCH_BYTES;
        if full && index > start {
            out.push(&messages[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += message.body.len();
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

/// Batch calls [`send_all`] callers keep in flight unless configured otherwise: ten SQS round
/// trips at once hide most of the latency of a large send without crowding the connection pool.
pub const DEFAULT_SEND_CONCURRENCY: usize = 10;

/// What [`send_all`] achieved, by entry id.
#[derive(Debug, Default)]
pub struct SendReport {
    /// (entry id, queue message id) of every accepted message, in no particular order.
    pub sent: Vec<(String, String)>,
    /// Entry ids still not accepted after the retries.
    pub failed: Vec<String>,
    /// The last whole-call failure, if a batch call failed outright.
    pub last_error: Option<QueueError>,
    /// Messages (of the last attempt) not sent because `start_by` had passed.
    pub not_started: usize,
    /// Messages (of the last attempt) whose call was still running at `abandon_at`: reported
    /// as failed, though the queue may have taken them.
    pub abandoned: usize,
    /// Entry ids (among `failed`) that failed because a deadline came first: not started, or
    /// abandoned.
    pub late: Vec<String>,
}

/// How [`send_all`] sends.
#[derive(Debug, Clone, Copy)]
pub struct SendOptions {
    /// Resends of what was refused (per entry or by a failed call).
    pub retries: usize,
    /// Batch calls in flight at once (a FIFO queue always gets one).
    pub concurrency: usize,
    /// No batch call starts after this instant: its messages are reported as failed, never
    /// sent, so a caller near its deadline knows exactly what went out. Calls already started
    /// run to their end unless `abandon_at` says otherwise.
    pub start_by: Option<tokio::time::Instant>,
    /// A call still running at this instant is abandoned and its messages reported as failed
    /// (the queue may have taken them: a caller that must answer by a deadline, and that is
    /// redelivered what it reports, prefers a repeated message to no answer).
    pub abandon_at: Option<tokio::time::Instant>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            retries: 0,
            concurrency: DEFAULT_SEND_CONCURRENCY,
            start_by: None,
            abandon_at: None,
        }
    }
}

/// Sends every message in batches that fit SQS's limits, at most `options.concurrency` batch
/// calls in flight, then resends what was refused up to `options.retries` more times; no call
/// starts after `options.start_by`.
///
/// A FIFO queue (its URL ends in `.fifo`) gets one call at a time whatever `concurrency` says:
/// SQS orders a message group by when its sends arrive, so two batches of one group in flight
/// together could arrive in either order ("Amazon SQS FIFO queues", SQS Developer Guide:
/// "messages are received in the order they are sent" within a message group).
pub async fn send_all<Q: MessageQueue>(
    queue: &Q,
    queue_url: &str,
    messages: Vec<OutgoingMessage>,
    options: SendOptions,
) -> SendReport {
    let in_flight = if is_fifo_url(queue_url) {
        1
    } else {
        options.concurrency.max(1)
    };
    let mut report = SendReport::default();
    let mut pending = messages;
    for _attempt in 0..=options.retries {
        let mut refused = Vec::new();
        report.late.clear();
        // The calls are made into a Vec before they run: a stream over a mapping closure would
        // keep the closure's higher-ranked type in the future, which then is not `Send`.
        let calls: Vec<_> = batches(&pending)
            .into_iter()
            .map(|batch| send_one(queue, queue_url, batch, options))
            .collect();
        // Unordered: a stalled call must not hold back the ones queued behind the bound (to a
        // FIFO queue one call is in flight at a time, so its order is kept all the same).
        let answers: Vec<_> = stream::iter(calls)
            .buffer_unordered(in_flight)
            .collect()
            .await;
        for (batch, call) in answers {
            report.account(batch, call, &mut refused);
        }
        pending = refused;
        let now = tokio::time::Instant::now();
        let late = [options.start_by, options.abandon_at]
            .into_iter()
            .flatten()
            .any(|at| now >= at);
        if pending.is_empty() || late {
            break;
        }
    }
    report.failed = pending.into_iter().map(|m| m.id).collect();
    report
}

impl SendReport {
    /// Records what became of one batch call; the messages to send again go to `refused`.
    fn account(
        &mut self,
        batch: &[OutgoingMessage],
        call: Call,
        refused: &mut Vec<OutgoingMessage>,
    ) {
        let answer = match call {
            Call::Answered(answer) => answer,
            Call::NotStarted => {
                self.not_started += batch.len();
                self.late.extend(batch.iter().map(|m| m.id.clone()));
                refused.extend(batch.iter().cloned());
                return;
            }
            Call::Abandoned => {
                tracing::warn!(
                    messages = batch.len(),
                    "queue batch call abandoned at the deadline"
                );
                self.abandoned += batch.len();
                self.late.extend(batch.iter().map(|m| m.id.clone()));
                refused.extend(batch.iter().cloned());
                return;
            }
        };
        match answer {
            Ok(outcomes) => {
                for outcome in outcomes {
                    match outcome {
                        SendOutcome::Sent { id, message_id } => self.sent.push((id, message_id)),
                        SendOutcome::Failed {
                            id,
                            code,
                            sender_fault,
                        } => {
                            tracing::warn!(entry = %id, code = %code, sender_fault, "queue refused a message");
                            refused.extend(batch.iter().find(|m| m.id == id).cloned());
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "queue batch call failed"
                );
                refused.extend(batch.iter().cloned());
                self.last_error = Some(error);
            }
        }
    }
}

/// What became of one batch call.
enum Call {
    /// The queue answered (or the call failed).
    Answered(Result<Vec<SendOutcome>, QueueError>),
    /// Not made: `start_by` had passed.
    NotStarted,
    /// Still running at `abandon_at`, and dropped.
    Abandoned,
}

/// One batch call with the batch it sent. A named `async fn` rather than a closure: the future
/// then has one lifetime for its borrows, and stays `Send` for the Lambda runtime.
async fn send_one<'a, Q: MessageQueue>(
    queue: &'a Q,
    queue_url: &'a str,
    batch: &'a [OutgoingMessage],
    options: SendOptions,
) -> (&'a [OutgoingMessage], Call) {
    let now = tokio::time::Instant::now();
    if [options.start_by, options.abandon_at]
        .into_iter()
        .flatten()
        .any(|at| now >= at)
    {
        return (batch, Call::NotStarted);
    }
    let call = queue.send_batch(queue_url, batch);
    let outcome = match options.abandon_at {
        None => Call::Answered(call.await),
        Some(at) => match tokio::time::timeout_at(at, call).await {
            Ok(answer) => Call::Answered(answer),
            Err(_) => Call::Abandoned,
        },
    };
    (batch, outcome)
}

/// The SQS adapter. Clones share one client.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: SqsClient,
}

#[derive(Debug, Clone)]
enum SqsClient {
    Built(aws_sdk_sqs::Client),
    // Built by the first send, from this configuration.
    OnFirstUse(Arc<(aws_config::SdkConfig, OnceLock<aws_sdk_sqs::Client>)>),
}

impl SqsQueue {
    /// An adapter over an SQS client (see [`crate::aws::sqs_client`]).
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self {
            client: SqsClient::Built(client),
        }
    }

    /// An adapter whose client is built by its first send. Building an SDK client parses its
    /// service's endpoint-partition table, about a tenth of a millisecond and a quarter of a
    /// function's own start-up; a queue only some invocations write to (alerts, ingestion)
    /// leaves that to the first invocation that needs it.
    pub fn lazy(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: SqsClient::OnFirstUse(Arc::new((sdk.clone(), OnceLock::new()))),
        }
    }

    /// Whether the client has been built (by [`SqsQueue::new`] or a first send).
    pub fn client_built(&self) -> bool {
        match &self.client {
            SqsClient::Built(_) => true,
            SqsClient::OnFirstUse(lazy) => lazy.1.get().is_some(),
        }
    }

    fn client(&self) -> &aws_sdk_sqs::Client {
        match &self.client {
            SqsClient::Built(client) => client,
            SqsClient::OnFirstUse(lazy) => lazy.1.get_or_init(|| crate::aws::sqs_client(&lazy.0)),
        }
    }
}

impl MessageQueue for SqsQueue {
    async fn send_batch(
        &self,
        queue_url: &str,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<SendOutcome>, QueueError> {
        let entries = messages
            .iter()
            .map(|m| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(&m.id)
                    .message_body(&m.body)
                    .set_message_group_id(m.group_id.clone())
                    .set_message_deduplication_id(m.deduplication_id.clone())
                    .build()
                    .map_err(|err| QueueError::new("building an SQS batch entry", err))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let response = self
            .client()
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| QueueError::new("SQS SendMessageBatch", err))?;
        let sent = response.successful().iter().map(|ok| SendOutcome::Sent {
            id: ok.id().to_owned(),
            message_id: ok.message_id().to_owned(),
        });
        let failed = response.failed().iter().map(|err| SendOutcome::Failed {
            id: err.id().to_owned(),
            code: err.code().to_owned(),
            sender_fault: err.sender_fault(),
        });
        Ok(sent.chain(failed).collect())
    }
}

/// An in-memory queue for tests: records what it accepted, and can be told to refuse whole
/// calls or particular entry ids. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    state: Arc<Mutex<MemoryQueueState>>,
}

#[derive(Debug, Default)]
struct MemoryQueueState {
    accepted: Vec<(String, OutgoingMessage)>,
    unavailable: bool,
    refuse_bodies_containing: Option<String>,
    calls: usize,
}

impl MemoryQueue {
    /// An empty, available queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryQueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message accepted so far, with its queue URL.
    pub fn accepted(&self) -> Vec<(String, OutgoingMessage)> {
        self.state().accepted.clone()
    }

    /// How many batch calls were made.
    pub fn calls(&self) -> usize {
        self.state().calls
    }

    /// Makes whole calls fail (`false`) or succeed (`true`).
    pub fn set_available(&self, available: bool) {
        self.state().unavailable = !available;
    }

    /// Refuses (per entry) every message whose body contains `needle`.
    pub fn refuse_bodies_containing(&self, needle: Option<&str>) {
        self.state().refuse_bodies_containing = needle.map(str::to_owned);
    }
}

impl MessageQueue for MemoryQueue {
    async fn send_batch(
        &self,
        queue_url: &str,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<SendOutcome>, QueueError> {
        let mut state = self.state();
        state.calls += 1;
        if state.unavailable {
            return Err(QueueError::new(
                "in-memory queue",
                "queue marked unavailable",
            ));
        }
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            let refused = state
                .refuse_bodies_containing
                .as_deref()
                .is_some_and(|needle| message.body.contains(needle));
            if refused {
                outcomes.push(SendOutcome::Failed {
                    id: message.id.clone(),
                    code: "InternalError".into(),
                    sender_fault: false,
                });
            } else {
                let message_id = format!("mem-{}", state.accepted.len() + 1);
                state.accepted.push((queue_url.to_owned(), message.clone()));
                outcomes.push(SendOutcome::Sent {
                    id: message.id.clone(),
                    message_id,
                });
            }
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: usize, size: usize) -> OutgoingMessage {
        OutgoingMessage::new(id.to_string(), "x".repeat(size))
    }

    #[test]
    fn batches_hold_at_most_ten_messages_in_order() {
        let messages: Vec<_> = (0..23).map(|i| message(i, 10)).collect();
        let sizes: Vec<_> = batches(&messages).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert_eq!(batches(&messages)[2][0].id, "20");
    }

    #[test]
    fn batches_stay_under_the_byte_limit() {
        let messages: Vec<_> = (0..4).map(|i| message(i, 100 * 1024)).collect();
        let sizes: Vec<_> = batches(&messages).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2]);
    }

    /// A queue that counts the batch calls in flight, keeping each open a few milliseconds so
    /// overlapping calls overlap, and records the order messages arrive in.
    #[derive(Default)]
    struct OverlapQueue {
        in_flight: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
        arrived: Mutex<Vec<String>>,
    }

    impl MessageQueue for OverlapQueue {
        async fn send_batch(
            &self,
            _queue_url: &str,
            messages: &[OutgoingMessage],
        ) -> Result<Vec<SendOutcome>, QueueError> {
            use std::sync::atomic::Ordering;
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            // Later batches answer sooner: concurrent calls would arrive out of order.
            let wait = 30u64.saturating_sub(messages[0].id.parse::<u64>().unwrap_or(0));
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            self.arrived
                .lock()
                .expect("lock")
                .extend(messages.iter().map(|m| m.id.clone()));
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(messages
                .iter()
                .map(|m| SendOutcome::Sent {
                    id: m.id.clone(),
                    message_id: format!("mid-{}", m.id),
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn batches_go_out_concurrently_up_to_the_bound_except_to_a_fifo_queue() {
        let messages = || (0..30).map(|i| message(i, 10)).collect::<Vec<_>>();
        for (url, bound, most) in [
            ("https://sqs.us-east-1.amazonaws.com/1/readings", 2, 2),
            ("https://sqs.us-east-1.amazonaws.com/1/readings", 8, 3),
            ("https://sqs.us-east-1.amazonaws.com/1/readings.fifo", 8, 1),
        ] {
            let queue = OverlapQueue::default();
            let options = SendOptions {
                concurrency: bound,
                ..SendOptions::default()
            };
            let report = send_all(&queue, url, messages(), options).await;
            assert_eq!(report.sent.len(), 30, "{url}");
            assert_eq!(
                queue.most.load(std::sync::atomic::Ordering::SeqCst),
                most,
                "{url} with {bound}: three batches of ten"
            );
            if url.ends_with(".fifo") {
                let arrived = queue.arrived.lock().expect("lock").clone();
                let sent: Vec<String> = (0..30).map(|i| i.to_string()).collect();
                assert_eq!(arrived, sent, "a FIFO queue receives in the order sent");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_call_starts_after_the_deadline_and_what_was_not_sent_is_reported() {
        // Paused time: each call takes 30 ms less its first id (see OverlapQueue), one at a
        // time; calls start at 0, 30 and 50 ms, so a deadline at 40 ms lets two through.
        let queue = OverlapQueue::default();
        let start = tokio::time::Instant::now();
        let report = send_all(
            &queue,
            "https://sqs.us-east-1.amazonaws.com/1/readings",
            (0..30).map(|i| message(i, 10)).collect(),
            SendOptions {
                retries: 1,
                concurrency: 1,
                start_by: Some(start + std::time::Duration::from_millis(40)),
                ..SendOptions::default()
            },
        )
        .await;
        assert_eq!(report.sent.len(), 20);
        assert_eq!(report.not_started, 10);
        let failed: Vec<String> = (20..30).map(|i| i.to_string()).collect();
        assert_eq!(report.failed, failed);
        assert_eq!(
            queue.arrived.lock().expect("lock").len(),
            20,
            "the rest never left"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_still_running_at_abandon_at_is_dropped_and_its_messages_reported() {
        // Paused time: the first call (ids 0..10) takes 30 ms, the second 20 ms, one at a
        // time; abandoning at 40 ms drops the second in flight and starts no third.
        let queue = OverlapQueue::default();
        let start = tokio::time::Instant::now();
        let at = start + std::time::Duration::from_millis(40);
        let report = send_all(
            &queue,
            "https://sqs.us-east-1.amazonaws.com/1/readings",
            (0..30).map(|i| message(i, 10)).collect(),
            SendOptions {
                retries: 2,
                concurrency: 1,
                start_by: Some(at),
                abandon_at: Some(at),
            },
        )
        .await;
        assert_eq!(tokio::time::Instant::now(), at, "no later than abandon_at");
        assert_eq!(report.sent.len(), 10);
        assert_eq!((report.abandoned, report.not_started), (10, 10));
        assert_eq!(report.late, report.failed);
        let failed: Vec<String> = (10..30).map(|i| i.to_string()).collect();
        assert_eq!(report.failed, failed, "no retry after abandon_at");
    }

    #[test]
    fn fifo_keys_are_set_only_for_a_fifo_queue() {
        let standard = OutgoingMessage::new("0", "{}").for_queue("https://q/alerts", "WL-1", "r1");
        assert_eq!((standard.group_id, standard.deduplication_id), (None, None));
        let fifo = OutgoingMessage::new("0", "{}").for_queue("https://q/alerts.fifo", "WL-1", "r1");
        assert_eq!(fifo.group_id.as_deref(), Some("WL-1"));
        assert_eq!(fifo.deduplication_id.as_deref(), Some("r1"));
    }

    #[tokio::test]
    async fn send_all_retries_refused_entries_and_reports_what_still_fails() {
        let queue = MemoryQueue::new();
        queue.refuse_bodies_containing(Some("bad"));
        let messages = vec![
            OutgoingMessage::new("0", "ok"),
            OutgoingMessage::new("1", "bad"),
        ];
        let report = send_all(
            &queue,
            "q",
            messages,
            SendOptions {
                retries: 1,
                ..SendOptions::default()
            },
        )
        .await;
        assert_eq!(
            report
                .sent
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
            ["0"]
        );
        assert_eq!(report.failed, ["1"]);
        assert_eq!(
            queue.calls(),
            2,
            "one call and one retry of the refused entry"
        );
    }

    #[tokio::test]
    async fn send_all_reports_every_message_when_the_queue_is_down() {
        let queue = MemoryQueue::new();
        queue.set_available(false);
        let messages = (0..12)
            .map(|i| OutgoingMessage::new(i.to_string(), "x"))
            .collect();
        let report = send_all(&queue, "q", messages, SendOptions::default()).await;
        assert_eq!(report.failed.len(), 12);
        assert!(report.sent.is_empty() && report.last_error.is_some());
        assert_eq!(queue.calls(), 2, "two batches, no retry");
    }

    #[test]
    fn no_messages_make_no_batches() {
        assert!(batches(&[]).is_empty());
    }
}
