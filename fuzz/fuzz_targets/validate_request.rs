//! The `/v1/validate` body as the worker reads it (`src/http.rs` `parse_json`, then
//! `limits::check_validate`): bytes → UTF-8 → JSON value → object → `ValidateRequest` → bounds.
//! No panic anywhere on the way; whatever passes the bounds keeps the documented shape, survives a
//! serialize/parse round trip, and can be redacted and classified without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oakauth_core::limits::{self, MAX_CONTEXT_BYTES, MAX_NAME_LEN, MAX_REASONING_CHARS};
use oakauth_core::wire::ValidateRequest;
use oakauth_core::{reasoning, redact};
use serde_json::Value;

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:/-".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    if data.len() > limits::MAX_VALIDATE_BODY {
        return; // the worker answers 413 before parsing
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(value) = serde_json::from_str::<Value>(text) else { return };
    if !value.is_object() {
        return;
    }
    // The worker parses through a value, so a repeated key keeps its last value where a direct
    // parse would reject it ("duplicate field"); otherwise the two must agree.
    let direct = serde_json::from_str::<ValidateRequest>(text);
    let Ok(req) = serde_json::from_value::<ValidateRequest>(value) else {
        assert!(direct.is_err(), "direct parse accepted what the value parse rejected: {text:?}");
        return;
    };
    if let Ok(d) = &direct {
        assert_eq!(d, &req, "{text:?}");
    }

    if limits::check_validate(&req).is_err() {
        return;
    }
    assert!(is_name(&req.tool), "bounds let through tool {:?}", req.tool);
    assert!(is_name(&req.scope), "bounds let through scope {:?}", req.scope);
    if let Some(r) = &req.reasoning {
        assert!(r.chars().count() <= MAX_REASONING_CHARS);
    }
    if let Some(ctx) = &req.context {
        assert!(serde_json::to_string(ctx).unwrap().len() <= MAX_CONTEXT_BYTES);
    }
    if let Some(args) = &req.arguments {
        assert!(serde_json::to_string(args).unwrap().len() <= limits::MAX_ARGUMENTS_BYTES);
    }

    let again: ValidateRequest = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    assert_eq!(again, req);

    let _ = reasoning::provided(req.reasoning.as_deref());
    if let Some(r) = &req.reasoning {
        let _ = redact::text(r);
    }
    if let Some(ctx) = &req.context {
        let redacted = redact::context(ctx);
        // What is stored is still a JSON object that serializes.
        serde_json::to_string(&redacted).unwrap();
    }
    if let Some(args) = &req.arguments {
        // Arguments as logged: redacted, long strings cut with their digest; still JSON, and
        // no string in it is longer than the cut (plus the marker and the digest).
        let logged = redact::arguments(args);
        let text = serde_json::to_string(&logged).unwrap();
        fn longest(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => s.chars().count(),
                serde_json::Value::Array(a) => a.iter().map(longest).max().unwrap_or(0),
                serde_json::Value::Object(o) => o.values().map(longest).max().unwrap_or(0),
                _ => 0,
            }
        }
        assert!(longest(&serde_json::from_str(&text).unwrap()) <= redact::MAX_LOGGED_ARGUMENT_CHARS + 80);
    }
});
