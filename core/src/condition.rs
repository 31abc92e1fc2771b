//! The conditions of a rule, as they travel and are stored: structured JSON, not a string
//! language, so they are checked when saved, edited as a form and explained.
//!
//! A test addresses one value by JSON Pointer (RFC 6901) in the call's `arguments`, its `context`,
//! or the request's facts (`/client_ip`, `/time`, `/weekday`), applies one typed operator, and says
//! what a missing value means (`on_missing`). Tests combine with `all_of`, `any_of` and `not`.
//!
//! ```json
//! {"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"}
//! {"any_of": [{"source": "request", "pointer": "/client_ip", "op": "cidr", "value": ["10.0.0.0/8"], "on_missing": "deny"},
//!             {"not": {"pointer": "/to", "op": "host_in", "value": ["*.example.com"], "on_missing": "skip"}}]}
//! ```
//!
//! This module knows the shape; [`crate::policy`] checks the values and evaluates.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Where a test's pointer points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The tool call's `arguments`.
    #[default]
    Arguments,
    /// The call's free `context`.
    Context,
    /// Facts of the request: `/client_ip` (the caller's address), `/time` (`HH:MM` in the test's
    /// `time_zone`, default UTC) and `/weekday` (`mon` … `sun` there).
    Request,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Arguments => "arguments",
            Source::Context => "context",
            Source::Request => "request",
        }
    }
}

/// A test's operator. Each takes one kind of `value`; [`crate::policy`] checks it when a rule is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal to a JSON value (numbers compared as exact decimals).
    Eq,
    /// Not equal to a JSON value.
    Ne,
    /// Less than a number (exact decimal), or than a `HH:MM` time for `/time`.
    Lt,
    Lte,
    Gt,
    Gte,
    /// One of a list of JSON values.
    In,
    /// None of a list of JSON values.
    NotIn,
    /// A string that starts with the given string.
    Prefix,
    /// A string that ends with the given string.
    Suffix,
    /// A string that contains the given string, or an array that contains the given value.
    Contains,
    /// A string that matches a regular expression (linear-time engine, bounded size), anywhere
    /// unless anchored with `^…$`.
    Matches,
    /// A string (in characters) or array (in items) at most this long.
    LenMax,
    /// A path at or under the given directory, after resolving `.`, `..`, repeated separators and
    /// percent-encoding.
    PathUnder,
    /// A URL, e-mail address or host name whose host is one of the given hosts (`*.example.com`
    /// matches the subdomains of example.com).
    HostIn,
    /// An IP address inside one of the given CIDR blocks.
    Cidr,
    /// The value is present (`true`) or absent (`false`).
    Exists,
}

impl Operator {
    pub const ALL: [Operator; 17] = [
        Operator::Eq,
        Operator::Ne,
        Operator::Lt,
        Operator::Lte,
        Operator::Gt,
        Operator::Gte,
        Operator::In,
        Operator::NotIn,
        Operator::Prefix,
        Operator::Suffix,
        Operator::Contains,
        Operator::Matches,
        Operator::LenMax,
        Operator::PathUnder,
        Operator::HostIn,
        Operator::Cidr,
        Operator::Exists,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Prefix => "prefix",
            Operator::Suffix => "suffix",
            Operator::Contains => "contains",
            Operator::Matches => "matches",
            Operator::LenMax => "len_max",
            Operator::PathUnder => "path_under",
            Operator::HostIn => "host_in",
            Operator::Cidr => "cidr",
            Operator::Exists => "exists",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// What a test means when its pointer finds no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    /// The rule denies (an evaluation error, recorded).
    Deny,
    /// The rule does not apply: an allow rule does not allow, a deny rule does not deny.
    Skip,
}

/// One test of one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test {
    #[serde(default)]
    pub source: Source,
    /// A JSON Pointer into the source (`""` is the whole source).
    pub pointer: String,
    pub op: Operator,
    /// What the operator compares with (for `exists`: `true` or `false`, default `true`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
    pub on_missing: OnMissing,
    /// IANA time zone for `/time` and `/weekday` (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A condition: a test, or a combination of conditions.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Test(Test),
    /// Every one holds.
    AllOf(Vec<Condition>),
    /// At least one holds.
    AnyOf(Vec<Condition>),
    /// It does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// A test of `pointer` in the arguments that denies when the value is missing.
    pub fn test(pointer: impl Into<String>, op: Operator, value: Value) -> Self {
        Condition::Test(Test {
            source: Source::Arguments,
            pointer: pointer.into(),
            op,
            value,
            on_missing: OnMissing::Deny,
            time_zone: None,
        })
    }

    /// Reads a condition from JSON; an error names where in `value` it is wrong (`path` is the
    /// location of `value` itself, such as `conditions[2]`).
    pub fn from_json(value: &Value, path: &str) -> Result<Condition, crate::Error> {
        let bad = |msg: String| crate::Error::Invalid(format!("{path}: {msg}"));
        let Value::Object(map) = value else {
            return Err(bad("a condition must be an object".into()));
        };
        let combinator = ["all_of", "any_of", "not"].into_iter().find(|k| map.contains_key(*k));
        if let Some(key) = combinator {
            if map.len() != 1 {
                return Err(bad(format!("`{key}` must be the only field of its object")));
            }
            let inner = &map[key];
            return match key {
                "not" => Ok(Condition::Not(Box::new(Condition::from_json(inner, &format!("{path}.not"))?))),
                _ => {
                    let Value::Array(items) = inner else {
                        return Err(bad(format!("`{key}` must be a list of conditions")));
                    };
                    let parts = items
                        .iter()
                        .enumerate()
                        .map(|(i, c)| Condition::from_json(c, &format!("{path}.{key}[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(if key == "all_of" { Condition::AllOf(parts) } else { Condition::AnyOf(parts) })
                }
            };
        }
        if let Some(op) = map.get("op").and_then(Value::as_str) {
            if Operator::parse(op).is_none() {
                let known: Vec<&str> = Operator::ALL.iter().map(|o| o.as_str()).collect();
                return Err(bad(format!("unknown operator {op:?}; known: {}", known.join(", "))));
            }
        }
        if !map.contains_key("on_missing") {
            return Err(bad("`on_missing` is required (`deny` or `skip`): say what a missing value means".into()));
        }
        serde_json::from_value::<Test>(value.clone()).map(Condition::Test).map_err(|e| bad(e.to_string()))
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        let wrap = |key: &str, v: Value| {
            let mut m = Map::new();
            m.insert(key.into(), v);
            Value::Object(m)
        };
        match self {
            Condition::Test(t) => serde_json::to_value(t).expect("a test serializes"),
            Condition::AllOf(cs) => wrap("all_of", Value::Array(cs.iter().map(Condition::to_json).collect())),
            Condition::AnyOf(cs) => wrap("any_of", Value::Array(cs.iter().map(Condition::to_json).collect())),
            Condition::Not(c) => wrap("not", c.to_json()),
        }
    }

    /// How deep the combinators nest (a test is 1).
    pub fn depth(&self) -> usize {
        match self {
            Condition::Test(_) => 1,
            Condition::AllOf(cs) | Condition::AnyOf(cs) => 1 + cs.iter().map(Condition::depth).max().unwrap_or(0),
            Condition::Not(c) => 1 + c.depth(),
        }
    }

    /// How many tests and combinators it has.
    pub fn size(&self) -> usize {
        match self {
            Condition::Test(_) => 1,
            Condition::AllOf(cs) | Condition::AnyOf(cs) => 1 + cs.iter().map(Condition::size).sum::<usize>(),
            Condition::Not(c) => 1 + c.size(),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Condition::from_json(&value, "condition").map_err(serde::de::Error::custom)
    }
}

/// Reads a rule's `conditions` list, naming the failing one as `{prefix}conditions[i]…`.
pub fn conditions_from_json(values: &[Value], prefix: &str) -> Result<Vec<Condition>, crate::Error> {
    values.iter().enumerate().map(|(i, v)| Condition::from_json(v, &format!("{prefix}conditions[{i}]"))).collect()
}

/// Checks every `conditions` list of a request body (at its top, and in each item of its
/// `rules`), so that a shape error names its place (`conditions[0].any_of[1]: …`,
/// `rules[2].conditions[0]: …`) instead of serde's generic message.
pub fn check_body(body: &Value) -> Result<(), crate::Error> {
    let check = |v: &Value, prefix: &str| match v.get("conditions") {
        Some(Value::Array(list)) => conditions_from_json(list, prefix).map(|_| ()),
        _ => Ok(()),
    };
    check(body, "")?;
    if let Some(Value::Array(rules)) = body.get("rules") {
        for (i, r) in rules.iter().enumerate() {
            check(r, &format!("rules[{i}]."))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_round_trip_through_json() {
        let raw = json!({"any_of": [
            {"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"},
            {"not": {"source": "request", "pointer": "/time", "op": "gte", "value": "18:00", "on_missing": "deny", "time_zone": "Europe/Berlin"}}
        ]});
        let c = Condition::from_json(&raw, "conditions[0]").unwrap();
        assert_eq!(c.depth(), 3);
        assert_eq!(c.size(), 4);
        let back = c.to_json();
        assert_eq!(Condition::from_json(&back, "x").unwrap(), c);
        assert_eq!(
            back["any_of"][0],
            json!({"source": "arguments", "pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"})
        );
    }

    #[test]
    fn shape_errors_name_the_place() {
        let e = |v: Value| Condition::from_json(&v, "conditions[1]").unwrap_err().to_string();
        assert!(e(json!({"pointer": "/a", "op": "like", "value": 1, "on_missing": "deny"}))
            .contains("conditions[1]: unknown operator \"like\""));
        assert!(e(json!({"pointer": "/a", "op": "eq", "value": 1})).contains("on_missing"));
        assert!(e(json!({"all_of": [{"pointer": "/a", "op": "eq", "value": 1, "on_missing": "maybe"}]}))
            .starts_with("conditions[1].all_of[0]:"));
        assert!(e(json!({"not": 1})).starts_with("conditions[1].not: a condition must be an object"));
        assert!(e(json!({"any_of": [], "pointer": "/a"})).contains("only field"));
        assert!(e(json!({"pointer": "/a", "op": "eq", "value": 1, "on_missing": "deny", "extra": true}))
            .contains("unknown field"));
        assert!(e(json!("amount < 5")).contains("must be an object"));
    }

    #[test]
    fn a_body_names_the_place_of_a_bad_condition() {
        let bad = json!({"pointer": "/a", "op": "between", "value": 1, "on_missing": "deny"});
        let top = check_body(&json!({"tool": "t", "conditions": [{"all_of": [bad.clone()]}]})).unwrap_err();
        assert!(top.to_string().starts_with("conditions[0].all_of[0]: unknown operator"), "{top}");
        let draft = check_body(&json!({"rules": [{"tool": "t"}, {"conditions": [bad]}]})).unwrap_err();
        assert!(draft.to_string().starts_with("rules[1].conditions[0]:"), "{draft}");
        assert!(check_body(&json!({"conditions": "not a list"})).is_ok(), "left to the typed parse");
    }
}
