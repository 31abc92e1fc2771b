//! The monthly validation quota, counted exactly without a per-organization bottleneck
//! (docs/plans.md, "How validations are counted").
//!
//! The organization's quota object holds the [`Pool`]: the month's limit, the units agents have
//! used and given back, and the blocks ([`Lease`]s) agents hold. Each agent's object takes units
//! from its own lease on the hot path (no round trip) and goes to the pool only when its lease is
//! empty, to give it back and take the next one. The pool never hands out more than
//! `limit - used - outstanding`, so the units the organization can use in a month never exceed
//! the limit. When the pool has nothing left while other agents still hold units, it asks them
//! to give their leases back ([`Pool::holders_except`]) before it refuses, so a busy agent is
//! refused only when the month's units are used or in flight at that very moment.
//!
//! Durability is the agent object's part: a unit taken is stored with the decision's row before
//! the answer leaves, and a lease given back is stored as gone before the pool hears of it, so a
//! crash can only leave units unused (never used twice).

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The largest block an agent takes at once.
pub const MAX_BLOCK: u64 = 1_000;

/// A calendar month, UTC, as `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Month {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The calendar month (UTC) that contains `ms`.
pub fn month_of(ms: i64) -> Month {
    let at = Utc.timestamp_millis_opt(ms).single().unwrap_or_else(|| Utc.timestamp_millis_opt(0).unwrap());
    let start = Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0).single().expect("the first of a month exists");
    let (y, m) = if at.month() == 12 { (at.year() + 1, 1) } else { (at.year(), at.month() + 1) };
    let end = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().expect("the first of a month exists");
    Month { start_ms: start.timestamp_millis(), end_ms: end.timestamp_millis() }
}

/// Whole seconds from `now_ms` until `until_ms`, at least 1 (a `Retry-After` value).
pub fn seconds_until(now_ms: i64, until_ms: i64) -> u64 {
    (((until_ms - now_ms).max(0) + 999) / 1000).max(1) as u64
}

/// A block of the month's units held by one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The month it belongs to (its start); a lease of another month is void.
    pub period_start: i64,
    /// Which grant of the pool this is (a stale give-back of an older grant changes nothing).
    pub grant: u64,
    /// Units granted.
    pub block: u64,
    /// Units not used yet.
    pub left: u64,
}

impl Lease {
    /// Takes one unit at `now_ms`: false when the lease is used up or belongs to another month.
    pub fn take(&mut self, now_ms: i64) -> bool {
        if self.left == 0 || month_of(now_ms).start_ms != self.period_start {
            return false;
        }
        self.left -= 1;
        true
    }

    /// Puts back a unit taken for a decision that was not recorded after all.
    pub fn refund(&mut self) {
        self.left = (self.left + 1).min(self.block);
    }

    pub fn used(&self) -> u64 {
        self.block - self.left
    }
}

/// A lease as the agent's object stores it when it takes it: the units it will have used since
/// are counted from its audit chain, so the decisions themselves need no extra write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLease {
    /// The lease as granted (`left` = `block`).
    pub lease: Lease,
    /// The agent's chain sequence number when the lease was stored.
    pub base_seq: i64,
}

impl StoredLease {
    /// The lease after a restart, when the chain has reached `head_seq`: every row recorded since
    /// it was stored counts as a unit used (rows of decisions that were charged to the previous
    /// lease count again, so the estimate only ever errs on the side of using less).
    pub fn restore(&self, head_seq: i64) -> Lease {
        let since = u64::try_from(head_seq - self.base_seq).unwrap_or(0);
        Lease { left: self.lease.block.saturating_sub(since), ..self.lease }
    }
}

/// What the pool answers an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The agent's new lease; None when nothing is left this month.
    pub lease: Option<Lease>,
    pub limit: u64,
    /// Units used or held by agents this month (`limit` once everything is handed out).
    pub used: u64,
    pub month: Month,
    /// Thresholds (percent of the limit) the month's units crossed with this exchange: each is
    /// reported once per month (80, 100).
    pub crossed: Vec<u8>,
    /// Units other agents hold after this exchange. With no lease for the caller, a non-zero value
    /// means the month is not used up: those units are in use or on their way back (an agent gives
    /// its lease back with its next exchange, which may not have reached the pool yet), so the
    /// caller asks again shortly instead of refusing ([`Exchange::worth_retrying`]).
    #[serde(default)]
    pub held_elsewhere: u64,
}

impl Exchange {
    /// Whether a refusal may turn into a lease if the caller asks again: other agents hold units
    /// that could come back. A refusal with nothing held elsewhere is final for the month.
    pub fn worth_retrying(&self) -> bool {
        self.lease.is_none() && self.held_elsewhere > 0
    }
}

/// The organization's month: what is used, what agents hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub period_start: i64,
    /// Units agents used and reported back (their leases given back) this month.
    pub used: u64,
    /// Outstanding leases by agent.
    pub leases: BTreeMap<String, Lease>,
    pub next_grant: u64,
    /// Thresholds already reported this month.
    pub reported: Vec<u8>,
}

/// Percentages of the limit at which the organization hears about its use.
pub const THRESHOLDS: [u8; 2] = [80, 100];

impl Pool {
    /// Starts a new month when `now_ms` is past this one: leases of the old month are void.
    fn roll(&mut self, now_ms: i64) {
        let month = month_of(now_ms);
        if self.period_start != month.start_ms {
            *self = Pool { period_start: month.start_ms, next_grant: self.next_grant, ..Pool::default() };
        }
    }

    fn outstanding(&self) -> u64 {
        self.leases.values().map(|l| l.block).sum()
    }

    /// Units used or held this month.
    pub fn committed(&self) -> u64 {
        self.used + self.outstanding()
    }

    /// Takes back `agent`'s lease (its unused units return to the pool, the used ones count).
    /// A lease of another month or grant than the one the pool knows changes nothing.
    pub fn give_back(&mut self, agent: &str, lease: &Lease, now_ms: i64) {
        self.roll(now_ms);
        if let Some(held) = self.leases.get(agent) {
            if held.grant == lease.grant && lease.period_start == self.period_start {
                self.used += lease.used().min(held.block);
                self.leases.remove(agent);
            }
        }
    }

    /// Agents other than `agent` that hold units this month (to ask for them back before refusing).
    pub fn holders_except(&self, agent: &str) -> Vec<String> {
        self.leases.keys().filter(|a| a.as_str() != agent).cloned().collect()
    }

    /// Gives `agent` (after `returned`, its previous lease, if any) its next block: a share of
    /// what is left that shrinks as the month's units run out, so little is in flight at the end.
    pub fn exchange(&mut self, agent: &str, returned: Option<&Lease>, limit: u64, now_ms: i64) -> Exchange {
        self.roll(now_ms);
        if let Some(lease) = returned {
            self.give_back(agent, lease, now_ms);
        }
        // An agent holds one lease at a time: a lease the pool still has for it was lost on the way
        // (the agent stores a lease as gone before giving it back): count it as used, never reuse it.
        if let Some(lost) = self.leases.remove(agent) {
            self.used += lost.block;
        }
        let free = limit.saturating_sub(self.committed());
        let holders = self.leases.len() as u64 + 1;
        let block = (free / (4 * holders)).clamp(1, MAX_BLOCK).min(free);
        let lease = (block > 0).then(|| {
            self.next_grant += 1;
            let lease = Lease { period_start: self.period_start, grant: self.next_grant, block, left: block };
            self.leases.insert(agent.to_string(), lease);
            lease
        });
        let after = self.committed();
        let mut crossed = Vec::new();
        for t in THRESHOLDS {
            if limit > 0 && after * 100 >= limit * u64::from(t) && !self.reported.contains(&t) {
                self.reported.push(t);
                crossed.push(t);
            }
        }
        let held_elsewhere = self.leases.iter().filter(|(a, _)| a.as_str() != agent).map(|(_, l)| l.block).sum();
        Exchange { lease, limit, used: after.min(limit), month: month_of(now_ms), crossed, held_elsewhere }
    }
}

#[cfg(test)]
mod tests;
