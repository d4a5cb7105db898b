//! From messages to data-lake objects, without any I/O.
//!
//! Each message is parsed and validated into lines (one per reading, with `readingId`,
//! `messageId` and `receivedAt` added) or into a quarantine entry with every reason it failed.
//! Lines are grouped by sensor type and UTC hour, duplicates (same `readingId`) kept once, and
//! each group gets a key derived from its message ids only, so a redelivered batch maps onto the
//! same keys and contents and overwrites instead of adding copies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono::{Datelike, Timelike};
use orabridge_shared::sensor::{Reading, ValidationRules, into_readings, validate};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// One message as the consumer sees it, whatever its transport (SQS record or direct call).
#[derive(Debug, Clone)]
pub struct Message {
    /// The SQS message id (or a derived one for direct invocations).
    pub id: String,
    /// The raw body.
    pub body: String,
    /// SQS system attributes (`SentTimestamp`, `MessageGroupId`, ...).
    pub attributes: BTreeMap<String, String>,
    /// When SQS received it: `SentTimestamp`, so a redelivery yields identical lines.
    pub received_at: DateTime<Utc>,
}

/// A message that can never be processed, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    /// Its id.
    pub message_id: String,
    /// The object key it goes to.
    pub key: String,
    /// The object: original body, attributes and every reason.
    pub document: Value,
}

/// The lines of one (sensor type, hour) group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// JSON objects, one per distinct reading, in arrival order.
    pub lines: Vec<Map<String, Value>>,
    /// Messages with at least one line here: they fail together if the write fails.
    pub message_ids: BTreeSet<String>,
}

/// `(sensor type, YYYY-MM-DD, HH)`.
pub type GroupKey = (String, String, String);

/// What a batch becomes.
#[derive(Debug, Default)]
pub struct Plan {
    /// Groups to write.
    pub groups: BTreeMap<GroupKey, Group>,
    /// Messages to quarantine.
    pub quarantined: Vec<Quarantined>,
    /// Readings dropped as in-batch duplicates.
    pub duplicates: usize,
    /// Readings accepted (before de-duplication).
    pub accepted: usize,
}

/// A message's readings, or every reason it is invalid.
pub type Parsed = Result<Vec<Reading>, Vec<String>>;

/// Builds the plan for a batch of parsed messages.
pub fn plan(parsed: Vec<(Message, Parsed)>, prefix: &str) -> Plan {
    let mut plan = Plan::default();
    // readingId -> the group its first copy went to.
    let mut seen: HashMap<String, GroupKey> = HashMap::new();
    for (message, result) in parsed {
        match result {
            Ok(readings) => {
                plan.accepted += readings.len();
                let received_at = rfc3339(message.received_at);
                for reading in readings {
                    let reading_id = reading_id(&reading);
                    if let Some(first) = seen.get(&reading_id) {
                        // Written once, but this message is only safe once that write is: it
                        // fails (and is retried) with the group holding the first copy.
                        plan.duplicates += 1;
                        if let Some(group) = plan.groups.get_mut(first) {
                            group.message_ids.insert(message.id.clone());
                        }
                        continue;
                    }
                    let at = reading.timestamp;
                    let key = (
                        reading.sensor_type,
                        format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day()),
                        format!("{:02}", at.hour()),
                    );
                    seen.insert(reading_id.clone(), key.clone());
                    let mut line = reading.fields;
                    line.insert("readingId".into(), reading_id.into());
                    line.insert("messageId".into(), message.id.clone().into());
                    line.insert("receivedAt".into(), received_at.clone().into());
                    let group = plan.groups.entry(key).or_default();
                    group.lines.push(line);
                    group.message_ids.insert(message.id.clone());
                }
            }
            Err(reasons) => {
                tracing::warn!(messageId = %message.id, reasons = ?reasons, body_bytes = message.body.len(), "message quarantined");
                plan.quarantined.push(Quarantined {
                    message_id: message.id.clone(),
                    key: quarantine_key(prefix, &message),
                    document: json!({
                        "messageId": message.id,
                        "body": message.body,
                        "attributes": message.attributes,
                        "reasons": reasons,
                        "receivedAt": rfc3339(message.received_at),
                    }),
                });
            }
        }
    }
    plan
}

/// Parses and validates a message at time `now` (timestamps are checked against it).
pub fn parse(message: &Message, now: DateTime<Utc>, rules: &ValidationRules) -> Parsed {
    let body: Value = serde_json::from_str(&message.body)
        .map_err(|err| vec![format!("body is not JSON: {err}")])?;
    let items = into_readings(body).ok_or_else(|| {
        vec!["body is not a reading, an array or {\"readings\": [...]}".to_owned()]
    })?;
    if items.is_empty() {
        return Err(vec!["no readings in the body".to_owned()]);
    }
    let mut readings = Vec::with_capacity(items.len());
    let mut reasons = Vec::new();
    let many = items.len() > 1;
    for (index, item) in items.into_iter().enumerate() {
        match validate(item, now, rules) {
            Ok(reading) => readings.push(reading),
            Err(violations) => reasons.extend(violations.iter().map(|v| {
                if many {
                    format!("readings[{index}].{v}")
                } else {
                    v.to_string()
                }
            })),
        }
    }
    if reasons.is_empty() {
        Ok(readings)
    } else {
        Err(reasons)
    }
}

/// A reading's identity: the same sensor at the same instant is the same reading (whatever
/// offset the timestamp was written with).
pub fn reading_id(reading: &Reading) -> String {
    short_hash(&[
        &reading.sensor_id,
        &reading.timestamp.timestamp_millis().to_string(),
    ])
}

/// The object key of a group: the message ids decide it, so a redelivery overwrites.
pub fn group_key(prefix: &str, (sensor_type, date, hour): &GroupKey, group: &Group) -> String {
    let ids: Vec<&str> = group.message_ids.iter().map(String::as_str).collect();
    format!(
        "{}readings/sensor_type={sensor_type}/date={date}/hour={hour}/{}.jsonl",
        with_slash(prefix),
        short_hash(&ids)
    )
}

/// The group's objects as JSON Lines.
pub fn encode(group: &Group) -> Vec<u8> {
    let mut out = Vec::with_capacity(group.lines.len() * 256);
    for line in &group.lines {
        if serde_json::to_writer(&mut out, line).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

fn quarantine_key(prefix: &str, message: &Message) -> String {
    format!(
        "{}quarantine/date={}/{}.json",
        with_slash(prefix),
        message.received_at.format("%Y-%m-%d"),
        message.id
    )
}

fn with_slash(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The first 16 hex digits of SHA-256 over the parts, NUL-separated.
fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = hasher.finalize();
    let mut out = String::with_capacity(16);
    for byte in &digest[..8] {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-20T10:20:00Z".parse().unwrap()
    }

    fn message(id: &str, body: Value) -> Message {
        Message {
            id: id.into(),
            body: body.to_string(),
            attributes: BTreeMap::from([("SentTimestamp".into(), "1795169700000".into())]),
            received_at: "2026-11-20T10:15:00Z".parse().unwrap(),
        }
    }

    fn parsed(batch: &[Message]) -> Vec<(Message, Parsed)> {
        batch
            .iter()
            .map(|m| (m.clone(), parse(m, now(), &ValidationRules::default())))
            .collect()
    }

    fn reading(id: &str, kind: &str, ts: &str) -> Value {
        json!({"sensorId": id, "sensorType": kind, "timestamp": ts, "values": {"v": 1.0}})
    }

    #[test]
    fn lines_are_grouped_by_type_and_utc_hour() {
        let batch = [
            message("m1", reading("A", "flow", "2026-11-20T09:59:00Z")),
            message("m2", reading("B", "flow", "2026-11-20T10:01:00Z")),
            message("m3", reading("C", "gate", "2026-11-20T17:05:00+07:00")),
        ];
        let plan = plan(parsed(&batch), "lake");
        let keys: Vec<_> = plan.groups.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                ("flow".into(), "2026-11-20".into(), "09".into()),
                ("flow".into(), "2026-11-20".into(), "10".into()),
                ("gate".into(), "2026-11-20".into(), "10".into()),
            ]
        );
    }

    #[test]
    fn lines_carry_the_original_fields_and_the_added_ones() {
        let plan = plan(
            parsed(&[message("m1", reading("A", "flow", "2026-11-20T10:00:00Z"))]),
            "",
        );
        let line = &plan.groups.values().next().unwrap().lines[0];
        assert_eq!(line["sensorId"], "A");
        assert_eq!(line["messageId"], "m1");
        assert_eq!(line["receivedAt"], "2026-11-20T10:15:00.000Z");
        assert_eq!(line["readingId"].as_str().map(str::len), Some(16));
    }

    #[test]
    fn in_batch_duplicates_are_written_once() {
        let same = reading("A", "flow", "2026-11-20T10:00:00Z");
        let plan = plan(
            parsed(&[message("m1", same.clone()), message("m2", same)]),
            "",
        );
        assert_eq!(plan.duplicates, 1);
        let group = plan.groups.values().next().unwrap();
        assert_eq!(group.lines.len(), 1);
        let ids: Vec<&str> = group.message_ids.iter().map(String::as_str).collect();
        assert_eq!(
            ids,
            ["m1", "m2"],
            "the duplicate's message depends on the same write"
        );
    }

    #[test]
    fn group_keys_depend_on_message_ids_only() {
        let batch = [message("m1", reading("A", "flow", "2026-11-20T10:00:00Z"))];
        let a = plan(parsed(&batch), "/lake/");
        let b = plan(parsed(&batch), "lake");
        let (ka, ga) = a.groups.iter().next().unwrap();
        let (kb, gb) = b.groups.iter().next().unwrap();
        let key = group_key("/lake/", ka, ga);
        assert_eq!(key, group_key("lake", kb, gb));
        assert!(
            key.starts_with("lake/readings/sensor_type=flow/date=2026-11-20/hour=10/"),
            "{key}"
        );
        assert!(key.ends_with(".jsonl"));
    }

    #[test]
    fn a_message_with_one_bad_reading_is_quarantined_whole_with_every_reason() {
        let mut bad = reading("B", "flow", "2026-11-20T10:00:00Z");
        bad["values"] = json!({"v": "x"});
        bad["sensorType"] = "sonar".into();
        let batch = [message(
            "m1",
            json!({"readings": [reading("A", "flow", "2026-11-20T10:00:00Z"), bad]}),
        )];
        let plan = plan(parsed(&batch), "lake");
        assert!(plan.groups.is_empty());
        let q = &plan.quarantined[0];
        assert_eq!(q.key, "lake/quarantine/date=2026-11-20/m1.json");
        let reasons: Vec<&str> = q.document["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(reasons.len(), 2);
        assert!(
            reasons[0].starts_with("readings[1].sensorType"),
            "{reasons:?}"
        );
        assert_eq!(q.document["attributes"]["SentTimestamp"], "1795169700000");
    }

    #[test]
    fn broken_json_is_quarantined_with_its_body_intact() {
        let mut m = message("m9", json!({}));
        m.body = "{\"sensorId\": ".into();
        let plan = plan(parsed(&[m]), "");
        assert_eq!(plan.quarantined[0].document["body"], "{\"sensorId\": ");
        assert!(
            plan.quarantined[0].document["reasons"][0]
                .as_str()
                .unwrap()
                .starts_with("body is not JSON")
        );
    }
}
