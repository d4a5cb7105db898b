//! The irrigation-sensor reading: its schema and validation, shared by the proxy (which
//! validates before enqueueing) and the sensor consumer (which validates before writing).
//!
//! Validation collects every reason a reading fails, not just the first, so one round trip
//! tells a sender everything to fix. Unknown fields are kept: the schema is a floor, not a
//! filter.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The sensor types the data lake knows.
pub const SENSOR_TYPES: [&str; 6] = [
    "water_level",
    "moisture",
    "rainfall",
    "flow",
    "gate",
    "temperature",
];

/// SQS refuses messages above 256 KiB; a reading must fit in one (checked by the sender, which
/// has the serialized message in hand).
pub const MAX_READING_BYTES: usize = 256 * 1024;

/// Limits that depend on deployment rather than on the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationRules {
    /// Oldest accepted timestamp, back from now (`MAX_AGE`, default `30d`).
    pub max_age: Duration,
    /// Furthest accepted timestamp into the future (clock skew allowance, 5 minutes).
    pub max_future: Duration,
}

impl Default for ValidationRules {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_future: Duration::from_secs(5 * 60),
        }
    }
}

/// One reason a reading is invalid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The field at fault (`values.level_cm`, `location.lat`, or `reading` for the whole).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// A reading that passed validation, with its original fields intact.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Every field as received, unknown ones included.
    pub fields: Map<String, Value>,
    /// `sensorType`, as one of [`SENSOR_TYPES`].
    pub sensor_type: &'static str,
    /// `timestamp`, in UTC.
    pub timestamp: DateTime<Utc>,
}

impl Reading {
    /// `sensorId` (validated: 1-64 characters of `[A-Za-z0-9_.-]`).
    pub fn sensor_id(&self) -> &str {
        self.fields
            .get("sensorId")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The reading's identity: the same sensor at the same instant is the same reading,
    /// whatever offset its timestamp was written with. The first 8 bytes of SHA-256 over the
    /// sensor id and the instant in epoch milliseconds; as 16 hex digits it is the lake's
    /// `readingId`, and a FIFO queue's deduplication id.
    pub fn digest(&self) -> [u8; 8] {
        let digest = crate::encoding::sha256_of_parts(&[
            self.sensor_id(),
            &self.timestamp.timestamp_millis().to_string(),
        ]);
        let mut out = [0u8; 8];
        out.copy_from_slice(&digest[..8]);
        out
    }

    /// [`Reading::digest`] as 16 hex digits: the lake's `readingId`.
    pub fn id(&self) -> String {
        crate::encoding::hex(&self.digest())
    }
}

/// What is wrong with a reading so far, field by field.
#[derive(Default)]
struct Violations(Vec<Violation>);

impl Violations {
    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(Violation {
            field: field.to_owned(),
            reason: reason.into(),
        });
    }
}

/// Validates one reading against the schema at time `now`. Takes the reading by value so a
/// valid one keeps its fields without a copy (this runs once per message on the hot path).
pub fn validate(
    value: Value,
    now: DateTime<Utc>,
    rules: &ValidationRules,
) -> Result<Reading, Vec<Violation>> {
    let mut violations = Violations::default();
    let Value::Object(fields) = value else {
        violations.fail("reading", "must be a JSON object");
        return Err(violations.0);
    };
    let sensor_id = check_sensor_id(fields.get("sensorId"), &mut violations);
    let sensor_type = check_sensor_type(fields.get("sensorType"), &mut violations);
    let timestamp = check_timestamp(fields.get("timestamp"), now, rules, &mut violations);
    check_values(fields.get("values"), &mut violations);
    if let Some(location) = fields.get("location") {
        check_location(location, &mut violations);
    }
    match fields.get("zone") {
        None | Some(Value::Null) => {}
        Some(Value::String(zone)) if zone.chars().count() <= 64 => {}
        Some(_) => violations.fail("zone", "must be a string of at most 64 characters"),
    }
    match (sensor_id, sensor_type, timestamp) {
        (true, Some(sensor_type), Some(timestamp)) if violations.0.is_empty() => Ok(Reading {
            fields,
            sensor_type,
            timestamp,
        }),
        _ => Err(violations.0),
    }
}

/// Whether `sensorId` is 1-64 characters of A-Z, a-z, 0-9, `_`, `.`, `-`.
fn check_sensor_id(id: Option<&Value>, violations: &mut Violations) -> bool {
    match id {
        Some(Value::String(id))
            if (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) =>
        {
            return true;
        }
        Some(Value::String(_)) => violations.fail(
            "sensorId",
            "must be 1-64 characters of A-Z, a-z, 0-9, _ . -",
        ),
        Some(_) => violations.fail("sensorId", "must be a string"),
        None => violations.fail("sensorId", "is required"),
    }
    false
}

/// The known sensor type `sensorType` names.
fn check_sensor_type(kind: Option<&Value>, violations: &mut Violations) -> Option<&'static str> {
    match kind {
        Some(Value::String(kind)) if SENSOR_TYPES.contains(&kind.as_str()) => {
            SENSOR_TYPES.into_iter().find(|known| known == kind)
        }
        Some(_) => {
            violations.fail(
                "sensorType",
                format!("must be one of {}", SENSOR_TYPES.join(", ")),
            );
            None
        }
        None => {
            violations.fail("sensorType", "is required");
            None
        }
    }
}

/// `timestamp` as UTC, when it is an RFC 3339 date-time within the rules' window around `now`.
fn check_timestamp(
    timestamp: Option<&Value>,
    now: DateTime<Utc>,
    rules: &ValidationRules,
    violations: &mut Violations,
) -> Option<DateTime<Utc>> {
    let text = match timestamp {
        Some(Value::String(text)) => text,
        Some(_) => {
            violations.fail("timestamp", "must be an RFC 3339 string");
            return None;
        }
        None => {
            violations.fail("timestamp", "is required");
            return None;
        }
    };
    let Ok(parsed) = DateTime::parse_from_rfc3339(text) else {
        violations.fail("timestamp", "must be an RFC 3339 date-time");
        return None;
    };
    let parsed = parsed.with_timezone(&Utc);
    let ahead = parsed.signed_duration_since(now);
    let behind = now.signed_duration_since(parsed);
    if ahead.to_std().is_ok_and(|d| d > rules.max_future) {
        violations.fail(
            "timestamp",
            format!(
                "is more than {} s in the future",
                rules.max_future.as_secs()
            ),
        );
        None
    } else if behind.to_std().is_ok_and(|d| d > rules.max_age) {
        violations.fail(
            "timestamp",
            format!("is more than {} days old", rules.max_age.as_secs() / 86_400),
        );
        None
    } else {
        Some(parsed)
    }
}

/// `values`: an object of 1 to 32 finite numbers.
fn check_values(values: Option<&Value>, violations: &mut Violations) {
    match values {
        Some(Value::Object(values)) if (1..=32).contains(&values.len()) => {
            for (name, value) in values {
                if !value.as_f64().is_some_and(f64::is_finite) {
                    violations.fail(&format!("values.{name}"), "must be a finite number");
                }
            }
        }
        Some(Value::Object(_)) => violations.fail("values", "must hold 1 to 32 numbers"),
        Some(_) => violations.fail("values", "must be an object of numbers"),
        None => violations.fail("values", "is required"),
    }
}

/// `location`: `lat` within ±90 and `lng` within ±180.
fn check_location(location: &Value, violations: &mut Violations) {
    let Some(location) = location.as_object() else {
        violations.fail("location", "must be an object with lat and lng");
        return;
    };
    for (axis, limit) in [("lat", 90.0), ("lng", 180.0)] {
        match location.get(axis).and_then(Value::as_f64) {
            Some(v) if (-limit..=limit).contains(&v) => {}
            Some(_) => violations.fail(
                &format!("location.{axis}"),
                format!("must be within ±{limit}"),
            ),
            None => violations.fail(&format!("location.{axis}"), "must be a number"),
        }
    }
}

/// Why a body holds no readings to validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadingsError {
    /// Not JSON, or not a reading, an array of readings or `{"readings": [...]}`.
    #[error("body is not a reading, an array of readings or {{\"readings\": [...]}}")]
    Malformed,
    /// More readings than the caller takes; the rest of the body was not read.
    #[error("more than {limit} readings in one body")]
    TooMany {
        /// How many the caller takes.
        limit: usize,
    },
}

/// The readings in a request or message body: one reading, an array of readings, or
/// `{"readings": [...]}`, each as its own JSON text borrowed from `body`, at most `limit` of
/// them. Nothing is built but the list: a body of half a million tiny objects costs its bytes
/// and a count, not a tree (the proxy's 4.4 MB worst case once took 383 MB as a `Value`).
/// Each reading is then parsed on its own ([`parse_reading`]).
pub fn raw_readings(body: &[u8], limit: usize) -> Result<Vec<&RawValue>, ReadingsError> {
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    match first {
        // Read item by item: the one past the limit ends the read, whatever follows it.
        Some(b'[') => raw_items(body, limit),
        Some(b'{') => {
            let whole: &RawValue =
                serde_json::from_slice(body).map_err(|_| ReadingsError::Malformed)?;
            let mut deserializer = serde_json::Deserializer::from_str(whole.get());
            let readings = serde::Deserializer::deserialize_map(&mut deserializer, ReadingsField)
                .map_err(|_| ReadingsError::Malformed)?;
            match readings {
                Some(items) if items.get().starts_with('[') => {
                    raw_items(items.get().as_bytes(), limit)
                }
                Some(_) => Err(ReadingsError::Malformed),
                None if limit == 0 => Err(ReadingsError::TooMany { limit }),
                None => Ok(vec![whole]),
            }
        }
        _ => Err(ReadingsError::Malformed),
    }
}

/// The `readings` member of an object, whatever it holds (`null` included), if it has one;
/// every other member is skipped without being kept.
struct ReadingsField;

impl<'de> serde::de::Visitor<'de> for ReadingsField {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a reading or {\"readings\": [...]}")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut readings = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "readings" {
                readings = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(readings)
    }
}

/// The items of the JSON array `text`, each borrowed, stopping at the one past `limit`.
fn raw_items(text: &[u8], limit: usize) -> Result<Vec<&RawValue>, ReadingsError> {
    struct Capped(usize);
    impl<'de> serde::de::Visitor<'de> for Capped {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of readings")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.0));
            while let Some(item) = seq.next_element::<&RawValue>()? {
                if items.len() == self.0 {
                    return Err(serde::de::Error::custom(TOO_MANY));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    const TOO_MANY: &str = "orabridge: too many readings";
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let items =
        serde::Deserializer::deserialize_seq(&mut deserializer, Capped(limit)).map_err(|err| {
            match err.to_string().starts_with(TOO_MANY) {
                true => ReadingsError::TooMany { limit },
                false => ReadingsError::Malformed,
            }
        })?;
    deserializer.end().map_err(|_| ReadingsError::Malformed)?;
    Ok(items)
}

/// One reading's JSON text, parsed for [`validate`]: refused with a violation when it is over
/// [`MAX_READING_BYTES`] (before any tree is built) or nested deeper than JSON parsing allows.
pub fn parse_reading(raw: &RawValue) -> Result<Value, Vec<Violation>> {
    let refuse = |reason: String| {
        vec![Violation {
            field: "reading".into(),
            reason,
        }]
    };
    if raw.get().len() > MAX_READING_BYTES {
        return Err(refuse(format!(
            "is larger than SQS's {MAX_READING_BYTES}-byte message limit"
        )));
    }
    serde_json::from_str(raw.get()).map_err(|err| refuse(format!("is not readable JSON: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-20T10:20:00Z".parse().unwrap()
    }

    fn reading() -> Value {
        json!({
            "sensorId": "WL-0042",
            "sensorType": "water_level",
            "timestamp": "2026-11-20T10:15:00Z",
            "values": {"level_cm": 231.5, "battery_v": 3.7},
            "location": {"lat": 14.21, "lng": 100.65},
            "zone": "Z1",
            "firmware": "2.4.1"
        })
    }

    fn reasons(value: &Value) -> Vec<String> {
        validate(value.clone(), now(), &ValidationRules::default())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_valid_reading_keeps_every_field_including_unknown_ones() {
        let reading = validate(reading(), now(), &ValidationRules::default()).unwrap();
        assert_eq!(reading.sensor_id(), "WL-0042");
        assert_eq!(reading.sensor_type, "water_level");
        assert_eq!(reading.fields["firmware"], "2.4.1");
    }

    #[test]
    fn every_violation_is_reported_not_just_the_first() {
        let bad = json!({
            "sensorId": "bad id!",
            "sensorType": "pressure",
            "timestamp": "yesterday",
            "values": {"level_cm": "high"},
            "location": {"lat": 91.0},
            "zone": 7
        });
        assert_eq!(
            reasons(&bad),
            [
                "sensorId: must be 1-64 characters of A-Z, a-z, 0-9, _ . -",
                "sensorType: must be one of water_level, moisture, rainfall, flow, gate, temperature",
                "timestamp: must be an RFC 3339 date-time",
                "values.level_cm: must be a finite number",
                "location.lat: must be within ±90",
                "location.lng: must be a number",
                "zone: must be a string of at most 64 characters",
            ]
        );
    }

    #[test]
    fn missing_required_fields_are_each_named() {
        assert_eq!(
            reasons(&json!({"zone": "Z1"})),
            [
                "sensorId: is required",
                "sensorType: is required",
                "timestamp: is required",
                "values: is required",
            ]
        );
    }

    #[test]
    fn timestamps_too_far_ahead_or_too_old_are_refused_at_the_edges() {
        let at = |ts: &str| {
            let mut r = reading();
            r["timestamp"] = ts.into();
            validate(r, now(), &ValidationRules::default())
        };
        assert!(
            at("2026-11-20T10:25:00Z").is_ok(),
            "exactly 5 minutes ahead"
        );
        assert!(at("2026-11-20T10:25:01Z").is_err());
        assert!(at("2026-10-21T10:20:00Z").is_ok(), "exactly 30 days old");
        assert!(at("2026-10-21T10:19:59Z").is_err());
        assert!(
            at("2026-11-20T17:15:00+07:00").is_ok(),
            "offsets are converted to UTC"
        );
    }

    #[test]
    fn values_must_hold_one_to_thirty_two_numbers() {
        let mut r = reading();
        r["values"] = json!({});
        assert_eq!(reasons(&r), ["values: must hold 1 to 32 numbers"]);
        r["values"] = Value::Object((0..33).map(|i| (format!("v{i}"), json!(i))).collect());
        assert_eq!(reasons(&r), ["values: must hold 1 to 32 numbers"]);
    }

    fn raw(body: &Value) -> Result<Vec<Value>, ReadingsError> {
        let text = body.to_string();
        raw_readings(text.as_bytes(), 5).map(|items| {
            items
                .iter()
                .map(|item| serde_json::from_str(item.get()).expect("JSON"))
                .collect()
        })
    }

    #[test]
    fn bodies_hold_one_reading_an_array_or_a_readings_envelope() {
        assert_eq!(raw(&reading()).unwrap(), [reading()]);
        assert_eq!(raw(&json!([reading(), reading()])).unwrap().len(), 2);
        assert_eq!(raw(&json!({"readings": [reading()]})).unwrap(), [reading()]);
        assert_eq!(raw(&json!([])).unwrap(), Vec::<Value>::new());
        for bad in [
            json!({"readings": 3}),
            json!({"readings": null, "sensorId": "WL-1"}),
            json!("text"),
            json!(3),
            json!(null),
        ] {
            assert_eq!(raw(&bad), Err(ReadingsError::Malformed), "{bad}");
        }
        assert_eq!(
            raw_readings(b"[1, 2", 5).err(),
            Some(ReadingsError::Malformed)
        );
        assert_eq!(raw_readings(b"", 5).err(), Some(ReadingsError::Malformed));
    }

    #[test]
    fn the_reading_past_the_limit_stops_the_read() {
        assert_eq!(raw(&json!([1, 2, 3, 4, 5])).unwrap().len(), 5);
        assert_eq!(
            raw(&json!([1, 2, 3, 4, 5, 6])),
            Err(ReadingsError::TooMany { limit: 5 })
        );
        // Whatever follows the reading past the limit is not read, even when it is not JSON.
        assert_eq!(
            raw_readings(b"[1,2,3,4,5,6,this is not json", 5).err(),
            Some(ReadingsError::TooMany { limit: 5 })
        );
        assert_eq!(
            raw_readings(br#"{"readings": [1,2,3,4,5,6]}"#, 5).err(),
            Some(ReadingsError::TooMany { limit: 5 })
        );
    }

    #[test]
    fn a_reading_over_the_message_limit_is_refused_before_it_is_parsed() {
        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_READING_BYTES));
        let items = raw_readings(huge.as_bytes(), 5).unwrap();
        let violations = parse_reading(items[0]).unwrap_err();
        assert!(
            violations[0].reason.contains("message limit"),
            "{violations:?}"
        );
        let deep = format!("[{}{}]", "[".repeat(200), "]".repeat(200));
        let items = raw_readings(deep.as_bytes(), 5).unwrap();
        assert!(
            parse_reading(items[0]).is_err(),
            "nested past serde_json's limit"
        );
    }
}
