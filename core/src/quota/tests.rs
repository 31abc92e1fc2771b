use proptest::prelude::*;

use super::*;

const DEC_1_2026: i64 = 1_796_083_200_000; // 2026-12-01T00:00:00Z
const JAN_1_2027: i64 = 1_798_761_600_000; // 2027-01-01T00:00:00Z

#[test]
fn a_month_is_the_utc_calendar_month_and_rolls_over_at_its_first_instant() {
    assert_eq!(month_of(DEC_1_2026), Month { start_ms: DEC_1_2026, end_ms: JAN_1_2027 });
    assert_eq!(month_of(JAN_1_2027 - 1), Month { start_ms: DEC_1_2026, end_ms: JAN_1_2027 });
    assert_eq!(month_of(JAN_1_2027).start_ms, JAN_1_2027);
    assert_eq!(crate::time::format_ms(month_of(JAN_1_2027).end_ms), "2027-02-01T00:00:00.000Z");
    // February of a leap year.
    let feb_2028 = month_of(1_835_395_200_000); // 2028-02-29T00:00:00Z
    assert_eq!(crate::time::format_ms(feb_2028.start_ms), "2028-02-01T00:00:00.000Z");
    assert_eq!(crate::time::format_ms(feb_2028.end_ms), "2028-03-01T00:00:00.000Z");
    assert_eq!(seconds_until(JAN_1_2027 - 1_500, JAN_1_2027), 2);
    assert_eq!(seconds_until(JAN_1_2027 + 5, JAN_1_2027), 1, "never 0");
}

#[test]
fn a_lease_serves_its_block_then_the_pool_hands_out_only_what_is_left() {
    let mut pool = Pool::default();
    let first = pool.exchange("agt_a", None, 10, DEC_1_2026).lease.unwrap();
    assert_eq!((first.block, first.left), (2, 2), "a quarter of 10 for one holder");
    let mut lease = first;
    assert!(lease.take(DEC_1_2026) && lease.take(DEC_1_2026));
    assert!(!lease.take(DEC_1_2026), "used up");
    let mut taken = 2;
    let mut held = Some(lease);
    loop {
        let answer = pool.exchange("agt_a", held.as_ref(), 10, DEC_1_2026);
        let Some(mut next) = answer.lease else {
            assert_eq!(answer.used, 10);
            break;
        };
        while next.take(DEC_1_2026) {
            taken += 1;
        }
        held = Some(next);
    }
    assert_eq!(taken, 10);
    assert_eq!(pool.used, 10);
}

#[test]
fn a_lease_of_last_month_is_void_and_the_new_month_starts_from_zero() {
    let mut pool = Pool::default();
    let mut lease = pool.exchange("agt_a", None, 8, JAN_1_2027 - 10).lease.unwrap();
    assert!(lease.take(JAN_1_2027 - 5));
    assert!(!lease.take(JAN_1_2027), "December's units are not January's");
    let answer = pool.exchange("agt_a", Some(&lease), 8, JAN_1_2027);
    assert_eq!(answer.month.start_ms, JAN_1_2027);
    assert_eq!(pool.used, 0, "the give-back of December's lease does not count in January");
    assert_eq!(answer.lease.unwrap().period_start, JAN_1_2027);
}

#[test]
fn a_lease_the_pool_never_got_back_counts_as_used() {
    let mut pool = Pool::default();
    let lost = pool.exchange("agt_a", None, 100, DEC_1_2026).lease.unwrap();
    // The agent stored it as gone, then its give-back was lost: it asks again with nothing.
    pool.exchange("agt_a", None, 100, DEC_1_2026);
    assert_eq!(pool.used, lost.block);
    // A stale give-back of that grant later changes nothing.
    pool.give_back("agt_a", &Lease { left: lost.block, ..lost }, DEC_1_2026);
    assert_eq!(pool.used, lost.block);
}

#[test]
fn thresholds_are_reported_once_a_month_at_80_and_100_percent() {
    let mut pool = Pool::default();
    let mut seen = Vec::new();
    let mut held: Option<Lease> = None;
    for _ in 0..200 {
        let answer = pool.exchange("agt_a", held.as_ref(), 20, DEC_1_2026);
        seen.extend(answer.crossed.iter().map(|t| (*t, answer.used)));
        let Some(mut lease) = answer.lease else { break };
        while lease.take(DEC_1_2026) {}
        held = Some(lease);
    }
    assert_eq!(seen.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [80, 100]);
    assert!(seen[0].1 >= 16 && seen[0].1 < 20, "80% of 20 reached: {seen:?}");
    assert_eq!(seen[1].1, 20);
    let next_month = pool.exchange("agt_a", None, 20, JAN_1_2027);
    assert!(next_month.crossed.is_empty());
}

#[test]
fn a_restarted_agent_counts_every_row_since_its_lease_as_used() {
    let lease = Lease { period_start: DEC_1_2026, grant: 3, block: 10, left: 10 };
    let stored = StoredLease { lease, base_seq: 40 };
    assert_eq!(stored.restore(40).left, 10);
    assert_eq!(stored.restore(47).left, 3);
    assert_eq!(stored.restore(60).left, 0);
    assert_eq!(stored.restore(39).left, 10, "a head behind the base counts nothing");
}

#[test]
fn a_refusal_while_another_lease_is_on_its_way_back_is_worth_asking_again() {
    let mut pool = Pool::default();
    let a = pool.exchange("agt_a", None, 8, DEC_1_2026).lease.unwrap();
    let mut b = pool.exchange("agt_b", None, 8, DEC_1_2026).lease.unwrap();
    let mut rest = Vec::new();
    while let Some(l) = pool.exchange("agt_c", rest.pop().as_ref(), 8, DEC_1_2026).lease {
        rest.push(Lease { left: 0, ..l });
    }
    // b is in the middle of its own exchange: its lease left it and has not reached the pool, so
    // a reclaim gets nothing from it. c is refused, but not for good.
    assert!(b.take(DEC_1_2026));
    let refused = pool.exchange("agt_c", rest.pop().as_ref(), 8, DEC_1_2026);
    assert!(refused.lease.is_none());
    assert!(refused.worth_retrying());
    assert_eq!(refused.held_elsewhere, a.block + b.block);
    // b's exchange arrives with the unused units; a gives its lease back; c asks again and gets some.
    pool.exchange("agt_b", Some(&b), 8, DEC_1_2026);
    pool.give_back("agt_a", &a, DEC_1_2026);
    let again = pool.exchange("agt_c", None, 8, DEC_1_2026);
    assert!(again.lease.is_some(), "{again:?}");
    // Once everything is used and back, a refusal is final.
    let mut pool = Pool::default();
    let mut l = pool.exchange("agt_a", None, 1, DEC_1_2026).lease.unwrap();
    assert!(l.take(DEC_1_2026));
    pool.give_back("agt_a", &l, DEC_1_2026);
    let last = pool.exchange("agt_b", None, 1, DEC_1_2026);
    assert!(last.lease.is_none() && !last.worth_retrying());
}

/// One step of a simulated month: an agent wants a unit, an agent idles (gives its lease back),
/// an agent restarts (keeps its stored lease), a give-back is lost on the way.
#[derive(Debug, Clone)]
enum Step {
    Take(usize),
    Idle(usize),
    LoseGiveBack(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..4usize).prop_map(Step::Take),
        1 => (0..4usize).prop_map(Step::Idle),
        1 => (0..4usize).prop_map(Step::LoseGiveBack),
    ]
}

/// The agents' side, as the agent object does it: take from the lease, else give it back and
/// take the next; when the pool has nothing, it reclaims the other agents' leases and tries once more.
struct Org {
    pool: Pool,
    limit: u64,
    leases: Vec<Option<Lease>>,
    taken: u64,
    refused: u64,
    lost: bool,
    /// Whether the last refusal said other agents still hold units.
    refusal_worth_retrying: bool,
    /// Whether any give-back was lost (empty or not).
    dropped: bool,
}

impl Org {
    fn take(&mut self, a: usize, now: i64) -> bool {
        if let Some(lease) = self.leases[a].as_mut() {
            if lease.take(now) {
                self.taken += 1;
                return true;
            }
        }
        let name = format!("agt_{a}");
        let returned = self.leases[a].take();
        let mut answer = self.pool.exchange(&name, returned.as_ref(), self.limit, now);
        if answer.lease.is_none() {
            for holder in self.pool.holders_except(&name) {
                let i: usize = holder["agt_".len()..].parse().unwrap();
                if let Some(lease) = self.leases[i].take() {
                    self.pool.give_back(&holder, &lease, now);
                }
            }
            answer = self.pool.exchange(&name, None, self.limit, now);
        }
        match answer.lease {
            Some(mut lease) => {
                assert!(lease.take(now));
                self.taken += 1;
                self.leases[a] = Some(lease);
                true
            }
            None => {
                self.refused += 1;
                self.refusal_worth_retrying = answer.worth_retrying();
                false
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_organization_never_uses_more_than_its_limit_and_is_refused_only_when_all_is_used(
        limit in 0u64..3_000,
        steps in proptest::collection::vec(step(), 1..3_000),
    ) {
        let mut org = Org { pool: Pool::default(), limit, leases: vec![None; 4], taken: 0, refused: 0, lost: false, refusal_worth_retrying: false, dropped: false };
        for s in steps {
            match s {
                Step::Take(a) => {
                    let ok = org.take(a, DEC_1_2026);
                    if !ok && !org.lost {
                        prop_assert_eq!(org.taken, limit, "refused before the limit was used");
                        if !org.dropped {
                            prop_assert!(!org.refusal_worth_retrying, "a final refusal says nothing is held elsewhere");
                        }
                    }
                }
                Step::Idle(a) => {
                    if let Some(lease) = org.leases[a].take() {
                        org.pool.give_back(&format!("agt_{a}"), &lease, DEC_1_2026);
                    }
                }
                Step::LoseGiveBack(a) => {
                    if let Some(l) = org.leases[a].take() {
                        // An empty lease lost costs nothing, but the pool still counts it held
                        // until that agent's next exchange.
                        org.lost |= l.left > 0;
                        org.dropped = true;
                    }
                }
            }
            prop_assert!(org.taken <= limit, "used {} of {}", org.taken, limit);
            prop_assert!(org.pool.committed() <= limit.max(org.pool.used));
        }
    }
}
