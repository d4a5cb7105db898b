//! The daily trigger (`FINANCE_CLOSING_MODE=trigger`): an EventBridge schedule (or a direct
//! `{"date": "YYYY-MM-DD"}`) starts the `FinanceClosing` workflow of the previous business day
//! through Restate's ingress. The workflow key is the date, so a retried or repeated trigger
//! gets `PreviouslyAccepted` and the closing runs once.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_runtime::LambdaEvent;
use orabridge_shared::lambda::{Diagnostic, diagnostic};
use orabridge_shared::start::Function;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::closing::ClosingDate;
use crate::config::TriggerConfig;

/// What the trigger answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The closing date (the workflow key).
    pub date: String,
    /// Restate's invocation id.
    pub invocation_id: Option<String>,
    /// `Accepted`, or `PreviouslyAccepted` when this date was already started.
    pub status: Option<String>,
}

/// Why the trigger failed. The token never appears in a message.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The event is neither a schedule nor `{"date": ...}`.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The ingress could not be reached.
    #[error("Restate's ingress at {url} could not be reached")]
    Unreachable {
        /// The ingress URL.
        url: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The ingress answered with an error.
    #[error("Restate's ingress refused to start the closing of {date}: HTTP {status}: {body}")]
    Refused {
        /// The date.
        date: String,
        /// HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
}

impl From<TriggerError> for Diagnostic {
    fn from(error: TriggerError) -> Self {
        let error_type = match &error {
            TriggerError::InvalidEvent(_) => "InvalidEvent",
            TriggerError::Unreachable { .. } => "IngressUnreachable",
            TriggerError::Refused { .. } => "IngressRefused",
        };
        diagnostic(error_type, &error)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TriggerEvent {
    /// An EventBridge rule's scheduled event.
    Scheduled {
        #[serde(rename = "detail-type")]
        _detail_type: String,
        time: DateTime<Utc>,
    },
    /// What the template's EventBridge Scheduler schedule sends: its input,
    /// `{"scheduledTime": "<aws.scheduler.scheduled-time>"}` filled in (Scheduler hands a
    /// Lambda target its input alone, no envelope).
    SchedulerInput {
        #[serde(rename = "scheduledTime")]
        scheduled_time: DateTime<Utc>,
    },
    Direct {
        date: String,
    },
}

/// The date to close: the business day before a schedule's time (an EventBridge rule's `time`
/// or the Scheduler input's `scheduledTime`), or a direct `date`.
pub fn closing_date(event: &serde_json::Value) -> Result<ClosingDate, TriggerError> {
    match serde_json::from_value::<TriggerEvent>(event.clone()) {
        Ok(
            TriggerEvent::Scheduled { time, .. }
            | TriggerEvent::SchedulerInput {
                scheduled_time: time,
            },
        ) => Ok(ClosingDate::previous_business_day(time.date_naive())),
        Ok(TriggerEvent::Direct { date }) => {
            ClosingDate::parse(&date).map_err(|err| TriggerError::InvalidEvent(err.to_string()))
        }
        Err(_) => Err(TriggerError::InvalidEvent(
            "expected a scheduled event, {\"scheduledTime\": \"<RFC 3339>\"} or {\"date\": \"YYYY-MM-DD\"}"
                .into(),
        )),
    }
}

/// Starts workflows through one Restate ingress.
#[derive(Clone)]
pub struct Trigger {
    client: Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    ingress: String,
    token: Option<SecretString>,
}

// Restate answers a send at once; anything slower is a network problem.
const TIMEOUT: Duration = Duration::from_secs(10);

impl Trigger {
    /// A trigger for `ingress` (`https://...` or `http://...`), with a bearer `token` if the
    /// ingress needs one (Restate Cloud does).
    fn new(ingress: &str, token: Option<SecretString>) -> std::io::Result<Self> {
        let connector = orabridge_shared::http::https_connector(Duration::from_secs(5))?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            ingress: ingress.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends `run` for `date` (without waiting for the closing) and returns Restate's answer.
    pub async fn start(&self, date: ClosingDate) -> Result<Started, TriggerError> {
        let url = format!("{}/FinanceClosing/{date}/run/send", self.ingress);
        let body = serde_json::to_vec(&serde_json::json!({ "date": date.to_string() }))
            .unwrap_or_default();
        // No idempotency-key header: Restate refuses one on workflow handlers, whose key (the
        // date) already makes a second start answer `PreviouslyAccepted`.
        let mut request = http::Request::post(&url).header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {}", token.expose_secret()));
        }
        let unreachable =
            |source: Box<dyn std::error::Error + Send + Sync>| TriggerError::Unreachable {
                url: self.ingress.clone(),
                source,
            };
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| unreachable(err.into()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|err| unreachable(err.into()))?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), 64 * 1024)
                .collect()
                .await
                .map_err(unreachable)?
                .to_bytes();
            Ok::<_, TriggerError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|elapsed| unreachable(elapsed.into()))??;
        if !(200..300).contains(&status) {
            return Err(TriggerError::Refused {
                date: date.to_string(),
                status,
                body: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            });
        }
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Ok(Started {
            date: date.to_string(),
            invocation_id: answer["invocationId"].as_str().map(str::to_owned),
            status: answer["status"].as_str().map(str::to_owned),
        })
    }
}

/// The trigger for `config`: what `main` serves and what the tests invoke. Fails only when
/// `SSL_CERT_FILE` names an unusable file.
pub fn build(config: TriggerConfig) -> std::io::Result<Trigger> {
    Trigger::new(&config.ingress_url, config.token)
}

impl Function for Trigger {
    type Event = serde_json::Value;
    type Output = Started;
    type Error = TriggerError;

    /// Starts the closing the event names.
    async fn handle(&self, event: LambdaEvent<serde_json::Value>) -> Result<Started, TriggerError> {
        let date = closing_date(&event.payload)?;
        let started = self.start(date).await?;
        tracing::info!(%date, status = ?started.status, "closing workflow started");
        Ok(started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schedule_closes_the_business_day_before_its_time() {
        let event: serde_json::Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-finance-closing-daily.json"
        ))
        .expect("event");
        let date = closing_date(&event).expect("date");
        let time = DateTime::parse_from_rfc3339(event["time"].as_str().expect("time"))
            .expect("rfc3339")
            .with_timezone(&Utc);
        assert_eq!(date, ClosingDate::previous_business_day(time.date_naive()));
        let monday = json!({"detail-type": "Scheduled Event", "source": "aws.events",
                            "time": "2026-11-23T02:00:00Z", "detail": {}});
        assert_eq!(
            closing_date(&monday).expect("date").to_string(),
            "2026-11-20"
        );
    }

    /// What the template's schedule sends (its `Input`, the scheduled time filled in:
    /// "Adding context attributes in EventBridge Scheduler",
    /// https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
    #[test]
    fn the_scheduler_input_closes_the_business_day_before_the_scheduled_time() {
        let event: serde_json::Value = serde_json::from_str(include_str!(
            "../../../events/scheduler-finance-closing-daily.json"
        ))
        .expect("event");
        assert_eq!(
            closing_date(&event).expect("date").to_string(),
            "2026-11-19"
        );
        let tuesday = json!({"scheduledTime": "2026-11-24T01:30:00Z"});
        assert_eq!(
            closing_date(&tuesday).expect("date").to_string(),
            "2026-11-23"
        );
        let bad = json!({"scheduledTime": "<aws.scheduler.scheduled-time>"});
        assert!(closing_date(&bad).is_err(), "a placeholder left unfilled");
    }

    #[test]
    fn a_direct_start_names_its_date_and_anything_else_is_refused() {
        assert_eq!(
            closing_date(&json!({"date": "2026-11-18"}))
                .expect("date")
                .to_string(),
            "2026-11-18"
        );
        for bad in [
            json!({"date": "18/11/2026"}),
            json!({}),
            json!([1]),
            json!({"time": "x"}),
        ] {
            let err = closing_date(&bad).expect_err("refused");
            assert_eq!(Diagnostic::from(err).error_type, "InvalidEvent", "{bad}");
        }
    }
}
