//! Removing secrets from what the caller sends before it is stored.
//!
//! In `context`, the value of any key whose name suggests a secret (password, token, api_key,
//! authorization, cookie, ...) becomes `[REDACTED]`, at any depth. In every stored string
//! (context values and reasoning), words that look like credentials become `[REDACTED]`: the word
//! after `Bearer`/`Basic`, `name=value` pairs whose name suggests a secret, OakAuth keys, and the
//! well-known shapes of provider keys and JWTs.

use serde_json::{Map, Value};

pub const REDACTED: &str = "[REDACTED]";

const SECRET_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "auth",
    "credential",
    "cookie",
    "session",
    "private_key",
    "privatekey",
    "access_key",
    "accesskey",
    "signature",
    "bearer",
    "passphrase",
];

const SECRET_WORD_PREFIXES: &[&str] = &[
    "oak_",
    "oakadm_",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "pk_live_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "AKIA",
    "ASIA",
    "AIza",
    "hf_",
    "npm_",
    "eyJ",
];

/// Whether a context key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| lower.contains(part))
}

/// Returns a copy of `context` with secrets replaced.
pub fn context(context: &Map<String, Value>) -> Map<String, Value> {
    context
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_key(k) && !v.is_null() { Value::String(REDACTED.to_string()) } else { value(v) };
            // Names are stored too: a key pasted as a field name must not survive either.
            (text(k), v)
        })
        .collect()
}

fn value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(value).collect()),
        Value::Object(map) => Value::Object(context(map)),
        other => other.clone(),
    }
}

/// Replaces credential-looking words in free text.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut redact_next = false;
    let mut rest = s;
    while !rest.is_empty() {
        let ws = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
        out.push_str(&rest[..ws]);
        rest = &rest[ws..];
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if redact_next {
            out.push_str(&redact_word_keeping_quotes(word));
            redact_next = false;
            continue;
        }
        let bare = word.trim_matches(|c: char| "\"'`,;()[]{}<>".contains(c));
        let lower = bare.to_ascii_lowercase();
        if lower == "bearer" || lower == "basic" || lower == "token" {
            redact_next = true;
            out.push_str(word);
        } else if let Some(eq) = assignment_split(bare) {
            let (name, _) = bare.split_at(eq);
            let start = word.find(bare).unwrap_or(0);
            out.push_str(&word[..start + eq + 1]);
            out.push_str(REDACTED);
            out.push_str(&word[start + bare.len()..]);
            let _ = name;
        } else if looks_like_credential(bare) {
            out.push_str(&word.replace(bare, REDACTED));
        } else {
            out.push_str(word);
        }
    }
    redact_embedded_keys(out)
}

/// Redacts OakAuth keys wherever they sit, even glued to other characters (`"k":"oak_…"`,
/// `?key=oak_…`, `«oak_…»`), which the word-by-word pass above does not see as words.
fn redact_embedded_keys(s: String) -> String {
    use crate::keys::{ADMIN_PREFIX, AGENT_PREFIX};
    if !s.contains(AGENT_PREFIX) && !s.contains(ADMIN_PREFIX) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some((at, kind_len)) =
        [AGENT_PREFIX, ADMIN_PREFIX].iter().filter_map(|p| rest.find(p).map(|i| (i, p.len()))).min()
    {
        let body = rest[at + kind_len..].bytes().take_while(u8::is_ascii_alphanumeric).count();
        if body >= 16 {
            out.push_str(&rest[..at]);
            out.push_str(REDACTED);
            rest = &rest[at + kind_len + body..];
        } else {
            // Not a key; its tail may still run into one (`oak_abcoakadm_…`).
            out.push_str(&rest[..at + kind_len]);
            rest = &rest[at + kind_len..];
        }
    }
    out.push_str(rest);
    out
}

/// For `name=value` or `name:value` where name suggests a secret, the index of the separator.
fn assignment_split(word: &str) -> Option<usize> {
    let sep = word.find(['=', ':'])?;
    let (name, value) = (&word[..sep], &word[sep + 1..]);
    let name = name.trim_matches(|c: char| c == '"' || c == '\'' || c == '-');
    (!value.is_empty() && !name.is_empty() && is_secret_key(name)).then_some(sep)
}

fn redact_word_keeping_quotes(word: &str) -> String {
    let bare = word.trim_matches(|c: char| "\"'`,;()[]{}<>".contains(c));
    if bare.is_empty() {
        word.to_string()
    } else {
        word.replacen(bare, REDACTED, 1)
    }
}

fn looks_like_credential(word: &str) -> bool {
    if word.len() < 16 {
        return false;
    }
    if SECRET_WORD_PREFIXES.iter().any(|p| word.starts_with(p)) {
        return true;
    }
    // Long unbroken runs of mixed letters and digits are likely keys (hex digests, base64 tokens).
    word.len() >= 32
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn secret_named_fields_are_redacted_at_any_depth() {
        let out = context(&ctx(json!({
            "path": "/tmp/a",
            "password": "hunter2",
            "nested": {"api_key": "abc", "AUTHORIZATION": "x", "list": [{"refresh_token": "t"}]},
            "session_id": 42,
        })));
        assert_eq!(out["path"], "/tmp/a");
        assert_eq!(out["password"], REDACTED);
        assert_eq!(out["nested"]["api_key"], REDACTED);
        assert_eq!(out["nested"]["AUTHORIZATION"], REDACTED);
        assert_eq!(out["nested"]["list"][0]["refresh_token"], REDACTED);
        assert_eq!(out["session_id"], REDACTED);
    }

    #[test]
    fn bearer_strings_are_redacted_in_free_text() {
        let s = text("curl -H 'Authorization: Bearer abc.def.ghi' https://x");
        assert!(!s.contains("abc.def.ghi"), "{s}");
        assert!(s.contains("Bearer [REDACTED]'"), "{s}");
        assert!(s.contains("https://x"));
    }

    #[test]
    fn oakauth_and_provider_keys_are_redacted_in_free_text() {
        let key = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        for secret in
            [key.as_str(), "sk-proj-abcdefghijklmnop1234", "ghp_0123456789abcdefghijABCDEFGHIJ", "AKIAIOSFODNN7EXAMPLE"]
        {
            let s = text(&format!("use \"{secret}\" to log in"));
            assert!(!s.contains(secret), "{s}");
            assert!(s.contains(REDACTED));
            assert!(s.starts_with("use \"") && s.ends_with("\" to log in"), "{s}");
        }
    }

    #[test]
    fn assignments_to_secret_names_are_redacted() {
        let s = text("connect with password=hunter2 and user=bob");
        assert_eq!(s, "connect with password=[REDACTED] and user=bob");
        let s = text("DB_PASSWORD:topsecret");
        assert_eq!(s, "DB_PASSWORD:[REDACTED]");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let t = "Deleting /tmp/build-cache because the user asked to free disk space.\nSecond line.";
        assert_eq!(text(t), t);
        assert_eq!(text(""), "");
        assert_eq!(text("  spaced  out  "), "  spaced  out  ");
    }

    #[test]
    fn long_hex_digests_are_redacted() {
        let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(text(digest), REDACTED);
    }

    #[test]
    fn oakauth_keys_glued_to_other_characters_are_redacted() {
        // Found by fuzz/fuzz_targets/redact.rs: a key inside JSON-looking text was kept.
        let agent = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        let admin = crate::keys::generate(crate::keys::KeyKind::Admin).unwrap().secret;
        for secret in [&agent, &admin] {
            for shape in ["{\"k\":\"KEY\"}", "https://x/?key=KEY&a=1", "«KEY»", "nestedKEYxyz", "x:KEY", "(KEY)."] {
                let input = shape.replace("KEY", secret);
                let s = text(&input);
                assert!(!s.contains(secret.as_str()), "{input} -> {s}");
                assert!(s.contains(REDACTED), "{s}");
            }
        }
        // A short `oak_…` word running straight into a key.
        let run_in = format!("deoak_wYtrdWn{admin}");
        assert!(!text(&run_in).contains(admin.as_str()), "{run_in}");
        assert_eq!(
            text("oak_ and oakadm_ are prefixes; oak_short too"),
            "oak_ and oakadm_ are prefixes; oak_short too"
        );
    }

    #[test]
    fn keys_used_as_context_field_names_are_redacted() {
        let key = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        let mut ctx = Map::new();
        ctx.insert(key.clone(), Value::Bool(true));
        ctx.insert("path".into(), Value::String("/tmp".into()));
        let stored = serde_json::to_string(&context(&ctx)).unwrap();
        assert!(!stored.contains(&key), "{stored}");
        assert!(stored.contains("\"path\":\"/tmp\""), "{stored}");
    }

    #[test]
    fn null_secret_fields_stay_null() {
        let out = context(&ctx(json!({"token": null})));
        assert_eq!(out["token"], Value::Null);
    }
}
