//! What the demo invokes, and what this build of each function should answer.
//!
//! Each function issue updates its steps here as the function grows, so `make demo` always
//! states the suite's real state: a route that is not built yet is expected to say so.

use crate::emulator::Outcome;

/// One invocation of the demo.
pub struct Step {
    /// The function (its package and SAM `Binary` name).
    pub function: &'static str,
    /// The sample event, under `events/`.
    pub event: &'static str,
    /// What this build should answer, in words.
    pub expected: &'static str,
    /// Re-stamp the sensor readings in the event's body to the current time before invoking:
    /// readings older than 30 days are refused by design, and sample events age.
    pub fresh_readings: bool,
    /// Reads the outcome into a one-line summary and a verdict.
    pub check: fn(&Outcome) -> Verdict,
}

/// A step's result as printed.
pub struct Verdict {
    pub summary: String,
    pub as_expected: bool,
}

pub const PLAN: &[Step] = &[
    Step {
        function: "proxy",
        event: "proxy-v2-unknown-route.json",
        fresh_readings: false,
        expected: "404 not_found in the contract's JSON error shape",
        check: |outcome| http_status(outcome, 404, "not_found"),
    },
    Step {
        function: "proxy",
        event: "proxy-v1-health.json",
        fresh_readings: false,
        expected: "200 with the secondary named healthy (the primary in SSM refuses connections)",
        check: |outcome| match outcome {
            Outcome::Response(response) => {
                let body = json_body(response);
                let status = response["statusCode"].as_u64().unwrap_or_default();
                Verdict {
                    summary: format!(
                        "{status} healthy upstream: {}",
                        body["upstream"].as_str().unwrap_or("-")
                    ),
                    as_expected: status == 200 && body["upstream"] == "secondary",
                }
            }
            other => unexpected(other),
        },
    },
    Step {
        function: "proxy",
        event: "proxy-v2-get.json",
        fresh_readings: false,
        expected: "200 from the Unified API stand-in after failing over from the dead primary",
        check: |outcome| match outcome {
            Outcome::Response(response) => {
                let status = response["statusCode"].as_u64().unwrap_or_default();
                let upstream = response["headers"]["x-upstream"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned();
                Verdict {
                    summary: format!(
                        "{status} answered by {upstream} (failed over from the primary)"
                    ),
                    as_expected: status == 200 && upstream == "unified-api-stand-in",
                }
            }
            other => unexpected(other),
        },
    },
    Step {
        function: "proxy",
        event: "proxy-v1-post.json",
        fresh_readings: false,
        expected: "200 from the stand-in: a POST moves on only because the primary refused the connection",
        check: |outcome| match outcome {
            Outcome::Response(response) => {
                let status = response["statusCode"].as_u64().unwrap_or_default();
                Verdict {
                    summary: format!(
                        "{status} (POST failed over from a refused connection, sent once)"
                    ),
                    as_expected: status == 200,
                }
            }
            other => unexpected(other),
        },
    },
    Step {
        function: "proxy",
        event: "proxy-v2-ingest.json",
        fresh_readings: true,
        expected: "202 with two SQS message ids from moto",
        check: |outcome| match outcome {
            Outcome::Response(response) => {
                let status = response["statusCode"].as_u64().unwrap_or_default();
                let body = json_body(response);
                let ids = body["messageIds"].as_array().map_or(0, Vec::len);
                Verdict {
                    summary: format!("{status}, {ids} readings enqueued to the sensor queue"),
                    as_expected: status == 202 && ids == 2,
                }
            }
            other => unexpected(other),
        },
    },
    Step {
        function: "proxy",
        event: "proxy-v2-path-escape.json",
        fresh_readings: false,
        expected: "400 bad_request: the path tries to leave /api/v1/",
        check: |outcome| http_status(outcome, 400, "bad_request"),
    },
    Step {
        function: "sensor-consumer",
        event: "sqs-sensor-clean-batch.json",
        fresh_readings: true,
        expected: "no batchItemFailures: all 3 readings written to S3",
        check: no_batch_failures,
    },
    Step {
        function: "sensor-consumer",
        event: "sqs-sensor-mixed-batch.json",
        fresh_readings: true,
        expected: "no batchItemFailures: poison messages quarantined and acknowledged, duplicate written once",
        check: no_batch_failures,
    },
    Step {
        function: "sensor-consumer",
        event: "sqs-sensor-fifo-batch.json",
        fresh_readings: true,
        expected: "no batchItemFailures on a FIFO batch",
        check: no_batch_failures,
    },
    Step {
        function: "sensor-consumer",
        event: "sensor-direct-readings.json",
        fresh_readings: true,
        expected: "a summary: 2 accepted, 0 quarantined, 0 failed",
        check: |outcome| match outcome {
            Outcome::Response(summary) => Verdict {
                summary: format!(
                    "accepted {}, quarantined {}, failed {}, {} objects",
                    summary["accepted"],
                    summary["quarantined"],
                    summary["failed"],
                    summary["objects"].as_array().map_or(0, Vec::len)
                ),
                as_expected: summary["accepted"] == 2 && summary["failed"] == 0,
            },
            other => unexpected(other),
        },
    },
    Step {
        function: "run-colors",
        event: "scheduler-run-colors.json",
        fresh_readings: false,
        expected: "a manifest: 240 rows ranked from the sample CSV and published with latest.json",
        check: |outcome| match outcome {
            Outcome::Response(response) => {
                let manifest = &response["manifest"];
                Verdict {
                    summary: format!(
                        "run {}: {} in, {} included, {} excluded, {} securities",
                        manifest["run_id"].as_str().unwrap_or("-"),
                        manifest["rows"]["input"],
                        manifest["rows"]["included"],
                        manifest["rows"]["excluded"],
                        manifest["securities"]
                    ),
                    as_expected: manifest["rows"]["input"] == 240
                        && response["published"]["folder"].is_string(),
                }
            }
            other => unexpected(other),
        },
    },
    Step {
        function: "run-colors",
        event: "run-colors-direct-late.json",
        fresh_readings: false,
        expected: "a run as of 08:45, after the 09:00 one: its folder published, latest.json kept on 09:00",
        check: |outcome| match outcome {
            Outcome::Response(response) => {
                let pointer = &response["pointer"];
                Verdict {
                    summary: format!(
                        "run {} published; latest.json {} ({})",
                        response["manifest"]["run_id"].as_str().unwrap_or("-"),
                        if pointer["moved"] == true {
                            "moved"
                        } else {
                            "kept"
                        },
                        pointer["reason"].as_str().unwrap_or("-")
                    ),
                    as_expected: response["published"]["folder"].is_string()
                        && pointer["moved"] == false
                        && pointer["current"]["as_of"]
                            .as_str()
                            .is_some_and(|as_of| as_of >= "2026-11-20T09:00:00"),
                }
            }
            other => unexpected(other),
        },
    },
    Step {
        function: "run-colors",
        event: "run-colors-direct-dry-run.json",
        fresh_readings: false,
        expected: "a manifest and nothing published (dry run)",
        check: |outcome| match outcome {
            Outcome::Response(response) => Verdict {
                summary: format!(
                    "dry run {}: {} securities, published: {}",
                    response["manifest"]["run_id"].as_str().unwrap_or("-"),
                    response["manifest"]["securities"],
                    response["published"]
                ),
                as_expected: response["published"].is_null()
                    && response["manifest"]["rows"]["input"] == 240,
            },
            other => unexpected(other),
        },
    },
    Step {
        function: "finance-closing",
        event: "scheduler-finance-closing-daily.json",
        fresh_readings: false,
        expected: "the workflow of 2026-11-19 (the business day before the event) accepted by Restate",
        check: |outcome| match outcome {
            Outcome::Response(started) => Verdict {
                summary: format!(
                    "FinanceClosing/{} {}",
                    started["date"].as_str().unwrap_or("-"),
                    started["status"].as_str().unwrap_or("-")
                ),
                as_expected: started["date"] == "2026-11-19" && started["status"] == "Accepted",
            },
            other => unexpected(other),
        },
    },
];

/// The JSON body of an API Gateway proxy response.
fn json_body(response: &serde_json::Value) -> serde_json::Value {
    response["body"]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

fn http_status(outcome: &Outcome, status: u64, code: &str) -> Verdict {
    let Outcome::Response(response) = outcome else {
        return unexpected(outcome);
    };
    let got_status = response["statusCode"].as_u64().unwrap_or_default();
    let body = json_body(response);
    let got_code = body["error"].as_str().unwrap_or("-");
    Verdict {
        summary: format!("{got_status} {got_code}"),
        as_expected: got_status == status && got_code == code,
    }
}

fn no_batch_failures(outcome: &Outcome) -> Verdict {
    match outcome {
        Outcome::Response(body) => {
            let failures = body["batchItemFailures"]
                .as_array()
                .map_or(usize::MAX, Vec::len);
            Verdict {
                summary: format!("{failures} batchItemFailures"),
                as_expected: failures == 0,
            }
        }
        other => unexpected(other),
    }
}

fn unexpected(outcome: &Outcome) -> Verdict {
    Verdict {
        summary: format!("unexpected {outcome}"),
        as_expected: false,
    }
}
