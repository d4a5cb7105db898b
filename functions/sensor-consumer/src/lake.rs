//! From messages to data-lake objects, without any I/O.
//!
//! A [`LakeBatch`] takes a batch's messages one at a time. Each is parsed and validated; a valid
//! one's readings are encoded straight away as JSON lines (the original fields plus
//! `readingId`, `messageId` and `receivedAt`) into the buffer of their group (sensor type and
//! UTC hour), and its JSON tree is dropped; an invalid one becomes a quarantine entry with every
//! reason it failed. So a batch never holds more than its event text, its output and one
//! message's tree at a time. Duplicates (same `readingId`) are kept once. Each group's key is
//! derived from its message ids only, so a redelivered batch maps onto the same keys and
//! contents and overwrites instead of adding copies.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use chrono::{DateTime, Utc};
use orabridge_shared::encoding::{hex, rfc3339_millis, sha256_of_parts};
use orabridge_shared::sensor::{
    Reading, ReadingsError, ValidationRules, parse_reading, raw_readings, validate,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::thresholds::Thresholds;

/// One message as the consumer sees it, whatever its transport (SQS record or direct call);
/// a view into the event, nothing is copied.
#[derive(Debug, Clone, Copy)]
pub struct Message<'m> {
    /// The SQS message id (or a derived one for direct invocations).
    pub id: &'m str,
    /// The raw body.
    pub body: &'m str,
    /// SQS system attributes as JSON text, copied into a quarantine object if it comes to that.
    pub attributes: Option<&'m RawValue>,
    /// When SQS received it: `SentTimestamp`, so a redelivery yields identical lines.
    pub received_at: DateTime<Utc>,
}

/// A message that can never be processed, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    /// Its position in the batch (see [`Plan::message_ids`]).
    pub message: usize,
    /// The object key it goes to.
    pub key: String,
    /// The object: original body, attributes and every reason.
    pub document: Value,
}

/// An alert to send once the line that raised it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The message whose reading crossed a threshold.
    pub message: usize,
    /// The alert message's JSON body.
    pub body: String,
    /// The reading's sensor: a FIFO alert queue's message group.
    pub sensor_id: String,
    /// The reading's `readingId`: a FIFO alert queue's deduplication id.
    pub reading_id: String,
}

/// One JSON Lines object of the plan: the lines of one (sensor type, hour) group.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedObject {
    /// Its key.
    pub key: String,
    /// Its content, one reading per line.
    pub body: Vec<u8>,
    /// How many lines.
    pub lines: usize,
    /// Messages with a reading here (a duplicate's message too): they are acknowledged only if
    /// this object is written.
    pub messages: Vec<usize>,
    /// Alerts raised by its lines.
    pub alerts: Vec<Alert>,
}

/// What a batch comes to.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every message id, by position in the batch.
    pub message_ids: Vec<String>,
    /// Objects to write, ordered by sensor type then hour.
    pub objects: Vec<PlannedObject>,
    /// Messages to quarantine.
    pub quarantined: Vec<Quarantined>,
    /// Readings dropped as in-batch duplicates.
    pub duplicates: usize,
    /// Readings accepted (before de-duplication).
    pub accepted: usize,
}

/// A message's readings, or every reason it is invalid.
pub type Parsed = Result<Vec<Reading>, Vec<String>>;

/// (sensor type, hours since the epoch).
type GroupId = (&'static str, i64);

#[derive(Debug, Default)]
struct GroupBuffer {
    body: Vec<u8>,
    lines: usize,
    messages: Vec<usize>,
    alerts: Vec<Alert>,
}

/// One reading of the message being added, encoded but not yet committed.
struct PendingLine {
    group: GroupId,
    reading_id: u64,
    line: Range<usize>,
    alert: Option<Alert>,
}

/// Builds a batch's [`Plan`] one message at a time.
#[derive(Debug)]
pub struct LakeBatch<'c> {
    prefix: String,
    now: DateTime<Utc>,
    rules: &'c ValidationRules,
    thresholds: &'c Thresholds,
    message_ids: Vec<String>,
    groups: BTreeMap<GroupId, GroupBuffer>,
    /// readingId -> the group its first copy went to.
    seen: HashMap<u64, GroupId>,
    quarantined: Vec<Quarantined>,
    duplicates: usize,
    accepted: usize,
    /// The current message's encoded lines, before they are committed.
    scratch: Vec<u8>,
}

impl<'c> LakeBatch<'c> {
    /// An empty batch validated at `now` (timestamps are checked against it), writing under
    /// `prefix`, alerting on `thresholds`.
    pub fn new(
        prefix: &str,
        now: DateTime<Utc>,
        rules: &'c ValidationRules,
        thresholds: &'c Thresholds,
    ) -> Self {
        Self {
            prefix: with_slash(prefix),
            now,
            rules,
            thresholds,
            message_ids: Vec::new(),
            groups: BTreeMap::new(),
            seen: HashMap::new(),
            quarantined: Vec::new(),
            duplicates: 0,
            accepted: 0,
            scratch: Vec::new(),
        }
    }

    /// Adds one message: its lines to their groups, or the message to the quarantine.
    ///
    /// Everything that can fail or panic happens before the batch is changed, so a panic here
    /// (caught per record by `shared::batch`) never leaves half a line in a group.
    pub fn add(&mut self, message: &Message<'_>) {
        let index = self.message_ids.len();
        self.message_ids.push(message.id.to_owned());
        let readings = match parse(message.body, self.now, self.rules) {
            Ok(readings) => readings,
            Err(reasons) => {
                tracing::warn!(messageId = %message.id, reasons = ?reasons, body_bytes = message.body.len(), "message quarantined");
                self.quarantined.push(Quarantined {
                    message: index,
                    key: format!(
                        "{}quarantine/date={}/{}.json",
                        self.prefix,
                        message.received_at.format("%Y-%m-%d"),
                        message.id
                    ),
                    document: json!({
                        "messageId": message.id,
                        "body": message.body,
                        "attributes": message.attributes,
                        "reasons": reasons,
                        "receivedAt": rfc3339_millis(message.received_at),
                    }),
                });
                return;
            }
        };

        self.scratch.clear();
        let received_at = rfc3339_millis(message.received_at);
        let mut pending = Vec::with_capacity(readings.len());
        for reading in readings {
            let digest = reading.digest();
            let reading_id = hex(&digest);
            let group = (
                reading.sensor_type,
                reading.timestamp.timestamp().div_euclid(3600),
            );
            let alert = self.alert(&reading, &reading_id, index);
            let start = self.scratch.len();
            write_line(
                &mut self.scratch,
                reading.fields,
                &reading_id,
                message.id,
                &received_at,
            );
            pending.push(PendingLine {
                group,
                reading_id: u64::from_be_bytes(digest),
                line: start..self.scratch.len(),
                alert,
            });
        }

        self.accepted += pending.len();
        for line in pending {
            if let Some(first) = self.seen.get(&line.reading_id) {
                // Written once, but this message is only safe once that write is: it fails
                // (and is retried) with the group holding the first copy.
                self.duplicates += 1;
                if let Some(group) = self.groups.get_mut(first) {
                    add_message(group, index);
                }
                continue;
            }
            self.seen.insert(line.reading_id, line.group);
            let group = self.groups.entry(line.group).or_default();
            group.body.extend_from_slice(&self.scratch[line.line]);
            group.lines += 1;
            add_message(group, index);
            group.alerts.extend(line.alert);
        }
    }

    /// The alert a reading of message `message` raises, if it crosses a threshold.
    fn alert(&self, reading: &Reading, reading_id: &str, message: usize) -> Option<Alert> {
        let breaches = self
            .thresholds
            .breaches(reading.sensor_type, &reading.fields);
        if breaches.is_empty() {
            return None;
        }
        let body = json!({
            "alert": "threshold",
            "sensorId": reading.sensor_id(),
            "sensorType": reading.sensor_type,
            "timestamp": reading.fields.get("timestamp"),
            "readingId": reading_id,
            "breaches": breaches,
        });
        Some(Alert {
            message,
            body: body.to_string(),
            sensor_id: reading.sensor_id().to_owned(),
            reading_id: reading_id.to_owned(),
        })
    }

    /// The plan: every group as an object under its deterministic key.
    pub fn finish(self) -> Plan {
        let message_ids = self.message_ids;
        let objects = self
            .groups
            .into_iter()
            .map(|((sensor_type, hour), group)| {
                let mut ids: Vec<&str> = group
                    .messages
                    .iter()
                    .map(|&i| message_ids[i].as_str())
                    .collect();
                ids.sort_unstable();
                let at = DateTime::from_timestamp(hour * 3600, 0).unwrap_or_default();
                PlannedObject {
                    key: format!(
                        "{}readings/sensor_type={sensor_type}/date={}/hour={}/{}.jsonl",
                        self.prefix,
                        at.format("%Y-%m-%d"),
                        at.format("%H"),
                        short_hash(&ids)
                    ),
                    body: group.body,
                    lines: group.lines,
                    messages: group.messages,
                    alerts: group.alerts,
                }
            })
            .collect();
        Plan {
            message_ids,
            objects,
            quarantined: self.quarantined,
            duplicates: self.duplicates,
            accepted: self.accepted,
        }
    }
}

/// Messages are added in order, so a message already listed is the last one listed.
fn add_message(group: &mut GroupBuffer, index: usize) {
    if group.messages.last() != Some(&index) {
        group.messages.push(index);
    }
}

/// Parses and validates a message body at time `now`.
pub fn parse(body: &str, now: DateTime<Utc>, rules: &ValidationRules) -> Parsed {
    // An SQS message is at most 256 KiB, so every reading it holds is read; each is parsed
    // on its own.
    let items = raw_readings(body.as_bytes(), usize::MAX).map_err(|err| match err {
        ReadingsError::Malformed => match serde_json::from_str::<serde::de::IgnoredAny>(body) {
            Err(err) => vec![format!("body is not JSON: {err}")],
            Ok(_) => vec!["body is not a reading, an array or {\"readings\": [...]}".to_owned()],
        },
        ReadingsError::TooMany { limit } => vec![format!("more than {limit} readings")],
    })?;
    if items.is_empty() {
        return Err(vec!["no readings in the body".to_owned()]);
    }
    let mut readings = Vec::with_capacity(items.len());
    let mut reasons = Vec::new();
    let many = items.len() > 1;
    for (index, item) in items.into_iter().enumerate() {
        match parse_reading(item).and_then(|item| validate(item, now, rules)) {
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

/// The fields this function adds to each line; a sender's own fields by these names give way.
const ADDED_FIELDS: [&str; 3] = ["readingId", "messageId", "receivedAt"];

/// Appends one JSON line: the reading's fields, then the added ones, then a newline.
fn write_line(
    out: &mut Vec<u8>,
    mut fields: Map<String, Value>,
    reading_id: &str,
    message_id: &str,
    received_at: &str,
) {
    for name in ADDED_FIELDS {
        fields.remove(name);
    }
    let start = out.len();
    // Serializing a map of JSON values into memory cannot fail; a failure would only drop
    // this line's partial output.
    if serde_json::to_writer(&mut *out, &fields).is_err() || out.pop() != Some(b'}') {
        out.truncate(start);
        out.push(b'{');
    } else if !fields.is_empty() {
        out.push(b',');
    }
    for (name, value) in ADDED_FIELDS
        .iter()
        .zip([reading_id, message_id, received_at])
    {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        if serde_json::to_writer(&mut *out, value).is_err() {
            out.extend_from_slice(b"null");
        }
        out.push(if *name == "receivedAt" { b'}' } else { b',' });
    }
    out.push(b'\n');
}

fn with_slash(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// The first 8 bytes of SHA-256 over the parts, NUL-separated.
fn digest(parts: &[&str]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&sha256_of_parts(parts)[..8]);
    out
}

/// 16 hex digits of SHA-256 over the parts.
fn short_hash(parts: &[&str]) -> String {
    hex(&digest(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTRIBUTES: &str = r#"{"SentTimestamp":"1795169700000"}"#;

    fn now() -> DateTime<Utc> {
        "2026-11-20T10:20:00Z".parse().unwrap()
    }

    fn reading(id: &str, kind: &str, ts: &str) -> Value {
        json!({"sensorId": id, "sensorType": kind, "timestamp": ts, "values": {"v": 1.0}})
    }

    /// Plans a batch of (message id, body) at [`now`], under `prefix`.
    fn plan_with(prefix: &str, thresholds: &Thresholds, batch: &[(&str, String)]) -> Plan {
        let attributes: Box<RawValue> = RawValue::from_string(ATTRIBUTES.into()).unwrap();
        let rules = ValidationRules::default();
        let mut lake = LakeBatch::new(prefix, now(), &rules, thresholds);
        for (id, body) in batch {
            lake.add(&Message {
                id,
                body,
                attributes: Some(&attributes),
                received_at: "2026-11-20T10:15:00Z".parse().unwrap(),
            });
        }
        lake.finish()
    }

    fn plan(prefix: &str, batch: &[(&str, Value)]) -> Plan {
        let batch: Vec<_> = batch.iter().map(|(id, v)| (*id, v.to_string())).collect();
        plan_with(prefix, &Thresholds::default(), &batch)
    }

    fn lines(object: &PlannedObject) -> Vec<Map<String, Value>> {
        let text = std::str::from_utf8(&object.body).unwrap();
        assert!(text.ends_with('\n'), "every line ends with a newline");
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn lines_are_grouped_by_type_and_utc_hour() {
        let plan = plan(
            "lake",
            &[
                ("m1", reading("A", "flow", "2026-11-20T09:59:00Z")),
                ("m2", reading("B", "flow", "2026-11-20T10:01:00Z")),
                ("m3", reading("C", "gate", "2026-11-20T17:05:00+07:00")),
            ],
        );
        let prefixes: Vec<_> = plan
            .objects
            .iter()
            .map(|o| o.key.rsplit_once('/').unwrap().0)
            .collect();
        assert_eq!(
            prefixes,
            [
                "lake/readings/sensor_type=flow/date=2026-11-20/hour=09",
                "lake/readings/sensor_type=flow/date=2026-11-20/hour=10",
                "lake/readings/sensor_type=gate/date=2026-11-20/hour=10",
            ]
        );
        assert!(
            plan.objects
                .iter()
                .all(|o| o.lines == 1 && o.key.ends_with(".jsonl"))
        );
    }

    #[test]
    fn lines_carry_the_original_fields_and_the_added_ones() {
        let mut sent = reading("A", "flow", "2026-11-20T10:00:00Z");
        sent["firmware"] = "2.4.1".into();
        sent["readingId"] = "forged".into();
        let plan = plan("", &[("m\"1", sent)]);
        let line = &lines(&plan.objects[0])[0];
        assert_eq!(line["sensorId"], "A");
        assert_eq!(line["firmware"], "2.4.1", "unknown fields pass through");
        assert_eq!(line["values"], json!({"v": 1.0}));
        assert_eq!(line["messageId"], "m\"1", "escaped as JSON");
        assert_eq!(line["receivedAt"], "2026-11-20T10:15:00.000Z");
        let reading_id = line["readingId"].as_str().unwrap();
        assert_ne!(reading_id, "forged", "the sender's field gives way to ours");
        assert_eq!(reading_id.len(), 16);
        assert_eq!(line.len(), 8);
    }

    #[test]
    fn the_reading_id_depends_on_sensor_and_instant_not_on_the_offset() {
        let utc = plan("", &[("m1", reading("A", "flow", "2026-11-20T10:00:00Z"))]);
        let offset = plan(
            "",
            &[("m2", reading("A", "flow", "2026-11-20T17:00:00+07:00"))],
        );
        let other = plan("", &[("m3", reading("B", "flow", "2026-11-20T10:00:00Z"))]);
        let id = |p: &Plan| lines(&p.objects[0])[0]["readingId"].clone();
        assert_eq!(id(&utc), id(&offset));
        assert_ne!(id(&utc), id(&other));
    }

    #[test]
    fn in_batch_duplicates_are_written_once() {
        let same = reading("A", "flow", "2026-11-20T10:00:00Z");
        let plan = plan("", &[("m1", same.clone()), ("m2", same)]);
        assert_eq!((plan.accepted, plan.duplicates), (2, 1));
        let object = &plan.objects[0];
        assert_eq!(object.lines, 1);
        assert_eq!(lines(object).len(), 1);
        let ids: Vec<&str> = object
            .messages
            .iter()
            .map(|&i| plan.message_ids[i].as_str())
            .collect();
        assert_eq!(
            ids,
            ["m1", "m2"],
            "the duplicate's message depends on the same write"
        );
    }

    #[test]
    fn a_duplicate_within_one_message_is_written_once_too() {
        let same = reading("A", "flow", "2026-11-20T10:00:00Z");
        let plan = plan("", &[("m1", json!({"readings": [same.clone(), same]}))]);
        assert_eq!((plan.accepted, plan.duplicates), (2, 1));
        assert_eq!(plan.objects[0].lines, 1);
        assert_eq!(plan.objects[0].messages, [0]);
    }

    #[test]
    fn group_keys_depend_on_message_ids_only() {
        let at = |ts: &str| reading("A", "flow", ts);
        let a = plan("/lake/", &[("m1", at("2026-11-20T10:00:00Z"))]);
        let b = plan("lake", &[("m1", at("2026-11-20T10:10:00Z"))]);
        let c = plan("lake", &[("m2", at("2026-11-20T10:00:00Z"))]);
        let key = &a.objects[0].key;
        assert_eq!(key, &b.objects[0].key);
        assert_ne!(key, &c.objects[0].key);
        assert!(
            key.starts_with("lake/readings/sensor_type=flow/date=2026-11-20/hour=10/"),
            "{key}"
        );
    }

    #[test]
    fn a_message_with_one_bad_reading_is_quarantined_whole_with_every_reason() {
        let mut bad = reading("B", "flow", "2026-11-20T10:00:00Z");
        bad["values"] = json!({"v": "x"});
        bad["sensorType"] = "sonar".into();
        let plan = plan(
            "lake",
            &[(
                "m1",
                json!({"readings": [reading("A", "flow", "2026-11-20T10:00:00Z"), bad]}),
            )],
        );
        assert!(plan.objects.is_empty());
        assert_eq!(plan.accepted, 0);
        let q = &plan.quarantined[0];
        assert_eq!(q.message, 0);
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
        let plan = plan_with(
            "",
            &Thresholds::default(),
            &[("m9", "{\"sensorId\": ".into())],
        );
        let document = &plan.quarantined[0].document;
        assert_eq!(document["body"], "{\"sensorId\": ");
        assert!(
            document["reasons"][0]
                .as_str()
                .unwrap()
                .starts_with("body is not JSON")
        );
    }

    #[test]
    fn readings_over_a_threshold_raise_one_alert_on_their_group() {
        let thresholds = Thresholds::parse(r#"{"flow": {"v": {"gt": 5}}}"#).unwrap();
        let mut high = reading("A", "flow", "2026-11-20T10:00:00Z");
        high["values"]["v"] = json!(9.5);
        let batch = [
            ("m1", high.to_string()),
            ("m2", high.to_string()),
            (
                "m3",
                reading("B", "flow", "2026-11-20T10:00:00Z").to_string(),
            ),
        ];
        let plan = plan_with("", &thresholds, &batch);
        let alerts = &plan.objects[0].alerts;
        assert_eq!(alerts.len(), 1, "the duplicate raises none: {alerts:?}");
        assert_eq!(alerts[0].message, 0);
        let alert: Value = serde_json::from_str(&alerts[0].body).unwrap();
        assert_eq!(alert["sensorId"], "A");
        assert_eq!(alert["breaches"][0]["value"], 9.5);
        assert_eq!(alert["readingId"], lines(&plan.objects[0])[0]["readingId"]);
    }
}
