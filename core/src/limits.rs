//! Bounds on every input, checked before anything else looks at it.

use serde_json::{Map, Value};

use crate::wire::{CreateAgent, CreateRule, CreateTool, RateLimitConfig, UpdateAgent, UpdateTool, ValidateRequest};
use crate::Error;

/// Largest request body accepted by `/v1/validate`, in bytes (arguments, context and reasoning
/// together, each bounded on its own too).
pub const MAX_VALIDATE_BODY: usize = 64 * 1024;
/// Largest `arguments` of a validate call, as JSON.
pub const MAX_ARGUMENTS_BYTES: usize = 32 * 1024;
/// Deepest nesting of `arguments`.
pub const MAX_ARGUMENTS_DEPTH: usize = 16;
/// Largest request body accepted by admin endpoints, in bytes.
pub const MAX_ADMIN_BODY: usize = 64 * 1024;
pub const MAX_NAME_LEN: usize = 128;
pub const MAX_AGENT_NAME_LEN: usize = 100;
pub const MAX_DESCRIPTION_LEN: usize = 1000;
pub const MAX_REASONING_CHARS: usize = 4000;
pub const MAX_CONTEXT_BYTES: usize = 8 * 1024;
pub const MAX_CONTEXT_DEPTH: usize = 8;
pub const MAX_SCOPES_PER_TOOL: usize = 64;
pub const MAX_CAPACITY: u32 = 100_000;
pub const MAX_REFILL_PER_SECOND: f64 = 100_000.0;
/// Most rules one agent may have.
pub const MAX_RULES_PER_AGENT: u32 = 1000;
pub const MAX_OVERLAP_SECONDS: u32 = 7 * 24 * 3600;
pub const DEFAULT_OVERLAP_SECONDS: u32 = 300;
pub const MAX_PAGE_SIZE: u32 = 200;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// Tool and scope names: 1..=128 of `A-Z a-z 0-9 _ . : / -`, starting with a letter or digit.
pub fn check_name(field: &str, s: &str) -> Result<(), Error> {
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:/-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} must be 1 to {MAX_NAME_LEN} characters of A-Z, a-z, 0-9, '_', '.', ':', '/', '-', starting with a letter or digit"
        )))
    }
}

/// Display names: 1..=100 characters, no control characters, not blank.
pub fn check_display_name(field: &str, s: &str) -> Result<(), Error> {
    if s.trim().is_empty() || s.chars().count() > MAX_AGENT_NAME_LEN || s.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} must be 1 to {MAX_AGENT_NAME_LEN} characters, not blank, without control characters"
        )));
    }
    Ok(())
}

pub fn check_validate(req: &ValidateRequest) -> Result<(), Error> {
    check_name("tool", &req.tool)?;
    check_name("scope", &req.scope)?;
    if let Some(r) = &req.reasoning {
        if r.chars().count() > MAX_REASONING_CHARS {
            return Err(invalid(format!("reasoning must be at most {MAX_REASONING_CHARS} characters")));
        }
    }
    if let Some(ctx) = &req.context {
        check_context(ctx)?;
    }
    if let Some(args) = &req.arguments {
        check_arguments(args)?;
    }
    if req.approval_id.as_ref().is_some_and(|id| id.len() > MAX_APPROVAL_ID_LEN) {
        return Err(invalid(format!("approval_id must be at most {MAX_APPROVAL_ID_LEN} characters")));
    }
    Ok(())
}

/// Longest `approval_id` accepted (ids are `apr_` and 20 characters; the bound leaves room).
pub const MAX_APPROVAL_ID_LEN: usize = 64;

/// `arguments`: at most 32 KiB as JSON, nested at most 16 deep.
pub fn check_arguments(args: &Map<String, Value>) -> Result<(), Error> {
    let size = serde_json::to_string(args).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > MAX_ARGUMENTS_BYTES {
        return Err(invalid(format!("arguments must be at most {MAX_ARGUMENTS_BYTES} bytes as JSON")));
    }
    if 1 + args.values().map(depth).max().unwrap_or(0) > MAX_ARGUMENTS_DEPTH {
        return Err(invalid(format!("arguments must be nested at most {MAX_ARGUMENTS_DEPTH} levels deep")));
    }
    Ok(())
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

pub fn check_context(ctx: &Map<String, Value>) -> Result<(), Error> {
    let size = serde_json::to_string(ctx).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > MAX_CONTEXT_BYTES {
        return Err(invalid(format!("context must be at most {MAX_CONTEXT_BYTES} bytes as JSON")));
    }
    if 1 + ctx.values().map(depth).max().unwrap_or(0) > MAX_CONTEXT_DEPTH {
        return Err(invalid(format!("context must nest at most {MAX_CONTEXT_DEPTH} levels deep")));
    }
    Ok(())
}

pub fn check_rate_limit(rl: &RateLimitConfig) -> Result<(), Error> {
    if rl.capacity == 0 || rl.capacity > MAX_CAPACITY {
        return Err(invalid(format!("rate_limit.capacity must be between 1 and {MAX_CAPACITY}")));
    }
    if !(rl.refill_per_second > 0.0 && rl.refill_per_second <= MAX_REFILL_PER_SECOND) {
        return Err(invalid(format!(
            "rate_limit.refill_per_second must be greater than 0 and at most {MAX_REFILL_PER_SECOND}"
        )));
    }
    Ok(())
}

pub fn check_create_agent(b: &CreateAgent) -> Result<(), Error> {
    check_display_name("name", &b.name)?;
    if let Some(rl) = &b.rate_limit {
        check_rate_limit(rl)?;
    }
    Ok(())
}

pub fn check_update_agent(b: &UpdateAgent) -> Result<(), Error> {
    if let Some(n) = &b.name {
        check_display_name("name", n)?;
    }
    if let Some(rl) = &b.rate_limit {
        check_rate_limit(rl)?;
    }
    Ok(())
}

pub fn check_description(d: &str) -> Result<(), Error> {
    if d.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(invalid(format!("description must be at most {MAX_DESCRIPTION_LEN} characters")));
    }
    Ok(())
}

fn check_scopes(scopes: &[String]) -> Result<(), Error> {
    if scopes.is_empty() || scopes.len() > MAX_SCOPES_PER_TOOL {
        return Err(invalid(format!("scopes must list 1 to {MAX_SCOPES_PER_TOOL} scopes")));
    }
    for s in scopes {
        check_name("each scope", s)?;
    }
    let mut seen = std::collections::HashSet::new();
    if !scopes.iter().all(|s| seen.insert(s)) {
        return Err(invalid("scopes must not repeat"));
    }
    Ok(())
}

pub fn check_create_tool(b: &CreateTool) -> Result<(), Error> {
    check_name("name", &b.name)?;
    if let Some(d) = &b.description {
        check_description(d)?;
    }
    check_scopes(&b.scopes)
}

pub fn check_update_tool(b: &UpdateTool) -> Result<(), Error> {
    if let Some(n) = &b.name {
        check_name("name", n)?;
    }
    if let Some(d) = &b.description {
        check_description(d)?;
    }
    if let Some(s) = &b.scopes {
        check_scopes(s)?;
    }
    Ok(())
}

pub fn check_create_rule(b: &CreateRule) -> Result<(), Error> {
    check_name("tool", &b.tool)?;
    check_name("scope", &b.scope)?;
    b.description.as_deref().map_or(Ok(()), check_description)
}

/// Parses a page size: default when absent, 1..=200 otherwise.
pub fn page_size(raw: Option<&str>) -> Result<u32, Error> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            _ => Err(invalid(format!("limit must be an integer from 1 to {MAX_PAGE_SIZE}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(tool: &str, scope: &str) -> ValidateRequest {
        ValidateRequest::new(tool, scope)
    }

    #[test]
    fn names_are_bounded_and_restricted() {
        assert!(check_validate(&req("filesystem", "write")).is_ok());
        assert!(check_validate(&req("stripe.charges", "refund:create")).is_ok());
        assert!(check_validate(&req("", "write")).is_err());
        assert!(check_validate(&req("fs", "")).is_err());
        assert!(check_validate(&req("fs tool", "write")).is_err());
        assert!(check_validate(&req("-fs", "write")).is_err());
        assert!(check_validate(&req("fs\n", "write")).is_err());
        assert!(check_validate(&req(&"a".repeat(128), "w")).is_ok());
        assert!(check_validate(&req(&"a".repeat(129), "w")).is_err());
    }

    #[test]
    fn reasoning_and_context_are_bounded() {
        let mut r = req("fs", "w");
        r.reasoning = Some("x".repeat(MAX_REASONING_CHARS));
        assert!(check_validate(&r).is_ok());
        r.reasoning = Some("x".repeat(MAX_REASONING_CHARS + 1));
        assert!(check_validate(&r).is_err());
        r.reasoning = None;
        r.context = Some(json!({"blob": "x".repeat(MAX_CONTEXT_BYTES)}).as_object().unwrap().clone());
        assert!(check_validate(&r).is_err());
        let mut deep = json!(1);
        for _ in 0..MAX_CONTEXT_DEPTH {
            deep = json!([deep]);
        }
        r.context = Some(json!({"d": deep}).as_object().unwrap().clone());
        assert!(check_validate(&r).is_err());
        r.context = Some(json!({"d": [[1]]}).as_object().unwrap().clone());
        assert!(check_validate(&r).is_ok());
    }

    #[test]
    fn rate_limits_are_bounded() {
        let ok = RateLimitConfig { capacity: 10, refill_per_second: 0.5 };
        assert!(check_rate_limit(&ok).is_ok());
        for bad in [(0, 1.0), (MAX_CAPACITY + 1, 1.0), (1, 0.0), (1, -1.0), (1, f64::NAN), (1, f64::INFINITY)] {
            let rl = RateLimitConfig { capacity: bad.0, refill_per_second: bad.1 };
            assert!(check_rate_limit(&rl).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names_reject_blank_and_control_text() {
        assert!(check_display_name("name", "support bot").is_ok());
        assert!(check_display_name("name", "  ").is_err());
        assert!(check_display_name("name", "a\u{7}b").is_err());
        assert!(check_display_name("name", &"é".repeat(101)).is_err());
    }

    #[test]
    fn scopes_must_be_nonempty_unique_and_named() {
        let tool = |scopes: &[&str]| CreateTool {
            name: "fs".into(),
            description: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            risk_level: crate::wire::RiskLevel::Write,
            input_schema: None,
        };
        assert!(check_create_tool(&tool(&["read", "write"])).is_ok());
        assert!(check_create_tool(&tool(&[])).is_err());
        assert!(check_create_tool(&tool(&["read", "read"])).is_err());
        assert!(check_create_tool(&tool(&["bad scope"])).is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some("200")).unwrap(), 200);
        for bad in ["0", "201", "-1", "ten", ""] {
            assert!(page_size(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn approval_ids_are_bounded() {
        let mut r = req("t", "s");
        r.approval_id = Some("a".repeat(MAX_APPROVAL_ID_LEN));
        assert!(check_validate(&r).is_ok());
        r.approval_id = Some("a".repeat(MAX_APPROVAL_ID_LEN + 1));
        assert!(check_validate(&r).unwrap_err().to_string().contains("approval_id"));
    }
}
