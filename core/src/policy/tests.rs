//! The policy engine through its public doors, [`compile`] and [`evaluate`]: every operator and
//! combinator holding and failing, missing values, type mismatches, request facts, hostile inputs,
//! save-time bounds and schema checks, explanations; then property tests of the invariants
//! documented at the top of `mod.rs`.

use super::*;
use crate::wire::{Condition, Effect, Operator, ReasonCode, ReasoningPolicy, RuleMode, RuleOutcome};
use chrono::TimeZone;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

fn cond(v: Value) -> Condition {
    Condition::from_json(&v, "conditions[0]").unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn conds(vs: &[Value]) -> Vec<Condition> {
    vs.iter().map(|v| cond(v.clone())).collect()
}

fn rule_with(id: &str, effect: Effect, mode: RuleMode, cs: &[Value]) -> CompiledRule {
    compile(id, effect, mode, ReasoningPolicy::None, &conds(cs), None).unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn allow(id: &str, cs: &[Value]) -> CompiledRule {
    rule_with(id, Effect::Allow, RuleMode::Enforce, cs)
}

fn deny(id: &str, cs: &[Value]) -> CompiledRule {
    rule_with(id, Effect::Deny, RuleMode::Enforce, cs)
}

fn compile_err(cs: &[Value]) -> String {
    compile_err_with(cs, None)
}

fn compile_err_with(cs: &[Value], schema: Option<&Value>) -> String {
    match compile("r1", Effect::Allow, RuleMode::Enforce, ReasoningPolicy::None, &conds(cs), schema) {
        Ok(_) => panic!("{cs:?} compiled, but should have been refused"),
        Err(e) => e.to_string(),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn args_facts(args: &Map<String, Value>) -> Facts<'_> {
    Facts { arguments: Some(args), context: None, client_ip: None, now_ms: 0 }
}

/// How one allow rule with this one condition comes out for these arguments.
fn outcome(c: Value, args: Value) -> RuleOutcome {
    let rule = allow("r1", &[c]);
    let args = obj(args);
    rule.outcome(&args_facts(&args)).0
}

use RuleOutcome::{Error as Err_, Matched as Yes, NotMatched as No};

/// A test of `/v` in the arguments with `on_missing: deny`.
fn t(op: &str, value: Value) -> Value {
    json!({"pointer": "/v", "op": op, "value": value, "on_missing": "deny"})
}

/// Checks `op value` against each observed `/v`.
fn table(op: &str, value: Value, cases: &[(Value, RuleOutcome)]) {
    for (observed, want) in cases {
        let got = outcome(t(op, value.clone()), json!({ "v": observed }));
        assert_eq!(got, *want, "{op} {value} with observed {observed}");
    }
}

fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    chrono::Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("a valid UTC time").timestamp_millis()
}

fn run(rules: &[CompiledRule], args: Value) -> Evaluation {
    let args = obj(args);
    evaluate(rules, &args_facts(&args), true)
}

// ---------------------------------------------------------------------------------------------
// Every operator, holding, failing and on the wrong type

#[test]
fn eq_and_ne() {
    table(
        "eq",
        json!(5),
        &[(json!(5), Yes), (json!(5.0), Yes), (json!(6), No), (json!("5"), Err_), (json!(null), Err_)],
    );
    table("eq", json!("a"), &[(json!("a"), Yes), (json!("A"), No), (json!(["a"]), Err_)]);
    table("eq", json!(true), &[(json!(true), Yes), (json!(false), No), (json!(1), Err_)]);
    table("eq", json!(null), &[(json!(null), Yes), (json!(0), Err_)]);
    table("eq", json!(0.3), &[(json!(0.3), Yes), (json!(0.30000000000000004), No)]);
    table("ne", json!(5), &[(json!(6), Yes), (json!(5.0), No), (json!("6"), Err_)]);
    table("ne", json!("a"), &[(json!("b"), Yes), (json!("a"), No), (json!({"a": 1}), Err_)]);
}

#[test]
fn ordering_operators_compare_exact_decimals() {
    table("lt", json!(500), &[(json!(499.99), Yes), (json!(500), No), (json!(500.01), No), (json!(-1e20), Yes)]);
    table("lte", json!(500), &[(json!(500.0), Yes), (json!(499), Yes), (json!(500.000001), No)]);
    table("gt", json!(0.1), &[(json!(0.2), Yes), (json!(0.1), No), (json!(0), No)]);
    table("gte", json!(-3), &[(json!(-3), Yes), (json!(-2.5), Yes), (json!(-3.0001), No)]);
    for op in ["lt", "lte", "gt", "gte"] {
        table(op, json!(10), &[(json!("5"), Err_), (json!(true), Err_), (json!([1]), Err_), (json!(null), Err_)]);
    }
    // Exact: 0.1 + 0.2 is 0.3 for `lte 0.3` only if the caller sent 0.3.
    table("lte", json!(0.3), &[(json!(0.3), Yes)]);
    table("lt", json!(u64::MAX), &[(json!(u64::MAX - 1), Yes), (json!(u64::MAX), No)]);
}

#[test]
fn in_and_not_in() {
    table("in", json!(["a", "b"]), &[(json!("a"), Yes), (json!("c"), No), (json!(1), Err_), (json!(["a"]), Err_)]);
    table("in", json!([1, 2.5]), &[(json!(2.50), Yes), (json!(1.0), Yes), (json!(3), No), (json!("1"), Err_)]);
    table("in", json!(["1", 1]), &[(json!(1), Yes), (json!("1"), Yes), (json!(true), Err_)]);
    table("in", json!([null, false]), &[(json!(null), Yes), (json!(false), Yes), (json!(true), No)]);
    table("not_in", json!(["a", "b"]), &[(json!("c"), Yes), (json!("b"), No), (json!(2), Err_), (json!({}), Err_)]);
    table("not_in", json!([1]), &[(json!(2), Yes), (json!(1.0), No)]);
}

#[test]
fn prefix_suffix_contains() {
    table("prefix", json!("/tmp/"), &[(json!("/tmp/x"), Yes), (json!("/tmpx"), No), (json!(1), Err_)]);
    table("suffix", json!(".txt"), &[(json!("a.txt"), Yes), (json!("a.txt.exe"), No), (json!(["a.txt"]), Err_)]);
    table("contains", json!("rm -rf"), &[(json!("sudo rm -rf /"), Yes), (json!("ls"), No), (json!(5), Err_)]);
    table("contains", json!("x"), &[(json!(["x", "y"]), Yes), (json!(["xy"]), No), (json!([1, 2]), No)]);
    table(
        "contains",
        json!(2),
        &[(json!([1, 2.0]), Yes), (json!([1, 3]), No), (json!("2"), Err_), (json!({"2": 2}), Err_)],
    );
    table("contains", json!(true), &[(json!([false, true]), Yes), (json!([]), No)]);
}

#[test]
fn matches_is_unanchored_unless_anchored() {
    table("matches", json!("^[a-z]+$"), &[(json!("abc"), Yes), (json!("abc1"), No), (json!(1), Err_)]);
    table("matches", json!("drop\\s+table"), &[(json!("x; DROP TABLE y"), No), (json!("x; drop  table y"), Yes)]);
    table("matches", json!("(?i)drop\\s+table"), &[(json!("x; DROP TABLE y"), Yes)]);
}

#[test]
fn len_max_counts_characters_and_items() {
    table(
        "len_max",
        json!(3),
        &[
            (json!("abc"), Yes),
            (json!("ééé"), Yes),
            (json!("abcd"), No),
            (json!([1, 2, 3]), Yes),
            (json!([1, 2, 3, 4]), No),
            (json!(3), Err_),
            (json!({"a": 1}), Err_),
        ],
    );
    table("len_max", json!(0), &[(json!(""), Yes), (json!([]), Yes), (json!("a"), No)]);
}

#[test]
fn path_under() {
    table(
        "path_under",
        json!("/work"),
        &[
            (json!("/work"), Yes),
            (json!("/work/a/b.txt"), Yes),
            (json!("//work///a/./b"), Yes),
            (json!("/workshop/a"), No),
            (json!("/etc/passwd"), No),
            (json!("work/a"), Err_),
            (json!(7), Err_),
        ],
    );
}

#[test]
fn host_in() {
    table(
        "host_in",
        json!(["example.org", "*.corp.example"]),
        &[
            (json!("https://example.org/x"), Yes),
            (json!("EXAMPLE.ORG."), Yes),
            (json!("alice@example.org"), Yes),
            (json!("https://api.corp.example:8443/"), Yes),
            (json!("https://corp.example/"), No),
            (json!("https://example.com/"), No),
            (json!("not a host/"), Err_),
            (json!(["example.org"]), Err_),
        ],
    );
}

#[test]
fn cidr() {
    table(
        "cidr",
        json!(["10.0.0.0/8", "2001:db8::/32"]),
        &[
            (json!("10.1.2.3"), Yes),
            (json!("::ffff:10.1.2.3"), Yes),
            (json!("2001:db8::1"), Yes),
            (json!("11.0.0.1"), No),
            (json!("2001:db9::1"), No),
            (json!("10.1.2"), Err_),
            (json!("010.1.2.3"), Err_),
            (json!(10), Err_),
        ],
    );
}

#[test]
fn exists() {
    let present = json!({"v": null});
    let absent = json!({});
    for on_missing in ["deny", "skip"] {
        let e = |value: Value| json!({"pointer": "/v", "op": "exists", "value": value, "on_missing": on_missing});
        assert_eq!(outcome(e(json!(true)), present.clone()), Yes);
        assert_eq!(outcome(e(json!(true)), absent.clone()), No, "on_missing does not apply to exists");
        assert_eq!(outcome(e(json!(false)), present.clone()), No);
        assert_eq!(outcome(e(json!(false)), absent.clone()), Yes);
        assert_eq!(outcome(json!({"pointer": "/v", "op": "exists", "on_missing": on_missing}), present.clone()), Yes);
    }
}

#[test]
fn pointers_reach_into_nested_values_and_escape() {
    let c = json!({"pointer": "/a/b/1/c~1d~0e", "op": "eq", "value": 7, "on_missing": "deny"});
    assert_eq!(outcome(c.clone(), json!({"a": {"b": [0, {"c/d~e": 7}]}})), Yes);
    assert_eq!(outcome(c, json!({"a": {"b": [0]}})), Err_, "missing with on_missing deny");
    let top = json!({"pointer": "/x~1y", "op": "eq", "value": 1, "on_missing": "deny"});
    assert_eq!(outcome(top, json!({"x/y": 1})), Yes);
}

// ---------------------------------------------------------------------------------------------
// Combinators

#[test]
fn combinators() {
    let holds = t("eq", json!(1));
    let fails = t("eq", json!(2));
    let error = t("eq", json!("one")); // a string against the number 1
    let skip = json!({"pointer": "/absent", "op": "eq", "value": 1, "on_missing": "skip"});
    let check = |c: Value, want: RuleOutcome| assert_eq!(outcome(c.clone(), json!({"v": 1})), want, "{c}");

    check(json!({"all_of": [holds, holds]}), Yes);
    check(json!({"all_of": [holds, fails]}), No);
    check(json!({"all_of": [fails, error]}), Err_);
    check(json!({"all_of": [holds, skip]}), No);
    check(json!({"any_of": [fails, holds]}), Yes);
    check(json!({"any_of": [fails, fails]}), No);
    check(json!({"any_of": [holds, error]}), Err_);
    check(json!({"any_of": [skip, holds]}), Yes);
    check(json!({"any_of": [skip, fails]}), No);
    check(json!({"not": holds}), No);
    check(json!({"not": fails}), Yes);
    check(json!({"not": error}), Err_);
    check(json!({"not": skip}), No);
    check(json!({"not": {"not": holds}}), Yes);
    check(json!({"all_of": [{"any_of": [fails, {"not": fails}]}, {"not": {"all_of": [holds, fails]}}]}), Yes);
    // Several conditions of one rule: all must hold.
    let rule = allow("r1", &[holds.clone(), fails.clone()]);
    let a = obj(json!({"v": 1}));
    assert_eq!(rule.outcome(&args_facts(&a)).0, No);
    let rule = allow("r1", &[holds.clone(), holds.clone()]);
    assert_eq!(rule.outcome(&args_facts(&a)).0, Yes);
    // No conditions: the rule always applies.
    assert_eq!(allow("r1", &[]).outcome(&args_facts(&a)).0, Yes);
}

// ---------------------------------------------------------------------------------------------
// Missing values and type mismatches through evaluate

#[test]
fn on_missing_deny_makes_any_rule_deny() {
    let c = json!({"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"});
    for effect in [Effect::Allow, Effect::Deny] {
        let rules = [rule_with("r1", effect, RuleMode::Enforce, std::slice::from_ref(&c)), allow("r2", &[])];
        let e = run(&rules, json!({}));
        assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::DeniedByRule), "{effect:?}");
        let exp = e.explanation.unwrap();
        assert_eq!(exp.rule_id.as_deref(), Some("r1"));
        let w = exp.condition.unwrap();
        assert_eq!(w.pointer, "/amount");
        assert_eq!(w.observed, None);
        assert!(w.error.as_deref().unwrap().contains("missing"), "{:?}", w.error);
        assert!(exp.message.contains("could not be evaluated"), "{}", exp.message);
    }
    // No arguments at all is missing too.
    let rules = [allow("r1", std::slice::from_ref(&c))];
    let e = evaluate(&rules, &Facts::default(), false);
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::DeniedByRule));
}

#[test]
fn on_missing_skip_makes_the_rule_not_apply() {
    let c = json!({"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "skip"});
    // An allow rule that does not apply does not allow.
    let e = run(&[allow("r1", std::slice::from_ref(&c))], json!({}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ConditionsNotMet));
    let exp = e.explanation.unwrap();
    assert_eq!(exp.rule_id.as_deref(), Some("r1"));
    assert!(exp.message.contains("no allow rule applies"), "{}", exp.message);
    // A deny rule that does not apply does not deny.
    let e = run(&[deny("r1", std::slice::from_ref(&c)), allow("r2", &[])], json!({}));
    assert_eq!(e.verdict, Verdicts::Allow(ReasoningPolicy::None));
    assert_eq!(e.explanation, None);
    assert_eq!(e.trace[0].outcome, RuleOutcome::NotMatched);
}

#[test]
fn type_mismatches_deny_with_an_error_in_the_explanation() {
    let cases = [
        (t("lt", json!(500)), json!({"v": "400"})),
        (t("eq", json!(5)), json!({"v": "5"})),
        (t("prefix", json!("/tmp")), json!({"v": 5})),
        (t("cidr", json!(["10.0.0.0/8"])), json!({"v": ["10.0.0.1"]})),
        (t("in", json!(["a"])), json!({"v": 1})),
        (t("len_max", json!(3)), json!({"v": true})),
        (t("contains", json!("a")), json!({"v": {"a": 1}})),
    ];
    for (c, args) in cases {
        for effect in [Effect::Allow, Effect::Deny] {
            let rules = [rule_with("r1", effect, RuleMode::Enforce, std::slice::from_ref(&c)), allow("r0", &[])];
            let e = run(&rules, args.clone());
            assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::DeniedByRule), "{c} {args}");
            let exp = e.explanation.expect("an explanation");
            assert_eq!(exp.rule_id.as_deref(), Some("r1"));
            let w = exp.condition.expect("the condition");
            assert!(w.error.is_some(), "{c} {args}: {w:?}");
            assert!(!w.holds);
            assert_eq!(e.trace.iter().find(|r| r.rule_id == "r1").unwrap().outcome, RuleOutcome::Error);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request facts

fn request_outcome(c: Value, client_ip: Option<&str>, now_ms: i64) -> RuleOutcome {
    let rule = allow("r1", &[c]);
    rule.outcome(&Facts { arguments: None, context: None, client_ip, now_ms }).0
}

#[test]
fn client_ip_with_cidr() {
    let c = json!({"source": "request", "pointer": "/client_ip", "op": "cidr", "value": ["10.0.0.0/8", "192.168.1.0/24"], "on_missing": "deny"});
    assert_eq!(request_outcome(c.clone(), Some("10.9.8.7"), 0), Yes);
    assert_eq!(request_outcome(c.clone(), Some("192.168.1.255"), 0), Yes);
    assert_eq!(request_outcome(c.clone(), Some("192.168.2.1"), 0), No);
    assert_eq!(request_outcome(c.clone(), Some("::ffff:192.168.1.4"), 0), Yes);
    assert_eq!(request_outcome(c.clone(), Some("garbage"), 0), Err_);
    assert_eq!(request_outcome(c, None, 0), Err_, "no client address, on_missing deny");
    let skip = json!({"source": "request", "pointer": "/client_ip", "op": "cidr", "value": ["10.0.0.0/8"], "on_missing": "skip"});
    assert_eq!(request_outcome(skip, None, 0), No);
    // `client_ip` is a request fact, not an argument: an argument of that name changes nothing.
    let rule = allow(
        "r1",
        &[
            json!({"source": "request", "pointer": "/client_ip", "op": "cidr", "value": ["10.0.0.0/8"], "on_missing": "deny"}),
        ],
    );
    let args = obj(json!({"client_ip": "10.0.0.1"}));
    let facts = Facts { arguments: Some(&args), context: None, client_ip: Some("8.8.8.8"), now_ms: 0 };
    assert_eq!(rule.outcome(&facts).0, No);
}

#[test]
fn time_in_a_time_zone_follows_daylight_saving() {
    let after_six = |tz: Option<&str>| {
        let mut c =
            json!({"source": "request", "pointer": "/time", "op": "gte", "value": "18:00", "on_missing": "deny"});
        if let Some(tz) = tz {
            c["time_zone"] = json!(tz);
        }
        c
    };
    let berlin = after_six(Some("Europe/Berlin"));
    // 16:30 UTC is 18:30 in Berlin in summer (CEST, +2) and 17:30 in winter (CET, +1).
    assert_eq!(request_outcome(berlin.clone(), None, ms(2026, 7, 1, 16, 30)), Yes);
    assert_eq!(request_outcome(berlin.clone(), None, ms(2026, 1, 15, 16, 30)), No);
    assert_eq!(request_outcome(after_six(None), None, ms(2026, 7, 1, 16, 30)), No, "UTC by default");
    // The night the clocks go forward (2026-03-29): 00:30 UTC is 01:30 CET, 01:30 UTC is 03:30 CEST.
    let before = |hhmm: &str| json!({"source": "request", "pointer": "/time", "op": "lt", "value": hhmm, "on_missing": "deny", "time_zone": "Europe/Berlin"});
    assert_eq!(request_outcome(before("02:00"), None, ms(2026, 3, 29, 0, 30)), Yes);
    assert_eq!(request_outcome(before("02:00"), None, ms(2026, 3, 29, 1, 30)), No);
    assert_eq!(request_outcome(before("03:31"), None, ms(2026, 3, 29, 1, 30)), Yes);
    // The night they go back (2026-10-25): 00:30 and 01:30 UTC are both 02:30 local.
    let at = |m| {
        let rule = allow(
            "r1",
            &[
                json!({"source": "request", "pointer": "/time", "op": "eq", "value": "02:30", "on_missing": "deny", "time_zone": "Europe/Berlin"}),
            ],
        );
        rule.outcome(&Facts { now_ms: m, ..Facts::default() }).0
    };
    assert_eq!(at(ms(2026, 10, 25, 0, 30)), Yes);
    assert_eq!(at(ms(2026, 10, 25, 1, 30)), Yes);
    // The explanation shows the local time observed.
    let rules = [deny("r1", &[berlin])];
    let e = evaluate(&rules, &Facts { now_ms: ms(2026, 7, 1, 16, 30), ..Facts::default() }, false);
    assert_eq!(e.explanation.unwrap().condition.unwrap().observed, Some(json!("18:30")));
}

#[test]
fn weekday_in_a_time_zone() {
    let weekend = |tz: &str| json!({"source": "request", "pointer": "/weekday", "op": "in", "value": ["sat", "sun"], "on_missing": "deny", "time_zone": tz});
    // Sunday 2026-01-04 23:30 UTC is already Monday 00:30 in Berlin.
    assert_eq!(request_outcome(weekend("UTC"), None, ms(2026, 1, 4, 23, 30)), Yes);
    assert_eq!(request_outcome(weekend("Europe/Berlin"), None, ms(2026, 1, 4, 23, 30)), No);
    assert_eq!(request_outcome(weekend("America/New_York"), None, ms(2026, 1, 5, 3, 0)), Yes, "still Sunday there");
    let wed = json!({"source": "request", "pointer": "/weekday", "op": "eq", "value": "wed", "on_missing": "deny"});
    assert_eq!(request_outcome(wed, None, ms(2026, 7, 1, 12, 0)), Yes);
}

#[test]
fn request_facts_are_strings_at_save_time() {
    let r = |pointer: &str, op: &str, value: Value| json!({"source": "request", "pointer": pointer, "op": op, "value": value, "on_missing": "deny"});
    for c in [
        r("/weekday", "eq", json!(3)),
        r("/weekday", "lt", json!(3)),
        r("/client_ip", "gte", json!(10)),
        r("/client_ip", "in", json!([1, 2])),
        r("/time", "ne", json!(1800)),
        r("/client_ip", "contains", json!(10)),
    ] {
        let e = compile_err(std::slice::from_ref(&c));
        assert!(e.contains("is a string") && e.contains("can never hold"), "{c}: {e}");
    }
    allow("r1", &[r("/weekday", "in", json!(["sat", 1]))]);
    allow("r1", &[r("/client_ip", "prefix", json!("10."))]);
    allow("r1", &[r("/time", "lt", json!("09:00"))]);
}

#[test]
fn context_source() {
    let rule = allow(
        "r1",
        &[
            json!({"source": "context", "pointer": "/ticket", "op": "matches", "value": "^OPS-[0-9]+$", "on_missing": "deny"}),
        ],
    );
    let ctx = obj(json!({"ticket": "OPS-42"}));
    let args = obj(json!({"ticket": "nope"}));
    let f = Facts { arguments: Some(&args), context: Some(&ctx), client_ip: None, now_ms: 0 };
    assert_eq!(rule.outcome(&f).0, Yes);
    let f = Facts { arguments: Some(&ctx), context: None, client_ip: None, now_ms: 0 };
    assert_eq!(rule.outcome(&f).0, Err_, "context missing, on_missing deny");
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs

#[test]
fn hostile_paths_do_not_escape() {
    table(
        "path_under",
        json!("/work"),
        &[
            (json!("/work/../etc/passwd"), No),
            (json!("/work/a/../../etc"), No),
            (json!("/work/./../work2"), No),
            (json!("/work/%2e%2e/etc"), No),
            (json!("/work/%2E%2E/etc"), No),
            (json!("/work%2F..%2Fetc"), No),
            (json!("/work/%252e%252e/etc"), No),
            (json!("/work/%25252e%25252e/etc"), No),
            (json!("/work\\..\\etc"), No),
            (json!("/work/%5c..%5cetc"), No),
            (json!("/../../work/x"), Yes),
            (json!("/work/a%00b"), Err_),
            (json!("/work/%25252525252e"), Err_),
            (json!("/work/%ff"), Err_),
            (json!("%2fwork/x"), Yes),
        ],
    );
    // The directory of the rule is resolved the same way.
    table("path_under", json!("/srv/app/../data"), &[(json!("/srv/data/x"), Yes), (json!("/srv/app/x"), No)]);
}

#[test]
fn hostile_hosts_do_not_match() {
    table(
        "host_in",
        json!(["example.org"]),
        &[
            (json!("https://evil.com.example.org/"), No),
            (json!("evil.com.example.org"), No),
            (json!("https://example.org.evil.com/"), No),
            (json!("https://example.org@evil.com/"), No),
            (json!("https://evil.com/?u=https://example.org"), No),
            (json!("https://\u{0435}xample.org/"), No),
            (json!("\u{0435}xample.org"), No),
            (json!("https://exam\u{0440}le.org/"), No),
            (json!("https://EXAMPLE.org./path"), Yes),
        ],
    );
    table(
        "host_in",
        json!(["*.example.org"]),
        &[
            (json!("https://example.org.evil.com/"), No),
            (json!("https://evilexample.org/"), No),
            (json!("https://example.org/"), No),
            (json!("https://a.example.org/"), Yes),
            (json!("https://a.\u{0435}xample.org/"), No),
            (json!("bob@mail.example.org"), Yes),
            (json!("bob@mail.example.org.evil.com"), No),
        ],
    );
    // A look-alike host written in the rule matches only itself, never the ASCII name.
    table(
        "host_in",
        json!(["\u{0435}xample.org"]),
        &[(json!("https://example.org/"), No), (json!("https://\u{0435}xample.org/"), Yes)],
    );
}

#[test]
fn huge_and_non_numbers_are_errors_not_comparisons() {
    for op in ["lt", "lte", "gt", "gte", "eq", "ne"] {
        table(op, json!(500), &[(json!(1e300), Err_), (json!(-1e300), Err_), (json!(1e29), Err_)]);
        table(
            op,
            json!(500),
            &[
                (json!("NaN"), Err_),
                (json!("Infinity"), Err_),
                (json!("-Infinity"), Err_),
                (json!("1e999"), Err_),
                (json!("400"), Err_),
            ],
        );
    }
    table("in", json!([1, 2]), &[(json!(1e300), Err_), (json!("NaN"), Err_)]);
    table("contains", json!(1), &[(json!([1e300]), Err_)]);
    // Every such error makes even an allow-everything rule set deny.
    let rules = [deny("r1", &[t("gt", json!(1000))]), allow("r2", &[])];
    for v in [json!(1e300), json!("Infinity"), json!("NaN"), json!("1e999")] {
        assert_eq!(run(&rules, json!({ "v": v })).verdict, Verdicts::Deny(ReasonCode::DeniedByRule), "{v}");
    }
    // Tiny numbers are not rounded to zero.
    let zero = t("eq", json!(0));
    assert_ne!(outcome(zero, json!({"v": 1e-300})), Yes);
    table("gt", json!(0), &[(json!(1e-20), Yes), (json!(-1e-20), No)]);
}

#[test]
fn huge_numbers_are_refused_in_rules() {
    for op in ["lt", "eq", "ne", "gte"] {
        let e = compile_err(&[t(op, json!(1e300))]);
        assert!(e.contains("conditions[0]") && e.contains("exact decimal range"), "{op}: {e}");
    }
    let e = compile_err(&[t("in", json!([1, 1e300]))]);
    assert!(e.contains("exact decimal range"), "{e}");
}

#[test]
fn regexes_are_bounded_at_compile_time() {
    for (pattern, why) in [
        ("(a{1000}){1000}", "too large"),
        ("a{1000}{1000}", "too large"),
        ("(", "invalid"),
        ("[z-a]", "invalid"),
        ("(?<n>a)(?<n>b)", "invalid"),
        ("\\1", "backreferences are not supported"),
        ("(?=a)", "look-around is not supported"),
    ] {
        let e = compile_err(&[t("matches", json!(pattern))]);
        assert!(e.starts_with("conditions[0]: the pattern is not usable"), "{pattern} ({why}): {e}");
    }
    let deep = "(".repeat(40) + "a" + &")".repeat(40);
    assert!(compile_err(&[t("matches", json!(deep))]).contains("not usable"));
    let long = "a".repeat(MAX_REGEX_LEN + 1);
    assert!(compile_err(&[t("matches", json!(long))]).contains("longer than"));
    assert!(compile_err(&[t("matches", json!(5))]).contains("takes a string"));
    // A large but bounded one compiles and runs in linear time on a hostile input.
    let rule = allow("r1", &[t("matches", json!("(a|aa)+$"))]);
    let long_a = obj(json!({ "v": "a".repeat(50_000) + "!" }));
    assert_eq!(rule.outcome(&args_facts(&long_a)).0, No);
}

#[test]
fn bounds_are_enforced_at_compile_time() {
    let one = t("eq", json!(1));
    // Exactly at the bound compiles.
    let at_bound: Vec<Value> = vec![one.clone(); MAX_CONDITION_NODES];
    allow("r1", &at_bound);
    let over = vec![one.clone(); MAX_CONDITION_NODES + 1];
    assert!(compile_err(&over).contains(&format!("at most {MAX_CONDITION_NODES}")));
    // Combinators count as nodes too.
    let wrapped: Vec<Value> = (0..MAX_CONDITION_NODES / 2 + 1).map(|_| json!({"not": one})).collect();
    assert!(compile_err(&wrapped).contains("conditions"));
    // Depth.
    let mut nested = one.clone();
    for _ in 1..MAX_CONDITION_DEPTH {
        nested = json!({ "not": nested });
    }
    allow("r1", std::slice::from_ref(&nested));
    let too_deep = json!({ "all_of": [nested] });
    let e = compile_err(&[one.clone(), too_deep]);
    assert!(e.starts_with("conditions[1]: nested deeper than"), "{e}");
    // Lists and strings.
    let many: Vec<Value> = (0..=MAX_LIST_ITEMS).map(|i| json!(i)).collect();
    assert!(compile_err(&[t("in", Value::Array(many))]).contains("1 to 256"));
    let many_hosts: Vec<Value> = (0..=MAX_LIST_ITEMS).map(|i| json!(format!("h{i}.example"))).collect();
    assert!(compile_err(&[t("host_in", Value::Array(many_hosts))]).contains("1 to 256"));
    assert!(compile_err(&[t("in", json!([]))]).contains("1 to 256"));
    let long = "x".repeat(MAX_VALUE_STRING + 1);
    assert!(compile_err(&[t("prefix", json!(long))]).contains("longer than 1024"));
    assert!(compile_err(&[t("in", json!([long]))]).contains("longer than 1024"));
    assert!(compile_err(&[json!({"all_of": []})]).contains("conditions[0].all_of: an empty list"));
    assert!(compile_err(&[json!({"any_of": [one, {"any_of": []}]})])
        .contains("conditions[0].any_of[1].any_of: an empty list"));
}

#[test]
fn values_are_checked_at_compile_time() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"pointer": "amount", "op": "eq", "value": 1, "on_missing": "deny"}), "JSON Pointer"),
        (json!({"pointer": "/a~2", "op": "eq", "value": 1, "on_missing": "deny"}), "`~`"),
        (json!({"source": "request", "pointer": "/ip", "op": "eq", "value": "x", "on_missing": "deny"}), "/client_ip"),
        (
            json!({"pointer": "/t", "op": "eq", "value": "x", "on_missing": "deny", "time_zone": "UTC"}),
            "time_zone applies only",
        ),
        (
            json!({"source": "request", "pointer": "/time", "op": "lt", "value": "18:00", "on_missing": "deny", "time_zone": "Mars/Olympus"}),
            "unknown time zone",
        ),
        (
            json!({"source": "request", "pointer": "/time", "op": "lt", "value": "25:00", "on_missing": "deny"}),
            "not a time of day",
        ),
        (
            json!({"source": "request", "pointer": "/time", "op": "lt", "value": 18, "on_missing": "deny"}),
            "time of day",
        ),
        (t("lt", json!("18:00")), "takes a number"),
        (t("eq", json!([1])), "takes a string, number"),
        (t("in", json!([[1]])), "list of strings, numbers"),
        (t("in", json!("a")), "list of 1 to"),
        (t("prefix", json!(1)), "takes a string"),
        (t("contains", json!(null)), "contains"),
        (t("contains", json!([1])), "contains"),
        (t("len_max", json!(-1)), "whole number"),
        (t("len_max", json!(1.5)), "whole number"),
        (t("path_under", json!("relative/dir")), "not absolute"),
        (t("host_in", json!("example.org")), "list of host names"),
        (t("host_in", json!(["exa mple.org"])), "not a host name"),
        (t("host_in", json!([""])), "empty host"),
        (t("cidr", json!(["10.0.0.0/33"])), "not a CIDR block"),
        (t("cidr", json!([10])), "list of CIDR blocks"),
        (t("exists", json!("yes")), "true, false"),
    ];
    for (c, want) in cases {
        let e = compile_err(std::slice::from_ref(&c));
        assert!(e.starts_with("conditions[0]: "), "{c}: {e}");
        assert!(e.contains(want), "{c}: {e:?} should mention {want:?}");
    }
    // The failing one is named inside combinators.
    let e = compile_err(&[t("eq", json!(1)), json!({"any_of": [t("eq", json!(1)), {"not": t("cidr", json!(["x"]))}]})]);
    assert!(e.starts_with("conditions[1].any_of[1].not: "), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Save-time schema checks and argument validation

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "to": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "opts": {"$ref": "#/$defs/opts"},
            "free": {}
        },
        "required": ["amount"],
        "additionalProperties": false,
        "$defs": {"opts": {"type": "object", "properties": {"dry_run": {"type": "boolean"}}, "additionalProperties": false}}
    })
}

#[test]
fn conditions_are_checked_against_the_input_schema() {
    let s = schema();
    let ok = |c: Value| {
        compile("r1", Effect::Allow, RuleMode::Enforce, ReasoningPolicy::None, &[cond(c.clone())], Some(&s))
            .unwrap_or_else(|e| panic!("{c}: {e}"));
    };
    ok(json!({"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"}));
    ok(json!({"pointer": "/to", "op": "host_in", "value": ["example.org"], "on_missing": "deny"}));
    ok(json!({"pointer": "/tags", "op": "contains", "value": "x", "on_missing": "skip"}));
    ok(json!({"pointer": "/tags/0", "op": "prefix", "value": "x", "on_missing": "skip"}));
    ok(json!({"pointer": "/opts/dry_run", "op": "eq", "value": true, "on_missing": "skip"}));
    ok(json!({"pointer": "/free/anything", "op": "lt", "value": 1, "on_missing": "skip"}));
    ok(json!({"source": "context", "pointer": "/not_in_schema", "op": "eq", "value": 1, "on_missing": "skip"}));

    let err = |c: Value| compile_err_with(&[c], Some(&s));
    let e = err(json!({"pointer": "/amout", "op": "lt", "value": 500, "on_missing": "deny"}));
    assert!(e.contains("\"/amout\"") && e.contains("amount, free, opts, tags, to"), "{e}");
    let e = err(json!({"pointer": "/opts/dryrun", "op": "eq", "value": true, "on_missing": "deny"}));
    assert!(e.contains("\"/opts/dryrun\"") && e.contains("dry_run"), "{e}");
    let e = err(json!({"pointer": "/to", "op": "lt", "value": 5, "on_missing": "deny"}));
    assert!(e.contains("/to is string") && e.contains("`lt` needs number or integer"), "{e}");
    let e = err(json!({"pointer": "/amount", "op": "prefix", "value": "5", "on_missing": "deny"}));
    assert!(e.contains("/amount is number"), "{e}");
    let e = err(json!({"pointer": "/amount", "op": "eq", "value": "5", "on_missing": "deny"}));
    assert!(e.contains("`eq` needs string"), "{e}");
    let e = err(json!({"pointer": "/tags/first", "op": "eq", "value": "x", "on_missing": "deny"}));
    assert!(e.contains("address an item by its index"), "{e}");
    let e = err(json!({"pointer": "/opts/dry_run", "op": "cidr", "value": ["10.0.0.0/8"], "on_missing": "deny"}));
    assert!(e.contains("boolean"), "{e}");
    assert!(e.starts_with("conditions[0]: "), "{e}");
}

#[test]
fn arguments_are_validated_against_the_input_schema() {
    let s = InputSchemaCheck::new(schema());
    assert_eq!(s.check(json!({"amount": 5})), Ok(()));
    assert_eq!(s.check(json!({"amount": 5, "to": "a@example.org", "tags": ["x"], "opts": {"dry_run": true}})), Ok(()));
    assert!(s.check(json!({})).unwrap_err().contains("amount"));
    assert!(s.check(json!({"amount": "5"})).is_err());
    assert!(s.check(json!({"amount": 5, "extra": 1})).is_err());
    assert!(s.check(json!({"amount": 5, "opts": {"dry_run": "yes"}})).is_err());
    assert!(s.check(json!({"amount": 5, "tags": [1]})).is_err());
    // No arguments is an empty object.
    let none = schema::InputSchema::compile(&json!({"type": "object"})).unwrap();
    assert_eq!(none.check(None), Ok(()));
    // Errors are one line and bounded.
    let e = s.check(json!({"amount": 5, "to": ["x".repeat(2000)]})).unwrap_err();
    assert!(!e.contains('\n') && e.chars().count() <= 301, "{e}");
}

struct InputSchemaCheck(schema::InputSchema);

impl InputSchemaCheck {
    fn new(v: Value) -> Self {
        Self(schema::InputSchema::compile(&v).unwrap())
    }

    fn check(&self, args: Value) -> Result<(), String> {
        self.0.check(Some(&obj(args)))
    }
}

#[test]
fn unusable_input_schemas_are_refused() {
    let e = |v: Value| schema::InputSchema::compile(&v).unwrap_err().to_string();
    assert!(e(json!(true)).contains("JSON Schema object"));
    assert!(e(json!("string")).contains("JSON Schema object"));
    assert!(e(json!({"type": "nonsense"})).contains("not a usable JSON Schema"));
    assert!(e(json!({"$ref": "https://example.com/schema.json"})).contains("not a usable JSON Schema"));
    let big = json!({"description": "x".repeat(schema::MAX_SCHEMA_BYTES)});
    assert!(e(big).contains("at most"));
}

// ---------------------------------------------------------------------------------------------
// Explanations, redaction, determinism, shadow rules

#[test]
fn explanations_name_rule_pointer_operator_and_values() {
    let rules = [
        deny("r_deny", &[json!({"pointer": "/amount", "op": "gte", "value": 1000, "on_missing": "skip"})]),
        allow("r_allow", &[]),
    ];
    let e = run(&rules, json!({"amount": 1500}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::DeniedByRule));
    let exp = e.explanation.unwrap();
    assert_eq!(exp.rule_id.as_deref(), Some("r_deny"));
    assert_eq!(exp.effect, Some(Effect::Deny));
    let w = exp.condition.unwrap();
    assert_eq!(w.path, "conditions[0]");
    assert_eq!(w.source, Source::Arguments);
    assert_eq!(w.pointer, "/amount");
    assert_eq!(w.op, Operator::Gte);
    assert_eq!(w.expected, json!(1000));
    assert_eq!(w.observed, Some(json!(1500)));
    assert!(w.holds);
    assert_eq!(w.error, None);
    assert_eq!(exp.message, "deny rule r_deny applies: arguments /amount gte 1000 (observed 1500) holds");

    // An allow rule that does not hold: the failing test is named.
    let rules = [allow("r1", &[json!({"any_of": [t("eq", json!(5)), t("lt", json!(3))]})])];
    let e = run(&rules, json!({"v": 7}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ConditionsNotMet));
    let exp = e.explanation.unwrap();
    assert_eq!(exp.rule_id.as_deref(), Some("r1"));
    let w = exp.condition.unwrap();
    assert!(w.path.starts_with("conditions[0].any_of["), "{}", w.path);

    // Containers are summarised, long strings cut.
    let rules = [deny("r1", &[t("len_max", json!(1000))])];
    let e = run(&rules, json!({"v": [1, 2, 3]}));
    assert_eq!(e.explanation.unwrap().condition.unwrap().observed, Some(json!("[an array of 3 items]")));
    let e = run(&rules, json!({"v": "word ".repeat(100)}));
    let shown = e.explanation.unwrap().condition.unwrap().observed.unwrap();
    assert!(shown.as_str().unwrap().chars().count() <= 121 && shown.as_str().unwrap().ends_with('…'), "{shown}");
}

const SECRETS: [&str; 3] =
    ["sk-live-4eC39HqLyjWDarjtT1zdp7dc9q", "ghp_0123456789abcdefghijABCDEFGHIJ", "sk-proj-abcdefghijklmnop1234"];

fn assert_no_secret(e: &Evaluation, secret: &str) {
    let exp = e.explanation.as_ref().expect("an explanation");
    let all = format!("{exp:?} {:?}", e.trace);
    assert!(!all.contains(secret), "{secret} leaked: {all}");
    let tail = &secret[secret.len() - 8..];
    assert!(!all.contains(tail), "part of {secret} leaked: {all}");
}

#[test]
fn observed_secrets_are_redacted_in_explanations() {
    for secret in SECRETS {
        // A test that holds on the secret.
        let rules = [deny("r1", &[t("prefix", json!("sk"))]), deny("r2", &[t("prefix", json!("gh"))])];
        let e = run(&rules, json!({ "v": secret }));
        assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::DeniedByRule));
        let observed = e.explanation.as_ref().unwrap().condition.as_ref().unwrap().observed.clone().unwrap();
        assert!(observed.as_str().unwrap().contains(crate::redact::REDACTED), "{observed}");
        assert_no_secret(&e, secret);
        // In a longer text.
        let e = run(&[deny("r1", &[t("contains", json!("token"))])], json!({ "v": format!("use token {secret} now") }));
        assert_no_secret(&e, secret);
        // A test that fails on it (an allow rule not met).
        let e = run(&[allow("r1", &[t("eq", json!("nothing"))])], json!({ "v": secret }));
        assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ConditionsNotMet));
        assert_no_secret(&e, secret);
        // A test that cannot read it: the error must not quote it either.
        for c in
            [t("cidr", json!(["10.0.0.0/8"])), t("host_in", json!(["example.org"])), t("path_under", json!("/work"))]
        {
            let e = run(&[allow("r1", std::slice::from_ref(&c))], json!({ "v": secret }));
            // (A token can be a valid host name: then host_in just does not hold.)
            assert!(matches!(e.verdict, Verdicts::Deny(_)), "{c}");
            assert_no_secret(&e, secret);
        }
        let e = run(
            &[allow("r1", &[t("host_in", json!(["example.org"]))])],
            json!({ "v": format!("{secret}.example.org x") }),
        );
        assert_no_secret(&e, secret);
    }
}

#[test]
fn errors_in_explanations_are_bounded() {
    let huge = "x".repeat(100_000) + "/";
    for c in [t("cidr", json!(["10.0.0.0/8"])), t("host_in", json!(["example.org"]))] {
        let e = run(&[allow("r1", std::slice::from_ref(&c))], json!({ "v": huge.clone() }));
        let exp = e.explanation.unwrap();
        assert!(exp.message.len() < 2_000, "{c}: a message of {} bytes", exp.message.len());
        assert!(exp.condition.unwrap().error.unwrap().len() < 1_000);
    }
}

#[test]
fn the_smallest_deciding_id_explains_whatever_the_order() {
    let d = |id: &str| deny(id, &[t("gt", json!(0))]);
    let a = |id: &str| allow(id, &[t("lt", json!(0))]);
    let rules = [d("r3"), a("r0"), d("r1"), d("r2"), allow("r9", &[])];
    let e1 = run(&rules, json!({"v": 5}));
    let mut reversed = rules.to_vec();
    reversed.reverse();
    let e2 = run(&reversed, json!({"v": 5}));
    assert_eq!(e1, e2);
    assert_eq!(e1.explanation.unwrap().rule_id.as_deref(), Some("r1"));
    assert_eq!(e1.trace.iter().map(|r| r.rule_id.as_str()).collect::<Vec<_>>(), ["r0", "r1", "r2", "r3", "r9"]);
    // Unmet allow rules: the smallest id explains.
    let rules = [a("r7"), a("r5"), a("r6")];
    let e = run(&rules, json!({"v": 5}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ConditionsNotMet));
    assert_eq!(e.explanation.unwrap().rule_id.as_deref(), Some("r5"));
}

#[test]
fn no_rules_means_scope_not_granted_and_the_least_demanding_allow_wins() {
    let e = run(&[], json!({}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ScopeNotGranted));
    assert_eq!(e.explanation, None);
    let hard = compile("r1", Effect::Allow, RuleMode::Enforce, ReasoningPolicy::Hard, &[], None).unwrap();
    let soft =
        compile("r2", Effect::Allow, RuleMode::Enforce, ReasoningPolicy::Soft, &conds(&[t("eq", json!(1))]), None)
            .unwrap();
    assert_eq!(run(std::slice::from_ref(&hard), json!({})).verdict, Verdicts::Allow(ReasoningPolicy::Hard));
    assert_eq!(run(&[hard.clone(), soft.clone()], json!({"v": 1})).verdict, Verdicts::Allow(ReasoningPolicy::Soft));
    assert_eq!(run(&[hard, soft], json!({"v": 2})).verdict, Verdicts::Allow(ReasoningPolicy::Hard));
    // A deny rule never asks for reasoning.
    let d = compile("r1", Effect::Deny, RuleMode::Enforce, ReasoningPolicy::Hard, &[], None).unwrap();
    assert_eq!(d.reasoning, ReasoningPolicy::None);
}

#[test]
fn shadow_rules_never_decide_but_are_reported() {
    let shadow_deny = rule_with("s1", Effect::Deny, RuleMode::Shadow, &[t("gt", json!(100))]);
    let shadow_allow = rule_with("s2", Effect::Allow, RuleMode::Shadow, &[]);
    let shadow_error = rule_with("s3", Effect::Allow, RuleMode::Shadow, &[t("prefix", json!("x"))]);
    let shadow_quiet = rule_with("s4", Effect::Deny, RuleMode::Shadow, &[t("lt", json!(0))]);
    let enforced = allow("r1", &[t("lt", json!(1000))]);
    let all = [shadow_deny.clone(), shadow_allow.clone(), shadow_error.clone(), shadow_quiet.clone(), enforced];

    let e = run(&all, json!({"v": 500}));
    assert_eq!(e.verdict, Verdicts::Allow(ReasoningPolicy::None), "a shadow deny does not deny");
    assert_eq!(
        e.shadow,
        vec![
            ShadowResult { rule_id: "s1".into(), would: Effect::Deny },
            ShadowResult { rule_id: "s2".into(), would: Effect::Allow },
            ShadowResult { rule_id: "s3".into(), would: Effect::Deny },
        ]
    );
    // Only shadow rules: nothing is granted, whatever they would do.
    let e = run(std::slice::from_ref(&shadow_allow), json!({}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ScopeNotGranted));
    assert_eq!(e.shadow, vec![ShadowResult { rule_id: "s2".into(), would: Effect::Allow }]);
    // A shadow allow does not rescue an unmet enforced allow, nor explain it.
    let e = run(&[shadow_allow, allow("r1", &[t("lt", json!(0))])], json!({"v": 5}));
    assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::ConditionsNotMet));
    assert_eq!(e.explanation.unwrap().rule_id.as_deref(), Some("r1"));
    // A shadow rule in error does not deny; it is reported as a would-be deny.
    let e = run(&[shadow_error, allow("r1", &[])], json!({"v": 5}));
    assert_eq!(e.verdict, Verdicts::Allow(ReasoningPolicy::None));
    assert_eq!(e.shadow, vec![ShadowResult { rule_id: "s3".into(), would: Effect::Deny }]);
    // The trace shows shadow rules with their mode.
    assert!(e.trace.iter().any(|r| r.rule_id == "s3" && r.mode == RuleMode::Shadow && r.outcome == RuleOutcome::Error));
}

// ---------------------------------------------------------------------------------------------
// Property tests of the invariants

mod properties {
    use super::*;
    use proptest::prelude::*;

    const KEYS: [&str; 3] = ["a", "b", "c"];

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            (-3i64..4).prop_map(|n| json!(n)),
            Just(json!(0.5)),
            prop::sample::select(vec!["x", "y", "xy", "10.0.0.1"]).prop_map(|s| json!(s)),
            any::<bool>().prop_map(|b| json!(b)),
            Just(Value::Null),
        ]
    }

    fn argument_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            6 => scalar(),
            1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
            1 => Just(json!(1e300)),
        ]
    }

    fn arguments() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), argument_value(), 0..=3)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn test() -> impl Strategy<Value = Condition> {
        let value = prop_oneof![
            (prop::sample::select(vec!["eq", "ne"]), scalar()).prop_map(|(op, v)| (op, v)),
            (prop::sample::select(vec!["lt", "lte", "gt", "gte"]), -3i64..4).prop_map(|(op, n)| (op, json!(n))),
            (prop::sample::select(vec!["in", "not_in"]), prop::collection::vec(scalar(), 1..3))
                .prop_map(|(op, v)| (op, Value::Array(v))),
            (prop::sample::select(vec!["prefix", "suffix", "contains"]), prop::sample::select(vec!["x", "y"]))
                .prop_map(|(op, s)| (op, json!(s))),
            (0u64..3).prop_map(|n| ("len_max", json!(n))),
            Just(("cidr", json!(["10.0.0.0/8"]))),
            any::<bool>().prop_map(|b| ("exists", json!(b))),
        ];
        (prop::sample::select(KEYS.to_vec()), value, any::<bool>()).prop_map(|(key, (op, value), skip)| {
            cond(json!({
                "pointer": format!("/{key}"),
                "op": op,
                "value": value,
                "on_missing": if skip { "skip" } else { "deny" },
            }))
        })
    }

    fn condition() -> impl Strategy<Value = Condition> {
        test().prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..3).prop_map(Condition::AllOf),
                prop::collection::vec(inner.clone(), 1..3).prop_map(Condition::AnyOf),
                inner.prop_map(|c| Condition::Not(Box::new(c))),
            ]
        })
    }

    #[derive(Debug, Clone)]
    struct Spec {
        effect: Effect,
        mode: RuleMode,
        reasoning: ReasoningPolicy,
        conditions: Vec<Condition>,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        (
            prop::sample::select(vec![Effect::Allow, Effect::Deny]),
            prop::sample::select(vec![RuleMode::Enforce, RuleMode::Enforce, RuleMode::Shadow]),
            prop::sample::select(ReasoningPolicy::ALL.to_vec()),
            prop::collection::vec(condition(), 0..3),
        )
            .prop_map(|(effect, mode, reasoning, conditions)| Spec { effect, mode, reasoning, conditions })
    }

    /// Rules with distinct ids (`r00` …), compiled.
    fn rules() -> impl Strategy<Value = Vec<CompiledRule>> {
        prop::collection::vec(spec(), 0..8).prop_map(|specs| {
            specs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    compile(&format!("r{i:02}"), s.effect, s.mode, s.reasoning, &s.conditions, None)
                        .expect("generated conditions compile")
                })
                .collect()
        })
    }

    fn facts(args: &Map<String, Value>) -> Facts<'_> {
        Facts { arguments: Some(args), context: None, client_ip: Some("10.1.2.3"), now_ms: 1_780_000_000_000 }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// (a) Deny by default: without an enforced allow rule that matched, never Allow; and an
        /// Allow always has one.
        #[test]
        fn deny_by_default(rules in rules(), args in arguments()) {
            let f = facts(&args);
            let e = evaluate(&rules, &f, false);
            let some_allow = rules.iter().any(|r| {
                r.mode == RuleMode::Enforce && r.effect == Effect::Allow && r.outcome(&f).0 == RuleOutcome::Matched
            });
            if !some_allow {
                prop_assert!(!matches!(e.verdict, Verdicts::Allow(_)), "{:?}", e.verdict);
            }
            if let Verdicts::Allow(p) = e.verdict {
                let least = rules
                    .iter()
                    .filter(|r| r.mode == RuleMode::Enforce && r.effect == Effect::Allow)
                    .filter(|r| r.outcome(&f).0 == RuleOutcome::Matched)
                    .map(|r| r.reasoning)
                    .min();
                prop_assert_eq!(Some(p), least);
            }
        }

        /// (b) An enforced deny rule whose conditions hold, or any enforced rule whose conditions
        /// cannot be evaluated, wins: Deny(DeniedByRule), explained by the smallest such id.
        #[test]
        fn enforced_deny_wins(rules in rules(), args in arguments()) {
            let f = facts(&args);
            let e = evaluate(&rules, &f, false);
            let deniers: Vec<&str> = rules
                .iter()
                .filter(|r| r.mode == RuleMode::Enforce)
                .filter(|r| match r.outcome(&f).0 {
                    RuleOutcome::Error => true,
                    RuleOutcome::Matched => r.effect == Effect::Deny,
                    RuleOutcome::NotMatched => false,
                })
                .map(|r| r.id.as_str())
                .collect();
            if let Some(first) = deniers.iter().min() {
                prop_assert_eq!(&e.verdict, &Verdicts::Deny(ReasonCode::DeniedByRule));
                let exp = e.explanation.as_ref().expect("an explanation");
                prop_assert_eq!(exp.rule_id.as_deref(), Some(*first));
            } else {
                prop_assert_ne!(&e.verdict, &Verdicts::Deny(ReasonCode::DeniedByRule));
            }
        }

        /// (c) Order and duplicates do not matter.
        #[test]
        fn order_and_duplicates_do_not_matter(
            (rules, shuffled) in rules().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
            dups in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            args in arguments(),
        ) {
            let f = facts(&args);
            let base = evaluate(&rules, &f, true);
            let moved = evaluate(&shuffled, &f, true);
            prop_assert_eq!(&base, &moved);
            let mut doubled = shuffled.clone();
            if !shuffled.is_empty() {
                for d in &dups {
                    doubled.push(shuffled[d.index(shuffled.len())].clone());
                }
            }
            let dup = evaluate(&doubled, &f, false);
            prop_assert_eq!(&dup.verdict, &base.verdict);
            prop_assert_eq!(&dup.explanation, &base.explanation);
            prop_assert_eq!(&dup.shadow, &base.shadow);
        }

        /// (d) Shadow rules never change the decision.
        #[test]
        fn shadow_rules_never_change_the_decision(rules in rules(), args in arguments()) {
            let f = facts(&args);
            let with = evaluate(&rules, &f, false);
            let enforced: Vec<&CompiledRule> = rules.iter().filter(|r| r.mode == RuleMode::Enforce).collect();
            let without = evaluate(enforced, &f, false);
            prop_assert_eq!(&with.verdict, &without.verdict);
            prop_assert_eq!(&with.explanation, &without.explanation);
            prop_assert!(without.shadow.is_empty());
            // And every shadow rule that would act is reported, once.
            let acting = rules
                .iter()
                .filter(|r| r.mode == RuleMode::Shadow && r.outcome(&f).0 != RuleOutcome::NotMatched)
                .count();
            prop_assert_eq!(with.shadow.len(), acting);
        }

        /// Conditions round-trip through JSON and compile the same way.
        #[test]
        fn conditions_round_trip(c in condition(), args in arguments()) {
            let back = Condition::from_json(&c.to_json(), "conditions[0]").unwrap();
            prop_assert_eq!(&back, &c);
            let f = facts(&args);
            let r1 = compile("r", Effect::Allow, RuleMode::Enforce, ReasoningPolicy::None, &[c], None).unwrap();
            let r2 = compile("r", Effect::Allow, RuleMode::Enforce, ReasoningPolicy::None, &[back], None).unwrap();
            prop_assert_eq!(r1.outcome(&f), r2.outcome(&f));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// require_approval

fn approval_rule(id: &str, cs: &[Value]) -> CompiledRule {
    rule_with(id, Effect::RequireApproval, RuleMode::Enforce, cs)
}

#[test]
fn deny_wins_over_require_approval_which_wins_over_allow() {
    let args = obj(json!({"amount": 600}));
    let facts = args_facts(&args);
    let over_500 = json!({"source": "arguments", "pointer": "/amount", "op": "gt", "value": 500, "on_missing": "deny"});
    let ask = approval_rule("r2", std::slice::from_ref(&over_500));
    let rules = [allow("r1", &[]), ask.clone()];
    match evaluate(&rules, &facts, false).verdict {
        Verdicts::RequireApproval(a) => {
            assert_eq!(a.rule_id, "r2");
            assert_eq!(a.expiry_seconds, crate::approval::DEFAULT_EXPIRY_SECONDS);
        }
        v => panic!("{v:?}"),
    }
    let with_deny = [allow("r1", &[]), ask.clone(), deny("r3", &[])];
    assert_eq!(evaluate(&with_deny, &facts, false).verdict, Verdicts::Deny(ReasonCode::DeniedByRule));
    // Its conditions do not hold: the allow rule decides alone.
    let small = obj(json!({"amount": 20}));
    assert_eq!(evaluate(&rules, &args_facts(&small), false).verdict, Verdicts::Allow(ReasoningPolicy::None));
    // Alone and not holding: nothing allows.
    assert!(matches!(evaluate([&ask], &args_facts(&small), false).verdict, Verdicts::Deny(_)));
    // In shadow mode it only logs what it would have done.
    let shadow = rule_with("r4", Effect::RequireApproval, RuleMode::Shadow, &[]);
    let e = evaluate([&allow("r1", &[]), &shadow], &facts, false);
    assert_eq!(e.verdict, Verdicts::Allow(ReasoningPolicy::None));
    assert_eq!(e.shadow, vec![ShadowResult { rule_id: "r4".into(), would: Effect::RequireApproval }]);
}

#[test]
fn the_lowest_rule_id_asks_and_carries_its_version() {
    let mut a = approval_rule("r5", &[]);
    a.version = 42;
    a.approval_expiry_seconds = 3600;
    let b = approval_rule("r7", &[]);
    let args = obj(json!({}));
    match evaluate([&b, &a], &args_facts(&args), false).verdict {
        Verdicts::RequireApproval(ask) => {
            assert_eq!((ask.rule_id.as_str(), ask.rule_version, ask.expiry_seconds), ("r5", 42, 3600))
        }
        v => panic!("{v:?}"),
    }
}
