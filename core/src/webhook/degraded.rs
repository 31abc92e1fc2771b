//! `service.degraded`: one event per organization and UTC minute in which its `unavailable`
//! decisions reach a threshold, not one per decision. The counting is this small state machine,
//! kept by the organization's webhook dispatcher object (one per organization, so counts from
//! every isolate meet there) and persisted in its storage so that a restart does not send the
//! minute's event twice.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How many `unavailable` decisions of one organization within one UTC minute send the event,
/// unless the deployment sets `DEGRADED_THRESHOLD_PER_MINUTE`.
pub const DEFAULT_THRESHOLD_PER_MINUTE: u32 = 10;
/// The largest threshold a deployment may set.
pub const MAX_THRESHOLD_PER_MINUTE: u32 = 1_000_000;

const MINUTE_MS: i64 = 60_000;

/// The deployment's threshold from the text of `DEGRADED_THRESHOLD_PER_MINUTE`: a whole number
/// from 1 to [`MAX_THRESHOLD_PER_MINUTE`]; unset, empty or anything else gives the default (a
/// broken setting must not silence the alert).
pub fn threshold(setting: Option<&str>) -> u32 {
    setting
        .map(str::trim)
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|n| (1..=MAX_THRESHOLD_PER_MINUTE).contains(n))
        .unwrap_or(DEFAULT_THRESHOLD_PER_MINUTE)
}

/// The start of the UTC minute of `at_ms`.
pub fn minute_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(MINUTE_MS) * MINUTE_MS
}

/// The current minute's count of one organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegradedWindow {
    /// Start of the minute counted, in milliseconds since the epoch.
    pub minute: i64,
    pub count: u32,
    /// The minute's event has been sent.
    pub emitted: bool,
}

/// What [`DegradedWindow::count`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Below the threshold so far.
    Below,
    /// This count reached the threshold: send the event (once for the minute).
    Emit { minute: i64, count: u32 },
    /// The minute's event was sent already; callers may stop reporting for this minute.
    AlreadySent,
}

impl DegradedWindow {
    /// Counts `n` unavailable decisions at `at_ms`. A count for an earlier minute than the one
    /// held (a late report) is dropped as [`Counted::Below`]; a later minute starts afresh.
    pub fn count(&mut self, at_ms: i64, n: u32, threshold: u32) -> Counted {
        let minute = minute_of(at_ms);
        if minute < self.minute {
            return Counted::Below;
        }
        if minute > self.minute {
            *self = DegradedWindow { minute, count: 0, emitted: false };
        }
        self.count = self.count.saturating_add(n);
        if self.emitted {
            Counted::AlreadySent
        } else if self.count >= threshold.max(1) {
            self.emitted = true;
            Counted::Emit { minute, count: self.count }
        } else {
            Counted::Below
        }
    }
}

/// The event's `data`: the minute (RFC 3339, UTC), the threshold, and the count that reached it.
pub fn event_data(minute: i64, count: u32, threshold: u32) -> Value {
    json!({
        "minute": crate::time::format_ms(minute),
        "unavailable": count,
        "threshold": threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_040_000; // the start of a UTC minute

    #[test]
    fn the_threshold_th_decision_of_a_minute_sends_one_event() {
        let mut w = DegradedWindow::default();
        for i in 1..10 {
            assert_eq!(w.count(T0 + i * 100, 1, 10), Counted::Below, "{i}");
        }
        assert_eq!(w.count(T0 + 59_999, 1, 10), Counted::Emit { minute: T0, count: 10 });
        for _ in 0..100 {
            assert_eq!(w.count(T0 + 59_999, 1, 10), Counted::AlreadySent);
        }
    }

    #[test]
    fn each_minute_counts_afresh_and_late_reports_are_dropped() {
        let mut w = DegradedWindow::default();
        for _ in 0..9 {
            w.count(T0, 1, 10);
        }
        // Nine in one minute and nine in the next are not ten in a minute.
        for _ in 0..9 {
            assert_eq!(w.count(T0 + 60_000, 1, 10), Counted::Below);
        }
        assert_eq!(w.count(T0 + 30_000, 5, 10), Counted::Below, "a late report of the minute before");
        assert_eq!(w.count(T0 + 60_001, 1, 10), Counted::Emit { minute: T0 + 60_000, count: 10 });
        assert_eq!(w.count(T0 + 120_000, 10, 10), Counted::Emit { minute: T0 + 120_000, count: 10 });
    }

    #[test]
    fn a_batch_may_cross_the_threshold_at_once() {
        let mut w = DegradedWindow::default();
        assert_eq!(w.count(T0, 25, 10), Counted::Emit { minute: T0, count: 25 });
    }

    #[test]
    fn the_setting_is_a_whole_number_or_the_default() {
        assert_eq!(threshold(None), DEFAULT_THRESHOLD_PER_MINUTE);
        assert_eq!(threshold(Some("")), DEFAULT_THRESHOLD_PER_MINUTE);
        assert_eq!(threshold(Some(" 3 ")), 3);
        for bad in ["0", "-1", "2.5", "ten", "1000001"] {
            assert_eq!(threshold(Some(bad)), DEFAULT_THRESHOLD_PER_MINUTE, "{bad}");
        }
    }

    #[test]
    fn minutes_are_utc_and_the_data_names_them() {
        assert_eq!(minute_of(T0 + 59_999), T0);
        assert_eq!(minute_of(-1), -60_000);
        assert_eq!(
            event_data(T0, 12, 10),
            json!({"minute": crate::time::format_ms(T0), "unavailable": 12, "threshold": 10})
        );
        assert!(crate::time::format_ms(T0).ends_with(":00.000Z"));
    }
}
