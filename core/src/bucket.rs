//! Token-bucket arithmetic for an agent's rate limit.
//!
//! The bucket is pure data; the agent's Durable Object stores it and calls [`Bucket::take`] one
//! request at a time, which is what makes the limit exact under concurrency.

use serde::{Deserialize, Serialize};

use crate::wire::{RateLimitConfig, RateLimitState};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Tokens available, fractional while refilling.
    pub tokens: f64,
    /// Time of the last refill, in milliseconds since the Unix epoch.
    pub updated_ms: i64,
}

/// The outcome of one [`Bucket::take`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Take {
    pub allowed: bool,
    pub state: RateLimitState,
    /// Whole seconds until one token is available (0 when allowed).
    pub retry_after: u64,
}

impl Bucket {
    /// A full bucket.
    pub fn full(config: RateLimitConfig, now_ms: i64) -> Self {
        Bucket { tokens: config.capacity as f64, updated_ms: now_ms }
    }

    /// Adds the tokens earned since the last update, capped at capacity. A clock that went
    /// backwards earns nothing and does not move the bucket's clock back.
    pub fn refill(&mut self, config: RateLimitConfig, now_ms: i64) {
        let capacity = config.capacity as f64;
        if now_ms > self.updated_ms {
            let elapsed_s = (now_ms - self.updated_ms) as f64 / 1000.0;
            self.tokens = (self.tokens + elapsed_s * config.refill_per_second).min(capacity);
            self.updated_ms = now_ms;
        }
        // A lowered capacity applies at once; stored garbage never yields extra tokens.
        if self.tokens.is_nan() || self.tokens < 0.0 {
            self.tokens = 0.0;
        }
        if self.tokens > capacity {
            self.tokens = capacity;
        }
    }

    /// Refills, then takes one token if there is one.
    pub fn take(&mut self, config: RateLimitConfig, now_ms: i64) -> Take {
        self.refill(config, now_ms);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let rate = config.refill_per_second.max(f64::MIN_POSITIVE);
        let retry_after = if allowed { 0 } else { ceil_secs((1.0 - self.tokens) / rate) };
        let reset = ceil_secs((config.capacity as f64 - self.tokens) / rate);
        Take {
            allowed,
            state: RateLimitState { limit: config.capacity, remaining: self.tokens.floor().max(0.0) as u32, reset },
            retry_after,
        }
    }
}

impl Bucket {
    /// Whole seconds until a [`Bucket::take`] at `now_ms` would be allowed: 0 when it would be
    /// now. Nothing is taken; the bucket is not changed.
    pub fn retry_after(&self, config: RateLimitConfig, now_ms: i64) -> u64 {
        let mut peek = *self;
        peek.refill(config, now_ms);
        if peek.tokens >= 1.0 {
            0
        } else {
            ceil_secs((1.0 - peek.tokens) / config.refill_per_second.max(f64::MIN_POSITIVE)).max(1)
        }
    }

    /// Refills, then puts back one token taken for something that turned out not to count,
    /// never above capacity.
    pub fn give_back(&mut self, config: RateLimitConfig, now_ms: i64) {
        self.refill(config, now_ms);
        self.tokens = (self.tokens + 1.0).min(config.capacity as f64);
    }

    /// The first instant (ms since the epoch) at which the bucket is full again if nothing is
    /// taken meanwhile: from then on it is indistinguishable from a new, full bucket, so whoever
    /// stores it may forget it. `None` when it never refills (a rate of zero).
    pub fn full_at_ms(&self, config: RateLimitConfig) -> Option<i64> {
        let rate = config.refill_per_second;
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let tokens = if self.tokens.is_nan() { 0.0 } else { self.tokens.max(0.0) };
        let missing = (config.capacity as f64 - tokens).max(0.0);
        let ms = (missing / rate * 1000.0).ceil();
        if !ms.is_finite() || ms >= i64::MAX as f64 {
            return None;
        }
        Some(self.updated_ms.saturating_add(ms as i64))
    }

    /// True when the bucket holds nothing worth remembering at `now_ms`: it is full again.
    pub fn is_idle(&self, config: RateLimitConfig, now_ms: i64) -> bool {
        self.full_at_ms(config).is_some_and(|at| now_ms >= at)
    }
}

fn ceil_secs(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        s.ceil().min(u32::MAX as f64) as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(capacity: u32, refill_per_second: f64) -> RateLimitConfig {
        RateLimitConfig { capacity, refill_per_second }
    }

    #[test]
    fn a_full_bucket_allows_exactly_its_capacity_at_once() {
        let c = cfg(5, 1.0);
        let mut b = Bucket::full(c, 0);
        let allowed = (0..25).filter(|_| b.take(c, 0).allowed).count();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn remaining_counts_down_and_reset_grows() {
        let c = cfg(3, 1.0);
        let mut b = Bucket::full(c, 0);
        let t1 = b.take(c, 0);
        assert_eq!((t1.state.remaining, t1.state.reset, t1.retry_after), (2, 1, 0));
        let t2 = b.take(c, 0);
        assert_eq!((t2.state.remaining, t2.state.reset), (1, 2));
        b.take(c, 0);
        let limited = b.take(c, 0);
        assert!(!limited.allowed);
        assert_eq!((limited.state.remaining, limited.state.reset, limited.retry_after), (0, 3, 1));
    }

    #[test]
    fn tokens_refill_with_time_up_to_capacity() {
        let c = cfg(10, 2.0);
        let mut b = Bucket::full(c, 0);
        for _ in 0..10 {
            assert!(b.take(c, 0).allowed);
        }
        assert!(!b.take(c, 0).allowed);
        // 1.5 s at 2/s earns 3 tokens.
        let allowed = (0..10).filter(|_| b.take(c, 1500).allowed).count();
        assert_eq!(allowed, 3);
        // An hour later the bucket is full, not overfull.
        b.refill(c, 3_600_000);
        assert_eq!(b.tokens, 10.0);
    }

    #[test]
    fn slow_refill_accumulates_across_many_small_steps() {
        let c = cfg(1, 0.5);
        let mut b = Bucket::full(c, 0);
        assert!(b.take(c, 0).allowed);
        let mut now = 0;
        let mut allowed_at = None;
        while now < 5000 {
            now += 10;
            if b.take(c, now).allowed {
                allowed_at = Some(now);
                break;
            }
        }
        assert_eq!(allowed_at, Some(2000));
    }

    #[test]
    fn clock_going_backwards_earns_nothing() {
        let c = cfg(2, 1.0);
        let mut b = Bucket::full(c, 10_000);
        assert!(b.take(c, 10_000).allowed);
        assert!(b.take(c, 10_000).allowed);
        assert!(!b.take(c, 5_000).allowed);
        assert_eq!(b.updated_ms, 10_000);
        // Time must pass beyond the latest seen instant before tokens come back.
        assert!(!b.take(c, 10_500).allowed);
        assert!(b.take(c, 11_000).allowed);
    }

    #[test]
    fn lowering_capacity_caps_stored_tokens() {
        let mut b = Bucket::full(cfg(100, 1.0), 0);
        let small = cfg(2, 1.0);
        let allowed = (0..10).filter(|_| b.take(small, 0).allowed).count();
        assert_eq!(allowed, 2);
    }

    #[test]
    fn corrupt_stored_tokens_fail_closed() {
        let c = cfg(5, 1.0);
        let mut b = Bucket { tokens: f64::NAN, updated_ms: 0 };
        assert!(!b.take(c, 0).allowed);
        let mut b = Bucket { tokens: -3.0, updated_ms: 0 };
        assert!(!b.take(c, 0).allowed);
    }

    #[test]
    fn retry_after_matches_the_refill_rate() {
        let c = cfg(1, 0.1);
        let mut b = Bucket::full(c, 0);
        b.take(c, 0);
        let limited = b.take(c, 0);
        assert_eq!(limited.retry_after, 10);
    }
    #[test]
    fn retry_after_peeks_without_taking() {
        let c = cfg(2, 0.5);
        let mut b = Bucket::full(c, 0);
        assert_eq!(b.retry_after(c, 0), 0);
        assert_eq!(b.tokens, 2.0, "peeking takes nothing");
        b.take(c, 0);
        b.take(c, 0);
        assert_eq!(b.retry_after(c, 0), 2);
        assert_eq!(b.retry_after(c, 1000), 1);
        assert_eq!(b.retry_after(c, 1999), 1, "a fraction of a second is rounded up, never to 0");
        assert_eq!(b.retry_after(c, 2000), 0);
        assert!(b.take(c, 2000).allowed, "what the peek promised, take gives");
    }

    #[test]
    fn a_token_given_back_undoes_a_take_never_more() {
        let c = cfg(3, 1.0);
        let mut b = Bucket::full(c, 0);
        b.take(c, 0);
        b.take(c, 0);
        b.give_back(c, 0);
        assert_eq!(b.tokens, 2.0);
        b.give_back(c, 0);
        b.give_back(c, 0);
        assert_eq!(b.tokens, 3.0, "capped at capacity");
        b.take(c, 0);
        b.give_back(c, 500);
        assert_eq!(b.tokens, 3.0, "what time refilled is not given twice");
        let mut nan = Bucket { tokens: f64::NAN, updated_ms: 0 };
        nan.give_back(c, 0);
        assert_eq!(nan.tokens, 1.0, "stored garbage counts as empty");
    }

    #[test]
    fn a_bucket_is_idle_once_it_would_be_full_again() {
        // The failed-authentication limit: 20, then one per 6 s.
        let c = cfg(20, 1.0 / 6.0);
        let mut b = Bucket::full(c, 1_000);
        assert_eq!(b.full_at_ms(c), Some(1_000), "a full bucket is idle at once");
        assert!(b.is_idle(c, 1_000));
        b.take(c, 1_000);
        assert_eq!(b.full_at_ms(c), Some(7_000), "one token back after 6 s");
        assert!(!b.is_idle(c, 6_999));
        assert!(b.is_idle(c, 7_000));
        for _ in 0..30 {
            b.take(c, 1_000);
        }
        assert_eq!(b.tokens, 0.0);
        assert_eq!(b.full_at_ms(c), Some(121_000), "twenty tokens take two minutes");
        // A take later on moves the instant on; refilling alone does not.
        b.take(c, 61_000);
        assert_eq!(b.full_at_ms(c), Some(127_000));
        b.refill(c, 100_000);
        assert_eq!(b.full_at_ms(c), Some(127_000));
        // At the instant, the refilled bucket really is full: forgetting it changes nothing.
        let mut at = b;
        at.refill(c, 127_000);
        assert!(at.tokens >= 20.0 - 1e-9);
        assert!(b.is_idle(c, 127_000));
    }

    #[test]
    fn idle_time_is_safe_for_odd_buckets() {
        assert_eq!(Bucket { tokens: 1.0, updated_ms: 0 }.full_at_ms(cfg(5, 0.0)), None, "never refills, never idle");
        assert!(!Bucket { tokens: 1.0, updated_ms: 0 }.is_idle(cfg(5, 0.0), i64::MAX));
        assert_eq!(Bucket { tokens: f64::NAN, updated_ms: 0 }.full_at_ms(cfg(5, 1.0)), Some(5_000));
        assert_eq!(Bucket { tokens: 50.0, updated_ms: 3 }.full_at_ms(cfg(5, 1.0)), Some(3));
        assert_eq!(Bucket { tokens: 0.0, updated_ms: i64::MAX - 1 }.full_at_ms(cfg(5, 1.0)), Some(i64::MAX));
        assert_eq!(Bucket { tokens: 0.0, updated_ms: 0 }.full_at_ms(cfg(5, f64::MIN_POSITIVE)), None);
    }
}
