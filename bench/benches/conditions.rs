//! Decisions with conditions: OakAuth (rule index, `policy::evaluate`, `decision::decide`) with
//! three conditions per rule, against cedar-policy evaluating the same conditions as `when`
//! clauses, and against OakAuth's decision with the same rules without conditions. 10 and 10,000
//! rules; the same 65 calls for every engine (see `oakauth_bench::conditions::calls`). OakAuth's
//! iterations answer all 65 calls; divide by 65 for the time per decision. Cedar's answer one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use oakauth_bench::conditions::{calls, CedarConditionRules, OakConditionRules};
use oakauth_bench::{OakRules, Query};

const RULE_COUNTS: [usize; 2] = [10, 10_000];

fn conditions(c: &mut Criterion) {
    let mut group = c.benchmark_group("conditions");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(30);
    for rules in RULE_COUNTS {
        let cs = calls(rules, 64);
        let qs: Vec<Query> = cs
            .iter()
            .map(|c| Query { tool: c.tool.clone(), scope: c.scope.clone(), reasoning: c.reasoning.clone() })
            .collect();
        let plain = OakRules::new(rules);
        group.bench_with_input(BenchmarkId::new("oakauth-plain-65", rules), &rules, |b, _| {
            b.iter(|| {
                for q in &qs {
                    black_box(plain.check(black_box(q)));
                }
            })
        });
        let oak = OakConditionRules::new(rules);
        group.bench_with_input(BenchmarkId::new("oakauth-conditions-65", rules), &rules, |b, _| {
            b.iter(|| {
                for c in &cs {
                    black_box(oak.check(black_box(c)));
                }
            })
        });
        let cedar = CedarConditionRules::new(rules);
        group.sample_size(if rules >= 10_000 { 10 } else { 30 });
        group.bench_with_input(BenchmarkId::new("cedar-conditions", rules), &rules, |b, _| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % cs.len();
                black_box(cedar.check(black_box(&cs[k])))
            })
        });
        group.sample_size(30);
    }
    group.finish();
}

criterion_group!(benches, conditions);
criterion_main!(benches);
