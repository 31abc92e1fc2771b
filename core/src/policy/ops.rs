//! The value operations behind the operators, each strict about its input: a value that cannot be
//! read the way the operator needs is an error (the rule then denies), never a quiet "no".

use std::net::IpAddr;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

/// A JSON number as an exact decimal: `0.1` is one tenth, not the float nearest it. Numbers
/// beyond 28 significant digits or ±7.9e28 are refused rather than rounded.
pub fn decimal(n: &serde_json::Number) -> Result<Decimal, String> {
    // Integers convert exactly without text (the common case, and the fast one).
    if let Some(i) = n.as_i64() {
        return Ok(Decimal::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Decimal::from(u));
    }
    let text = n.to_string();
    let parsed =
        if text.contains(['e', 'E']) { Decimal::from_scientific(&text) } else { Decimal::from_str_exact(&text) };
    parsed.map_err(|_| format!("the number {text} is outside the exact decimal range"))
}

/// The JSON type name of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Equality of two JSON values of the same type; numbers as exact decimals. Different types are
/// an error.
pub fn equal(expected: &Value, observed: &Value) -> Result<bool, String> {
    match (expected, observed) {
        (Value::Number(a), Value::Number(b)) => Ok(decimal(a)? == decimal(b)?),
        (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => Ok(a == b),
        (a, b) => Err(format!("expected {}, found {}", type_name(a), type_name(b))),
    }
}

/// A time of day `HH:MM` as minutes after midnight.
pub fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Most percent-decoding rounds of a path (`%252e` is decoded twice); more is refused.
const MAX_DECODE_ROUNDS: usize = 3;

/// An absolute path as its segments after percent-decoding (until stable), treating `\` as a
/// separator too, and resolving `.`, `..` and repeated separators the way POSIX does (`..` at the
/// root stays at the root). A relative path, a NUL or an undecodable path is an error.
pub fn path_segments(path: &str) -> Result<Vec<String>, String> {
    let mut text = path.to_owned();
    for round in 0..=MAX_DECODE_ROUNDS {
        let decoded = percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .map_err(|_| "the path is not UTF-8 once percent-decoded".to_string())?
            .into_owned();
        if decoded == text {
            break;
        }
        if round == MAX_DECODE_ROUNDS {
            return Err("the path is percent-encoded too many times".into());
        }
        text = decoded;
    }
    if text.contains('\0') {
        return Err("the path contains a NUL character".into());
    }
    let text = text.replace('\\', "/");
    if !text.starts_with('/') {
        return Err("the path is not absolute".into());
    }
    let mut out: Vec<String> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p.to_owned()),
        }
    }
    Ok(out)
}

/// Whether `path` is `dir` or inside it, both as [`path_segments`].
pub fn under(path: &[String], dir: &[String]) -> bool {
    path.len() >= dir.len() && path[..dir.len()] == *dir
}

/// A host pattern of `host_in`: a host name (or address), or `*.` and a domain for its subdomains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    Subdomains(String),
}

impl HostPattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        match pattern.strip_prefix("*.") {
            Some(domain) => Ok(HostPattern::Subdomains(host(domain)?)),
            None => Ok(HostPattern::Exact(host(pattern)?)),
        }
    }

    pub fn matches(&self, h: &str) -> bool {
        match self {
            HostPattern::Exact(e) => h == e,
            HostPattern::Subdomains(d) => {
                h.len() > d.len() + 1 && h.ends_with(d.as_str()) && h[..h.len() - d.len()].ends_with('.')
            }
        }
    }
}

/// A host name in its canonical form: IDNA to ASCII (so look-alike letters become `xn--` labels
/// that match nothing written in ASCII), lower case, without a trailing dot; or an IP address.
pub fn host(s: &str) -> Result<String, String> {
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    if trimmed.is_empty() {
        return Err("empty host".into());
    }
    let unbracketed = trimmed.trim_start_matches('[').trim_end_matches(']');
    if let Ok(addr) = unbracketed.parse::<IpAddr>() {
        return Ok(addr.to_string());
    }
    let parsed = url::Host::parse(trimmed).map_err(|e| format!("{trimmed:?} is not a host name: {e}"))?;
    Ok(match parsed {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    })
}

/// The host of a URL (`https://user@host:443/…`), an e-mail address (`name@host`) or a bare host.
pub fn host_of(s: &str) -> Result<String, String> {
    if s.contains("://") {
        let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
        let h = url.host_str().ok_or("the URL has no host")?;
        return host(h.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some((_, domain)) = s.rsplit_once('@') {
        return host(domain);
    }
    if s.contains(['/', '?', '#', ' ']) {
        return Err("not a URL, e-mail address or host name".into());
    }
    host(s)
}

/// An IP address, IPv4-mapped IPv6 addresses read as IPv4.
pub fn ip(s: &str) -> Result<IpAddr, String> {
    let addr = IpAddr::from_str(s.trim()).map_err(|_| format!("{s:?} is not an IP address"))?;
    Ok(match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn segs(p: &str) -> Result<Vec<String>, String> {
        path_segments(p)
    }

    #[test]
    fn decimals_are_exact() {
        let n = |v: Value| decimal(v.as_number().unwrap()).unwrap();
        assert_eq!(n(json!(0.1)) + n(json!(0.2)), n(json!(0.3)));
        assert_eq!(n(json!(500)), n(json!(500.0)));
        assert_eq!(n(json!(1e3)), n(json!(1000)));
        assert!(n(json!(499.99)) < n(json!(500)));
        // Huge numbers are refused, not rounded into range.
        assert!(decimal(json!(1e300).as_number().unwrap()).is_err());
        assert!(decimal(json!(u64::MAX).as_number().unwrap()).is_ok());
    }

    #[test]
    fn equality_is_typed() {
        assert_eq!(equal(&json!(5), &json!(5.0)), Ok(true));
        assert_eq!(equal(&json!("a"), &json!("a")), Ok(true));
        assert!(equal(&json!(500), &json!("500")).is_err(), "a numeric string is not a number");
        assert!(equal(&json!("delete"), &json!(["delete"])).is_err());
    }

    #[test]
    fn paths_resolve_dots_separators_and_encoding() {
        let work = segs("/work").unwrap();
        let is_under = |p: &str| segs(p).map(|s| under(&s, &work));
        assert_eq!(is_under("/work/a.txt"), Ok(true));
        assert_eq!(is_under("/work"), Ok(true));
        assert_eq!(is_under("//work///a/./b"), Ok(true));
        assert_eq!(is_under("/work/../etc/passwd"), Ok(false));
        assert_eq!(is_under("/work/a/../../etc"), Ok(false));
        assert_eq!(is_under("/../../work/x"), Ok(true), "`..` at the root stays at the root");
        assert_eq!(is_under("/workshop/x"), Ok(false), "a sibling with the same prefix is not inside");
        assert_eq!(is_under("/work/%2e%2e/etc"), Ok(false));
        assert_eq!(is_under("/work%2F..%2Fetc"), Ok(false));
        assert_eq!(is_under("/work/%252e%252e/etc"), Ok(false), "double encoding is decoded too");
        assert_eq!(is_under("/work\\..\\etc"), Ok(false), "backslashes separate too");
        assert!(is_under("work/a").is_err(), "relative paths have no meaning here");
        assert!(is_under("/work/a\0b").is_err());
        assert!(is_under("/work/%25252525252e").is_err(), "endless encoding is refused");
    }

    #[test]
    fn hosts_match_exactly_or_as_subdomains() {
        let exact = HostPattern::parse("example.org").unwrap();
        let subs = HostPattern::parse("*.example.org").unwrap();
        let h = |s: &str| host_of(s).unwrap();
        assert!(exact.matches(&h("https://EXAMPLE.org./x")));
        assert!(!exact.matches(&h("https://evil.com.example.org/")));
        assert!(subs.matches(&h("https://evil.com.example.org/")), "a subdomain, however named, is a subdomain");
        assert!(!subs.matches(&h("https://example.org/")), "the apex is not one of its subdomains");
        assert!(!subs.matches(&h("https://example.org.evil.com/")));
        assert!(!subs.matches(&h("https://evilexample.org/")));
        assert!(!exact.matches(&h("https://example.org@evil.com/")), "userinfo is not the host");
        assert_eq!(h("bob@Example.org"), "example.org");
        assert_eq!(h("mailto-less@evil.com@example.org"), "example.org");
        // A Cyrillic "е" makes another host entirely.
        assert!(!exact.matches(&h("https://\u{0435}xample.org/")));
        assert!(h("https://\u{0435}xample.org/").starts_with("xn--"));
        assert_eq!(h("http://[::1]:8080/"), "::1");
        assert!(host_of("not a host/").is_err());
    }

    #[test]
    fn addresses_parse_strictly() {
        assert_eq!(ip("::ffff:10.1.2.3").unwrap().to_string(), "10.1.2.3");
        assert!(ip("10.1.2").is_err());
        assert!(ip("010.1.2.3").is_err());
    }

    #[test]
    fn times_of_day() {
        assert_eq!(minutes("09:30"), Some(570));
        assert_eq!(minutes("24:00"), None);
        assert_eq!(minutes("9:30"), None);
    }
}
