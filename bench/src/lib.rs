//! The rule sets the decision benchmark compares, built the same way for both engines.
//!
//! Rule `i` grants scope `scope_{i % 64}` of tool `tool_{i / 64}` (64 is the documented bound on
//! scopes per tool); every eighth rule has the `hard` reasoning policy, the rest `none`.
//! OakAuth's side is what the worker does with an agent's rules once they are in memory: one hash
//! table from `tool\nscope` to the compiled rules of that scope (plus the set of tool names,
//! consulted only when no rule matches), `policy::evaluate`, then `decision::decide`. Cedar's side is
//! one `permit` policy per rule, hard rules with a `when { context.reasoning_provided }` condition,
//! evaluated by `cedar_policy::Authorizer`.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request};
use oakauth_core::decision::{self, BucketOutcome, ToolLookup};
use oakauth_core::policy::{self, CompiledRule, Facts, Verdicts};
use oakauth_core::reasoning;
use oakauth_core::wire::{Effect, Explanation, ReasonCode, ReasoningPolicy, RuleMode};

pub mod conditions;

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

/// `count` questions spread over `rules` rules (a working set of granted rules, half of them with
/// reasoning), plus one scope no rule grants. Consecutive questions name different rules, also
/// when there are fewer rules than questions, so a small rule set gets no easier sequence.
pub fn queries(rules: usize, count: usize) -> Vec<Query> {
    let mut out: Vec<Query> = (0..count)
        .map(|k| {
            let i = (k * 7919) % rules; // 7919 is prime: the stride visits rules in a scattered order
            let (tool, scope) = rule_name(i);
            let reasoning = (k % 2 == 0).then(|| "the user asked to clean up the build cache".to_string());
            Query { tool, scope, reasoning }
        })
        .collect();
    out.push(Query { tool: "tool_0".into(), scope: "not_granted".into(), reasoning: None });
    out
}

/// OakAuth's in-memory rule index for one agent: `tool\nscope` → the compiled rules of that
/// scope (here one each, without conditions: today's decision), plus the set of tool names,
/// consulted only when no rule matches. The rules go through `policy::evaluate` and
/// `decision::decide`, as the worker does.
pub struct OakRules {
    index: RuleIndex,
}

impl OakRules {
    pub fn new(rules: usize) -> Self {
        let mut index = RuleIndex::default();
        for i in 0..rules {
            let (tool, scope) = rule_name(i);
            let rule =
                policy::compile(&format!("rule_{i}"), Effect::Allow, RuleMode::Enforce, rule_policy(i), &[], None)
                    .expect("a rule without conditions compiles");
            index.insert(&tool, &scope, rule);
        }
        Self { index }
    }

    /// The decision for an enabled agent whose bucket had a token: true when allowed.
    pub fn check(&self, q: &Query) -> bool {
        self.index.check(&q.tool, &q.scope, q.reasoning.as_deref(), &Facts::default())
    }
}

/// Longest tool or scope name (`oakauth_core::limits`): a `tool\nscope` key fits on the stack.
const MAX_NAME: usize = 128;

/// One probe of one table answers the common case (a granted scope); a nested tool → scopes map
/// would cost a second, dependent, cache miss.
#[derive(Default)]
pub struct RuleIndex {
    rules: HashMap<String, Vec<CompiledRule>>,
    tools: HashSet<String>,
}

impl RuleIndex {
    pub fn insert(&mut self, tool: &str, scope: &str, rule: CompiledRule) {
        self.rules.entry(format!("{tool}\n{scope}")).or_default().push(rule);
        self.tools.insert(tool.to_owned());
    }

    /// What storage and the rules say about this tool and scope.
    pub fn lookup(&self, tool: &str, scope: &str, facts: &Facts) -> (ToolLookup, Option<Explanation>) {
        let mut buf = [0u8; 2 * MAX_NAME + 1];
        let (t, s) = (tool.as_bytes(), scope.as_bytes());
        if t.len() > MAX_NAME || s.len() > MAX_NAME {
            return (ToolLookup::Unknown, None); // longer names are refused before any lookup
        }
        buf[..t.len()].copy_from_slice(t);
        buf[t.len()] = b'\n';
        buf[t.len() + 1..t.len() + 1 + s.len()].copy_from_slice(s);
        let key = std::str::from_utf8(&buf[..t.len() + 1 + s.len()]).unwrap_or("");
        match self.rules.get(key) {
            Some(rules) => {
                let e = policy::evaluate(rules, facts, false);
                (ToolLookup::Known(e.verdict), e.explanation)
            }
            None if self.tools.contains(tool) => (ToolLookup::Known(Verdicts::Deny(ReasonCode::ScopeNotGranted)), None),
            None => (ToolLookup::Unknown, None),
        }
    }

    /// The decision for an enabled agent whose bucket had a token: true when allowed.
    pub fn check(&self, tool: &str, scope: &str, reasoning: Option<&str>, facts: &Facts) -> bool {
        let (lookup, explanation) = self.lookup(tool, scope, facts);
        decision::decide(true, BucketOutcome::Allowed, lookup, explanation, reasoning).allowed()
    }
}

/// The same rules as Cedar policies, and the authorizer.
pub struct CedarRules {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
    principal: EntityUid,
    action_type: EntityTypeName,
    tool_type: EntityTypeName,
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
            action_type: EntityTypeName::from_str("Action").expect("type"),
            tool_type: EntityTypeName::from_str("Tool").expect("type"),
        }
    }

    /// Builds the request (as a caller would per question, without going through Cedar's parser)
    /// and asks the authorizer.
    pub fn check(&self, q: &Query) -> bool {
        let action = EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(&q.scope));
        let resource = EntityUid::from_type_name_and_id(self.tool_type.clone(), EntityId::new(&q.tool));
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
