//! OakAuth's rule check against cedar-policy on the same rules, for 10, 1,000 and 100,000 rules.
//! Each iteration answers the next of 65 questions spread over the rule set (see `queries`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use oakauth_bench::{queries, CedarRules, OakRules};

const RULE_COUNTS: [usize; 3] = [10, 1_000, 100_000];

fn decision(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    for rules in RULE_COUNTS {
        let qs = queries(rules, 64);
        let oak = OakRules::new(rules);
        group.bench_with_input(BenchmarkId::new("oakauth", rules), &rules, |b, _| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % qs.len();
                black_box(oak.check(black_box(&qs[k])))
            })
        });
        let cedar = CedarRules::new(rules);
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
