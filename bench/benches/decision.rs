//! OakAuth's rule check against cedar-policy on the same rules, for 10, 1,000 and 100,000 rules.
//! The same 65 questions, spread over the rule set (see `queries`), for both engines. OakAuth's
//! iterations answer all 65 (a decision takes tens of nanoseconds, too little to time alone);
//! Cedar's answer the next one (at 100,000 rules one decision takes long enough). bench/run.mjs
//! divides OakAuth's time by 65 to report the time per decision.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use oakauth_bench::{queries, CedarRules, OakRules};

const RULE_COUNTS: [usize; 3] = [10, 1_000, 100_000];
const QUESTIONS: usize = 65;

fn decision(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(30);
    for rules in RULE_COUNTS {
        let qs = queries(rules, 64);
        let oak = OakRules::new(rules);
        assert_eq!(qs.len(), QUESTIONS);
        group.sample_size(30);
        group.bench_with_input(BenchmarkId::new("oakauth-65", rules), &rules, |b, _| {
            b.iter(|| {
                for q in &qs {
                    black_box(oak.check(black_box(q)));
                }
            })
        });
        let cedar = CedarRules::new(rules);
        // At 100,000 rules one Cedar decision takes long enough that 10 samples are plenty.
        group.sample_size(if rules >= 100_000 { 10 } else { 30 });
        group.bench_with_input(BenchmarkId::new("cedar", rules), &rules, |b, _| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % qs.len();
                black_box(cedar.check(black_box(&qs[k])))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
