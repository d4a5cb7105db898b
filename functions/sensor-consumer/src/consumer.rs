//! The consumer: writes a batch's plan to the object store and sends its alerts, and works out
//! which messages must go back to the queue.
//!
//! Nothing is acknowledged unless it is safely somewhere: a message is reported as failed when
//! its quarantine object, any group object holding one of its readings, or one of its alerts
//! could not be written. Redelivery is safe because every key is deterministic.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use orabridge_shared::metrics::counter;
use orabridge_shared::object_store::ObjectStore;
use orabridge_shared::queue::{MessageQueue, OutgoingMessage, send_all};
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
}

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

        for quarantined in plan.quarantined {
            let body = quarantined.document.to_string().into_bytes();
            match self
                .store
                .put(&quarantined.key, body, "application/json")
                .await
            {
                Ok(()) => summary.quarantined += 1,
                Err(error) => {
                    tracing::error!(messageId = %ids[quarantined.message], error = &error as &dyn std::error::Error, "quarantine write failed; message will be retried");
                    failed.insert(ids[quarantined.message].clone());
                }
            }
        }

        let mut alerts = Vec::new();
        for object in plan.objects {
            match self
                .store
                .put(&object.key, object.body, "application/x-ndjson")
                .await
            {
                Ok(()) => {
                    summary.objects.push(object.key);
                    alerts.extend(object.alerts);
                }
                Err(error) => {
                    tracing::error!(object = %object.key, messages = object.messages.len(), error = &error as &dyn std::error::Error, "group write failed; its messages will be retried");
                    failed.extend(object.messages.iter().map(|&i| ids[i].clone()));
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
        let report = send_all(&self.queue, queue_url, messages, 0).await;
        for id in &report.failed {
            let alert = id.parse::<usize>().ok().and_then(|i| alerts.get(i));
            failed.extend(alert.map(|alert| ids[alert.message].clone()));
        }
        report.sent.len()
    }
}
