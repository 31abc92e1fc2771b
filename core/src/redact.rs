//! Removing secrets from what the caller sends before it is stored.
//!
//! The audit log is append-only, so a secret that reaches it can never be purged: everything the
//! caller sends is redacted first. Redaction replaces a secret with `[REDACTED]`; it never panics,
//! and its time is linear in the input times the (fixed) number of known prefixes.
//!
//! - [`context`]: the value of a field whose name suggests a secret ([`is_secret_key`]) is
//!   replaced whole, at any depth and whatever its type (a null stays null). Every other string,
//!   and every field name, goes through [`text`].
//! - [`text`] (reasoning, context strings and field names) redacts:
//!   - the body of a private-key PEM block, from `-----BEGIN … PRIVATE KEY-----` to the next
//!     `-----END` (or the end of the text), whether its lines end in newlines or in a literal
//!     `\n`; the header and footer stay;
//!   - in a URL (`scheme://…`): the password of its userinfo (`postgres://admin:[REDACTED]@db`; the
//!     user name stays), a userinfo without a password whole (git and many APIs put a token
//!     there), the value of each query or fragment pair whose name suggests a secret (`?key=`,
//!     `access_token=`, `sig=`), and the secret path of Slack and Discord webhook URLs;
//!   - the value after `name=`, `name:`, `name = …`, `"name": "…"` when the name suggests a
//!     secret: a quoted value up to its closing quote, otherwise up to whitespace, a quote, `&` or
//!     `\` (when the value is `Bearer`/`Basic`/`Token`, the word after it instead);
//!   - the word after `Bearer`, `Basic` and `token`;
//!   - OakAuth keys anywhere, even inside a word;
//!   - tokens that start with a known provider prefix (`ghp_`, `sk-`, `AKIA`, `AIza`, `xoxb-`,
//!     `xoxe.`, `eyJ`, …) anywhere but right after an ASCII letter or digit, when they are at least
//!     16 characters long and look random (a digit, or both cases, after the prefix);
//!   - runs of 32 or more base64/hex characters with both letters and digits, between
//!     whitespace, quotes and brackets, a final `.` aside (digests, raw keys).
//!
//!   Each rule returns the byte ranges it finds in the original text; the ranges are merged and
//!   replaced once, so one rule's `[REDACTED]` never hides a secret from another.
//! - [`identifier`] (tool and scope names): OakAuth keys, provider tokens and long random segments
//!   only, since `secrets:read` is a scope name, not an assignment.
//!
//! Not recognised: a secret with neither a telling name nor a known shape (`the password is
//! hunter2`), and a URL password holding an unencoded `/`, `?` or `#` (which RFC 3986 forbids).

use serde_json::{Map, Value};
use sha2::Digest;
use std::ops::Range;

pub const REDACTED: &str = "[REDACTED]";

/// Long, distinctive parts of secret names, matched anywhere in the name once it is lowercased and
/// its separators removed (`DB_PASSWORD`, `x-api-key` → `xapikey`, `databaseUrl`).
const SECRET_NAME_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "cookie",
    "session",
    "privatekey",
    "accesskey",
    "signature",
    "bearer",
    "connectionstring",
    "connstr",
    "databaseurl",
    "dburl",
];

/// Short secret names, matched only as whole words of the name (`key`, `ssh_key`, `userPin`), so
/// that `monkey`, `keyboard_layout`, `spinner` and `author` are not secrets.
const SECRET_NAME_WORDS: &[&str] = &[
    "key", "pass", "pin", "dsn", "otp", "totp", "mfa", "auth", "oauth", "sig", "jwt", "creds", "private", "csrf",
    "xsrf",
];

/// Prefixes of provider credentials. OakAuth's own keys are found by [`oakauth_keys`].
const PROVIDER_PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
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
    "xoxe.",
    "xoxe-",
    "xoxs-",
    "xoxr-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "hf_",
    "npm_",
    "pypi-",
    "eyJ",
];

/// Hosts and path prefixes of URLs whose remaining path is itself the credential (webhooks).
const SECRET_PATH_URLS: &[(&str, &str)] = &[
    ("hooks.slack.com", "/services/"),
    ("hooks.slack.com", "/workflows/"),
    ("hooks.slack.com", "/triggers/"),
    ("discord.com", "/api/webhooks/"),
    ("discordapp.com", "/api/webhooks/"),
];

/// Characters around a word that are not part of it (`"ghp_…",` → `ghp_…`).
const WORD_PUNCTUATION: &str = "\"'`,;()[]{}<>";

/// Whether a field or parameter name suggests a secret: after lowercasing and removing separators
/// it contains one of the long parts (password, secret, token, apikey, session, databaseurl, …), or
/// one of its words is a short secret name (key, pass, pin, dsn, otp, mfa, auth, private, …).
/// Words are split at anything not a letter or digit, at camelCase humps and at letter/digit edges.
pub fn is_secret_key(key: &str) -> bool {
    let words = name_words(key);
    let joined = words.concat();
    SECRET_NAME_PARTS.iter().any(|part| joined.contains(part))
        || words.iter().any(|w| SECRET_NAME_WORDS.contains(&w.as_str()))
}

/// The lowercase words of a name: `dbPass` → db, pass; `APIKey2` → api, key, 2; `x-api_key` → x, api, key.
fn name_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if let (Some(&prev), false) = (i.checked_sub(1).and_then(|j| chars.get(j)), word.is_empty()) {
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let hump = c.is_uppercase() && (!prev.is_uppercase() || next_is_lower);
            let digit_edge = c.is_ascii_digit() != prev.is_ascii_digit();
            if hump || digit_edge {
                words.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
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

/// Longest argument string kept whole in the audit log, in characters.
pub const MAX_LOGGED_ARGUMENT_CHARS: usize = 256;

/// The tool call's arguments as the audit log keeps them: redacted like [`context`], and each
/// string longer than [`MAX_LOGGED_ARGUMENT_CHARS`] cut, marked with `…` and followed by the
/// SHA-256 of the whole string (`[sha256:…]`). (A replay reads those two marks to know that a
/// logged call may differ from the real one.)
pub fn arguments(args: &Map<String, Value>) -> Map<String, Value> {
    fn cut(v: Value) -> Value {
        match v {
            Value::String(s) if s.chars().count() > MAX_LOGGED_ARGUMENT_CHARS => {
                let digest = crate::keys::hex(&sha2::Sha256::digest(s.as_bytes()));
                let head: String = s.chars().take(MAX_LOGGED_ARGUMENT_CHARS).collect();
                Value::String(format!("{head}… [sha256:{digest}]"))
            }
            Value::Array(items) => Value::Array(items.into_iter().map(cut).collect()),
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, cut(v))).collect()),
            other => other,
        }
    }
    context(args).into_iter().map(|(k, v)| (k, cut(v))).collect()
}

fn value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(value).collect()),
        Value::Object(map) => Value::Object(context(map)),
        other => other.clone(),
    }
}

/// Replaces secrets in free text (see the module documentation for what is recognised).
pub fn text(s: &str) -> String {
    let mut spans = pem_private_keys(s);
    spans.extend(url_secrets(s));
    spans.extend(secret_assignments(s));
    spans.extend(words_after_auth_schemes(s));
    spans.extend(long_random_runs(s));
    spans.extend(oakauth_keys(s));
    spans.extend(provider_tokens(s));
    splice(s, spans)
}

/// Replaces secrets in a tool or scope name (`A-Z a-z 0-9 _ . : / -`): OakAuth keys, provider
/// tokens and long random segments. Unlike [`text`], `name:value` is not read as an assignment.
pub fn identifier(s: &str) -> String {
    let mut spans = oakauth_keys(s);
    spans.extend(provider_tokens(s));
    spans.extend(pieces(s, |c| ":/.".contains(c)).into_iter().filter(|r| is_long_random_run(&s[r.clone()])));
    splice(s, spans)
}

/// Replaces each span of `s` with `[REDACTED]`, merging spans that overlap or touch.
fn splice(s: &str, mut spans: Vec<Range<usize>>) -> String {
    spans.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for mut r in spans.into_iter().filter(|r| r.start < r.end) {
        // Every finder cuts at char boundaries; widening keeps a mistake from panicking or leaking.
        while !s.is_char_boundary(r.start) {
            r.start -= 1;
        }
        while r.end < s.len() && !s.is_char_boundary(r.end) {
            r.end += 1;
        }
        r.end = r.end.min(s.len());
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut done = 0;
    for r in merged {
        out.push_str(&s[done..r.start]);
        out.push_str(REDACTED);
        done = r.end;
    }
    out.push_str(&s[done..]);
    out
}

/// The ranges of the pieces of `s` between separator characters.
fn pieces(s: &str, is_separator: impl Fn(char) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (is_separator(c), start) {
            (true, Some(b)) => {
                out.push(b..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push(b..s.len());
    }
    out
}

/// Bodies of private-key PEM blocks. Markers are searched for, not lines, so a key pasted with
/// literal `\n` sequences, or cut short before its footer, is found too.
fn pem_private_keys(s: &str) -> Vec<Range<usize>> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    const END: &str = "-----END";
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find(BEGIN) {
        let label_start = from + i + BEGIN.len();
        let label_len = s[label_start..].find(DASHES).filter(|&n| n <= 64);
        let Some(label_len) = label_len else {
            from = label_start;
            continue;
        };
        let body_start = label_start + label_len + DASHES.len();
        if !s[label_start..label_start + label_len].to_ascii_uppercase().contains("PRIVATE") {
            from = body_start;
            continue;
        }
        let body_end = s[body_start..].find(END).map_or(s.len(), |j| body_start + j);
        spans.push(body_start..body_end);
        from = body_end;
    }
    spans
}

/// Secrets inside URLs: userinfo, secret-named query and fragment values, webhook paths.
fn url_secrets(s: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let start = from + i + "://".len();
        let len = s[start..].find(|c: char| c.is_whitespace() || "\"'<>`\\".contains(c)).unwrap_or(s.len() - start);
        url_secrets_after_scheme(&s[start..start + len], start, &mut spans);
        from = start + len;
    }
    spans
}

/// `url` is what follows `scheme://`, up to the end of the URL; `at` is its offset in the text.
fn url_secrets_after_scheme(url: &str, at: usize, spans: &mut Vec<Range<usize>>) {
    let authority_len = url.find(['/', '?', '#']).unwrap_or(url.len());
    let authority = &url[..authority_len];
    let mut host = authority;
    // The last `@` ends the userinfo: an unencoded `@` in a password stays on the redacted side.
    if let Some(at_sign) = authority.rfind('@') {
        let password_start = authority[..at_sign].find(':').map_or(0, |colon| colon + 1);
        spans.push(at + password_start..at + at_sign);
        host = &authority[at_sign + 1..];
    }
    let host = host.split(':').next().unwrap_or_default();

    let rest = &url[authority_len..];
    let path_len = rest.find(['?', '#']).unwrap_or(rest.len());
    let path_at = at + authority_len;
    for (secret_host, prefix) in SECRET_PATH_URLS {
        if host.eq_ignore_ascii_case(secret_host) && rest[..path_len].starts_with(prefix) {
            spans.push(path_at + prefix.len()..path_at + path_len);
        }
    }

    // Query and fragment (`#access_token=…` in OAuth redirects) are both `name=value` pairs.
    let pairs_at = path_at + path_len;
    let pairs = &rest[path_len..];
    for pair in pieces(pairs, |c| "?#&;".contains(c)) {
        let pair_text = &pairs[pair.clone()];
        if let Some(eq) = pair_text.find('=') {
            if is_secret_key(&pair_text[..eq]) {
                spans.push(pairs_at + pair.start + eq + 1..pairs_at + pair.end);
            }
        }
    }
}

/// Values assigned to secret names: `password=…`, `token: …`, `"password": "…"`, `KEY = …`.
fn secret_assignments(s: &str) -> Vec<Range<usize>> {
    let mut spans: Vec<Range<usize>> = Vec::new();
    for (sep, _) in s.match_indices(['=', ':']) {
        // A separator inside a value already found is part of that value; skipping it also keeps
        // the scan linear.
        if spans.last().is_some_and(|last| sep < last.end) {
            continue;
        }
        if is_secret_key(name_before(&s[..sep])) {
            spans.extend(value_at(s, sep + 1));
        }
    }
    spans
}

/// The name that ends `before`, past whitespace and quotes (`"password" ` → `password`), at most
/// 64 characters of it.
fn name_before(before: &str) -> &str {
    let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || "\"'`\\".contains(c));
    let is_name_char = |c: char| c.is_alphanumeric() || "_-.".contains(c);
    let start = trimmed
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_name_char(c))
        .take(64)
        .last()
        .map_or(trimmed.len(), |(i, _)| i);
    &trimmed[start..]
}

/// Like [`quoted_len`] for a value of JSON that is itself escaped in a string
/// (`{\"pw\":\"a\\\"b\"}`): each `\x` of the text stands for `x` of the inner JSON.
fn escaped_quoted_len(body: &str) -> usize {
    let mut escaped = false;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        let inner = if c == '\\' { chars.next().map_or('\\', |(_, d)| d) } else { c };
        if escaped {
            escaped = false;
        } else if inner == '\\' {
            escaped = true;
        } else if inner == '"' {
            return i;
        }
    }
    body.len()
}

/// The value that starts at `from`, past whitespace: up to the closing quote when quoted (`"…"`,
/// `'…'`, or `\"…\"` in escaped JSON), otherwise up to whitespace, a quote, `&` or `\`.
fn value_at(s: &str, from: usize) -> Option<Range<usize>> {
    let rest = &s[from..];
    let start = from + (rest.len() - rest.trim_start().len());
    let v = &s[start..];
    // The quotes stay; only what is between them is the value.
    let (open, len) = if let Some(body) = v.strip_prefix("\\\"") {
        (2, escaped_quoted_len(body))
    } else if let Some(quote) = v.chars().next().filter(|c| "\"'`".contains(*c)) {
        (1, quoted_len(&v[1..], quote))
    } else {
        let word = &v[..v.find(|c: char| c.is_whitespace() || "\"'`&\\".contains(c)).unwrap_or(v.len())];
        // `Authorization: Bearer abc`: the credential is the next word, which words_after_auth_schemes finds.
        if ["bearer", "basic", "token"].iter().any(|scheme| word.eq_ignore_ascii_case(scheme)) {
            return None;
        }
        (0, word.len())
    };
    (len > 0).then(|| start + open..start + open + len)
}

/// The length of a quoted value up to its closing quote; a backslash escapes the next character.
fn quoted_len(body: &str, quote: char) -> usize {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return i;
        }
    }
    body.len()
}

/// The word after `Bearer`, `Basic` or `token` (`Authorization: Bearer abc` → `abc`).
fn words_after_auth_schemes(s: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut redact_next = false;
    for word in pieces(s, char::is_whitespace) {
        let text = &s[word.clone()];
        let bare = text.trim_matches(|c: char| WORD_PUNCTUATION.contains(c));
        if redact_next {
            let bare_start =
                word.start + text.len() - text.trim_start_matches(|c: char| WORD_PUNCTUATION.contains(c)).len();
            spans.push(bare_start..bare_start + bare.len());
        }
        redact_next =
            !redact_next && ["bearer", "basic", "token"].iter().any(|scheme| bare.eq_ignore_ascii_case(scheme));
    }
    spans
}

/// Long runs of base64/hex characters between whitespace and punctuation (a sentence's final
/// `.` aside): `"9f86d0…"`, `{"sha":"9f86d0…"}`.
fn long_random_runs(s: &str) -> Vec<Range<usize>> {
    pieces(s, |c| c.is_whitespace() || WORD_PUNCTUATION.contains(c))
        .into_iter()
        .map(|r| r.start..r.start + s[r].trim_end_matches('.').len())
        .filter(|r| is_long_random_run(&s[r.clone()]))
        .collect()
}

/// Long unbroken runs of mixed letters and digits are likely keys (hex digests, base64 tokens).
fn is_long_random_run(word: &str) -> bool {
    word.len() >= 32
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_alphabetic())
}

/// OakAuth keys wherever they sit, even glued to other characters (`"k":"oak_…"`, `«oak_…»`,
/// `nestedoak_…`): a prefix followed by at least 16 base62 characters.
fn oakauth_keys(s: &str) -> Vec<Range<usize>> {
    use crate::keys::{ADMIN_PREFIX, AGENT_PREFIX, INVITATION_PREFIX, SESSION_PREFIX};
    let mut spans = Vec::new();
    for (i, _) in s.char_indices() {
        let Some(prefix) =
            [ADMIN_PREFIX, SESSION_PREFIX, INVITATION_PREFIX, AGENT_PREFIX].into_iter().find(|p| s[i..].starts_with(p))
        else {
            continue;
        };
        let body = s[i + prefix.len()..].bytes().take_while(u8::is_ascii_alphanumeric).count();
        // Every position is tried, not only those after a match: a key's body may run into
        // another key's prefix (`oak_…oakadm_…`), whose own body lies past the first match.
        if body >= 16 {
            spans.push(i..i + prefix.len() + body);
        }
    }
    spans
}

/// Tokens that start with a provider prefix, anywhere except right after an ASCII letter or digit
/// (`sk-` in `task-list` is no token), at least 16 characters long and random-looking.
fn provider_tokens(s: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        let glued = prev.is_ascii_alphanumeric();
        prev = c;
        if i < from || glued {
            continue;
        }
        let rest = &s[i..];
        let Some(prefix) = PROVIDER_PREFIXES.iter().find(|p| rest.starts_with(*p)) else {
            continue;
        };
        let run = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b)).count();
        let len = rest[..run].trim_end_matches('.').len();
        if len >= 16 && looks_random(&rest[prefix.len()..len]) {
            spans.push(i..i + len);
        }
        // A token starting later in this run would end where it ends, with part of its body: if
        // this one is not a token, neither is that one. Skipping the run keeps the scan linear.
        from = i + run;
    }
    spans
}

/// A digit or both letter cases: true of random tokens, rare in prose and snake_case names.
fn looks_random(body: &str) -> bool {
    body.bytes().any(|b| b.is_ascii_digit())
        || (body.bytes().any(|b| b.is_ascii_uppercase()) && body.bytes().any(|b| b.is_ascii_lowercase()))
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
        let session = crate::keys::generate(crate::keys::KeyKind::Session).unwrap().secret;
        let invitation = crate::keys::generate(crate::keys::KeyKind::Invitation).unwrap().secret;
        for secret in [&agent, &admin, &session, &invitation] {
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

    // Security issue 12: each test below failed before the redaction gaps were closed.

    #[test]
    fn a_secret_in_a_url_query_string_is_redacted() {
        let s = text("GET https://api.example.com/v1?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW&q=cats now");
        assert_eq!(s, "GET https://api.example.com/v1?key=[REDACTED]&q=cats now");
        let s = text("callback https://app.example.com/cb?state=xyz&access_token=abc123");
        assert_eq!(s, "callback https://app.example.com/cb?state=xyz&access_token=[REDACTED]");
        let s = text("\"https://blob.example.net/c/f.txt?sv=2022&sig=0a1B2c3D%2B4e\"");
        assert_eq!(s, "\"https://blob.example.net/c/f.txt?sv=2022&sig=[REDACTED]\"");
    }

    #[test]
    fn a_secret_in_a_url_fragment_is_redacted() {
        let s = text("redirected to https://app.example.com/#access_token=abc123&expires_in=3600");
        assert_eq!(s, "redirected to https://app.example.com/#access_token=[REDACTED]&expires_in=3600");
    }

    #[test]
    fn a_password_in_url_userinfo_is_redacted() {
        assert_eq!(text("postgres://admin:S3cret@db/app"), "postgres://admin:[REDACTED]@db/app");
        assert_eq!(text("see https://user:pass@host/x."), "see https://user:[REDACTED]@host/x.");
        assert_eq!(text("redis://:hunter2@cache:6379/0"), "redis://:[REDACTED]@cache:6379/0");
        // An unencoded `@` in the password: the last `@` ends the userinfo.
        assert_eq!(text("mysql://root:p@ss@db:3306"), "mysql://root:[REDACTED]@db:3306");
    }

    #[test]
    fn a_url_userinfo_without_a_password_is_redacted() {
        let s = text("git clone https://x0ab12cd34@github.com/org/repo.git");
        assert_eq!(s, "git clone https://[REDACTED]@github.com/org/repo.git");
    }

    #[test]
    fn a_secret_named_value_after_a_spaced_colon_or_equals_is_redacted() {
        assert_eq!(text("password: hunter2"), "password: [REDACTED]");
        assert_eq!(text("password = hunter2 then"), "password = [REDACTED] then");
        assert_eq!(text("the \"password\": \"correct horse\" field"), "the \"password\": \"[REDACTED]\" field");
        assert_eq!(text("api-key : 'abc def'"), "api-key : '[REDACTED]'");
        assert_eq!(text("PIN=1234"), "PIN=[REDACTED]");
        // A secret value that is an authorization scheme keeps the scheme and loses the credential.
        assert_eq!(text("Authorization: Basic dXNlcjpw"), "Authorization: Basic [REDACTED]");
    }

    #[test]
    fn secrets_in_compact_json_inside_strings_are_redacted() {
        let s = text(r#"{"gh":"ghp_0123456789abcdefghijABCDEFGHIJ"}"#);
        assert_eq!(s, r#"{"gh":"[REDACTED]"}"#);
        let s = text(r#"{"user":"bob","password":"hunter2","n":1}"#);
        assert_eq!(s, r#"{"user":"bob","password":"[REDACTED]","n":1}"#);
        // JSON escaped inside JSON, and an escaped quote inside the value.
        let s = text(r#"{\"password\":\"hun\\\"ter2\"}"#);
        assert!(!s.contains("hun") && !s.contains("ter2"), "{s}");
        let s = text(r#"{"password":"hun\"ter2"}"#);
        assert_eq!(s, r#"{"password":"[REDACTED]}"#.replace("]}", "]\"}"));
        let s = text(r#"{"sha":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}"#);
        assert_eq!(s, r#"{"sha":"[REDACTED]"}"#);
    }

    #[test]
    fn provider_prefixes_inside_a_word_are_redacted() {
        for (input, expected) in [
            ("token:ghp_0123456789abcdefghijABCDEFGHIJ", "token:[REDACTED]"),
            ("(sk-proj-abcdefghijklmnop1234)", "([REDACTED])"),
            ("key=AKIAIOSFODNN7EXAMPLE", "key=[REDACTED]"),
            ("x=AKIAIOSFODNN7EXAMPLE,y=1", "x=[REDACTED],y=1"),
            ("\"ghp_0123456789abcdefghijABCDEFGHIJ\"", "\"[REDACTED]\""),
            ("ids:glpat-xY9zAbCdEfGhIjKlMnOp;", "ids:[REDACTED];"),
            ("«hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456»", "«[REDACTED]»"),
            ("with id=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl.", "with id=[REDACTED]."),
        ] {
            assert_eq!(text(input), expected, "{input}");
        }
    }

    #[test]
    fn provider_prefixes_in_ordinary_words_are_not_redacted() {
        for t in [
            "run task-list-for-every-user, then desk-booking",
            "install with npm_config_registry set",
            "the hf_hub_download_function helper",
            "AKIA is the prefix of AWS access key ids",
        ] {
            assert_eq!(text(t), t);
        }
    }

    #[test]
    fn pem_private_key_blocks_are_redacted() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\nXy9+Qw==\n-----END RSA PRIVATE KEY-----";
        let s = text(&format!("here:\n{pem}\nend"));
        assert!(!s.contains("MIIE") && !s.contains("Xy9+Qw=="), "{s}");
        assert!(s.contains("-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----\nend"), "{s}");
        // Cut short before its footer: redacted to the end.
        let s = text("-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE AAAA");
        assert_eq!(s, "-----BEGIN OPENSSH PRIVATE KEY-----[REDACTED]");
        // Certificates are public.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(text(cert), cert);
    }

    #[test]
    fn pem_private_key_blocks_pasted_with_literal_backslash_n_are_redacted() {
        let pem =
            r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nXy9+Qw==\n-----END PRIVATE KEY-----\n";
        let s = text(&format!("{{\"k\":\"{pem}\"}}"));
        assert!(!s.contains("MIIE") && !s.contains("Xy9+Qw=="), "{s}");
        assert_eq!(s, r#"{"k":"-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----\n"}"#);
    }

    #[test]
    fn slack_xoxe_xoxs_xoxr_tokens_are_redacted() {
        for token in [
            "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLQ",
            "xoxe-1-My0xLTEyMzQ1Njc4OTAxMi0x",
            "xoxs-1234567890-abcdefghij",
            "xoxr-123456789012-abcdefghij",
        ] {
            assert_eq!(text(&format!("slack {token} ok")), "slack [REDACTED] ok", "{token}");
        }
    }

    #[test]
    fn slack_webhook_urls_are_redacted() {
        let s = text("post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now");
        assert_eq!(s, "post to https://hooks.slack.com/services/[REDACTED] now");
        let s = text("https://discord.com/api/webhooks/123456/abcDEF?wait=true");
        assert_eq!(s, "https://discord.com/api/webhooks/[REDACTED]?wait=true");
    }

    #[test]
    fn short_and_connection_secret_names_are_secret_keys() {
        for name in [
            "key",
            "pass",
            "pin",
            "dsn",
            "otp",
            "mfa",
            "private",
            "connection_string",
            "database_url",
            "conn_str",
            "client_secret",
            "ssh-key",
            "sshKey",
            "userPIN",
            "dbPass",
            "DATABASE_URL",
            "databaseUrl",
            "SENTRY_DSN",
            "mfa_code",
            "X-Api-Key",
        ] {
            assert!(is_secret_key(name), "{name}");
        }
        let out = context(&ctx(json!({"key": "k1", "pin": 1234, "dsn": "x", "connection_string": "Server=db"})));
        assert!(out.values().all(|v| v == REDACTED), "{out:?}");
    }

    #[test]
    fn names_that_merely_contain_a_short_secret_name_are_not_secret_keys() {
        for name in ["monkey", "keyboard_layout", "spinner", "author", "bypass_cache", "compass", "turnkey", "path"] {
            assert!(!is_secret_key(name), "{name}");
        }
    }

    #[test]
    fn identifiers_lose_keys_but_keep_scope_names() {
        let key = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        assert_eq!(identifier(&format!("tool/{key}")), "tool/[REDACTED]");
        assert_eq!(identifier("github:ghp_0123456789abcdefghijABCDEFGHIJ"), "github:[REDACTED]");
        assert_eq!(
            identifier("sha:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            "sha:[REDACTED]"
        );
        for name in ["secrets:read", "token:write", "password.reset", "fs/write", "github:create_issue", "key"] {
            assert_eq!(identifier(name), name);
        }
    }

    #[test]
    fn urls_colons_and_ordinary_prose_are_untouched() {
        for t in [
            "See https://docs.example.com/guide?page=2&lang=en#intro for the steps: build, test, deploy.",
            "ssh git@github.com:org/repo.git and http://localhost:8080/v1/agents",
            "Note: the monkey = happy; ratio 3:2, at 10:30.",
            "-----BEGIN PGP SIGNED MESSAGE-----",
        ] {
            assert_eq!(text(t), t);
        }
    }

    #[test]
    fn redaction_never_panics_on_multibyte_text() {
        for t in [
            "é://ü:ö@ä?kéy=ü#é",
            "password:é",
            "pässword=ü",
            "-----BEGIN é PRIVATE KEY-----ü",
            "-----BEGIN ",
            "«sk-",
            "key=\"é",
            "key=\\\"é",
            "token",
            "ghp_ééééééééééééééé1",
            "x://@",
            "\u{3000}Bearer\u{3000}é",
        ] {
            let _ = text(t);
            let _ = identifier(t);
            let _ = is_secret_key(t);
        }
    }

    #[test]
    fn redaction_time_stays_linear_on_repetitive_input() {
        // A 32 KiB run of `sk-` took 23 s (debug build) when every prefix rescanned the run.
        for unit in ["sk-", "oak_", "password:\"", "pw: Bearer ", "a://b@c?key=", "-----BEGIN PRIVATE KEY-----", "key="]
        {
            let input = unit.repeat(32 * 1024 / unit.len());
            let started = std::time::Instant::now();
            let _ = (text(&input), identifier(&input));
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "{unit}: {:?}", started.elapsed());
        }
    }

    /// A tiny deterministic generator, so the property test needs no dependency and never flakes.
    struct Lcg(u64);
    impl Lcg {
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            items[(self.0 >> 33) as usize % items.len()]
        }
    }

    #[test]
    fn planted_secrets_never_survive_in_any_surrounding_text() {
        let agent = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        let admin = crate::keys::generate(crate::keys::KeyKind::Admin).unwrap().secret;
        let tokens = [
            agent.as_str(),
            admin.as_str(),
            "ghp_0123456789abcdefghijABCDEFGHIJ",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "glpat-xY9zAbCdEfGhIjKlMnOp",
            "sk-proj-abcdefghijklmnop1234",
            "sk_live_51HxYzABCdefGHIjkl",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLQ",
            "xoxs-1234567890-abcdefghij",
            "xoxr-123456789012-abcdefghij",
            "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456",
            "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        ];
        // Secrets that only a name or a place gives away, planted in the shapes that reveal them.
        let password = "hunter2-S3cr3t!x";
        let shaped = [
            "postgres://admin:SECRET@db/app",
            "https://SECRET@github.com/o/r.git",
            "https://api.example.com/v1?q=1&access_token=SECRET&x=2",
            "https://hooks.slack.com/services/SECRET",
            "password: SECRET",
            "db_pass = SECRET",
            "{\"password\":\"SECRET\"}",
            "{\"user\": \"bob\", \"apiKey\": \"SECRET\"}",
            "PIN=SECRET",
            "Authorization: Bearer SECRET",
            "-----BEGIN EC PRIVATE KEY-----\\nSECRET\\n-----END EC PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----\nSECRET\n-----END EC PRIVATE KEY-----",
        ];
        let words = [
            "the",
            "agent",
            "42",
            "naïve",
            "--flag",
            "path/to/file.txt",
            "a=b",
            "x:y",
            "(note)",
            "é",
            "https://example.com/a?b=c",
            "ratio 3:2",
        ];
        let before = [" ", "\n", "\t", "(", "\"", "'", "=", ":", "[", "«", "{\"k\":\"", "`", ","];
        let after = [" ", "\n", ")", "\"", "'", ".", ",", "»", "&", "]", "\"}", "`"];
        let mut rng = Lcg(12);
        let mut surround = |planted: &str| {
            let mut s = String::new();
            for _ in 0..rng.pick(&[0, 1, 2, 5]) {
                s.push_str(rng.pick(&words));
                s.push(' ');
            }
            s.push_str(rng.pick(&before));
            s.push_str(planted);
            s.push_str(rng.pick(&after));
            for _ in 0..rng.pick(&[0, 1, 3]) {
                s.push(' ');
                s.push_str(rng.pick(&words));
            }
            s
        };
        for _ in 0..50 {
            for token in tokens {
                let input = surround(token);
                let out = text(&input);
                assert!(!out.contains(token), "{input:?} -> {out:?}");
            }
            for shape in shaped {
                let input = surround(&shape.replace("SECRET", password));
                let out = text(&input);
                assert!(!out.contains("S3cr3t"), "{input:?} -> {out:?}");
            }
        }
    }
}
