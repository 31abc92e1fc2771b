//! Rules with conditions, the same for both engines: rule `i` grants `tool_{i / 64}:scope_{i % 64}`
//! when three conditions hold,
//!
//! - `arguments /amount lt L(i)` (L = 1,000 … 1,600),
//! - `arguments /region in ["eu-west", "eu-central", "us-east"]`,
//! - `request /client_ip cidr ["10.0.0.0/8", "192.168.0.0/16"]`,
//!
//! and every eighth rule also needs reasoning (OakAuth: the `hard` policy; Cedar: a
//! `context.reasoning_provided` conjunct). Cedar's policy is
//! `permit(principal == Agent::"bench", action == Action::"scope_…", resource == Tool::"tool_…")
//! when { context.amount < L && [...].contains(context.region) && (ip(context.client_ip).isInRange(ip("10.0.0.0/8")) || …) }`.
//! A missing or unreadable value denies in both (OakAuth: `on_missing: deny` and type errors;
//! Cedar: an evaluation error skips the only permit).

use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use oakauth_core::condition::Condition;
use oakauth_core::policy::{self, Facts};
use oakauth_core::reasoning;
use oakauth_core::wire::{Effect, RuleMode};
use serde_json::{json, Map, Value};

use crate::{rule_name, rule_policy, RuleIndex};

const REGIONS: [&str; 3] = ["eu-west", "eu-central", "us-east"];

fn limit(i: usize) -> i64 {
    1_000 + (i % 7) as i64 * 100
}

fn conditions(i: usize) -> Vec<Condition> {
    [
        json!({"pointer": "/amount", "op": "lt", "value": limit(i), "on_missing": "deny"}),
        json!({"pointer": "/region", "op": "in", "value": REGIONS, "on_missing": "deny"}),
        json!({"source": "request", "pointer": "/client_ip", "op": "cidr", "value": ["10.0.0.0/8", "192.168.0.0/16"], "on_missing": "deny"}),
    ]
    .iter()
    .map(|v| Condition::from_json(v, "conditions").expect("a condition"))
    .collect()
}

/// One call: tool, scope, reasoning, its arguments and the caller's address.
#[derive(Clone, Debug)]
pub struct Call {
    pub tool: String,
    pub scope: String,
    pub reasoning: Option<String>,
    pub amount: i64,
    pub region: String,
    pub client_ip: String,
    /// The arguments as the worker has them once the body is parsed.
    pub arguments: Map<String, Value>,
}

/// `count` calls spread over `rules` rules (see `crate::queries`), with amounts, regions and
/// addresses that make about half of them fail one condition, plus one scope no rule grants.
pub fn calls(rules: usize, count: usize) -> Vec<Call> {
    (0..=count)
        .map(|k| {
            let i = (k * 7919) % rules;
            let (tool, scope) = if k == count { ("tool_0".into(), "not_granted".into()) } else { rule_name(i) };
            let reasoning = (k % 2 == 0).then(|| "the user asked to clean up the build cache".to_string());
            let amount = [250, 999, 1_299, 1_700][k % 4];
            let region = ["eu-west", "us-east", "ap-south", "eu-central", "us-east"][k % 5].to_string();
            let client_ip = ["10.1.2.3", "192.168.7.9", "203.0.113.5", "10.200.0.1"][(k / 3) % 4].to_string();
            let arguments = json!({"amount": amount, "region": region, "path": "/work/build/cache"});
            let Value::Object(arguments) = arguments else { unreachable!() };
            Call { tool, scope, reasoning, amount, region, client_ip, arguments }
        })
        .collect()
}

/// OakAuth with conditions: the rule index of `crate::OakRules`, each rule with three conditions.
pub struct OakConditionRules {
    index: RuleIndex,
}

impl OakConditionRules {
    pub fn new(rules: usize) -> Self {
        let mut index = RuleIndex::default();
        for i in 0..rules {
            let (tool, scope) = rule_name(i);
            let rule = policy::compile(
                &format!("rule_{i}"),
                Effect::Allow,
                RuleMode::Enforce,
                rule_policy(i),
                &conditions(i),
                None,
            )
            .expect("the conditions compile");
            index.insert(&tool, &scope, rule);
        }
        Self { index }
    }

    pub fn check(&self, c: &Call) -> bool {
        let facts = Facts { arguments: Some(&c.arguments), context: None, client_ip: Some(&c.client_ip), now_ms: 0 };
        self.index.check(&c.tool, &c.scope, c.reasoning.as_deref(), &facts)
    }
}

/// The same rules as Cedar policies with `when` clauses.
pub struct CedarConditionRules {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
    principal: EntityUid,
    action_type: EntityTypeName,
    tool_type: EntityTypeName,
}

impl CedarConditionRules {
    pub fn new(rules: usize) -> Self {
        let mut src = String::with_capacity(rules * 320);
        for i in 0..rules {
            let (tool, scope) = rule_name(i);
            src.push_str(&format!(
                "permit(principal == Agent::\"bench\", action == Action::\"{scope}\", resource == Tool::\"{tool}\") when {{ \
                 context.amount < {} && [\"eu-west\", \"eu-central\", \"us-east\"].contains(context.region) && \
                 (ip(context.client_ip).isInRange(ip(\"10.0.0.0/8\")) || ip(context.client_ip).isInRange(ip(\"192.168.0.0/16\")))",
                limit(i)
            ));
            if rule_policy(i) == oakauth_core::wire::ReasoningPolicy::Hard {
                src.push_str(" && context.reasoning_provided");
            }
            src.push_str(" };\n");
        }
        Self {
            policies: PolicySet::from_str(&src).expect("generated policies parse"),
            entities: Entities::empty(),
            authorizer: Authorizer::new(),
            principal: EntityUid::from_str("Agent::\"bench\"").expect("uid"),
            action_type: EntityTypeName::from_str("Action").expect("type"),
            tool_type: EntityTypeName::from_str("Tool").expect("type"),
        }
    }

    /// Builds the request and its context (as a caller would per call) and asks the authorizer.
    pub fn check(&self, c: &Call) -> bool {
        let action = EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(&c.scope));
        let resource = EntityUid::from_type_name_and_id(self.tool_type.clone(), EntityId::new(&c.tool));
        let context = Context::from_pairs([
            (
                "reasoning_provided".to_string(),
                RestrictedExpression::new_bool(reasoning::provided(c.reasoning.as_deref())),
            ),
            ("amount".to_string(), RestrictedExpression::new_long(c.amount)),
            ("region".to_string(), RestrictedExpression::new_string(c.region.clone())),
            ("client_ip".to_string(), RestrictedExpression::new_string(c.client_ip.clone())),
        ])
        .expect("context");
        let request = Request::new(self.principal.clone(), action, resource, context, None).expect("request");
        self.authorizer.is_authorized(&request, &self.policies, &self.entities).decision() == Decision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_agree_on_every_call() {
        for rules in [10, 1000] {
            let oak = OakConditionRules::new(rules);
            let cedar = CedarConditionRules::new(rules);
            let cs = calls(rules, 64);
            let allowed = cs.iter().filter(|c| oak.check(c)).count();
            assert!(allowed > 5 && allowed < 60, "{rules} rules: {allowed} of {} allowed", cs.len());
            for c in &cs {
                assert_eq!(oak.check(c), cedar.check(c), "{rules} rules, {c:?}");
            }
        }
    }
}
