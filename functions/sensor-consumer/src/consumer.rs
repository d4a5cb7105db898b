//! The consumer: writes a batch's plan to the object store and sends its alerts, and works out
//! which messages must go back to the queue.
//!
//! Nothing is acknowledged unless it is safely somewhere: a message is reported as failed when
//! its quarantine object, any group object holding one of its readings, or one of its alerts
//! could not be written. Redelivery is safe because every key is deterministic.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use orabridge_shared::metrics::counter;
use orabridge_shared::object_store::ObjectStore;
use orabridge_shared::queue::{MessageQueue, OutgoingMessage, SendOptions, send_all};
use orabridge_shared::sensor::ValidationRules;
use serde::Serialize;

use crate::lake::{Alert, LakeBatch, Plan};
use crate::thresholds::Thresholds;

/// Where and how the consumer writes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Key prefix inside the bucket (`PREFIX`).
    pub prefix: String,
    /// Where alerts go (`ALERT_QUEUE_URL`); none means no alerts.
    pub alert_queue_url: Option<String>,
    /// Timestamp limits.
    pub rules: ValidationRules,
    /// Object writes (and alert batches) in flight at once (`WRITE_CONCURRENCY`, default
    /// [`DEFAULT_WRITE_CONCURRENCY`]).
    pub write_concurrency: usize,
}

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

/// Writes one object and hands back what it was with the outcome. A named `async fn`: the
/// future borrows the store for one lifetime and stays `Send` for the Lambda runtime.
async fn put_one<O: ObjectStore>(
    store: &O,
    write: Write,
    key: String,
    body: Vec<u8>,
    content_type: &'static str,
) -> (
    Write,
    String,
    Result<(), orabridge_shared::object_store::ObjectStoreError>,
) {
    let outcome = store.put(&key, body, content_type).await;
    (write, key, outcome)
}

/// The consumer with its ports.
pub struct Consumer<O, Q> {
    store: O,
    queue: Q,
    thresholds: Thresholds,
    settings: Settings,
}

impl<O: ObjectStore, Q: MessageQueue> Consumer<O, Q> {
    /// A consumer writing to `store` and alerting through `queue`.
    pub fn new(store: O, queue: Q, thresholds: Thresholds, settings: Settings) -> Self {
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

    /// Writes a batch's plan and sends its alerts; returns the ids to retry and the summary.
    pub async fn write(&self, plan: Plan) -> (HashSet<String>, Summary) {
        let mut failed = HashSet::new();
        let mut summary = Summary {
            received: plan.message_ids.len(),
            accepted: plan.accepted,
            duplicates: plan.duplicates,
            ..Summary::default()
        };
        let ids = &plan.message_ids;

        // Every object of the batch is written concurrently, at most `write_concurrency` at a
        // time: in production each is an S3 PUT over the network, and written one after another
        // their round trips add up (issue 21: 97 % of a 2,000-message batch's time). The outcomes
        // come back in the plan's order (`buffered`), and nothing is acknowledged until all of
        // them are in.
        let store = &self.store;
        let mut groups = Vec::with_capacity(plan.objects.len());
        let mut writes = Vec::with_capacity(plan.quarantined.len() + plan.objects.len());
        for quarantined in plan.quarantined {
            let body = quarantined.document.to_string().into_bytes();
            writes.push((
                Write::Quarantine {
                    message: quarantined.message,
                },
                quarantined.key,
                body,
                "application/json",
            ));
        }
        for mut object in plan.objects {
            // The write carries the key and body; the group keeps its messages and alerts.
            let (key, body) = (
                std::mem::take(&mut object.key),
                std::mem::take(&mut object.body),
            );
            writes.push((
                Write::Group {
                    object: groups.len(),
                },
                key,
                body,
                "application/x-ndjson",
            ));
            groups.push(object);
        }
        // Made into a Vec first: a stream over a mapping closure is not `Send` (see send_all).
        let puts: Vec<_> = writes
            .into_iter()
            .map(|(write, key, body, content_type)| put_one(store, write, key, body, content_type))
            .collect();
        let outcomes: Vec<_> = stream::iter(puts)
            .buffered(self.settings.write_concurrency.max(1))
            .collect()
            .await;

        let mut alerts = Vec::new();
        for (write, key, outcome) in outcomes {
            match (write, outcome) {
                (Write::Quarantine { .. }, Ok(())) => summary.quarantined += 1,
                (Write::Quarantine { message }, Err(error)) => {
                    tracing::error!(messageId = %ids[message], object = %key, error = &error as &dyn std::error::Error, "quarantine write failed; message will be retried");
                    failed.insert(ids[message].clone());
                }
                (Write::Group { object }, Ok(())) => {
                    summary.objects.push(key);
                    alerts.append(&mut groups[object].alerts);
                }
                (Write::Group { object }, Err(error)) => {
                    let messages = &groups[object].messages;
                    tracing::error!(object = %key, messages = messages.len(), error = &error as &dyn std::error::Error, "group write failed; its messages will be retried");
                    failed.extend(messages.iter().map(|&i| ids[i].clone()));
                }
            }
        }

        summary.alerts = self.send_alerts(&alerts, ids, &mut failed).await;
        summary.failed = failed.len();
        counter!("Received").increment(summary.received as u64);
        counter!("Accepted").increment(summary.accepted as u64);
        counter!("Quarantined").increment(summary.quarantined as u64);
        counter!("Failed").increment(summary.failed as u64);
        counter!("Duplicates").increment(summary.duplicates as u64);
        counter!("ObjectsWritten").increment(summary.objects.len() as u64);
        counter!("AlertsSent").increment(summary.alerts as u64);
        (failed, summary)
    }

    /// Sends alerts; a message whose alert could not be sent is retried (its objects are simply
    /// rewritten under the same keys, so the only cost of a retry is a repeated alert).
    async fn send_alerts(
        &self,
        alerts: &[Alert],
        ids: &[String],
        failed: &mut HashSet<String>,
    ) -> usize {
        let Some(queue_url) = self.settings.alert_queue_url.as_deref() else {
            return 0;
        };
        let messages = alerts
            .iter()
            .enumerate()
            .map(|(i, alert)| OutgoingMessage {
                id: i.to_string(),
                body: alert.body.clone(),
            })
            .collect();
        // No retry here: a failed alert fails its message, and SQS redelivers it.
        let options = SendOptions {
            concurrency: self.settings.write_concurrency,
            ..SendOptions::default()
        };
        let report = send_all(&self.queue, queue_url, messages, options).await;
        for id in &report.failed {
            let alert = id.parse::<usize>().ok().and_then(|i| alerts.get(i));
            failed.extend(alert.map(|alert| ids[alert.message].clone()));
        }
        report.sent.len()
    }
}
