//! Glue between the functions' error enums and the Lambda runtime.
//!
//! Each function maps its boundary error enum to a Lambda [`Diagnostic`] explicitly: the
//! `errorType` is a stable name a CloudWatch alarm or a Step Functions `Catch` can match, and
//! the message carries the whole cause chain so the invocation error is self-explanatory.
//!
//! Every function's `main` runs on tokio's current-thread runtime: Lambda hands a function one
//! event at a time, and below 1,769 MB of memory it has less than one vCPU. The I/O still
//! overlaps on that thread, blocking work goes to `spawn_blocking`, and no worker threads are
//! started during the cold start.

use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use lambda_runtime::Diagnostic;

/// The log subscriber, then the EMF metrics recorder whose `service` dimension defaults to
/// `function`: the first step of [`Start::new`](crate::start::Start::new).
pub(crate) fn init(
    function: &str,
) -> Result<&'static crate::metrics::Collector, crate::metrics::MetricsError> {
    crate::logging::init();
    crate::metrics::init(&crate::metrics::MetricsSettings::from_source(
        &crate::config::ProcessEnv,
        function,
    ))
}

/// A [`Diagnostic`] whose `errorType` is `error_type` and whose message is the error's cause
/// chain (`outer: cause: root cause`).
pub fn diagnostic(error_type: &str, error: &(dyn Error + 'static)) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: crate::errors::chain(error).to_string(),
    }
}

/// Deadlines before 2001 are not wall-clock times: Lambda sends epoch milliseconds, but some
/// emulators (`cargo lambda watch` sends `600000`) send a duration. Those are ignored rather
/// than read as "already expired", which would fail every invocation at once.
const EARLIEST_PLAUSIBLE_DEADLINE_MS: u64 = 978_307_200_000;

/// The invocation's deadline (`Context::deadline`, epoch milliseconds) if it is a wall-clock
/// time; `None` for an emulator's duration.
pub fn plausible_deadline(deadline_ms: u64) -> Option<u64> {
    Some(deadline_ms).filter(|&deadline| deadline >= EARLIEST_PLAUSIBLE_DEADLINE_MS)
}

/// The time left before the invocation's deadline (`Context::deadline`) as seen at `now`, if
/// the deadline is a wall-clock time; zero once it has passed.
pub fn time_left(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    plausible_deadline(deadline_ms)
        .map(|deadline| Duration::from_millis(deadline - now_ms.min(deadline)))
}

/// The instant on tokio's clock, `margin` before the invocation's deadline, by which work must
/// stop so the answer still reaches Lambda; `None` when the context carries no wall-clock
/// deadline. A timer set for it (`tokio::time::timeout_at`) is then immune to the wall clock
/// stepping.
pub fn cut_off(deadline_ms: u64, margin: Duration) -> Option<tokio::time::Instant> {
    let left = time_left(deadline_ms, SystemTime::now())?;
    Some(tokio::time::Instant::now() + left.saturating_sub(margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_read_only_when_it_is_a_wall_clock_time() {
        let now = UNIX_EPOCH + Duration::from_millis(1_795_000_000_000);
        assert_eq!(
            time_left(1_795_000_009_500, now),
            Some(Duration::from_millis(9_500))
        );
        assert_eq!(time_left(1_794_999_000_000, now), Some(Duration::ZERO));
        assert_eq!(
            time_left(600_000, now),
            None,
            "cargo lambda watch's duration"
        );
        assert_eq!(time_left(0, now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cut_off_keeps_the_margin_back() {
        let deadline = SystemTime::now() + Duration::from_secs(10);
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let at = cut_off(deadline_ms, Duration::from_secs(2)).unwrap();
        let left = at - tokio::time::Instant::now();
        assert!(
            left <= Duration::from_secs(8) && left > Duration::from_secs(7),
            "{left:?}"
        );
        assert_eq!(cut_off(600_000, Duration::from_secs(2)), None);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("publishing the run failed")]
    struct Publish(#[source] std::io::Error);

    #[test]
    fn diagnostics_carry_the_type_and_the_whole_cause_chain() {
        let err = Publish(std::io::Error::other("bucket not found"));
        let diagnostic = diagnostic("PublishFailed", &err);
        assert_eq!(diagnostic.error_type, "PublishFailed");
        assert_eq!(
            diagnostic.error_message,
            "publishing the run failed: bucket not found"
        );
    }
}
