//! One circuit breaker per upstream, shared across warm invocations.
//!
//! Closed: requests flow; consecutive failures are counted. At the threshold the circuit opens
//! and the upstream is skipped for the cool-down, so a dead VM costs no connect timeout per
//! request. After the cool-down one trial request goes through (half-open): success closes the
//! circuit, failure opens it for another cool-down. Breakers are keyed by base URL, so an
//! endpoint changed in SSM starts closed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use orabridge_shared::clock::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { since: Instant },
}

/// Whether a request may go to an upstream now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Circuit closed.
    Allowed,
    /// Circuit half-open: this request is the one trial.
    Trial,
    /// Circuit open, or a trial is already under way: skip this upstream.
    Skipped,
}

/// The breakers of every upstream seen by this container.
#[derive(Debug)]
pub struct CircuitBreakers<C> {
    failure_threshold: u32,
    cool_down: Duration,
    clock: C,
    states: Mutex<HashMap<String, State>>,
}

impl<C: Clock> CircuitBreakers<C> {
    /// Breakers that open after `failure_threshold` consecutive failures for `cool_down`.
    pub fn new(failure_threshold: u32, cool_down: Duration, clock: C) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            cool_down,
            clock,
            states: Mutex::new(HashMap::new()),
        }
    }

    fn states(&self) -> std::sync::MutexGuard<'_, HashMap<String, State>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks to send a request to `upstream`.
    pub fn admit(&self, upstream: &str) -> Admission {
        let now = self.clock.now();
        let mut states = self.states();
        let state = states
            .entry(upstream.to_owned())
            .or_insert(State::Closed { failures: 0 });
        match *state {
            State::Closed { .. } => Admission::Allowed,
            State::Open { until } if now >= until => {
                *state = State::HalfOpen { since: now };
                Admission::Trial
            }
            // A trial that never reported (its request panicked, or its future was dropped) is
            // given up after a cool-down, or the upstream would be skipped for the container's
            // life.
            State::HalfOpen { since } if now >= since + self.cool_down => {
                *state = State::HalfOpen { since: now };
                Admission::Trial
            }
            State::Open { .. } | State::HalfOpen { .. } => Admission::Skipped,
        }
    }

    /// Records a success: the circuit closes.
    pub fn record_success(&self, upstream: &str) {
        self.states()
            .insert(upstream.to_owned(), State::Closed { failures: 0 });
    }

    /// Records an attempt that proves nothing either way: the upstream answered, but with
    /// something the proxy cannot return (an answer over Lambda's response limit). Consecutive
    /// failures are neither reset nor counted. A half-open circuit is settled back to open with
    /// its cool-down over, so the next request is a new trial; without that it would stay
    /// half-open, and the upstream skipped, for the container's life.
    pub fn record_inconclusive(&self, upstream: &str) {
        let now = self.clock.now();
        let mut states = self.states();
        if let Some(state @ State::HalfOpen { .. }) = states.get_mut(upstream) {
            *state = State::Open { until: now };
        }
    }

    /// Records a failure: counts it, and opens the circuit at the threshold or after a failed
    /// trial. Returns true when this failure opened the circuit.
    pub fn record_failure(&self, upstream: &str) -> bool {
        let until = self.clock.now() + self.cool_down;
        let mut states = self.states();
        let state = states
            .entry(upstream.to_owned())
            .or_insert(State::Closed { failures: 0 });
        let next = match *state {
            State::Closed { failures } if failures + 1 < self.failure_threshold => State::Closed {
                failures: failures + 1,
            },
            State::Open { until } => State::Open { until },
            _ => State::Open { until },
        };
        let opened = matches!(next, State::Open { .. }) && !matches!(*state, State::Open { .. });
        *state = next;
        opened
    }

    /// Whether the circuit of `upstream` is open right now (for `/health` and tests).
    pub fn is_open(&self, upstream: &str) -> bool {
        matches!(self.states().get(upstream), Some(State::Open { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orabridge_shared::clock::ManualClock;

    const COOL_DOWN: Duration = Duration::from_secs(30);

    fn breakers() -> (ManualClock, CircuitBreakers<ManualClock>) {
        let clock = ManualClock::new();
        (clock.clone(), CircuitBreakers::new(3, COOL_DOWN, clock))
    }

    #[test]
    fn the_circuit_opens_after_consecutive_failures_only() {
        let (_, b) = breakers();
        assert!(!b.record_failure("a"));
        b.record_success("a");
        assert!(!b.record_failure("a"));
        assert!(!b.record_failure("a"));
        assert_eq!(b.admit("a"), Admission::Allowed);
        assert!(b.record_failure("a"), "third consecutive failure opens it");
        assert_eq!(b.admit("a"), Admission::Skipped);
        assert_eq!(
            b.admit("b"),
            Admission::Allowed,
            "breakers are per upstream"
        );
    }

    #[test]
    fn after_the_cool_down_one_trial_goes_through_and_success_closes_the_circuit() {
        let (clock, b) = breakers();
        for _ in 0..3 {
            b.record_failure("a");
        }
        clock.advance(COOL_DOWN - Duration::from_millis(1));
        assert_eq!(b.admit("a"), Admission::Skipped);
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.admit("a"), Admission::Trial);
        assert_eq!(b.admit("a"), Admission::Skipped, "only one trial at a time");
        b.record_success("a");
        assert_eq!(b.admit("a"), Admission::Allowed);
        assert!(!b.is_open("a"));
    }

    #[test]
    fn an_inconclusive_trial_settles_the_half_open_circuit_for_the_next_request() {
        let (clock, b) = breakers();
        for _ in 0..3 {
            b.record_failure("a");
        }
        clock.advance(COOL_DOWN);
        assert_eq!(b.admit("a"), Admission::Trial);
        b.record_inconclusive("a");
        assert_eq!(
            b.admit("a"),
            Admission::Trial,
            "a new trial, not skipped forever"
        );
        b.record_success("a");
        assert_eq!(b.admit("a"), Admission::Allowed);
    }

    #[test]
    fn an_inconclusive_answer_neither_resets_nor_counts_failures() {
        let (_, b) = breakers();
        b.record_failure("a");
        b.record_failure("a");
        b.record_inconclusive("a");
        assert_eq!(b.admit("a"), Admission::Allowed);
        assert!(
            b.record_failure("a"),
            "the third consecutive failure still opens it"
        );
    }

    #[test]
    fn a_failed_trial_opens_the_circuit_for_another_cool_down() {
        let (clock, b) = breakers();
        for _ in 0..3 {
            b.record_failure("a");
        }
        clock.advance(COOL_DOWN);
        assert_eq!(b.admit("a"), Admission::Trial);
        assert!(b.record_failure("a"));
        assert_eq!(b.admit("a"), Admission::Skipped);
        clock.advance(COOL_DOWN);
        assert_eq!(b.admit("a"), Admission::Trial);
    }

    #[test]
    fn a_trial_that_never_reports_is_given_up_after_a_cool_down() {
        let (clock, b) = breakers();
        for _ in 0..3 {
            b.record_failure("a");
        }
        clock.advance(COOL_DOWN);
        assert_eq!(b.admit("a"), Admission::Trial);
        // Its request panicked: nothing is recorded.
        assert_eq!(b.admit("a"), Admission::Skipped);
        clock.advance(COOL_DOWN);
        assert_eq!(b.admit("a"), Admission::Trial, "a new trial");
    }
}
