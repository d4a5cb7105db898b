//! The costliest requests a client can send the proxy, for `proxy-rss`'s worst-case table:
//! each body as large as `MAX_BODY_BYTES` allows (4.4 MB by default), base64-encoded in an HTTP
//! API event as API Gateway sends a binary body, built to make one part of the proxy work
//! hardest: many tiny JSON objects, long arrays of numbers, deep nesting, one long string,
//! the most readings a request may hold, a large body forwarded, and many headers.

use serde_json::{Value, json};

/// The default `MAX_BODY_BYTES`: every body here stays at or under it.
const BODY_BYTES: usize = 4_400_000;

/// One worst case: what it is, and the invocation event that carries it.
pub struct WorstCase {
    /// What the body is, for the table.
    pub name: &'static str,
    /// The HTTP API event.
    pub event: Value,
}

/// `body` as a JSON text of about `BODY_BYTES`: `open`, then `item` repeated, comma-separated,
/// then `close`.
fn repeated(open: &str, item: &str, close: &str) -> Vec<u8> {
    let count = (BODY_BYTES - open.len() - close.len()) / (item.len() + 1);
    let mut body = String::with_capacity(BODY_BYTES);
    body.push_str(open);
    for index in 0..count {
        if index > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str(close);
    body.into_bytes()
}

fn reading(index: usize) -> Value {
    json!({
        "sensorId": format!("WL-{index:04}"),
        "sensorType": "water_level",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "values": {"level_cm": 231.5},
        "note": "x".repeat(3_000),
    })
}

/// The HTTP API event `sample` with `method`, `path`, `body` (base64) and `headers` added.
fn event(
    sample: &Value,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> Value {
    let mut event = sample.clone();
    event["rawPath"] = path.into();
    event["rawQueryString"] = "".into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["body"] = orabridge_shared::encoding::base64_encode(body).into();
    event["isBase64Encoded"] = true.into();
    for (name, value) in headers {
        event["headers"][name] = value.clone().into();
    }
    event
}

/// Every worst case, built on `sample` (the repository's HTTP API sample event).
pub fn worst_cases(sample: &Value) -> Vec<WorstCase> {
    let ingest = |body: Vec<u8>| event(sample, "POST", "/ingest/sensor-data", &body, &[]);
    let depth = BODY_BYTES / 2;
    let readings: Vec<Value> = (0..=1_000).map(reading).collect();
    let full_readings: Vec<Value> = (0..1_000).map(reading).collect();
    let many_headers: Vec<(String, String)> = (0..20_000)
        .map(|i| (format!("x-h-{i:05}"), "v".repeat(60)))
        .collect();
    let binary: Vec<u8> = (0..BODY_BYTES).map(|i| (i * 7919 % 251) as u8).collect();
    vec![
        WorstCase {
            name: "ingestion: 4.4 MB of one-key objects (`[{\"a\":0},...]`, 550,000 of them)",
            event: ingest(repeated("[", r#"{"a":0}"#, "]")),
        },
        WorstCase {
            name: "ingestion: one reading whose `values` holds 4.4 MB of one-key objects",
            event: ingest(repeated(
                r#"{"sensorId":"X","values":["#,
                r#"{"a":0}"#,
                "]}",
            )),
        },
        WorstCase {
            name: "ingestion: 4.4 MB of numbers (`[0,0,...]`)",
            event: ingest(repeated("[", "0", "]")),
        },
        WorstCase {
            name: "ingestion: 2.2 million levels of nesting (`[[[...]]]`)",
            event: ingest(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        },
        WorstCase {
            name: "ingestion: one 4.4 MB string",
            event: ingest(
                format!(
                    r#"{{"sensorId":"X","note":"{}"}}"#,
                    "x".repeat(BODY_BYTES - 40)
                )
                .into_bytes(),
            ),
        },
        WorstCase {
            name: "ingestion: 1,001 readings of 3 KB (one past the cap)",
            event: ingest(serde_json::to_vec(&readings).unwrap_or_default()),
        },
        WorstCase {
            name: "ingestion: 1,000 valid readings of 3 KB, enqueued",
            event: ingest(serde_json::to_vec(&full_readings).unwrap_or_default()),
        },
        WorstCase {
            name: "forwarding: a 4.4 MB binary body",
            event: event(sample, "POST", "/api/v1/uploads", &binary, &[]),
        },
        WorstCase {
            name: "forwarding: 20,000 headers of 60 bytes",
            event: event(sample, "GET", "/api/v1/sensors", b"", &many_headers),
        },
    ]
}
