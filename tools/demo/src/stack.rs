//! The local stack the demo, the SAM tier, the arm64 tier and the cold-start measurement share:
//! moto seeded with what the functions read, the Unified API stand-in, the functions'
//! environment, sample events with fresh readings, and the one-line summary of an answer.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use orabridge_shared::testkit::upstream::{Behavior, LoopbackUpstream, refusing_url};
use orabridge_shared::testkit::{self, MotoServer, RestateServer};

/// The names the demo seeds and hands to the functions. They are the contract's defaults.
pub(crate) const UPSTREAM_PARAM: &str = "/munbon/oracle-api-endpoint";
pub(crate) const INTERNAL_KEY_PARAM: &str = "/munbon/internal-key";
pub(crate) const BUCKET: &str = "orabridge-demo";
pub(crate) const RUNS_PREFIX: &str = "market-pulse";
pub(crate) const SENSOR_QUEUE: &str = "orabridge-sensor-readings";
pub(crate) const ALERT_QUEUE: &str = "orabridge-sensor-alerts";

/// Writes a copy of a sample event with every reading's `timestamp` moved by one offset, so the
/// newest is a minute old (readings older than 30 days are refused by design and sample events
/// age). One offset keeps duplicates duplicates and order in order. Readings are found in an
/// API Gateway body, in SQS record bodies, or in a direct `{"readings": [...]}` payload; bodies
/// that are not JSON (poison messages) are left as they are.
pub(crate) fn with_fresh_readings(event_file: &Path, state_dir: &Path) -> Result<PathBuf> {
    use serde_json::Value;
    let text = std::fs::read_to_string(event_file)
        .with_context(|| format!("reading {}", event_file.display()))?;
    let mut event: Value = serde_json::from_str(&text)?;

    // Every place a body string may hold readings.
    fn bodies(event: &mut Value) -> Vec<&mut Value> {
        if event.get("Records").is_some() {
            event["Records"]
                .as_array_mut()
                .map(|records| {
                    records
                        .iter_mut()
                        .filter_map(|r| r.get_mut("body"))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            event.get_mut("body").into_iter().collect()
        }
    }
    fn timestamps(value: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "timestamp" {
                        visit(child);
                    } else {
                        timestamps(child, visit);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|child| timestamps(child, visit)),
            _ => {}
        }
    }
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };

    let mut parsed_bodies: Vec<Option<Value>> = bodies(&mut event)
        .into_iter()
        .map(|b| b.as_str().and_then(|t| serde_json::from_str(t).ok()))
        .collect();
    let mut newest = None;
    let mut find_newest = |v: &mut Value| newest = newest.max(parse(v));
    timestamps(&mut event, &mut find_newest);
    for body in parsed_bodies.iter_mut().flatten() {
        timestamps(body, &mut find_newest);
    }
    let Some(newest) = newest else {
        return Ok(event_file.to_path_buf());
    };
    let offset = chrono::Utc::now() - chrono::Duration::minutes(1) - newest;
    let mut shift = |v: &mut Value| {
        if let Some(at) = parse(v) {
            *v = orabridge_shared::encoding::rfc3339_secs(at + offset).into();
        }
    };
    for body in parsed_bodies.iter_mut().flatten() {
        timestamps(body, &mut shift);
    }
    if event.get("readings").is_some() {
        timestamps(&mut event, &mut shift);
    }
    for (slot, parsed) in bodies(&mut event).into_iter().zip(parsed_bodies) {
        if let Some(body) = parsed {
            *slot = body.to_string().into();
        }
    }
    let name = event_file.file_name().unwrap_or_default();
    let fresh = state_dir.join(name);
    std::fs::write(&fresh, event.to_string())
        .with_context(|| format!("writing {}", fresh.display()))?;
    Ok(fresh)
}

/// The workspace root and the demo's state folder (`.demo/`, git-ignored), created.
pub(crate) fn workspace_and_state_dir() -> Result<(PathBuf, PathBuf)> {
    let root = testkit::workspace_root();
    let state_dir = root.join(".demo");
    std::fs::create_dir_all(&state_dir).context("creating .demo/")?;
    Ok((root, state_dir))
}

/// Starts the Unified API stand-in, which answers every path with a small JSON document, and
/// returns it with the endpoint list to put in SSM: a dead primary in front of it, so every
/// proxy call shows a failover.
pub(crate) async fn start_unified_api() -> Result<(LoopbackUpstream, String)> {
    let stand_in = LoopbackUpstream::start("unified-api-stand-in", unified_api_behavior()).await?;
    let endpoints = format!("{},{}", refusing_url(), stand_in.url());
    Ok((stand_in, endpoints))
}

/// How the Unified API stand-in answers every path: a small JSON document.
pub(crate) fn unified_api_behavior() -> Behavior {
    Behavior::json(
        200,
        r#"{"status":"ok","source":"local Unified API stand-in"}"#,
    )
}

pub(crate) struct Seeded {
    pub(crate) sensor_queue_url: String,
    pub(crate) alert_queue_url: String,
}

/// The proxy's parameters under the contract's default names.
pub(crate) fn proxy_parameters(endpoints: &str) -> Vec<(String, String, bool)> {
    vec![
        (UPSTREAM_PARAM.into(), endpoints.into(), false),
        (INTERNAL_KEY_PARAM.into(), "demo-internal-key".into(), true),
    ]
}

/// Creates the bucket and both queues, and writes `parameters` (name, value, SecureString).
pub(crate) async fn seed(
    moto: &MotoServer,
    parameters: &[(String, String, bool)],
) -> Result<Seeded> {
    let sdk = moto.sdk_config().await;
    let ssm = orabridge_shared::aws::ssm_client(&sdk);
    for (name, value, secure) in parameters {
        testkit::put_parameter(&ssm, name, value, *secure)
            .await
            .with_context(|| format!("seeding SSM parameter {name}"))?;
    }
    testkit::create_bucket(&orabridge_shared::aws::s3_client(&sdk), BUCKET)
        .await
        .context("creating the demo bucket")?;
    let sqs = orabridge_shared::aws::sqs_client(&sdk);
    let mut urls = Vec::new();
    for queue in [SENSOR_QUEUE, ALERT_QUEUE] {
        let url = testkit::create_queue(&sqs, queue)
            .await
            .with_context(|| format!("creating queue {queue}"))?;
        urls.push(url);
    }
    let [sensor_queue_url, alert_queue_url] =
        <[String; 2]>::try_from(urls).map_err(|_| anyhow::anyhow!("expected two queue URLs"))?;
    Ok(Seeded {
        sensor_queue_url,
        alert_queue_url,
    })
}

/// The environment every function gets: the same variables `template.yaml` sets in AWS,
/// pointed at the local stack.
pub(crate) fn function_env(
    moto: &MotoServer,
    restate: Option<&RestateServer>,
    seeded: &Seeded,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
        ("AWS_REGION", testkit::LOCAL_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("METRICS_NAMESPACE", "OrabridgeDemo".to_owned()),
        ("UPSTREAM_PARAM", UPSTREAM_PARAM.to_owned()),
        // The stand-in Unified API listens on plain HTTP on loopback.
        ("ALLOW_PLAIN_HTTP_UPSTREAM", "true".to_owned()),
        ("INTERNAL_KEY_PARAM", INTERNAL_KEY_PARAM.to_owned()),
        ("BUCKET", BUCKET.to_owned()),
        ("PREFIX", "lake".to_owned()),
        (
            "THRESHOLDS",
            r#"{"water_level":{"level_cm":{"gt":200}}}"#.to_owned(),
        ),
        // run-colors on its CSV source (no Oracle here), publishing to the same bucket.
        ("RUNS_PREFIX", RUNS_PREFIX.to_owned()),
        ("COLORS_CSV", root_path("events/run-colors-sample.csv")),
        ("RULES_FILE", root_path("events/run-colors-rules.json")),
        ("SENSOR_QUEUE_URL", seeded.sensor_queue_url.clone()),
        ("ALERT_QUEUE_URL", seeded.alert_queue_url.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(restate) = restate {
        env.push((
            "RESTATE_INGRESS_URL".into(),
            restate.ingress_url().to_string(),
        ));
        env.push(("RESTATE_ADMIN_URL".into(), restate.admin_url().to_string()));
    } else {
        // Cold starts run without restate-server: the trigger starts, and answers that the
        // ingress is unreachable.
        env.push(("RESTATE_INGRESS_URL".into(), "http://127.0.0.1:9".into()));
    }
    env
}

/// An absolute path inside the workspace.
pub(crate) fn root_path(relative: &str) -> String {
    testkit::workspace_root()
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// A short form of an answer for the table.
pub(crate) fn answer_summary(answer: &str) -> String {
    if let Some(error) = answer.strip_prefix("error: ") {
        let kind = serde_json::from_str::<serde_json::Value>(error)
            .ok()
            .and_then(|v| v["errorType"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        return format!("error `{kind}`");
    }
    match serde_json::from_str::<serde_json::Value>(answer) {
        Ok(v) if v.get("statusCode").is_some() => format!("HTTP {}", v["statusCode"]),
        Ok(v) if v.get("batchItemFailures").is_some() => format!(
            "{} batch item failures",
            v["batchItemFailures"].as_array().map_or(0, Vec::len)
        ),
        Ok(v) if v["manifest"]["run_id"].is_string() => {
            format!(
                "run {} published",
                v["manifest"]["run_id"].as_str().unwrap_or_default()
            )
        }
        Ok(v) => v.to_string().chars().take(40).collect(),
        Err(_) => "non-JSON".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_summarised_by_what_matters_for_each_kind_of_function() {
        assert_eq!(
            answer_summary(r#"{"statusCode":200,"body":"x"}"#),
            "HTTP 200"
        );
        assert_eq!(
            answer_summary(r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#),
            "1 batch item failures"
        );
        assert_eq!(
            answer_summary(r#"error: {"errorType":"NotBuiltYet","errorMessage":"…"}"#),
            "error `NotBuiltYet`"
        );
        assert_eq!(
            answer_summary(r#"{"bucket":"b","manifest":{"run_id":"20261120T090000Z-e8"}}"#),
            "run 20261120T090000Z-e8 published"
        );
        assert_eq!(answer_summary("error: gibberish"), "error `unknown`");
        assert_eq!(answer_summary("plain text"), "non-JSON");
    }
}
