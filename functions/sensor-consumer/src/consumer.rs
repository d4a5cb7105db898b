//! The consumer: writes a batch's plan to the object store and sends its alerts, and works out
//! which messages must go back to the queue.
//!
//! Nothing is acknowledged unless it is safely somewhere: a message is reported as failed when
//! its quarantine object, any group object holding one of its readings, or one of its alerts
//! could not be written, or was not written by the invocation's cut-off (a write still in
//! flight then is abandoned, so the answer reaches Lambda before its deadline). Redelivery is
//! safe: a batch delivered again maps onto the same keys, and a message redelivered in another
//! batch lands again under that batch's keys, which the lake's `readingId` view collapses.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use orabridge_shared::metrics::counter;
use orabridge_shared::object_store::ObjectStore;
use orabridge_shared::queue::{MessageQueue, OutgoingMessage, SendOptions, send_all};
use orabridge_shared::sensor::ValidationRules;
use serde::Serialize;
use tokio::time::Instant;

use crate::lake::{Alert, LakeBatch, Plan, PlannedObject, Quarantined};
use crate::thresholds::Thresholds;

/// Where and how the consumer writes.
#[derive(Debug, Clone)]
pub struct WriteSettings {
    /// Key prefix inside the bucket (`PREFIX`).
    pub prefix: String,
    /// Where alerts go (`ALERT_QUEUE_URL`); none means no alerts.
    pub alert_queue_url: Option<String>,
    /// Timestamp limits.
    pub rules: ValidationRules,
    /// Object writes (and alert batches) in flight at once (`WRITE_CONCURRENCY`, default
    /// [`DEFAULT_WRITE_CONCURRENCY`]).
    pub write_concurrency: usize,
    /// Time kept back from the invocation's deadline to answer (`DEADLINE_MARGIN`, default
    /// [`DEFAULT_DEADLINE_MARGIN`]): writes still running then are abandoned and their
    /// messages reported for redelivery.
    pub deadline_margin: Duration,
}

/// The margin unless `DEADLINE_MARGIN` says otherwise: building and posting the partial batch
/// response takes milliseconds; the rest absorbs a slow runtime API and the clock's drift.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// Object writes in flight at once unless `WRITE_CONCURRENCY` says otherwise: enough to hide
/// S3's round trip on a batch of a few hundred objects, well under the SDK's connection pool.
pub const DEFAULT_WRITE_CONCURRENCY: usize = 16;

/// What one batch came to (also the direct invocation's answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Messages received.
    pub received: usize,
    /// Readings accepted (valid), duplicates included.
    pub accepted: usize,
    /// Messages quarantined (written and acknowledged).
    pub quarantined: usize,
    /// Messages that must be retried.
    pub failed: usize,
    /// Of those, messages with a write abandoned or never started because the invocation's
    /// deadline came first.
    pub out_of_time: usize,
    /// In-batch duplicate readings dropped.
    pub duplicates: usize,
    /// Objects written.
    pub objects: Vec<String>,
    /// Alerts sent.
    pub alerts: usize,
}

/// One object write of a batch: a poison message's quarantine object, or a reading group.
enum Write {
    Quarantine { message: usize },
    Group { object: usize },
}

/// Why an object was not written.
#[derive(Debug, thiserror::Error)]
enum WriteFailure {
    #[error(transparent)]
    Store(#[from] orabridge_shared::object_store::ObjectStoreError),
    #[error("not written by the invocation's cut-off")]
    OutOfTime,
}

/// Writes one object unless `cut_off` comes first, and hands back what it was with the
/// outcome. A named `async fn`: the future borrows the store for one lifetime and stays `Send`
/// for the Lambda runtime.
async fn put_one<O: ObjectStore>(
    store: &O,
    write: Write,
    key: String,
    body: Vec<u8>,
    content_type: &'static str,
    cut_off: Option<Instant>,
) -> (Write, String, Result<(), WriteFailure>) {
    if cut_off.is_some_and(|at| Instant::now() >= at) {
        return (write, key, Err(WriteFailure::OutOfTime));
    }
    let put = store.put(&key, body, content_type);
    let outcome = match cut_off {
        None => put.await.map_err(WriteFailure::from),
        // A PUT abandoned here may still land: its messages are redelivered and written again,
        // so nothing is lost; a reading may then be in the lake twice, as after any redelivery.
        Some(at) => match tokio::time::timeout_at(at, put).await {
            Ok(outcome) => outcome.map_err(WriteFailure::from),
            Err(_) => Err(WriteFailure::OutOfTime),
        },
    };
    (write, key, outcome)
}

/// The consumer with its ports.
pub struct Consumer<O, Q> {
    store: O,
    queue: Q,
    thresholds: Thresholds,
    settings: WriteSettings,
}

impl<O: ObjectStore, Q: MessageQueue> Consumer<O, Q> {
    /// A consumer writing to `store` and alerting through `queue` (composed by
    /// [`crate::build`]).
    pub(crate) fn new(store: O, queue: Q, thresholds: Thresholds, settings: WriteSettings) -> Self {
        Self {
            store,
            queue,
            thresholds,
            settings,
        }
    }

    /// The object store it writes to.
    pub fn store(&self) -> &O {
        &self.store
    }

    /// An empty batch to add messages to, validated at `now`.
    pub fn batch(&self, now: DateTime<Utc>) -> LakeBatch<'_> {
        LakeBatch::new(
            &self.settings.prefix,
            now,
            &self.settings.rules,
            &self.thresholds,
        )
    }

    /// The margin kept back from each invocation's deadline.
    pub fn deadline_margin(&self) -> Duration {
        self.settings.deadline_margin
    }

    /// Writes a batch's plan and sends its alerts, starting nothing after `cut_off` and
    /// abandoning what still runs then; returns the ids to retry and the summary.
    pub async fn write(&self, plan: Plan, cut_off: Option<Instant>) -> (HashSet<String>, Summary) {
        let mut summary = Summary {
            received: plan.message_ids.len(),
            accepted: plan.accepted,
            duplicates: plan.duplicates,
            ..Summary::default()
        };
        let ids = &plan.message_ids;
        let (writes, mut groups) = object_writes(plan.quarantined, plan.objects);
        let outcomes = self.put_all(writes, cut_off).await;
        let mut failures = Failures::default();
        let mut alerts = Vec::new();
        for (write, key, outcome) in outcomes {
            let late = matches!(outcome, Err(WriteFailure::OutOfTime));
            match (write, outcome) {
                (Write::Quarantine { .. }, Ok(())) => summary.quarantined += 1,
                (Write::Quarantine { message }, Err(error)) => {
                    tracing::error!(messageId = %ids[message], object = %key, error = &error as &dyn std::error::Error, "quarantine write failed; message will be retried");
                    failures.add(ids, [message], late);
                }
                (Write::Group { object }, Ok(())) => {
                    summary.objects.push(key);
                    alerts.append(&mut groups[object].alerts);
                }
                (Write::Group { object }, Err(error)) => {
                    let messages = &groups[object].messages;
                    tracing::error!(object = %key, messages = messages.len(), error = &error as &dyn std::error::Error, "group write failed; its messages will be retried");
                    failures.add(ids, messages.iter().copied(), late);
                }
            }
        }
        summary.alerts = self.send_alerts(&alerts, ids, cut_off, &mut failures).await;
        summary.failed = failures.ids.len();
        summary.out_of_time = failures.out_of_time.len();
        count(&summary);
        (failures.ids, summary)
    }

    /// Writes every object of the batch concurrently, at most `write_concurrency` at a time,
    /// and hands back the outcomes in the plan's order: quarantine objects, then groups by
    /// sensor type and hour, so alerts go out in the order of their readings' groups.
    ///
    /// In production each write is an S3 PUT over the network, and written one after another
    /// their round trips add up (97 % of a 2,000-message batch's time with 20 ms per request:
    /// BENCHMARKS.md, "with production latency"). A write starts as soon as any other ends
    /// (`buffer_unordered`: with `buffered`, one stalled PUT would hold back every write queued
    /// behind the bound until the cut-off); nothing is acknowledged until all of them are in.
    async fn put_all(
        &self,
        writes: Vec<ObjectWrite>,
        cut_off: Option<Instant>,
    ) -> Vec<(Write, String, Result<(), WriteFailure>)> {
        let store = &self.store;
        // Made into a Vec first: a stream over a mapping closure is not `Send` (see send_all).
        let puts: Vec<_> = writes
            .into_iter()
            .map(|(write, key, body, content_type)| {
                put_one(store, write, key, body, content_type, cut_off)
            })
            .collect();
        let mut outcomes: Vec<_> = stream::iter(puts)
            .buffer_unordered(self.settings.write_concurrency.max(1))
            .collect()
            .await;
        outcomes.sort_by_key(|(write, _, _)| match write {
            Write::Quarantine { message } => (0, *message),
            Write::Group { object } => (1, *object),
        });
        outcomes
    }

    /// Sends alerts, none after `cut_off`; a message whose alert could not be sent is retried
    /// (its objects are simply rewritten under the same keys, so the only cost of a retry is a
    /// repeated alert, which a FIFO alert queue drops by its deduplication id).
    async fn send_alerts(
        &self,
        alerts: &[Alert],
        ids: &[String],
        cut_off: Option<Instant>,
        failures: &mut Failures,
    ) -> usize {
        let Some(queue_url) = self.settings.alert_queue_url.as_deref() else {
            return 0;
        };
        let messages = alerts
            .iter()
            .enumerate()
            .map(|(i, alert)| {
                OutgoingMessage::new(i.to_string(), alert.body.clone()).for_queue(
                    queue_url,
                    &alert.sensor_id,
                    &alert.reading_id,
                )
            })
            .collect();
        // No retry here: a failed alert fails its message, and SQS redelivers it.
        let options = SendOptions {
            concurrency: self.settings.write_concurrency,
            start_by: cut_off,
            abandon_at: cut_off,
            ..SendOptions::default()
        };
        let report = send_all(&self.queue, queue_url, messages, options).await;
        let alert = |id: &String| id.parse::<usize>().ok().and_then(|i| alerts.get(i));
        failures.ids.extend(
            report
                .failed
                .iter()
                .filter_map(alert)
                .map(|a| ids[a.message].clone()),
        );
        failures
            .out_of_time
            .extend(report.late.iter().filter_map(alert).map(|a| a.message));
        report.sent.len()
    }
}

/// One object to write: what it is, its key, its body and its content type.
type ObjectWrite = (Write, String, Vec<u8>, &'static str);

/// The batch's object writes, quarantine objects first, and the groups whose messages and
/// alerts each group write stands for.
fn object_writes(
    quarantined: Vec<Quarantined>,
    objects: Vec<PlannedObject>,
) -> (Vec<ObjectWrite>, Vec<PlannedObject>) {
    let mut groups = Vec::with_capacity(objects.len());
    let mut writes = Vec::with_capacity(quarantined.len() + objects.len());
    for quarantined in quarantined {
        let body = quarantined.document.to_string().into_bytes();
        let write = Write::Quarantine {
            message: quarantined.message,
        };
        writes.push((write, quarantined.key, body, "application/json"));
    }
    for mut object in objects {
        // The write carries the key and body; the group keeps its messages and alerts.
        let (key, body) = (
            std::mem::take(&mut object.key),
            std::mem::take(&mut object.body),
        );
        let write = Write::Group {
            object: groups.len(),
        };
        writes.push((write, key, body, "application/x-ndjson"));
        groups.push(object);
    }
    (writes, groups)
}

/// The messages to retry, and which of them for want of time.
#[derive(Default)]
struct Failures {
    ids: HashSet<String>,
    out_of_time: HashSet<usize>,
}

impl Failures {
    /// Fails `messages` (positions in `ids`); `late` when their write ran out of time.
    fn add(&mut self, ids: &[String], messages: impl IntoIterator<Item = usize>, late: bool) {
        for message in messages {
            self.ids.insert(ids[message].clone());
            if late {
                self.out_of_time.insert(message);
            }
        }
    }
}

/// Counts what the batch came to, as CloudWatch metrics.
fn count(summary: &Summary) {
    counter!("Received").increment(summary.received as u64);
    counter!("Accepted").increment(summary.accepted as u64);
    counter!("Quarantined").increment(summary.quarantined as u64);
    counter!("Failed").increment(summary.failed as u64);
    counter!("OutOfTime").increment(summary.out_of_time as u64);
    counter!("Duplicates").increment(summary.duplicates as u64);
    counter!("ObjectsWritten").increment(summary.objects.len() as u64);
    counter!("AlertsSent").increment(summary.alerts as u64);
}
