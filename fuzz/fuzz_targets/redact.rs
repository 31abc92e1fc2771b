//! Redaction: `redact::text`, `redact::identifier` and `redact::context` never panic, and an
//! OakAuth key (agent or admin) placed anywhere in the caller's text or context (a value, a nested
//! value, an object key) is never in what would be stored, whatever surrounds it. A provider token
//! and a URL password, set off by spaces, never survive `redact::text` whatever text surrounds
//! them. Secret-named context fields are always `[REDACTED]` (or null when they were null).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::redact;
use serde_json::{Map, Value};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    free_text: &'a str,
    before: &'a str,
    after: &'a str,
    admin: bool,
    random: [u8; 32],
    /// Where in the context the key goes: 0 value, 1 nested value, 2 array item, 3 object key.
    place: u8,
    field: &'a str,
    context_json: &'a str,
}

fn check_secret_fields(map: &Map<String, Value>, original: &Map<String, Value>) {
    for (k, v) in original {
        if redact::is_secret_key(k) {
            let stored = map.get(k);
            if v.is_null() {
                assert!(stored.map_or(true, Value::is_null), "{k}: {stored:?}");
            } else if let Some(stored) = stored {
                assert_eq!(stored, redact::REDACTED, "{k}");
            }
        } else if let (Some(Value::Object(inner)), Value::Object(orig)) = (map.get(k), v) {
            check_secret_fields(inner, orig);
        }
    }
}

fuzz_target!(|input: Input| {
    // Free text and arbitrary JSON contexts: no panic.
    let _ = redact::text(input.free_text);
    let _ = redact::identifier(input.free_text);
    if let Ok(Value::Object(ctx)) = serde_json::from_str::<Value>(input.context_json) {
        let out = redact::context(&ctx);
        check_secret_fields(&out, &ctx);
    }

    let kind = if input.admin { KeyKind::Admin } else { KeyKind::Agent };
    let random: String = input.random.iter().map(|b| BASE62[(*b % 62) as usize] as char).collect();
    let secret = keys::from_random(kind, &random).secret;

    let embedded = format!("{}{}{}", input.before, secret, input.after);
    let out = redact::text(&embedded);
    assert!(!out.contains(&secret), "text leaked the key: {embedded:?} -> {out:?}");

    // Shapes that are secrets only where they stand: a provider token, a password in a URL.
    // (Skipped when the surrounding text itself holds the random part, which nothing could hide.)
    if !input.before.contains(&random) && !input.after.contains(&random) {
        let planted = format!("{} ghp_9{random} postgres://admin:{random}@db/app {}", input.before, input.after);
        let out = redact::text(&planted);
        assert!(!out.contains(&random), "text leaked a planted secret: {planted:?} -> {out:?}");
    }

    let field = input.field.to_string();
    let value = Value::String(embedded.clone());
    let mut ctx = Map::new();
    match input.place % 4 {
        0 => {
            ctx.insert(field, value);
        }
        1 => {
            let mut inner = Map::new();
            inner.insert(field, value);
            ctx.insert("details".into(), Value::Object(inner));
        }
        2 => {
            ctx.insert(field, Value::Array(vec![Value::Bool(true), value]));
        }
        _ => {
            ctx.insert(embedded.clone(), Value::Bool(true));
        }
    }
    let stored = serde_json::to_string(&redact::context(&ctx)).unwrap();
    assert!(!stored.contains(&secret), "context leaked the key: {ctx:?} -> {stored}");
});
