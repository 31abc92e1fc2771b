//! Rule conditions on the command line: `--when '<pointer> <op> <value>'`, `--conditions-file`,
//! and how conditions and their results are shown compactly.

use std::path::Path;

use oakauth::wire::{Condition, ConditionResult, Explanation, OnMissing, Operator, Source, Test};
use serde_json::Value;

/// What `--when` takes, for its help and its errors.
pub const WHEN_FORM: &str = "'<pointer> <op> <value>', such as '/amount lt 500' or '/to host_in [\"*.example.com\"]': \
     a JSON Pointer into the call's arguments (or context:/… or request:/… for its context or the request's \
     /client_ip, /time, /weekday), an operator, and a JSON value (text that is not JSON is a string; `exists` \
     needs none)";

/// Every operator's name, for errors.
pub fn operators() -> String {
    Operator::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")
}

/// Reads one `--when` test: `<pointer> <op> <value>`, whose value is JSON or else a plain string,
/// and which denies when the pointer finds nothing (`on_missing: deny`).
pub fn parse_when(raw: &str) -> Result<Condition, String> {
    let bad = |problem: String| format!("{problem}; write {WHEN_FORM}; operators: {}", operators());
    let text = raw.trim();
    let (place, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let value = value.trim();
    let (source, pointer) = match place.split_once(':') {
        Some(("arguments", p)) => (Source::Arguments, p),
        Some(("context", p)) => (Source::Context, p),
        Some(("request", p)) => (Source::Request, p),
        _ => (Source::Arguments, place),
    };
    if !pointer.starts_with('/') {
        return Err(bad(format!("{place:?} is not a JSON Pointer such as /amount")));
    }
    if op.is_empty() {
        return Err(bad(format!("no operator after {place}")));
    }
    let op = Operator::parse(op).ok_or_else(|| bad(format!("unknown operator {op:?}")))?;
    let value = match value {
        "" if op == Operator::Exists => Value::Null,
        "" => return Err(bad(format!("`{}` needs a value", op.as_str()))),
        text => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
    };
    Ok(Condition::Test(Test {
        source,
        pointer: pointer.to_owned(),
        op,
        value,
        on_missing: OnMissing::Deny,
        time_zone: None,
    }))
}

/// The conditions of `--conditions-file`: a JSON array of conditions as the API takes them.
pub fn read_conditions_file(path: &Path) -> Result<Vec<Condition>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--conditions-file {}: {e}", path.display()))?;
    parse_conditions(&text).map_err(|e| format!("--conditions-file {}: {e}", path.display()))
}

fn parse_conditions(text: &str) -> Result<Vec<Condition>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(items) = value else {
        return Err("not a JSON array of conditions such as [{\"pointer\": \"/amount\", \"op\": \"lt\", \
                    \"value\": 500, \"on_missing\": \"deny\"}]"
            .into());
    };
    oakauth_core::condition::conditions_from_json(&items, "").map_err(|e| e.to_string())
}

/// A test as `[source:]pointer op value`, `(missing: skip)` when a missing value skips the rule.
fn test_text(t: &Test) -> String {
    let mut out = place(t.source, &t.pointer);
    out.push(' ');
    out.push_str(t.op.as_str());
    if !t.value.is_null() {
        out.push(' ');
        out.push_str(&t.value.to_string());
    }
    if let Some(tz) = &t.time_zone {
        out.push_str(&format!(" ({tz})"));
    }
    if t.on_missing == OnMissing::Skip {
        out.push_str(" (missing: skip)");
    }
    out
}

fn place(source: Source, pointer: &str) -> String {
    match source {
        Source::Arguments => pointer.to_owned(),
        other => format!("{}:{pointer}", other.as_str()),
    }
}

/// One condition on one line: tests as `--when` takes them, combinations as `all(…)`, `any(…)`, `not(…)`.
pub fn compact(c: &Condition) -> String {
    let list = |cs: &[Condition]| cs.iter().map(compact).collect::<Vec<_>>().join(", ");
    match c {
        Condition::Test(t) => test_text(t),
        Condition::AllOf(cs) => format!("all({})", list(cs)),
        Condition::AnyOf(cs) => format!("any({})", list(cs)),
        Condition::Not(c) => format!("not({})", compact(c)),
    }
}

/// A rule's conditions on one line, `-` when it has none (it always applies).
pub fn compact_all(cs: &[Condition]) -> String {
    if cs.is_empty() {
        return "-".into();
    }
    cs.iter().map(compact).collect::<Vec<_>>().join(" and ")
}

/// How one test came out: `conditions[0]: /amount lt 500: saw 900, does not hold`.
pub fn result_text(r: &ConditionResult) -> String {
    let mut out = format!("{}: {} {} {}: ", r.path, place(r.source, &r.pointer), r.op.as_str(), r.expected);
    match &r.observed {
        Some(v) => out.push_str(&format!("saw {v}")),
        None => out.push_str("missing"),
    }
    match &r.error {
        Some(e) => out.push_str(&format!(", not evaluated: {e}")),
        None => out.push_str(if r.holds { ", holds" } else { ", does not hold" }),
    }
    out
}

/// An explanation as `key: value` pairs: its sentence, the deciding rule and the deciding test.
pub fn explanation_fields(e: &Explanation) -> Vec<(&'static str, String)> {
    let mut pairs = vec![("explanation", e.message.clone())];
    if let Some(rule) = &e.rule_id {
        let effect = e.effect.map(|x| format!(" ({})", x.as_str())).unwrap_or_default();
        pairs.push(("rule", format!("{rule}{effect}")));
    }
    if let Some(c) = &e.condition {
        pairs.push(("condition", result_text(c)));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn test_of(raw: &str) -> Test {
        match parse_when(raw).unwrap() {
            Condition::Test(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_are_json_or_else_strings() {
        assert_eq!(parse_when("/amount lt 500").unwrap(), Condition::test("/amount", Operator::Lt, json!(500)));
        let t = test_of(r#"/to host_in ["*.example.com", "example.org"]"#);
        assert_eq!((t.op, t.value), (Operator::HostIn, json!(["*.example.com", "example.org"])));
        assert_eq!(test_of("/path prefix /srv/data").value, json!("/srv/data"));
        assert_eq!(test_of("/subject matches ^re: .*$").value, json!("^re: .*$"), "the rest of the line");
        assert_eq!(test_of(r#"/name eq "two words""#).value, json!("two words"));
        assert_eq!(test_of("/dry_run eq true").value, json!(true));
        assert_eq!(test_of("  /a   eq   null ").value, Value::Null);
        assert_eq!(test_of("/a eq nul").value, json!("nul"));
    }

    #[test]
    fn sources_exists_and_on_missing() {
        let t = test_of("request:/client_ip cidr [\"10.0.0.0/8\"]");
        assert_eq!((t.source, t.pointer.as_str()), (Source::Request, "/client_ip"));
        assert_eq!(test_of("context:/ticket exists").source, Source::Context);
        let t = test_of("/confirm exists");
        assert_eq!((t.op, t.value, t.on_missing), (Operator::Exists, Value::Null, OnMissing::Deny));
        assert_eq!(test_of("/confirm exists false").value, json!(false));
    }

    #[test]
    fn bad_syntax_says_the_form_and_lists_the_operators() {
        for (raw, problem) in [
            ("amount lt 500", "not a JSON Pointer"),
            ("/amount", "no operator"),
            ("", "not a JSON Pointer"),
            ("/amount < 500", "unknown operator \"<\""),
            ("/amount lt", "`lt` needs a value"),
            ("params:/x eq 1", "not a JSON Pointer"),
        ] {
            let e = parse_when(raw).unwrap_err();
            assert!(e.contains(problem), "{raw:?}: {e}");
            assert!(e.contains("'/amount lt 500'") && e.contains("host_in, cidr, exists"), "{raw:?}: {e}");
        }
    }

    #[test]
    fn a_conditions_file_is_an_array_checked_like_the_api() {
        let cs = parse_conditions(
            r#"[{"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"},
                {"any_of": [{"pointer": "/a", "op": "exists", "on_missing": "skip"}]}]"#,
        )
        .unwrap();
        assert_eq!(cs.len(), 2);
        let e =
            parse_conditions(r#"[{"pointer": "/a", "op": "eq", "value": 1, "on_missing": "deny"}, {"op": "like"}]"#)
                .unwrap_err();
        assert!(e.starts_with("conditions[1]: unknown operator"), "{e}");
        assert!(parse_conditions(r#"{"pointer": "/a"}"#).unwrap_err().contains("JSON array"));
        assert!(parse_conditions("[").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn conditions_show_compactly() {
        let cs = parse_conditions(
            r#"[{"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"},
                {"any_of": [{"source": "request", "pointer": "/time", "op": "lt", "value": "18:00",
                             "time_zone": "Europe/Berlin", "on_missing": "deny"},
                            {"not": {"pointer": "/to", "op": "host_in", "value": ["*.example.com"], "on_missing": "skip"}}]}]"#,
        )
        .unwrap();
        assert_eq!(
            compact_all(&cs),
            r#"/amount lt 500 and any(request:/time lt "18:00" (Europe/Berlin), not(/to host_in ["*.example.com"] (missing: skip)))"#
        );
        assert_eq!(compact_all(&[]), "-");
        // What --when reads, it shows the same way.
        assert_eq!(compact(&parse_when("context:/ticket exists").unwrap()), "context:/ticket exists");
    }

    #[test]
    fn results_say_what_was_seen() {
        let r = ConditionResult {
            path: "conditions[0]".into(),
            source: Source::Arguments,
            pointer: "/amount".into(),
            op: Operator::Lt,
            expected: json!(500),
            observed: Some(json!(900)),
            holds: false,
            error: None,
        };
        assert_eq!(result_text(&r), "conditions[0]: /amount lt 500: saw 900, does not hold");
        let missing = ConditionResult { observed: None, error: Some("no value".into()), ..r };
        assert_eq!(result_text(&missing), "conditions[0]: /amount lt 500: missing, not evaluated: no value");
    }
}
