//! Who is knocking: the client a failed authentication is counted against.
//!
//! The worker takes the client's address from `CF-Connecting-IP`. An IPv4 address is one
//! subject. An IPv6 address is counted by its /64: a single customer line or host is routinely
//! given a whole /64, so counting single IPv6 addresses would let one client rotate through 2^64
//! of them. Anything that is not an address lands in one shared [`UNKNOWN`] subject.

use std::net::{IpAddr, Ipv6Addr};

/// The subject of every header value that is missing or not an IP address.
pub const UNKNOWN: &str = "unknown";

/// Longest header value looked at; an IPv6 address with a zone id fits comfortably.
const MAX_LEN: usize = 100;

/// The throttling subject of a `CF-Connecting-IP` value: the IPv4 address in dotted-decimal form
/// (an IPv4-mapped IPv6 address such as `::ffff:192.0.2.1` is that IPv4 address), or the IPv6
/// address's /64 in canonical form (`2001:db8:1:2::/64`), whatever textual form it came in
/// (compressed or not, any case, brackets, a zone id). Anything else is [`UNKNOWN`].
pub fn subject(header: Option<&str>) -> String {
    header.and_then(parse).unwrap_or_else(|| UNKNOWN.to_string())
}

fn parse(raw: &str) -> Option<String> {
    if raw.len() > MAX_LEN {
        return None;
    }
    let mut text = raw.trim();
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        text = inner;
    }
    // A zone id (`fe80::1%eth0`) names an interface of the sender, not part of the address.
    if let Some((address, _zone)) = text.split_once('%') {
        text = address;
    }
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_string()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Some(v4.to_string()),
            None => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                Some(format!("{net}/64"))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        subject(Some(v))
    }

    #[test]
    fn ipv4_stays_as_it_is() {
        assert_eq!(s("198.51.100.7"), "198.51.100.7");
        assert_eq!(s(" 203.0.113.255 "), "203.0.113.255");
        assert_ne!(s("198.51.100.7"), s("198.51.100.8"), "each IPv4 address is its own subject");
    }

    #[test]
    fn ipv6_is_counted_by_its_64() {
        let expected = "2001:db8:1:2::/64";
        for form in [
            "2001:db8:1:2::1",
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
            "2001:0db8:0001:0002:0000:0000:0000:0abc",
            "2001:DB8:1:2:A:B:C:D",
            "2001:db8:1:2:0:0:0:0",
            "2001:db8:1:2::",
            "[2001:db8:1:2::99]",
            "2001:db8:1:2::1%eth0",
            "[2001:db8:1:2::1%25en0]",
            "2001:db8:1:2:0:0:1.2.3.4",
        ] {
            assert_eq!(s(form), expected, "{form}");
        }
        assert_eq!(s("2001:db8:1:3::1"), "2001:db8:1:3::/64", "the next /64 is another subject");
        assert_eq!(s("2001:db8::1"), "2001:db8::/64");
        assert_eq!(s("::1"), "::/64");
        assert_eq!(s("fe80::1%3"), "fe80::/64");
        assert_eq!(s("2001:db8:ffff:ffff:1::"), "2001:db8:ffff:ffff::/64");
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_address() {
        assert_eq!(s("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(s("::FFFF:c000:0201"), "192.0.2.1");
        assert_eq!(s("0:0:0:0:0:ffff:192.0.2.1"), "192.0.2.1");
        assert_ne!(s("::ffff:192.0.2.1"), s("::ffff:192.0.2.2"), "mapped addresses are not lumped into ::/64");
    }

    #[test]
    fn anything_else_is_the_unknown_subject() {
        for junk in [
            "",
            "   ",
            "unknown",
            "localhost",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.4:80",
            "2001:db8::1::2",
            "2001:db8:1:2:3:4:5:6:7",
            "[2001:db8::1",
            "gggg::1",
            "%eth0",
            "1.2.3.4, 5.6.7.8",
            "\u{0}",
            "٣.٣.٣.٣",
        ] {
            assert_eq!(s(junk), UNKNOWN, "{junk:?}");
        }
        assert_eq!(subject(None), UNKNOWN);
        let long = format!("2001:db8:1:2::1%{}", "z".repeat(200));
        assert_eq!(s(&long), UNKNOWN, "an overlong value is not parsed");
    }

    #[test]
    fn every_subject_is_short_and_plain() {
        for v in ["1.1.1.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:255.255.255.255", "nonsense"] {
            let out = s(v);
            assert!(out.len() <= 24, "{out}");
            assert!(out.chars().all(|c| c.is_ascii_hexdigit() || ".:/".contains(c) || c.is_ascii_lowercase()), "{out}");
        }
    }
}
