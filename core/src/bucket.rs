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
}
