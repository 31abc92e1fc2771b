//! Rule conditions as an admin sends them and a call as an agent sends it: JSON → conditions
//! (`condition::conditions_from_json`) → `policy::compile` (with an optional `input_schema`) →
//! `policy::evaluate`. No panic anywhere; and what is compiled keeps the engine's invariants:
//! only a matched enforced allow rule allows, an enforced rule that denies or errs wins, the
//! order of the rules does not matter, shadow rules change nothing, explanations stay bounded.
//!
//! Input: one JSON object
//! `{"rules": [{"effect": "deny", "mode": "shadow", "conditions": [...]}, ...],
//!   "arguments": {...}, "context": {...}, "client_ip": "10.0.0.1", "now_ms": 0, "input_schema": {...}}`
//! (every field optional), or a bare list of conditions for one allow rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oakauth_core::condition::{conditions_from_json, Condition};
use oakauth_core::policy::{self, schema::InputSchema, CompiledRule, Facts, Verdicts};
use oakauth_core::wire::{Effect, ReasonCode, ReasoningPolicy, RuleMode, RuleOutcome};
use serde_json::{Map, Value};

/// The admin API's body limit: nothing larger reaches the parser.
const MAX_INPUT: usize = 64 * 1024;

fn compile_rule(i: usize, spec: &Value, schema: Option<&Value>) -> Option<CompiledRule> {
    let conditions = spec.get("conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let conditions: Vec<Condition> = match conditions_from_json(&conditions, "") {
        Ok(c) => c,
        Err(e) => {
            assert!(
                matches!(&e, oakauth_core::Error::Invalid(m) if m.starts_with("conditions[")),
                "a shape error names its condition: {e:?}"
            );
            return None;
        }
    };
    // What is read is what is written back.
    for c in &conditions {
        let again = Condition::from_json(&c.to_json(), "conditions[0]").expect("a read condition reads again");
        assert_eq!(&again, c);
    }
    let effect = match spec.get("effect").and_then(Value::as_str) {
        Some("deny") => Effect::Deny,
        _ => Effect::Allow,
    };
    let mode = match spec.get("mode").and_then(Value::as_str) {
        Some("shadow") => RuleMode::Shadow,
        _ => RuleMode::Enforce,
    };
    let reasoning = spec.get("reasoning").and_then(Value::as_str).and_then(ReasoningPolicy::parse).unwrap_or_default();
    policy::compile(&format!("r{i:03}"), effect, mode, reasoning, &conditions, schema).ok()
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let (specs, input) = match &value {
        Value::Array(conditions) => {
            let mut rule = Map::new();
            rule.insert("conditions".into(), Value::Array(conditions.clone()));
            (vec![Value::Object(rule)], Map::new())
        }
        Value::Object(o) => (o.get("rules").and_then(Value::as_array).cloned().unwrap_or_default(), o.clone()),
        _ => return,
    };
    let schema = input.get("input_schema");
    let compiled_schema = schema.and_then(|s| InputSchema::compile(s).ok());
    let rules: Vec<CompiledRule> =
        specs.iter().take(64).enumerate().filter_map(|(i, s)| compile_rule(i, s, schema)).collect();

    let arguments = input.get("arguments").and_then(Value::as_object);
    let context = input.get("context").and_then(Value::as_object);
    if let Some(s) = &compiled_schema {
        let _ = s.check(arguments);
    }
    let facts = Facts {
        arguments,
        context,
        client_ip: input.get("client_ip").and_then(Value::as_str),
        now_ms: input.get("now_ms").and_then(Value::as_i64).unwrap_or(0),
    };

    let e = policy::evaluate(&rules, &facts, true);
    let outcomes: Vec<RuleOutcome> = rules.iter().map(|r| r.outcome(&facts).0).collect();
    let enforced = |i: &usize| rules[*i].mode == RuleMode::Enforce;
    let allows = (0..rules.len())
        .filter(enforced)
        .any(|i| rules[i].effect == Effect::Allow && outcomes[i] == RuleOutcome::Matched);
    let denies = (0..rules.len()).filter(enforced).any(|i| {
        outcomes[i] == RuleOutcome::Error || (rules[i].effect == Effect::Deny && outcomes[i] == RuleOutcome::Matched)
    });
    if denies {
        assert_eq!(e.verdict, Verdicts::Deny(ReasonCode::DeniedByRule));
    } else if allows {
        assert!(matches!(e.verdict, Verdicts::Allow(_)));
    } else {
        assert!(matches!(e.verdict, Verdicts::Deny(_)));
    }
    if let Some(exp) = &e.explanation {
        assert!(exp.message.chars().count() < 8 * 1024, "an explanation of {} characters", exp.message.len());
    }

    let mut reversed = rules.clone();
    reversed.reverse();
    assert_eq!(policy::evaluate(&reversed, &facts, true), e, "the order of the rules changed the result");

    let without_shadow = policy::evaluate(rules.iter().filter(|r| r.mode == RuleMode::Enforce), &facts, false);
    assert_eq!(without_shadow.verdict, e.verdict);
    assert_eq!(without_shadow.explanation, e.explanation);
});
