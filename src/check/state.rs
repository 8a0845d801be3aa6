//! The health-check state machine of one checker, sans I/O: keepalived 2.2.7's retry semantics
//! driven by explicit time, so every rule is unit-tested without sockets or sleeping.
//!
//! Rules (check_tcp.c `tcp_epilog` and equivalents in 2.2.7):
//! * UP and a check fails: while `retry_it < retry`, count it and re-check after
//!   `delay_before_retry`; the failure that finds `retry_it == retry` marks the checker DOWN.
//!   So DOWN takes `retry + 1` consecutive failures.
//! * Any success resets the count; a DOWN checker comes UP on its first success (no "rise").
//! * A DOWN checker is re-checked every `delay_loop`, without retries.
//! * At start without `alpha` the checker is UP with `retry_it == retry`: one failure is enough.
//!   With `alpha` it starts DOWN and needs one success.
//! * The first check runs 1 s (keepalived's BOOTSTRAP_DELAY) plus a random share of `warmup`
//!   after start; the caller supplies that random share so tests can fix it.

use std::time::Duration;

use tokio::time::Instant;

/// keepalived's BOOTSTRAP_DELAY: the first check never runs before one second.
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// The resolved timing of one checker (config defaults already applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub delay_loop: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
}

/// A change of a checker's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Up,
    /// Marked DOWN after this many retries (keepalived logs "failed after N retries").
    Down {
        retries: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Checker {
    timing: Timing,
    up: bool,
    retry_it: u32,
    next: Instant,
}

impl Checker {
    /// A checker created at `now`; `warmup_share` is the random part of the first delay
    /// (uniform in `0..=warmup` in the daemon, fixed in tests).
    pub fn new(now: Instant, timing: Timing, alpha: bool, warmup_share: Duration) -> Self {
        Checker {
            timing,
            up: !alpha,
            // Non-alpha: "one failure is enough initially".
            retry_it: if alpha { 0 } else { timing.retry },
            next: now + BOOTSTRAP_DELAY + warmup_share,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// When the next check is due.
    pub fn next_run(&self) -> Instant {
        self.next
    }

    /// Run next at `t` instead: the engine's own rules (a DOWN checker re-checked at the
    /// probe's interval, the next url at once while recovering, a suspended checker's tick).
    pub fn set_next(&mut self, t: Instant) {
        self.next = t;
    }

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Record the outcome of the check that ran at (or completed by) `now`.
    pub fn on_result(&mut self, now: Instant, ok: bool) -> Option<Transition> {
        if ok {
            self.retry_it = 0;
            self.next = now + self.timing.delay_loop;
            if !self.up {
                self.up = true;
                return Some(Transition::Up);
            }
            return None;
        }
        if !self.up {
            self.next = now + self.timing.delay_loop;
            return None;
        }
        if self.retry_it < self.timing.retry {
            self.retry_it += 1;
            self.next = now + self.timing.delay_before_retry;
            return None;
        }
        self.up = false;
        self.next = now + self.timing.delay_loop;
        Some(Transition::Down { retries: self.timing.retry })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: Timing =
        Timing { delay_loop: Duration::from_secs(6), retry: 3, delay_before_retry: Duration::from_secs(3) };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn first_check_after_bootstrap_and_warmup() {
        let t0 = Instant::now();
        let c = Checker::new(t0, SEED, false, secs(2));
        assert_eq!(c.next_run(), t0 + secs(3));
        assert!(c.is_up());
    }

    #[test]
    fn non_alpha_start_one_failure_is_enough() {
        let t0 = Instant::now();
        let mut c = Checker::new(t0, SEED, false, Duration::ZERO);
        let t = c.next_run();
        assert_eq!(c.on_result(t, false), Some(Transition::Down { retries: 3 }));
        assert!(!c.is_up());
        assert_eq!(c.next_run(), t + secs(6));
    }

    #[test]
    fn alpha_starts_down_and_one_success_brings_it_up() {
        let t0 = Instant::now();
        let mut c = Checker::new(t0, SEED, true, Duration::ZERO);
        assert!(!c.is_up());
        let t = c.next_run();
        assert_eq!(c.on_result(t, false), None, "a DOWN checker does not retry");
        assert_eq!(c.next_run(), t + secs(6));
        let t = c.next_run();
        assert_eq!(c.on_result(t, true), Some(Transition::Up));
        assert_eq!(c.next_run(), t + secs(6));
    }

    /// The seed's TCP_CHECK (delay_loop 6, retry 3, delay_before_retry 3): once up, a dead real
    /// server is marked down on the 4th consecutive failure, 9 s after the first.
    #[test]
    fn retry_plus_one_failures_spaced_by_delay_before_retry() {
        let t0 = Instant::now();
        let mut c = Checker::new(t0, SEED, false, Duration::ZERO);
        let mut t = c.next_run();
        assert_eq!(c.on_result(t, true), None);
        t = c.next_run();
        assert_eq!(t, t0 + secs(1 + 6));
        let first_fail = t;
        for _ in 0..3 {
            assert_eq!(c.on_result(t, false), None);
            assert_eq!(c.next_run(), t + secs(3));
            t = c.next_run();
        }
        assert_eq!(c.on_result(t, false), Some(Transition::Down { retries: 3 }));
        assert_eq!(t - first_fail, secs(9));
    }

    #[test]
    fn success_resets_the_retry_count() {
        let t0 = Instant::now();
        let mut c = Checker::new(t0, SEED, false, Duration::ZERO);
        let mut t = c.next_run();
        c.on_result(t, true);
        for _ in 0..3 {
            t = c.next_run();
            assert_eq!(c.on_result(t, false), None);
        }
        t = c.next_run();
        assert_eq!(c.on_result(t, true), None);
        // A fresh run of retry failures is needed again.
        for _ in 0..3 {
            t = c.next_run();
            assert_eq!(c.on_result(t, false), None);
        }
        t = c.next_run();
        assert!(matches!(c.on_result(t, false), Some(Transition::Down { .. })));
    }

    #[test]
    fn retry_zero_fails_at_once() {
        let timing = Timing { retry: 0, ..SEED };
        let t0 = Instant::now();
        let mut c = Checker::new(t0, timing, true, Duration::ZERO);
        let t = c.next_run();
        assert_eq!(c.on_result(t, true), Some(Transition::Up));
        let t = c.next_run();
        assert_eq!(c.on_result(t, false), Some(Transition::Down { retries: 0 }));
    }
}
