//! Key parsing and checksum: `keys::parse` never panics; whatever it accepts is exactly
//! `prefix + 32 base62 + checksum of those 32` and is rebuilt by `from_random`; every key built by
//! `from_random` parses as its kind; any single-character change to the random part or the
//! checksum is caught as a bad checksum (CRC-32 catches every single-byte error).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use oakauth_core::keys::{self, KeyFormatError, KeyKind};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    presented: &'a str,
    admin: bool,
    random: [u8; 32],
    flip_at: u8,
    flip_to: u8,
}

fn prefix(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Agent => keys::AGENT_PREFIX,
        KeyKind::Admin => keys::ADMIN_PREFIX,
    }
}

fuzz_target!(|input: Input| {
    // Any presented string.
    match keys::parse(input.presented) {
        Ok(kind) => {
            let rest = &input.presented[prefix(kind).len()..];
            assert_eq!(rest.len(), 38);
            assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(keys::from_random(kind, &rest[..32]).secret, input.presented);
            let visible = keys::prefix_of(input.presented).unwrap();
            assert!(input.presented.starts_with(&visible));
            assert_eq!(visible.len(), prefix(kind).len() + 6);
        }
        Err(_) => assert!(keys::prefix_of(input.presented).is_none()),
    }

    // A key built from fuzzed random characters.
    let kind = if input.admin { KeyKind::Admin } else { KeyKind::Agent };
    let random: String = input.random.iter().map(|b| BASE62[(*b % 62) as usize] as char).collect();
    let key = keys::from_random(kind, &random);
    assert_eq!(keys::parse(&key.secret), Ok(kind));
    assert!(key.secret.starts_with(&key.prefix));
    assert!(!format!("{key:?}").contains(&key.secret));

    // One changed character after the kind prefix.
    let at = prefix(kind).len() + (input.flip_at as usize % 38);
    let mut bytes = key.secret.clone().into_bytes();
    let to = BASE62[(input.flip_to % 62) as usize];
    if bytes[at] != to {
        bytes[at] = to;
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(keys::parse(&typo), Err(KeyFormatError::BadChecksum), "{typo}");
    }
});
