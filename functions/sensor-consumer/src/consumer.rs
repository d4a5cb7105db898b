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
use serde_json::json;

use crate::lake::{self, Message, Parsed};
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

    /// Parses a message at `now` with the configured rules.
    pub fn parse(&self, message: &Message, now: DateTime<Utc>) -> Parsed {
        lake::parse(message, now, &self.settings.rules)
    }

    /// Writes a parsed batch; returns the ids to retry and the summary.
    pub async fn process(&self, parsed: Vec<(Message, Parsed)>) -> (HashSet<String>, Summary) {
        let received = parsed.len();
        let plan = lake::plan(parsed, &self.settings.prefix);
        let mut failed = HashSet::new();
        let mut summary = Summary {
            received,
            accepted: plan.accepted,
            duplicates: plan.duplicates,
            ..Summary::default()
        };

        for quarantined in &plan.quarantined {
            let body = quarantined.document.to_string().into_bytes();
            match self
                .store
                .put(&quarantined.key, body, "application/json")
                .await
            {
                Ok(()) => summary.quarantined += 1,
                Err(error) => {
                    tracing::error!(messageId = %quarantined.message_id, error = &error as &dyn std::error::Error, "quarantine write failed; message will be retried");
                    failed.insert(quarantined.message_id.clone());
                }
            }
        }

        let mut alerts = Vec::new();
        for (group_key, group) in &plan.groups {
            let key = lake::group_key(&self.settings.prefix, group_key, group);
            match self
                .store
                .put(&key, lake::encode(group), "application/x-ndjson")
                .await
            {
                Ok(()) => {
                    summary.objects.push(key);
                    for line in &group.lines {
                        let breaches = self.thresholds.breaches(&group_key.0, line);
                        if !breaches.is_empty() {
                            let message_id =
                                line["messageId"].as_str().unwrap_or_default().to_owned();
                            let body = json!({
                                "alert": "threshold",
                                "sensorId": line["sensorId"],
                                "sensorType": group_key.0,
                                "timestamp": line["timestamp"],
                                "readingId": line["readingId"],
                                "breaches": breaches,
                            });
                            alerts.push((message_id, body.to_string()));
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(object = %key, messages = group.message_ids.len(), error = &error as &dyn std::error::Error, "group write failed; its messages will be retried");
                    failed.extend(group.message_ids.iter().cloned());
                }
            }
        }

        summary.alerts = self.send_alerts(&alerts, &mut failed).await;
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
        alerts: &[(String, String)],
        failed: &mut HashSet<String>,
    ) -> usize {
        let Some(queue_url) = self.settings.alert_queue_url.as_deref() else {
            return 0;
        };
        let messages = alerts
            .iter()
            .enumerate()
            .map(|(i, (_, body))| OutgoingMessage {
                id: i.to_string(),
                body: body.clone(),
            })
            .collect();
        // No retry here: a failed alert fails its message, and SQS redelivers it.
        let report = send_all(&self.queue, queue_url, messages, 0).await;
        for id in &report.failed {
            let message_id = id.parse::<usize>().ok().and_then(|i| alerts.get(i));
            failed.extend(message_id.map(|(message_id, _)| message_id.clone()));
        }
        report.sent.len()
    }
}
