//! Rules with conditions: checked once when saved ([`compile`]), evaluated for every call
//! ([`evaluate`]), explained by the same code that decides.
//!
//! The invariants (proved by the property tests in `tests.rs`):
//! - deny by default: only an enforced allow rule whose conditions hold can allow;
//! - an enforced deny rule whose conditions hold wins over any allow;
//! - a condition that cannot be evaluated (a missing value with `on_missing: deny`, a type
//!   mismatch) makes its rule deny, whatever the rule's effect, and is reported;
//! - the result does not depend on the order of the rules or on duplicates: the deciding rule is
//!   the one with the smallest id among those that decide the same way.
//!
//! Rules in `shadow` mode are evaluated the same way but never decide; what they would have done
//! is reported beside the decision.

mod ops;
pub mod schema;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{Datelike, TimeZone, Timelike};
use ipnet::IpNet;
use regex::Regex;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::wire::{
    Condition, ConditionResult, Effect, Explanation, OnMissing, Operator, ReasonCode, ReasoningPolicy, RuleMode,
    RuleOutcome, RuleTrace, ShadowResult, Source, Test,
};
use crate::Error;

/// Most conditions (tests and combinators, counted together) in one rule.
pub const MAX_CONDITION_NODES: usize = 32;
/// Deepest nesting of `all_of` / `any_of` / `not` (a test alone is depth 1).
pub const MAX_CONDITION_DEPTH: usize = 5;
/// Most items in an `in`, `not_in`, `host_in` or `cidr` list.
pub const MAX_LIST_ITEMS: usize = 256;
/// Longest string in a condition's value, in bytes.
pub const MAX_VALUE_STRING: usize = 1024;
/// Longest pattern of `matches`, in bytes.
pub const MAX_REGEX_LEN: usize = 512;
/// Most memory a compiled `matches` pattern may take.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Longest observed string shown in an explanation, in characters.
const MAX_OBSERVED_CHARS: usize = 120;
/// Longest evaluation error shown in an explanation, in characters.
const MAX_ERROR_CHARS: usize = 200;

/// A rule ready to evaluate: its conditions checked, patterns compiled, time zones resolved.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub id: String,
    pub effect: Effect,
    pub mode: RuleMode,
    /// What an allow (or require_approval) rule asks of the call's reasoning.
    pub reasoning: ReasoningPolicy,
    /// The rule's version (its `updated_at`, in ms): an approval is bound to it. 0 for drafts.
    pub version: i64,
    /// How long an approval this rule asks for waits ([`crate::approval::expiry_seconds`]).
    pub approval_expiry_seconds: u32,
    conditions: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Test(Box<CompiledTest>),
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
}

#[derive(Debug, Clone)]
struct CompiledTest {
    path: String,
    test: Test,
    expected: Expected,
    tz: chrono_tz::Tz,
}

#[derive(Debug, Clone)]
enum Expected {
    Value(Value),
    Number(Decimal),
    Time(u16),
    List(Vec<Value>),
    Text(String),
    Pattern(Regex),
    Len(u64),
    Dir(Vec<String>),
    Hosts(Vec<ops::HostPattern>),
    Nets(Vec<IpNet>),
    Exists(bool),
}

/// The request facts a `request` test may address.
const REQUEST_FACTS: [&str; 3] = ["/client_ip", "/time", "/weekday"];

/// Checks a rule's conditions and prepares them. Errors name the offending condition
/// (`conditions[0].any_of[1]: …`). With the tool's `input_schema`, a pointer into the arguments
/// must be one the schema has, with a type the operator can use.
pub fn compile(
    id: &str,
    effect: Effect,
    mode: RuleMode,
    reasoning: ReasoningPolicy,
    conditions: &[Condition],
    input_schema: Option<&Value>,
) -> Result<CompiledRule, Error> {
    let nodes: usize = conditions.iter().map(Condition::size).sum();
    if nodes > MAX_CONDITION_NODES {
        return Err(Error::Invalid(format!(
            "conditions: {nodes} conditions in one rule; at most {MAX_CONDITION_NODES} (tests and combinators together)"
        )));
    }
    let compiled = conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = format!("conditions[{i}]");
            if c.depth() > MAX_CONDITION_DEPTH {
                return Err(Error::Invalid(format!("{path}: nested deeper than {MAX_CONDITION_DEPTH} levels")));
            }
            compile_node(c, &path, input_schema)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reasoning = if effect == Effect::Deny { ReasoningPolicy::None } else { reasoning };
    Ok(CompiledRule {
        id: id.to_owned(),
        effect,
        mode,
        reasoning,
        version: 0,
        approval_expiry_seconds: crate::approval::DEFAULT_EXPIRY_SECONDS,
        conditions: compiled,
    })
}

fn compile_node(c: &Condition, path: &str, schema: Option<&Value>) -> Result<Node, Error> {
    let list = |cs: &[Condition], key: &str| -> Result<Vec<Node>, Error> {
        if cs.is_empty() {
            return Err(Error::Invalid(format!("{path}.{key}: an empty list (say what must hold)")));
        }
        cs.iter().enumerate().map(|(i, c)| compile_node(c, &format!("{path}.{key}[{i}]"), schema)).collect()
    };
    Ok(match c {
        Condition::Test(t) => Node::Test(Box::new(compile_test(t, path, schema)?)),
        Condition::AllOf(cs) => Node::All(list(cs, "all_of")?),
        Condition::AnyOf(cs) => Node::Any(list(cs, "any_of")?),
        Condition::Not(c) => Node::Not(Box::new(compile_node(c, &format!("{path}.not"), schema)?)),
    })
}

fn compile_test(t: &Test, path: &str, schema: Option<&Value>) -> Result<CompiledTest, Error> {
    let bad = |msg: String| Error::Invalid(format!("{path}: {msg}"));
    let op = t.op.as_str();
    if !t.pointer.starts_with('/') || t.pointer.len() > 512 {
        return Err(bad(format!(
            "pointer {:?} must be a JSON Pointer such as \"/amount\" (at most 512 bytes)",
            t.pointer
        )));
    }
    if t.pointer.split('/').skip(1).any(|tok| tok.replace("~0", "").replace("~1", "").contains('~')) {
        return Err(bad(format!("pointer {:?} has a `~` that is not `~0` or `~1`", t.pointer)));
    }
    if t.source == Source::Request && !REQUEST_FACTS.contains(&t.pointer.as_str()) {
        return Err(bad(format!("a request test addresses one of {}; not {:?}", REQUEST_FACTS.join(", "), t.pointer)));
    }
    let tz = match &t.time_zone {
        None => chrono_tz::UTC,
        Some(name) => {
            if !(t.source == Source::Request && matches!(t.pointer.as_str(), "/time" | "/weekday")) {
                return Err(bad("time_zone applies only to the request facts /time and /weekday".into()));
            }
            name.parse()
                .map_err(|_| bad(format!("unknown time zone {name:?} (use an IANA name such as Europe/Berlin)")))?
        }
    };
    check_strings(&t.value, path)?;
    let is_time = t.source == Source::Request && t.pointer == "/time";
    let strings = |v: &Value, what: &str| -> Result<Vec<String>, Error> {
        let items = v.as_array().ok_or_else(|| bad(format!("`{op}` takes a list of {what}")))?;
        if items.is_empty() || items.len() > MAX_LIST_ITEMS {
            return Err(bad(format!("`{op}` takes 1 to {MAX_LIST_ITEMS} {what}")));
        }
        items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| bad(format!("`{op}` takes a list of {what}"))))
            .collect()
    };
    let text = |v: &Value| v.as_str().map(str::to_owned).ok_or_else(|| bad(format!("`{op}` takes a string value")));
    let expected = match t.op {
        Operator::Eq | Operator::Ne => {
            if !is_scalar(&t.value) {
                return Err(bad(format!("`{op}` takes a string, number, boolean or null")));
            }
            if let Value::Number(n) = &t.value {
                ops::decimal(n).map_err(bad)?;
            }
            Expected::Value(t.value.clone())
        }
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => match &t.value {
            Value::Number(n) if !is_time => Expected::Number(ops::decimal(n).map_err(bad)?),
            Value::String(s) if is_time => {
                Expected::Time(ops::minutes(s).ok_or_else(|| bad(format!("{s:?} is not a time of day HH:MM")))?)
            }
            _ if is_time => return Err(bad(format!("`{op}` on /time takes a time of day such as \"09:00\""))),
            _ => return Err(bad(format!("`{op}` takes a number"))),
        },
        Operator::In | Operator::NotIn => {
            let items = t.value.as_array().filter(|a| !a.is_empty() && a.len() <= MAX_LIST_ITEMS);
            let items = items.ok_or_else(|| bad(format!("`{op}` takes a list of 1 to {MAX_LIST_ITEMS} values")))?;
            for item in items {
                if !is_scalar(item) {
                    return Err(bad(format!("`{op}` takes a list of strings, numbers, booleans or nulls")));
                }
                if let Value::Number(n) = item {
                    ops::decimal(n).map_err(bad)?;
                }
            }
            Expected::List(items.clone())
        }
        Operator::Prefix | Operator::Suffix => Expected::Text(text(&t.value)?),
        Operator::Contains => match &t.value {
            v if is_scalar(v) && !v.is_null() => Expected::Value(v.clone()),
            _ => return Err(bad("`contains` takes a string (for strings) or a scalar value (for arrays)".into())),
        },
        Operator::Matches => {
            let pattern = text(&t.value)?;
            if pattern.len() > MAX_REGEX_LEN {
                return Err(bad(format!("the pattern is longer than {MAX_REGEX_LEN} bytes")));
            }
            let re = regex::RegexBuilder::new(&pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .nest_limit(32)
                .build()
                .map_err(|e| bad(format!("the pattern is not usable: {}", last_line(&e.to_string()))))?;
            Expected::Pattern(re)
        }
        Operator::LenMax => {
            let n = t.value.as_u64().ok_or_else(|| bad("`len_max` takes a whole number ≥ 0".into()))?;
            Expected::Len(n)
        }
        Operator::PathUnder => {
            let dir = text(&t.value)?;
            Expected::Dir(ops::path_segments(&dir).map_err(|e| bad(format!("the directory {dir:?}: {e}")))?)
        }
        Operator::HostIn => Expected::Hosts(
            strings(&t.value, "host names")?
                .iter()
                .map(|h| ops::HostPattern::parse(h).map_err(&bad))
                .collect::<Result<_, _>>()?,
        ),
        Operator::Cidr => Expected::Nets(
            strings(&t.value, "CIDR blocks")?
                .iter()
                .map(|c| c.parse::<IpNet>().map_err(|_| bad(format!("{c:?} is not a CIDR block such as 10.0.0.0/8"))))
                .collect::<Result<_, _>>()?,
        ),
        Operator::Exists => match &t.value {
            Value::Null => Expected::Exists(true),
            Value::Bool(b) => Expected::Exists(*b),
            _ => return Err(bad("`exists` takes true, false or no value".into())),
        },
    };
    if t.source == Source::Request {
        // The request facts are strings: a test that could only ever be a type error is refused.
        let strings_only = match t.op {
            Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => is_time,
            Operator::Eq | Operator::Ne | Operator::Contains => t.value.is_string(),
            Operator::In | Operator::NotIn => t.value.as_array().is_some_and(|a| a.iter().any(Value::is_string)),
            _ => true,
        };
        if !strings_only {
            return Err(bad(format!("{} is a string; `{op}` with {} can never hold", t.pointer, t.value)));
        }
    }
    if t.source == Source::Arguments {
        if let Some(schema) = schema {
            schema::check_pointer(schema, &t.pointer, t.op, &t.value).map_err(bad)?;
        }
    }
    Ok(CompiledTest { path: path.to_owned(), test: t.clone(), expected, tz })
}

fn last_line(s: &str) -> String {
    s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim().to_owned()
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn check_strings(v: &Value, path: &str) -> Result<(), Error> {
    let too_long = match v {
        Value::String(s) => s.len() > MAX_VALUE_STRING,
        Value::Array(items) => items.iter().any(|i| i.as_str().is_some_and(|s| s.len() > MAX_VALUE_STRING)),
        _ => false,
    };
    if too_long {
        return Err(Error::Invalid(format!("{path}: a string in `value` is longer than {MAX_VALUE_STRING} bytes")));
    }
    Ok(())
}

/// What a call carries that conditions may test.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    pub arguments: Option<&'a Map<String, Value>>,
    pub context: Option<&'a Map<String, Value>>,
    /// The caller's address (`CF-Connecting-IP`).
    pub client_ip: Option<&'a str>,
    /// When the call is decided, in milliseconds since the epoch.
    pub now_ms: i64,
}

impl<'a> Facts<'a> {
    fn lookup(&self, t: &CompiledTest) -> Option<Cow<'a, Value>> {
        let from_map = |map: Option<&'a Map<String, Value>>| -> Option<Cow<'a, Value>> {
            let map = map?;
            let rest = &t.test.pointer[1..];
            let (first, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let value = if first.contains('~') {
                map.get(&first.replace("~1", "/").replace("~0", "~"))?
            } else {
                map.get(first)?
            };
            value.pointer(tail).map(Cow::Borrowed)
        };
        match t.test.source {
            Source::Arguments => from_map(self.arguments),
            Source::Context => from_map(self.context),
            Source::Request => {
                let local = || t.tz.timestamp_millis_opt(self.now_ms).single();
                match t.test.pointer.as_str() {
                    "/client_ip" => self.client_ip.map(|ip| Value::String(ip.to_owned())),
                    "/time" => local().map(|d| Value::String(format!("{:02}:{:02}", d.hour(), d.minute()))),
                    "/weekday" => local().map(|d| {
                        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
                        Value::String(DAYS[d.weekday().num_days_from_monday() as usize].to_owned())
                    }),
                    _ => None,
                }
                .map(Cow::Owned)
            }
        }
    }
}

/// How a condition came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Holds,
    Fails,
    /// A missing value with `on_missing: skip`: the rule does not apply.
    Skip,
    /// Could not be evaluated: the rule denies.
    Error,
}

/// The verdict and the test that settled it (explained only when it is wanted: see
/// [`CompiledTest::explain`]).
struct Outcome<'c> {
    verdict: Verdict,
    why: Option<&'c CompiledTest>,
}

impl CompiledTest {
    /// The verdict, the value found and the error, if any.
    fn judge<'f>(&self, facts: &Facts<'f>) -> (Verdict, Option<Cow<'f, Value>>, Option<String>) {
        let observed = facts.lookup(self);
        let result = match &observed {
            None => match (&self.expected, self.test.on_missing) {
                (Expected::Exists(want), _) => Ok(!*want),
                (_, OnMissing::Skip) => return (Verdict::Skip, None, Some("missing (on_missing: skip)".into())),
                (_, OnMissing::Deny) => Err("missing (on_missing: deny)".to_string()),
            },
            Some(v) => self.apply(v),
        };
        match result {
            Ok(true) => (Verdict::Holds, observed, None),
            Ok(false) => (Verdict::Fails, observed, None),
            Err(e) => (Verdict::Error, observed, Some(e)),
        }
    }

    fn evaluate(&self, facts: &Facts) -> Outcome<'_> {
        Outcome { verdict: self.judge(facts).0, why: Some(self) }
    }

    /// How this test came out, for an explanation or a trace.
    fn explain(&self, facts: &Facts) -> ConditionResult {
        let (verdict, observed, error) = self.judge(facts);
        ConditionResult {
            path: self.path.clone(),
            source: self.test.source,
            pointer: self.test.pointer.clone(),
            op: self.test.op,
            expected: self.test.value.clone(),
            observed: observed.as_deref().map(shown),
            holds: verdict == Verdict::Holds,
            // An error may quote the observed value (`"…" is not an IP address`): it is shown
            // the way the value is, redacted and cut.
            error: error.map(|e| clip(crate::redact::text(&e), MAX_ERROR_CHARS)),
        }
    }

    fn apply(&self, v: &Value) -> Result<bool, String> {
        let as_str = || v.as_str().ok_or_else(|| format!("expected a string, found {}", ops::type_name(v)));
        match (&self.expected, self.test.op) {
            (Expected::Value(e), Operator::Eq) => ops::equal(e, v),
            (Expected::Value(e), Operator::Ne) => ops::equal(e, v).map(|eq| !eq),
            (Expected::Number(e), op) => {
                let n = v.as_number().ok_or_else(|| format!("expected a number, found {}", ops::type_name(v)))?;
                Ok(order(op, ops::decimal(n)?.cmp(e)))
            }
            (Expected::Time(e), op) => {
                let m = ops::minutes(as_str()?).ok_or("not a time of day")?;
                Ok(order(op, m.cmp(e)))
            }
            (Expected::List(items), op) => {
                if !is_scalar(v) {
                    return Err(format!("expected a single value, found {}", ops::type_name(v)));
                }
                let mut comparable = false;
                let mut found = false;
                for i in items.iter().filter(|i| std::mem::discriminant(*i) == std::mem::discriminant(v)) {
                    comparable = true;
                    found |= ops::equal(i, v)?;
                }
                if !comparable {
                    return Err(format!("found {}, which no value of the list is", ops::type_name(v)));
                }
                Ok(if op == Operator::In { found } else { !found })
            }
            (Expected::Text(e), Operator::Prefix) => Ok(as_str()?.starts_with(e.as_str())),
            (Expected::Text(e), _) => Ok(as_str()?.ends_with(e.as_str())),
            (Expected::Value(e), Operator::Contains) => match (v, e) {
                (Value::String(s), Value::String(needle)) => Ok(s.contains(needle.as_str())),
                (Value::Array(items), e) => {
                    let mut found = false;
                    for i in items.iter().filter(|i| std::mem::discriminant(*i) == std::mem::discriminant(e)) {
                        found |= ops::equal(e, i)?;
                    }
                    Ok(found)
                }
                _ => Err(format!("`contains` cannot look into {}", ops::type_name(v))),
            },
            (Expected::Pattern(re), _) => Ok(re.is_match(as_str()?)),
            (Expected::Len(max), _) => match v {
                Value::String(s) => Ok(s.chars().count() as u64 <= *max),
                Value::Array(a) => Ok(a.len() as u64 <= *max),
                _ => Err(format!("expected a string or an array, found {}", ops::type_name(v))),
            },
            (Expected::Dir(dir), _) => Ok(ops::under(&ops::path_segments(as_str()?)?, dir)),
            (Expected::Hosts(patterns), _) => {
                let host = ops::host_of(as_str()?)?;
                Ok(patterns.iter().any(|p| p.matches(&host)))
            }
            (Expected::Nets(nets), _) => {
                let ip: IpAddr = ops::ip(as_str()?)?;
                Ok(nets.iter().any(|n| n.contains(&ip)))
            }
            (Expected::Exists(want), _) => Ok(*want),
            (Expected::Value(_), op) => Err(format!("`{}` is not a value comparison", op.as_str())),
        }
    }
}

fn order(op: Operator, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Operator::Lt => o == Less,
        Operator::Lte => o != Greater,
        Operator::Gt => o == Greater,
        _ => o != Less,
    }
}

/// A value as an explanation shows it: strings redacted and cut, containers summarised.
fn shown(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(clip(crate::redact::text(s), MAX_OBSERVED_CHARS)),
        Value::Array(a) => Value::String(format!("[an array of {} items]", a.len())),
        Value::Object(o) => Value::String(format!("[an object of {} fields]", o.len())),
        other => other.clone(),
    }
}

/// `s` cut to `max` characters, marked with `…` when cut.
fn clip(s: String, max: usize) -> String {
    if s.chars().count() > max {
        s.chars().take(max).collect::<String>() + "…"
    } else {
        s
    }
}

impl Node {
    fn evaluate(&self, facts: &Facts) -> Outcome<'_> {
        match self {
            Node::Test(t) => t.evaluate(facts),
            Node::Not(inner) => {
                let o = inner.evaluate(facts);
                let verdict = match o.verdict {
                    Verdict::Holds => Verdict::Fails,
                    Verdict::Fails => Verdict::Holds,
                    other => other,
                };
                Outcome { verdict, why: o.why }
            }
            Node::All(parts) => combine(parts.iter().map(|p| p.evaluate(facts)), Verdict::Fails),
            Node::Any(parts) => combine(parts.iter().map(|p| p.evaluate(facts)), Verdict::Holds),
        }
    }
}

/// All parts (`decisive` = Fails: one failing part fails the whole) or any part (`decisive` =
/// Holds). An error anywhere is an error: it is never hidden by another part's result.
fn combine<'c>(parts: impl Iterator<Item = Outcome<'c>>, decisive: Verdict) -> Outcome<'c> {
    let mut error = None;
    let mut decided = None;
    let mut skip = None;
    let mut last = None;
    for o in parts {
        match o.verdict {
            Verdict::Error => {
                error.get_or_insert(o);
            }
            v if v == decisive => {
                decided.get_or_insert(o);
            }
            Verdict::Skip => {
                skip.get_or_insert(o);
            }
            _ => last = Some(o),
        }
    }
    let other = if decisive == Verdict::Holds { Verdict::Fails } else { Verdict::Holds };
    error
        .or(decided)
        .or(skip)
        .or_else(|| last.map(|o| Outcome { verdict: other, why: o.why }))
        .unwrap_or(Outcome { verdict: other, why: None })
}

impl CompiledRule {
    /// How this rule comes out for a call, with the test that settled it.
    pub fn outcome(&self, facts: &Facts) -> (RuleOutcome, Option<ConditionResult>) {
        let (outcome, why) = self.settle(facts);
        (outcome, why.map(|t| t.explain(facts)))
    }

    /// The outcome and the test that settled it, unexplained.
    fn settle(&self, facts: &Facts) -> (RuleOutcome, Option<&CompiledTest>) {
        let o = combine(self.conditions.iter().map(|c| c.evaluate(facts)), Verdict::Fails);
        let outcome = match o.verdict {
            Verdict::Holds => RuleOutcome::Matched,
            Verdict::Fails | Verdict::Skip => RuleOutcome::NotMatched,
            Verdict::Error => RuleOutcome::Error,
        };
        (outcome, o.why)
    }
}

/// What the rules decided for a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdicts {
    /// An enforced allow rule's conditions hold; the reasoning policy is the least demanding of
    /// those rules'.
    Allow(ReasoningPolicy),
    /// No enforced deny rule applies, and an enforced require_approval rule's conditions hold: a
    /// person must approve the exact call (the rule with the lowest id asks).
    RequireApproval(Ask),
    /// `denied_by_rule`, `conditions_not_met` or `scope_not_granted` (no enforced allow rule).
    Deny(ReasonCode),
}

/// The rule that asks for approval, as the approval is bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub rule_id: String,
    pub rule_version: i64,
    pub expiry_seconds: u32,
    /// What the rule asks of the call's reasoning before a person is asked.
    pub reasoning: ReasoningPolicy,
}

/// The rules' decision, why, what shadow rules would have done, and (when asked) every rule's part.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub verdict: Verdicts,
    pub explanation: Option<Explanation>,
    pub shadow: Vec<ShadowResult>,
    pub trace: Vec<RuleTrace>,
}

/// Decides with the rules for the call's tool and scope.
pub fn evaluate<'r>(rules: impl IntoIterator<Item = &'r CompiledRule>, facts: &Facts, with_trace: bool) -> Evaluation {
    // (rule, outcome, why) of the enforced deniers and allowers, and the first failing allow rule.
    let mut denier: Option<(&CompiledRule, RuleOutcome, Option<&CompiledTest>)> = None;
    let mut allow_policy: Option<ReasoningPolicy> = None;
    let mut asker: Option<&CompiledRule> = None;
    let mut unmet: Option<(&CompiledRule, Option<&CompiledTest>)> = None;
    let mut shadow = Vec::new();
    let mut trace = Vec::new();
    for rule in rules {
        let (outcome, why) = rule.settle(facts);
        if with_trace {
            trace.push(RuleTrace {
                rule_id: rule.id.clone(),
                effect: rule.effect,
                mode: rule.mode,
                outcome,
                condition: why.map(|t| t.explain(facts)),
            });
        }
        let would = match (outcome, rule.effect) {
            (RuleOutcome::Error, _) | (RuleOutcome::Matched, Effect::Deny) => Some(Effect::Deny),
            (RuleOutcome::Matched, e) => Some(e),
            (RuleOutcome::NotMatched, _) => None,
        };
        if rule.mode == RuleMode::Shadow {
            if let Some(would) = would {
                shadow.push(ShadowResult { rule_id: rule.id.clone(), would });
            }
            continue;
        }
        match would {
            Some(Effect::Deny) if denier.as_ref().is_none_or(|(d, _, _)| rule.id < d.id) => {
                denier = Some((rule, outcome, why));
            }
            Some(Effect::Deny) => {}
            Some(Effect::Allow) => {
                allow_policy = Some(allow_policy.map_or(rule.reasoning, |p| p.min(rule.reasoning)));
            }
            Some(Effect::RequireApproval) if asker.is_none_or(|a| rule.id < a.id) => asker = Some(rule),
            Some(Effect::RequireApproval) => {}
            None if rule.effect == Effect::Allow && unmet.as_ref().is_none_or(|(u, _)| rule.id < u.id) => {
                unmet = Some((rule, why));
            }
            _ => {}
        }
    }
    shadow.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    shadow.dedup();
    trace.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    let (verdict, explanation) = if let Some((rule, outcome, why)) = denier {
        let why = why.map(|t| t.explain(facts));
        let message = match (&why, outcome) {
            (Some(w), RuleOutcome::Error) => {
                format!(
                    "rule {} denies: {} could not be evaluated ({})",
                    rule.id,
                    describe(w),
                    w.error.as_deref().unwrap_or("")
                )
            }
            (Some(w), _) => format!("deny rule {} applies: {} holds", rule.id, describe(w)),
            (None, _) => format!("deny rule {} applies (it has no conditions)", rule.id),
        };
        let exp = Explanation { rule_id: Some(rule.id.clone()), effect: Some(rule.effect), condition: why, message };
        (Verdicts::Deny(ReasonCode::DeniedByRule), Some(exp))
    } else if let Some(rule) = asker {
        let ask = Ask {
            rule_id: rule.id.clone(),
            rule_version: rule.version,
            expiry_seconds: rule.approval_expiry_seconds,
            reasoning: rule.reasoning,
        };
        let exp = Explanation {
            rule_id: Some(rule.id.clone()),
            effect: Some(Effect::RequireApproval),
            condition: None,
            message: format!("rule {} requires a person's approval of this call", rule.id),
        };
        (Verdicts::RequireApproval(ask), Some(exp))
    } else if let Some(policy) = allow_policy {
        (Verdicts::Allow(policy), None)
    } else if let Some((rule, why)) = unmet {
        let why = why.map(|t| t.explain(facts));
        let message = match &why {
            Some(w) if w.error.is_some() => format!(
                "no allow rule applies; rule {} does not: {} ({})",
                rule.id,
                describe(w),
                w.error.as_deref().unwrap_or("")
            ),
            Some(w) => format!("no allow rule applies; rule {} does not: {} does not hold", rule.id, describe(w)),
            None => format!("no allow rule applies (rule {})", rule.id),
        };
        let exp = Explanation { rule_id: Some(rule.id.clone()), effect: Some(Effect::Allow), condition: why, message };
        (Verdicts::Deny(ReasonCode::ConditionsNotMet), Some(exp))
    } else {
        (Verdicts::Deny(ReasonCode::ScopeNotGranted), None)
    };
    Evaluation { verdict, explanation, shadow, trace }
}

/// `arguments /amount lt 500 (observed 600)`.
fn describe(w: &ConditionResult) -> String {
    let observed = match &w.observed {
        Some(v) => format!(" (observed {v})"),
        None => " (missing)".into(),
    };
    format!("{} {} {} {}{observed}", w.source.as_str(), w.pointer, w.op.as_str(), w.expected)
}

/// A rule that could not be read back from storage: it denies every call it is asked about
/// (fail closed), in `enforce` mode whatever it was saved as.
pub fn unreadable(id: &str) -> CompiledRule {
    CompiledRule {
        id: id.to_owned(),
        effect: Effect::Deny,
        mode: RuleMode::Enforce,
        reasoning: ReasoningPolicy::None,
        version: 0,
        approval_expiry_seconds: crate::approval::DEFAULT_EXPIRY_SECONDS,
        conditions: Vec::new(),
    }
}

/// One tool of an agent as decisions need it: its scopes, its input schema and its rules.
#[derive(Debug, Default)]
pub struct ToolPolicy {
    pub scopes: Vec<String>,
    pub schema: Option<schema::InputSchema>,
    /// Each rule with the scope it is for.
    pub rules: Vec<(String, CompiledRule)>,
}

/// What the tool, its schema and its rules say about a call: the lookup for
/// [`crate::decision::decide`], and the explanation, shadow results and trace beside it.
#[derive(Debug)]
pub struct Assessment {
    pub lookup: crate::decision::ToolLookup,
    pub explanation: Option<Explanation>,
    pub shadow: Vec<ShadowResult>,
    pub trace: Vec<RuleTrace>,
}

/// Assesses a call to `scope` of `tool` (None: not registered). Arguments that break the tool's
/// input schema are denied before any rule is read; a rule counts only for a scope its tool
/// still has.
pub fn assess(tool: Option<&ToolPolicy>, scope: &str, facts: &Facts, with_trace: bool) -> Assessment {
    use crate::decision::ToolLookup;
    let Some(tool) = tool else {
        return Assessment { lookup: ToolLookup::Unknown, explanation: None, shadow: Vec::new(), trace: Vec::new() };
    };
    if let Some(schema) = &tool.schema {
        if let Err(why) = schema.check(facts.arguments) {
            let explanation = Explanation {
                rule_id: None,
                effect: None,
                condition: None,
                message: format!("the arguments do not fit the tool's input_schema: {why}"),
            };
            return Assessment {
                lookup: ToolLookup::Known(Verdicts::Deny(ReasonCode::InvalidArguments)),
                explanation: Some(explanation),
                shadow: Vec::new(),
                trace: Vec::new(),
            };
        }
    }
    let granted = tool.scopes.iter().any(|s| s == scope);
    let rules = tool.rules.iter().filter(|(s, _)| granted && s == scope).map(|(_, r)| r);
    let e = evaluate(rules, facts, with_trace);
    Assessment { lookup: ToolLookup::Known(e.verdict), explanation: e.explanation, shadow: e.shadow, trace: e.trace }
}
