//! The clock behind a trait, so time-based logic (cache TTLs, circuit-breaker cool-downs,
//! reading ages, a six-hour closing) is tested by moving a [`ManualClock`] instead of sleeping.
//! It reads two times: the monotonic [`Instant`] that durations are measured on, and the wall
//! clock that timestamps are (UTC); a manual clock moves both together.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A clock, injectable so tests can move time instead of sleeping.
pub trait Clock: Send + Sync {
    /// The current instant, for measuring durations.
    fn now(&self) -> Instant;

    /// The current wall-clock time, for timestamps.
    fn wall(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<(Instant, DateTime<Utc>)>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::at(Utc::now())
    }
}

impl ManualClock {
    /// A clock stopped at the current instant and time.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock stopped at the wall-clock time `wall`.
    pub fn at(wall: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new((Instant::now(), wall))),
        }
    }

    fn state(&self) -> MutexGuard<'_, (Instant, DateTime<Utc>)> {
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.state();
        now.0 += by;
        now.1 += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.state().0
    }

    fn wall(&self) -> DateTime<Utc> {
        self.state().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_its_instant_and_its_wall_time_together() {
        let start = DateTime::UNIX_EPOCH;
        let clock = ManualClock::at(start);
        let instant = clock.now();
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - instant, Duration::from_secs(90));
        assert_eq!(clock.wall(), start + chrono::Duration::seconds(90));
        let shared = clock.clone();
        shared.advance(Duration::from_millis(500));
        assert_eq!(clock.wall().timestamp_millis(), 90_500);
    }
}
