//! One logging setup for every function.
//!
//! [`init`] installs a `tracing` subscriber configured the way Lambda's advanced logging controls
//! describe: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`; JSON by default inside Lambda, text on a
//! laptop) and `AWS_LAMBDA_LOG_LEVEL` (falling back to `RUST_LOG`, then `INFO`).
//!
//! JSON lines are flat objects: `timestamp`, `level`, `target`, `message`, the event's fields and
//! the fields of every enclosing span. The Lambda runtime wraps each invocation in a span carrying
//! `requestId` (and `xrayTraceId` when tracing is on), so every line logged while handling an
//! event carries the request id without the handler passing it around; a function that opens a
//! span per SQS record gets `messageId` on each line the same way.

use std::io::{self, IsTerminal};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{ProcessEnv, VarSource};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (CloudWatch Logs Insights can query the fields).
    Json,
    /// Human-readable lines for local runs.
    Text,
}

/// The logging configuration, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Line format.
    pub format: LogFormat,
    /// An `EnvFilter` directive string (`info`, `warn,orabridge=debug`, ...).
    pub filter: String,
}

impl LogSettings {
    /// Reads `AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG` and whether we run in
    /// Lambda (`AWS_LAMBDA_FUNCTION_NAME`).
    pub fn from_source(vars: &impl VarSource) -> Self {
        let in_lambda = vars.var("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let format = match vars.var("AWS_LAMBDA_LOG_FORMAT") {
            Some(value) if value.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(value) if value.eq_ignore_ascii_case("text") => LogFormat::Text,
            _ if in_lambda => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let filter = vars
            .var("AWS_LAMBDA_LOG_LEVEL")
            .and_then(|level| lambda_level_directive(&level))
            .or_else(|| vars.non_empty("RUST_LOG"))
            .unwrap_or_else(|| "info".to_owned());
        Self { format, filter }
    }
}

/// Lambda's level names (`TRACE` .. `FATAL`) as `EnvFilter` directives.
fn lambda_level_directive(level: &str) -> Option<String> {
    let directive = match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        // tracing has no FATAL; ERROR is the closest level that still shows those lines.
        "ERROR" | "FATAL" => "error",
        _ => return None,
    };
    Some(directive.to_owned())
}

/// Installs the global subscriber from the process environment, writing to stdout (where
/// Lambda collects logs). Safe to call twice: the second call does nothing.
pub fn init() {
    let settings = LogSettings::from_source(&ProcessEnv);
    let _ = tracing::subscriber::set_global_default(subscriber(&settings, io::stdout));
}

/// Builds (without installing) a subscriber for `settings` writing to `writer`. Tests use it
/// with [`CapturedLogs`] and `tracing::subscriber::with_default`.
pub fn subscriber<W>(settings: &LogSettings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match settings.format {
        LogFormat::Json => Box::new(
            registry.with(SpanFieldsLayer).with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonLines)
                    .with_writer(writer),
            ),
        ),
        LogFormat::Text => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(io::stdout().is_terminal())
                    .with_writer(writer),
            ),
        ),
    }
}

/// The fields a span was created with (and later recorded), kept in the span's extensions so
/// the JSON formatter can flatten them into every line logged inside it.
struct SpanFields(Map<String, Value>);

struct SpanFieldsLayer;

impl<S> Layer<S> for SpanFieldsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
                values.record(&mut JsonVisitor(fields));
            }
        }
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = crate::errors::chain(value).to_string();
        self.0.insert(field.name().to_owned(), Value::from(text));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

/// Formats each event as one flat JSON object.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(crate::encoding::rfc3339_millis(chrono::Utc::now())),
        );
        line.insert("level".into(), Value::from(meta.level().as_str()));
        line.insert("target".into(), Value::from(meta.target()));
        // Outer spans first, so an inner span's field wins over an outer one of the same name.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An in-memory log sink for tests: pass it to [`subscriber`], then read what was written.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// Every JSON line written so far, parsed; lines that are not JSON are skipped.
    pub fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// The writer handed out by [`CapturedLogs`].
#[derive(Debug)]
pub struct CapturedWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl io::Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter {
            buffer: Arc::clone(&self.buffer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn json_settings(filter: &str) -> LogSettings {
        LogSettings {
            format: LogFormat::Json,
            filter: filter.to_owned(),
        }
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let settings =
            LogSettings::from_source(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")]);
        assert_eq!(settings.filter, "debug");
    }

    #[test]
    fn fatal_maps_to_error_and_unknown_levels_fall_back() {
        assert_eq!(
            LogSettings::from_source(&[("AWS_LAMBDA_LOG_LEVEL", "fatal")]).filter,
            "error"
        );
        assert_eq!(
            LogSettings::from_source(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD"), ("RUST_LOG", "warn")])
                .filter,
            "warn"
        );
        assert_eq!(LogSettings::from_source(&[("X", "y")]).filter, "info");
    }

    #[test]
    fn json_is_the_default_in_lambda_and_text_elsewhere() {
        let in_lambda = LogSettings::from_source(&[("AWS_LAMBDA_FUNCTION_NAME", "proxy")]);
        assert_eq!(in_lambda.format, LogFormat::Json);
        let local = LogSettings::from_source(&[("HOME", "/root")]);
        assert_eq!(local.format, LogFormat::Text);
        let forced_text = LogSettings::from_source(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "proxy"),
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
        ]);
        assert_eq!(forced_text.format, LogFormat::Text);
    }

    #[test]
    fn every_json_line_inside_an_invocation_carries_the_request_id() {
        let logs = CapturedLogs::new();
        tracing::subscriber::with_default(subscriber(&json_settings("info"), logs.clone()), || {
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-123");
            let _invoke = invoke.enter();
            tracing::info!(records = 3u64, "batch received");
            let record = tracing::info_span!("record", messageId = "m-1");
            let _record = record.enter();
            tracing::warn!("record rejected");
        });
        let lines = logs.json_lines();
        assert_eq!(lines.len(), 2, "{}", logs.text());
        for line in &lines {
            assert_eq!(line["requestId"], "req-123");
            assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        }
        assert_eq!(lines[0]["message"], "batch received");
        assert_eq!(lines[0]["records"], 3);
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[1]["messageId"], "m-1");
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[test]
    fn lines_below_the_configured_level_are_dropped() {
        let logs = CapturedLogs::new();
        tracing::subscriber::with_default(subscriber(&json_settings("warn"), logs.clone()), || {
            tracing::info!("quiet");
            tracing::error!("loud");
        });
        let messages: Vec<_> = logs
            .json_lines()
            .iter()
            .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(messages, vec!["loud"]);
    }

    #[test]
    fn secrets_logged_as_fields_are_redacted() {
        let logs = CapturedLogs::new();
        let key = SecretString::from("top-secret-key");
        tracing::subscriber::with_default(subscriber(&json_settings("info"), logs.clone()), || {
            tracing::info!(key = ?key, "loaded key");
        });
        assert!(logs.text().contains("loaded key"));
        assert!(!logs.text().contains("top-secret-key"));
    }

    #[test]
    fn error_fields_show_their_whole_cause_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("upload failed")]
        struct Upload(#[source] std::io::Error);
        let logs = CapturedLogs::new();
        let err = Upload(std::io::Error::other("connection reset"));
        tracing::subscriber::with_default(subscriber(&json_settings("info"), logs.clone()), || {
            tracing::error!(error = &err as &dyn std::error::Error, "giving up");
        });
        assert_eq!(
            logs.json_lines()[0]["error"],
            "upload failed: connection reset"
        );
    }
}
