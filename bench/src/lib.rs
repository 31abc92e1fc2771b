//! The rule sets the decision benchmark compares, built the same way for both engines.
//!
//! Rule `i` grants scope `scope_{i % 64}` of tool `tool_{i / 64}` (64 is the documented bound on
//! scopes per tool); every eighth rule has the `hard` reasoning policy, the rest `none`.
//! OakAuth's side is what the worker does with an agent's rules once they are in memory: an index
//! from tool name to its scopes' policies, then `oakauth_core::decision::decide`. Cedar's side is
//! one `permit` policy per rule, hard rules with a `when { context.reasoning_provided }` condition,
//! evaluated by `cedar_policy::Authorizer`.

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use oakauth_core::decision::{self, BucketOutcome, ToolLookup};
use oakauth_core::reasoning;
use oakauth_core::wire::ReasoningPolicy;

pub const SCOPES_PER_TOOL: usize = 64;

/// Tool and scope of rule `i`.
pub fn rule_name(i: usize) -> (String, String) {
    (format!("tool_{}", i / SCOPES_PER_TOOL), format!("scope_{}", i % SCOPES_PER_TOOL))
}

pub fn rule_policy(i: usize) -> ReasoningPolicy {
    if i % 8 == 7 {
        ReasoningPolicy::Hard
    } else {
        ReasoningPolicy::None
    }
}

/// One question: tool, scope and reasoning.
#[derive(Clone, Debug)]
pub struct Query {
    pub tool: String,
    pub scope: String,
    pub reasoning: Option<String>,
}

/// `count` questions spread evenly over `rules` rules (a working set of granted rules, half of
/// them with reasoning), plus one scope no rule grants.
pub fn queries(rules: usize, count: usize) -> Vec<Query> {
    let mut out: Vec<Query> = (0..count)
        .map(|k| {
            let i = (k * rules / count).min(rules - 1);
            let (tool, scope) = rule_name(i);
            let reasoning = (k % 2 == 0).then(|| "the user asked to clean up the build cache".to_string());
            Query { tool, scope, reasoning }
        })
        .collect();
    out.push(Query { tool: "tool_0".into(), scope: "not_granted".into(), reasoning: None });
    out
}

/// OakAuth's in-memory rule index for one agent: tool → scope → reasoning policy.
pub struct OakRules {
    tools: HashMap<String, HashMap<String, ReasoningPolicy>>,
}

impl OakRules {
    pub fn new(rules: usize) -> Self {
        let mut tools: HashMap<String, HashMap<String, ReasoningPolicy>> = HashMap::new();
        for i in 0..rules {
            let (tool, scope) = rule_name(i);
            tools.entry(tool).or_default().insert(scope, rule_policy(i));
        }
        Self { tools }
    }

    /// The decision for an enabled agent whose bucket had a token: true when allowed.
    pub fn check(&self, q: &Query) -> bool {
        let lookup = match self.tools.get(q.tool.as_str()) {
            None => ToolLookup::Unknown,
            Some(scopes) => ToolLookup::Known { rule: scopes.get(q.scope.as_str()).copied() },
        };
        decision::decide(true, BucketOutcome::Allowed, lookup, q.reasoning.as_deref()).allowed()
    }
}

/// The same rules as Cedar policies, and the authorizer.
pub struct CedarRules {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
    principal: EntityUid,
}

impl CedarRules {
    pub fn new(rules: usize) -> Self {
        let mut src = String::with_capacity(rules * 120);
        for i in 0..rules {
            let (tool, scope) = rule_name(i);
            src.push_str(&format!(
                "permit(principal == Agent::\"bench\", action == Action::\"{scope}\", resource == Tool::\"{tool}\")"
            ));
            if rule_policy(i) == ReasoningPolicy::Hard {
                src.push_str(" when { context.reasoning_provided }");
            }
            src.push_str(";\n");
        }
        let policies = PolicySet::from_str(&src).expect("generated policies parse");
        Self {
            policies,
            entities: Entities::empty(),
            authorizer: Authorizer::new(),
            principal: EntityUid::from_str("Agent::\"bench\"").expect("uid"),
        }
    }

    /// Builds the request (as a caller would per question) and asks the authorizer.
    pub fn check(&self, q: &Query) -> bool {
        let action = EntityUid::from_str(&format!("Action::{:?}", q.scope)).expect("action uid");
        let resource = EntityUid::from_str(&format!("Tool::{:?}", q.tool)).expect("resource uid");
        let provided = reasoning::provided(q.reasoning.as_deref());
        let context = Context::from_pairs([(
            "reasoning_provided".to_string(),
            cedar_policy::RestrictedExpression::new_bool(provided),
        )])
        .expect("context");
        let request = Request::new(self.principal.clone(), action, resource, context, None).expect("request");
        self.authorizer.is_authorized(&request, &self.policies, &self.entities).decision() == Decision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_agree_on_every_query() {
        for rules in [10, 1000] {
            let oak = OakRules::new(rules);
            let cedar = CedarRules::new(rules);
            let mut qs = queries(rules, 64);
            qs.push(Query { tool: "tool_0".into(), scope: "scope_7".into(), reasoning: Some(" \u{200B}".into()) });
            qs.push(Query { tool: "tool_999".into(), scope: "scope_0".into(), reasoning: None });
            for q in &qs {
                assert_eq!(oak.check(q), cedar.check(q), "{rules} rules, {q:?}");
            }
        }
    }
}
