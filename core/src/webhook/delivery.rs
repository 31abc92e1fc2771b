//! When to try a delivery again, and what a response means.
//!
//! The schedule is Svix's, the service the Standard Webhooks specification came from: at once,
//! then after 5 seconds, 5 minutes, 30 minutes, 2, 5, 10 and 14 hours, eight attempts over about
//! 31 hours. The short first steps cover a blip; the long tail covers an endpoint that is down
//! for a night or a weekend deploy, more than a day in all, so that nobody has to be awake for a
//! receiver to catch up. After the last attempt the message is failed (and stays listed for a
//! manual resend).
//!
//! Each wait is spread by up to ±10 % of itself, so that the messages an outage held back do not
//! all arrive in the same second when it ends.

use std::time::Duration;

/// At most this many attempts per message, the first included.
pub const MAX_ATTEMPTS: u32 = 8;

/// The wait before each attempt, counted from the failure of the one before; the first is sent
/// at once.
pub const SCHEDULE: [Duration; MAX_ATTEMPTS as usize] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
];

/// The jitter's bound, in thousandths of the wait, either way.
pub const JITTER_PERMILLE: u64 = 100;

/// How long to wait before the next attempt once `attempts` attempts have been made (0: the
/// first attempt, at once), or `None` when there is no next attempt. Draws its jitter from the
/// platform's CSPRNG; if that fails the wait is the schedule's own, since jitter only spreads
/// load and protects nothing.
pub fn next_attempt(attempts: u32) -> Option<Duration> {
    let mut bytes = [0u8; 4];
    let random = match getrandom::getrandom(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => u32::MAX / 2,
    };
    retry_delay(attempts, random)
}

/// [`next_attempt`] with its randomness given: `random` spread over `u32` maps linearly onto
/// −[`JITTER_PERMILLE`]..=+[`JITTER_PERMILLE`] of the wait (`u32::MAX / 2`: none, near enough).
pub fn retry_delay(attempts: u32, random: u32) -> Option<Duration> {
    let base = *SCHEDULE.get(attempts as usize)?;
    let base_ms = base.as_millis() as u64;
    let spread = base_ms * JITTER_PERMILLE / 1000;
    // `random * (2 * spread + 1) >> 32` lands in 0..=2 * spread without the bias of a modulo.
    let offset = (random as u64 * (2 * spread + 1)) >> 32;
    Some(Duration::from_millis(base_ms - spread + offset))
}

/// What one attempt's result means for the message and the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A `2xx`: done.
    Delivered,
    /// `410 Gone`: the receiver says the endpoint is gone for good. Disable the endpoint (no more
    /// messages are sent to it until someone enables it again) and stop retrying.
    DisableEndpoint,
    /// Anything else: try again per [`next_attempt`], and record why on the attempt.
    Retry(Failure),
}

/// Why an attempt failed, as recorded and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No response: a timeout, a refused connection, a TLS or DNS failure, or the endpoint
    /// refused by the delivery-time address check.
    NoResponse,
    /// `429 Too Many Requests`: the receiver is busy.
    RateLimited,
    /// A `5xx`: the receiver is broken or overloaded, usually for a while.
    ServerError(u16),
    /// Any other `4xx`. Retried all the same, because a receiver's `400` or `401` is far more
    /// often a deploy in progress or a secret being rotated than a message that can never be
    /// accepted, and a dropped approval request costs more than a few retries; but worth showing
    /// the owner, since it points at their configuration.
    Rejected(u16),
    /// A `1xx`, a `3xx` (redirects are not followed: the target would escape [`super::check_url`])
    /// or a number outside 100..=599.
    Unexpected(u16),
}

impl DeliveryOutcome {
    /// The outcome of an attempt that got an HTTP response with this status.
    pub fn of_status(status: u16) -> DeliveryOutcome {
        match status {
            200..=299 => DeliveryOutcome::Delivered,
            410 => DeliveryOutcome::DisableEndpoint,
            429 => DeliveryOutcome::Retry(Failure::RateLimited),
            500..=599 => DeliveryOutcome::Retry(Failure::ServerError(status)),
            400..=499 => DeliveryOutcome::Retry(Failure::Rejected(status)),
            _ => DeliveryOutcome::Retry(Failure::Unexpected(status)),
        }
    }

    /// The outcome of an attempt that got no response at all.
    pub fn no_response() -> DeliveryOutcome {
        DeliveryOutcome::Retry(Failure::NoResponse)
    }

    /// The outcome of an attempt: `Some(status)` if a response came, `None` if not.
    pub fn classify(status: Option<u16>) -> DeliveryOutcome {
        status.map_or_else(DeliveryOutcome::no_response, DeliveryOutcome::of_status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn total(random: u32) -> Duration {
        (0..MAX_ATTEMPTS).map(|n| retry_delay(n, random).unwrap()).sum()
    }

    #[test]
    fn the_first_attempt_is_immediate_and_there_are_eight() {
        for random in [0, 1, u32::MAX / 2, u32::MAX] {
            assert_eq!(retry_delay(0, random), Some(Duration::ZERO));
            assert_eq!(retry_delay(MAX_ATTEMPTS, random), None);
            assert_eq!(retry_delay(u32::MAX, random), None);
        }
        assert_eq!(next_attempt(0), Some(Duration::ZERO));
        assert_eq!(next_attempt(MAX_ATTEMPTS), None);
        assert_eq!(next_attempt(MAX_ATTEMPTS + 1), None);
    }

    #[test]
    fn the_schedule_covers_more_than_a_day_even_with_the_least_jitter() {
        assert!(total(0) >= 24 * HOUR, "{:?}", total(0));
        assert!(total(u32::MAX) <= 35 * HOUR, "{:?}", total(u32::MAX));
        assert_eq!(total(u32::MAX / 2), SCHEDULE.iter().sum::<Duration>());
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_waits_grow() {
        for n in 1..MAX_ATTEMPTS {
            let base = SCHEDULE[n as usize];
            let (low, high) = (retry_delay(n, 0).unwrap(), retry_delay(n, u32::MAX).unwrap());
            assert_eq!(low, base - base / 10, "attempt {n}");
            assert_eq!(high, base + base / 10, "attempt {n}");
            assert!(SCHEDULE[n as usize] > SCHEDULE[n as usize - 1]);
            // Even at its extremes, jitter never reorders neighbouring waits.
            if n > 1 {
                assert!(low > retry_delay(n - 1, u32::MAX).unwrap());
            }
            for _ in 0..50 {
                let d = next_attempt(n).unwrap();
                assert!(low <= d && d <= high, "attempt {n}: {d:?}");
            }
        }
        assert_eq!(retry_delay(1, u32::MAX / 2), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(7, u32::MAX / 2), Some(14 * HOUR));
    }

    #[test]
    fn jitter_actually_spreads() {
        let waits: std::collections::HashSet<Duration> = (0..50).map(|_| next_attempt(3).unwrap()).collect();
        assert!(waits.len() > 40, "{} distinct of 50", waits.len());
    }

    #[test]
    fn statuses_are_classified() {
        use DeliveryOutcome::*;
        for s in [200, 201, 202, 204, 299] {
            assert_eq!(DeliveryOutcome::of_status(s), Delivered, "{s}");
        }
        assert_eq!(DeliveryOutcome::of_status(410), DisableEndpoint);
        assert_eq!(DeliveryOutcome::of_status(429), Retry(Failure::RateLimited));
        for s in [500, 502, 503, 504, 599] {
            assert_eq!(DeliveryOutcome::of_status(s), Retry(Failure::ServerError(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 405, 408, 409, 413, 422, 451, 499] {
            assert_eq!(DeliveryOutcome::of_status(s), Retry(Failure::Rejected(s)), "{s}");
        }
        for s in [0, 100, 101, 300, 301, 302, 304, 307, 308, 600, 999, u16::MAX] {
            assert_eq!(DeliveryOutcome::of_status(s), Retry(Failure::Unexpected(s)), "{s}");
        }
        assert_eq!(DeliveryOutcome::classify(None), Retry(Failure::NoResponse));
        assert_eq!(DeliveryOutcome::classify(Some(204)), Delivered);
        assert_eq!(DeliveryOutcome::classify(Some(410)), DisableEndpoint);
    }
}
