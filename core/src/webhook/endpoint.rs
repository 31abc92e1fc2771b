//! Which URLs may receive webhooks.
//!
//! A webhook endpoint is a URL a customer gives us and our worker then `POST`s to: unchecked, it
//! would let anyone make the worker send requests into networks it can reach and they cannot
//! (server-side request forgery), such as a cloud metadata service at 169.254.169.254 or an
//! admin interface on 10.0.0.1. So an endpoint must be `https` (the body is signed, not
//! encrypted), and its host must be a public name or a public address.
//!
//! [`check_url`] refuses, at registration:
//!
//! - anything but `https` (`http` only to a loopback host, and only when the deployment allows it
//!   for development);
//! - user names, passwords and fragments, which have no business in a webhook URL and are the
//!   usual ingredients of URLs that read as one host and go to another;
//! - forms that URL parsers disagree about or silently rewrite: surrounding or embedded
//!   whitespace and control characters, backslashes, a missing `//`, percent-encoded hosts, IPv4
//!   addresses in anything but dotted decimal (`2130706433`, `0x7f.1`, `017700000001`, `127.1`),
//!   a trailing dot, port 0;
//! - IP addresses outside public unicast ([`check_ip`]), IPv4 addresses inside IPv6 (mapped,
//!   compatible, NAT64, 6to4) judged as the IPv4 address they carry;
//! - names that only a local resolver answers: single labels (`intranet`, completed by a search
//!   domain), `localhost` and `*.localhost`, `*.local` (mDNS), `*.internal`, `*.localdomain`,
//!   `*.home.arpa` and the rest of `.arpa`.
//!
//! **What it cannot refuse.** A public-looking name can resolve to a private address, at
//! registration or at any later time (DNS rebinding). The worker cannot see what `fetch()`
//! resolves a name to, nor pin a connection to an address it has checked. So delivery must, in
//! addition: resolve the host (for instance over DNS-over-HTTPS) right before each attempt and
//! refuse to send if any `A`/`AAAA` answer fails [`check_ip`]; never follow redirects (a `3xx` is
//! a failed attempt, see [`super::DeliveryOutcome`]); and keep [`check_url`] in force on every
//! delivery, not only at registration. Even then a resolver answering differently to the check
//! and to `fetch()` stays possible; what bounds the harm then is that a worker's subrequests
//! leave from the platform's network, not from inside the customer's or ours.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::Error;

/// The longest endpoint URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// Where an IP address leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Public,
    Loopback,
    /// Not public; the reason, for the error message.
    Internal(&'static str),
}

/// IPv4 blocks that are not public unicast (loopback, 127.0.0.0/8, is apart: development may use
/// it). From the IANA special-purpose address registry.
const V4_BLOCKS: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "in 0.0.0.0/8 (\"this network\", including the unspecified address)"),
    ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
    ([100, 64, 0, 0], 10, "shared address space (100.64.0.0/10, carrier-grade NAT)"),
    ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16, where cloud metadata services answer)"),
    ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
    ([192, 0, 0, 0], 24, "reserved for IETF protocol assignments (192.0.0.0/24)"),
    ([192, 0, 2, 0], 24, "reserved for documentation (192.0.2.0/24)"),
    ([192, 88, 99, 0], 24, "the deprecated 6to4 relay anycast (192.88.99.0/24)"),
    ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
    ([198, 18, 0, 0], 15, "reserved for benchmarking (198.18.0.0/15)"),
    ([198, 51, 100, 0], 24, "reserved for documentation (198.51.100.0/24)"),
    ([203, 0, 113, 0], 24, "reserved for documentation (203.0.113.0/24)"),
    ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
    ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4, including the broadcast address 255.255.255.255)"),
];

/// IPv6 blocks inside global unicast (2000::/3) that are not public; everything outside
/// 2000::/3 is refused anyway (after IPv4 carried in IPv6 is judged as IPv4).
const V6_BLOCKS: &[(u128, u8, &str)] = &[
    (0x2001_0000 << 96, 23, "reserved for IETF protocol assignments, including Teredo (2001::/23)"),
    (0x2001_0db8 << 96, 32, "reserved for documentation (2001:db8::/32)"),
    (0x3fff << 112, 20, "reserved for documentation (3fff::/20)"),
];

/// Names of the specification's other IPv6 blocks, for clearer errors than "not global unicast".
const V6_NAMED: &[(u128, u8, &str)] = &[
    (0xfc << 120, 7, "a unique local address (fc00::/7, IPv6's private range)"),
    (0xfe80 << 112, 10, "link-local (fe80::/10)"),
    (0xfec0 << 112, 10, "site-local (fec0::/10, deprecated)"),
    (0xff << 120, 8, "multicast (ff00::/8)"),
    (0x0100 << 112, 64, "discard-only (100::/64)"),
    (0x0064_ff9b_0001 << 80, 48, "local-use NAT64 (64:ff9b:1::/48)"),
];

/// Domain suffixes (and the names themselves) that only a local resolver answers.
const LOCAL_SUFFIXES: &[&str] = &["localhost", "local", "internal", "localdomain", "arpa"];

fn in_block(addr: u128, bits: u32, net: u128, len: u8) -> bool {
    let shift = bits - len as u32;
    len == 0 || addr >> shift == net >> shift
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    if ip.octets()[0] == 127 {
        return Reach::Loopback;
    }
    let addr = u32::from(ip) as u128;
    V4_BLOCKS
        .iter()
        .find(|(net, len, _)| in_block(addr, 32, u32::from(Ipv4Addr::from(*net)) as u128, *len))
        .map_or(Reach::Public, |(_, _, why)| Reach::Internal(why))
}

/// The IPv4 address an IPv6 address carries, for the forms that route to it: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`, deprecated), well-known NAT64 (`64:ff9b::/96`)
/// and 6to4 (`2002:aabb:ccdd::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let addr = u128::from(ip);
    let low32 = Ipv4Addr::from(addr as u32);
    if in_block(addr, 128, 0xffff << 32, 96) || in_block(addr, 128, 0, 96) {
        return Some(low32);
    }
    if in_block(addr, 128, 0x0064_ff9b << 96, 96) {
        return Some(low32);
    }
    if in_block(addr, 128, 0x2002 << 112, 16) {
        return Some(Ipv4Addr::from((addr >> 80) as u32));
    }
    None
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    if ip == Ipv6Addr::LOCALHOST {
        return Reach::Loopback;
    }
    if ip == Ipv6Addr::UNSPECIFIED {
        return Reach::Internal("the unspecified address (::)");
    }
    if let Some(v4) = embedded_v4(ip) {
        return match reach_v4(v4) {
            Reach::Public => Reach::Public,
            // Even loopback: `::ffff:127.0.0.1` is no one's way of writing a development host.
            _ => Reach::Internal("an IPv6 form of a non-public IPv4 address"),
        };
    }
    let addr = u128::from(ip);
    let named = V6_NAMED.iter().chain(V6_BLOCKS).find(|(net, len, _)| in_block(addr, 128, *net, *len));
    if let Some((_, _, why)) = named {
        return Reach::Internal(why);
    }
    if !in_block(addr, 128, 0x2000 << 112, 3) {
        return Reach::Internal("outside IPv6 global unicast (2000::/3)");
    }
    Reach::Public
}

fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

/// Whether webhooks may be sent to `ip`: public unicast, or loopback when `allow_loopback` (the
/// development setting). Delivery calls this on every address a host name resolves to.
pub fn check_ip(ip: IpAddr, allow_loopback: bool) -> Result<(), Error> {
    match reach(ip) {
        Reach::Public => Ok(()),
        Reach::Loopback if allow_loopback => Ok(()),
        Reach::Loopback => Err(Error::Invalid(format!("webhook endpoints may not be loopback addresses ({ip})"))),
        Reach::Internal(why) => Err(Error::Invalid(format!("webhook endpoints must be public; {ip} is {why}"))),
    }
}

/// Checks a webhook endpoint URL (see the module documentation for what is refused and what
/// delivery must check besides) and returns it parsed. `allow_insecure_loopback` is the
/// development setting: it lets `http://127.0.0.1:…`, `http://[::1]:…` and `http://localhost:…`
/// (and their `https` forms) through, and nothing else.
pub fn check_url(url: &str, allow_insecure_loopback: bool) -> Result<Url, Error> {
    let bad = |why: &str| Error::Invalid(format!("webhook endpoint URL: {why}"));
    if url.len() > MAX_URL_LEN {
        return Err(bad(&format!("longer than {MAX_URL_LEN} bytes")));
    }
    if url.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'\\') {
        return Err(bad("spaces, control characters and backslashes are not allowed"));
    }
    let parsed = Url::parse(url).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(bad("must start with https://")),
    };
    let authority = raw_authority(url).ok_or_else(|| bad("must start with https:// and a host"))?;
    if authority.contains('@') || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("a user name or password is not allowed"));
    }
    if parsed.fragment().is_some() {
        return Err(bad("a fragment (#…) is not allowed"));
    }
    if parsed.port() == Some(0) {
        return Err(bad("port 0 is not a port"));
    }
    let raw_host = raw_host(authority);
    if raw_host.contains('%') {
        return Err(bad("percent-encoded host names are not allowed"));
    }
    if raw_host.ends_with('.') {
        return Err(bad("write the host without a trailing dot"));
    }
    let loopback = match parsed.host().ok_or_else(|| bad("no host"))? {
        Host::Ipv4(ip) => {
            if !raw_host.eq_ignore_ascii_case(&ip.to_string()) {
                return Err(bad(&format!("write IPv4 addresses as four decimal numbers ({ip})")));
            }
            check_ip(IpAddr::V4(ip), allow_insecure_loopback)?;
            reach_v4(ip) == Reach::Loopback
        }
        Host::Ipv6(ip) => {
            check_ip(IpAddr::V6(ip), allow_insecure_loopback)?;
            reach_v6(ip) == Reach::Loopback
        }
        Host::Domain(name) => {
            // IDNA turns `。` and its kin into dots, so a trailing dot can appear only now.
            if name.ends_with('.') {
                return Err(bad("write the host without a trailing dot"));
            }
            check_name(name, allow_insecure_loopback)?;
            name == "localhost"
        }
    };
    if !https && !loopback {
        return Err(bad("must be https (plain http is only for a loopback host in development)"));
    }
    Ok(parsed)
}

/// The authority (`user@host:port`) as written after `scheme://`, or `None` when the `//` is
/// missing or doubled, forms the URL standard repairs silently.
fn raw_authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    if rest.starts_with('/') {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// The host part of an authority, without user info or port; IPv6 literals keep their brackets.
fn raw_host(authority: &str) -> &str {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port.find(']').map_or(host_port, |end| &host_port[..=end]);
    }
    host_port.split_once(':').map_or(host_port, |(h, _)| h)
}

/// Host names: `localhost` when `allow_loopback`; otherwise at least two labels and no suffix
/// that only a local resolver answers. `name` comes from the URL parser: lower case, IDNA
/// applied.
fn check_name(name: &str, allow_loopback: bool) -> Result<(), Error> {
    if name == "localhost" && allow_loopback {
        return Ok(());
    }
    if !name.contains('.') {
        return Err(Error::Invalid(format!(
            "webhook endpoints need a fully qualified public host name; {name:?} is a single label"
        )));
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if LOCAL_SUFFIXES.contains(&last) {
        return Err(Error::Invalid(format!(
            "webhook endpoints must be public; {name:?} is a local or internal name (.{last})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> String {
        check_url(url, false).unwrap_or_else(|e| panic!("{url}: {e}")).to_string()
    }

    fn refused(url: &str) -> String {
        match check_url(url, false) {
            Ok(u) => panic!("{url} was accepted as {u}"),
            Err(Error::Invalid(why)) => why,
            Err(e) => panic!("{url}: {e}"),
        }
    }

    #[test]
    fn public_https_urls_pass_and_come_back_parsed() {
        assert_eq!(ok("https://hooks.example.com/oakauth"), "https://hooks.example.com/oakauth");
        assert_eq!(ok("https://HOOKS.Example.COM:8443/a?b=c"), "https://hooks.example.com:8443/a?b=c");
        assert_eq!(ok("https://example.com"), "https://example.com/");
        assert_eq!(ok("https://example.com:443/x"), "https://example.com/x");
        assert_eq!(ok("https://93.184.215.14/hook"), "https://93.184.215.14/hook");
        assert_eq!(ok("https://[2606:4700:4700::1111]/hook"), "https://[2606:4700:4700::1111]/hook");
        // Internationalised names are fine; they go out as their `xn--` form.
        assert_eq!(ok("https://bücher.example/"), "https://xn--bcher-kva.example/");
    }

    #[test]
    fn only_https_and_no_user_info_or_fragments() {
        assert!(refused("http://hooks.example.com/").contains("https"));
        refused("ftp://hooks.example.com/");
        refused("ws://hooks.example.com/");
        refused("javascript:alert(1)");
        refused("data:text/plain,hi");
        refused("file:///etc/passwd");
        refused("hooks.example.com/path");
        assert!(refused("https://user:pw@hooks.example.com/").contains("user"));
        refused("https://user@hooks.example.com/");
        refused("https://@hooks.example.com/");
        refused("https://:pw@hooks.example.com/");
        // Reads as example.com, goes to 169.254.169.254.
        refused("https://example.com@169.254.169.254/");
        assert!(refused("https://hooks.example.com/#x").contains("fragment"));
        refused("https://hooks.example.com/#");
    }

    #[test]
    fn forms_parsers_rewrite_silently_are_refused() {
        refused(" https://hooks.example.com/");
        refused("https://hooks.example.com/ ");
        refused("https://hooks.exa\tmple.com/");
        refused("https://hooks.example.com/\n");
        refused("https:\\\\hooks.example.com\\");
        refused("https://hooks.example.com\\@169.254.169.254/");
        refused("https:hooks.example.com/");
        refused("https:/hooks.example.com/");
        refused("https:///hooks.example.com/");
        refused("https://hooks.example.com:0/");
        refused("https://%68ooks.example.com/");
        refused("https://hooks.example.com./");
        refused(&format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN)));
    }

    #[test]
    fn private_loopback_link_local_and_special_ipv4_are_refused() {
        for host in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "192.88.99.1",
        ] {
            refused(&format!("https://{host}/"));
        }
        assert!(refused("https://169.254.169.254/latest/meta-data/").contains("link-local"));
        // The edges of the blocks are public.
        ok("https://172.15.255.255/");
        ok("https://172.32.0.0/");
        ok("https://100.63.255.255/");
        ok("https://100.128.0.0/");
        ok("https://11.0.0.0/");
        ok("https://223.255.255.255/");
    }

    #[test]
    fn ipv4_written_any_other_way_is_refused() {
        for url in [
            "http://2130706433/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://0x7f000001/",
            "https://017700000001/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://127.0.1/",
            "https://127.0.0.1./",
            "https://0x08.0x08.0x08.0x08/",
            "https://134744072/",
            "https://010.010.010.010/",
            "https://08.8.8.8/",
        ] {
            refused(url);
        }
        // Even for a public address: the written form must be the address itself.
        assert!(refused("https://134744072/").contains("four decimal numbers"));
        ok("https://8.8.8.8/");
    }

    #[test]
    fn ipv6_special_blocks_and_embedded_ipv4_are_refused() {
        for host in [
            "::1",
            "::",
            "0:0:0:0:0:0:0:1",
            "::ffff:127.0.0.1",
            "::FFFF:7F00:1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:0101::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "FE80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "3fff::1",
            "4000::1",
            "::2",
        ] {
            refused(&format!("https://[{host}]/"));
        }
        // Public IPv4 inside IPv6 is judged as that address.
        ok("https://[::ffff:8.8.8.8]/");
        ok("https://[64:ff9b::808:808]/");
        ok("https://[2002:808:808::1]/");
    }

    #[test]
    fn local_and_single_label_names_are_refused() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "api.localhost",
            "a.b.LocalHost",
            "printer.local",
            "metadata.google.internal",
            "db.INTERNAL",
            "box.localdomain",
            "router.home.arpa",
            "1.0.0.127.in-addr.arpa",
            "intranet",
            "metadata",
            // Full-width letters normalise to `localhost` under IDNA.
            "ｌｏｃａｌｈｏｓｔ",
            "localhost\u{3002}",
            "example\u{3002}com\u{3002}",
        ] {
            refused(&format!("https://{host}/"));
        }
        ok("https://localhost.example.com/");
        ok("https://internal.example.com/");
        ok("https://local.example/");
    }

    #[test]
    fn development_allows_loopback_over_http_and_nothing_more() {
        let dev = |url: &str| check_url(url, true);
        assert!(dev("http://127.0.0.1:8787/hook").is_ok());
        assert!(dev("http://127.0.0.2/").is_ok());
        assert!(dev("http://[::1]:8787/hook").is_ok());
        assert!(dev("http://localhost:8787/hook").is_ok());
        assert!(dev("http://LOCALHOST/").is_ok());
        assert!(dev("https://127.0.0.1/").is_ok());
        assert!(dev("https://hooks.example.com/").is_ok());
        // Still refused: plain http to anything else, private ranges, odd spellings of loopback.
        assert!(dev("http://hooks.example.com/").is_err());
        assert!(dev("http://8.8.8.8/").is_err());
        assert!(dev("http://10.0.0.1/").is_err());
        assert!(dev("http://169.254.169.254/").is_err());
        assert!(dev("http://2130706433/").is_err());
        assert!(dev("http://0x7f.1/").is_err());
        assert!(dev("http://[::ffff:127.0.0.1]/").is_err());
        assert!(dev("http://api.localhost/").is_err());
        assert!(dev("http://localhost./").is_err());
        assert!(dev("http://0.0.0.0:8787/").is_err());
        assert!(dev("http://user@localhost/").is_err());
    }

    #[test]
    fn check_ip_is_what_delivery_applies_to_resolved_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(check_ip(ip("8.8.8.8"), false).is_ok());
        assert!(check_ip(ip("2606:4700::6810:84e5"), false).is_ok());
        assert!(check_ip(ip("127.0.0.1"), false).is_err());
        assert!(check_ip(ip("127.0.0.1"), true).is_ok());
        assert!(check_ip(ip("::1"), true).is_ok());
        assert!(check_ip(ip("10.1.2.3"), true).is_err());
        assert!(check_ip(ip("::ffff:192.168.0.1"), false).is_err());
        let why = check_ip(ip("192.168.0.1"), false).unwrap_err().to_string();
        assert!(why.contains("private"), "{why}");
    }
}
