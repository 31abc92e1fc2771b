//! API keys: format, checksum, generation and keyed hashing.
//!
//! An agent key is `oak_` + 32 random base62 characters + a 6-character base62 CRC-32 of those 32.
//! An admin key has the same shape behind `oakadm_`, a person's session token behind `oaks_` and an
//! invitation behind `oaki_` ([`crate::accounts`]). The checksum lets the worker reject a mistyped
//! or made-up key before it reads any storage. Keys are stored as HMAC-SHA256(server secret, key),
//! hex-encoded, next to a short visible prefix; the key itself is never stored.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

pub const AGENT_PREFIX: &str = "oak_";
pub const ADMIN_PREFIX: &str = "oakadm_";
pub const SESSION_PREFIX: &str = "oaks_";
pub const INVITATION_PREFIX: &str = "oaki_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// Characters of the key (after the kind prefix) kept in clear for identification.
const VISIBLE_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Agent,
    Admin,
    /// A person's session, as a cookie or a bearer token ([`crate::accounts`]).
    Session,
    /// A single-use invitation link's secret.
    Invitation,
}

impl KeyKind {
    fn prefix(self) -> &'static str {
        match self {
            KeyKind::Agent => AGENT_PREFIX,
            KeyKind::Admin => ADMIN_PREFIX,
            KeyKind::Session => SESSION_PREFIX,
            KeyKind::Invitation => INVITATION_PREFIX,
        }
    }
}

/// Why a presented key was rejected without a storage lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormatError {
    /// Not `oak_…` nor `oakadm_…`, wrong length or characters outside base62.
    Malformed,
    /// Well-formed, but the checksum does not match: a typo or a made-up key.
    BadChecksum,
}

/// A freshly generated key. `secret` is shown to the user once and then dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct NewKey {
    pub secret: String,
    pub prefix: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// Generates a key of `kind` from the operating system's (or the JS runtime's) CSPRNG.
pub fn generate(kind: KeyKind) -> Result<NewKey, Error> {
    let mut random = String::with_capacity(RANDOM_LEN);
    crate::ids::push_random_base62(&mut random, RANDOM_LEN)?;
    Ok(from_random(kind, &random))
}

/// Builds a key from its random part. Exposed for tests and fuzzing; use [`generate`].
pub fn from_random(kind: KeyKind, random: &str) -> NewKey {
    let secret = format!("{}{}{}", kind.prefix(), random, checksum(random));
    let prefix = visible_prefix(kind, &secret);
    NewKey { secret, prefix }
}

fn visible_prefix(kind: KeyKind, key: &str) -> String {
    key[..kind.prefix().len() + VISIBLE_LEN].to_string()
}

fn checksum(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    // 62^6 > 2^32, so the whole CRC fits.
    String::from_utf8(out.to_vec()).expect("base62 is ascii")
}

/// Checks a presented key's shape and checksum. Never touches storage.
pub fn parse(key: &str) -> Result<KeyKind, KeyFormatError> {
    let (kind, rest) = if let Some(rest) = key.strip_prefix(ADMIN_PREFIX) {
        (KeyKind::Admin, rest)
    } else if let Some(rest) = key.strip_prefix(SESSION_PREFIX) {
        (KeyKind::Session, rest)
    } else if let Some(rest) = key.strip_prefix(INVITATION_PREFIX) {
        (KeyKind::Invitation, rest)
    } else if let Some(rest) = key.strip_prefix(AGENT_PREFIX) {
        (KeyKind::Agent, rest)
    } else {
        return Err(KeyFormatError::Malformed);
    };
    if rest.len() != RANDOM_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Malformed);
    }
    let (random, check) = rest.split_at(RANDOM_LEN);
    if checksum(random) != check {
        return Err(KeyFormatError::BadChecksum);
    }
    Ok(kind)
}

/// The visible prefix of a well-formed key, for display and logs.
pub fn prefix_of(key: &str) -> Option<String> {
    parse(key).ok().map(|kind| visible_prefix(kind, key))
}

/// The stored form of a key: lowercase hex HMAC-SHA256 under the server secret.
pub fn hash(server_secret: &[u8], key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(server_secret).expect("HMAC takes any key length");
    mac.update(key.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Compares two stored hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_as_their_kind() {
        let agent = generate(KeyKind::Agent).unwrap();
        let admin = generate(KeyKind::Admin).unwrap();
        assert_eq!(parse(&agent.secret), Ok(KeyKind::Agent));
        assert_eq!(parse(&admin.secret), Ok(KeyKind::Admin));
        assert_eq!(agent.secret.len(), 4 + 32 + 6);
        assert!(agent.secret.starts_with(&agent.prefix));
        assert_eq!(agent.prefix.len(), 10);
        assert_eq!(admin.prefix.len(), 13);
    }

    #[test]
    fn sessions_and_invitations_have_their_own_kinds() {
        for kind in [KeyKind::Session, KeyKind::Invitation] {
            let key = generate(kind).unwrap();
            assert_eq!(parse(&key.secret), Ok(kind));
            assert!(key.secret.starts_with(&key.prefix));
        }
        // A session token is never taken for an agent key.
        let session = generate(KeyKind::Session).unwrap().secret;
        assert_ne!(parse(&session), Ok(KeyKind::Agent));
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate(KeyKind::Agent).unwrap();
        let b = generate(KeyKind::Agent).unwrap();
        assert_ne!(a.secret, b.secret);
    }

    #[test]
    fn a_single_typo_fails_the_checksum() {
        let key = generate(KeyKind::Agent).unwrap().secret;
        for i in 4..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(parse(&typo), Err(KeyFormatError::BadChecksum), "typo at {i}");
        }
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in ["", "oak_", "sk-123", "oak_short", "oak_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "OAK_abc"] {
            assert_eq!(parse(bad), Err(KeyFormatError::Malformed), "{bad:?}");
        }
        let key = generate(KeyKind::Agent).unwrap().secret;
        assert_eq!(parse(&format!("{key}x")), Err(KeyFormatError::Malformed));
        assert_eq!(parse(&format!("{key} ")), Err(KeyFormatError::Malformed));
    }

    #[test]
    fn checksum_is_deterministic() {
        let a = from_random(KeyKind::Agent, "0123456789abcdefghijABCDEFGHIJkl");
        let b = from_random(KeyKind::Agent, "0123456789abcdefghijABCDEFGHIJkl");
        assert_eq!(a, b);
        assert_eq!(parse(&a.secret), Ok(KeyKind::Agent));
    }

    #[test]
    fn hash_is_keyed_and_hides_the_key() {
        let key = generate(KeyKind::Agent).unwrap().secret;
        let h1 = hash(b"secret-one", &key);
        let h2 = hash(b"secret-two", &key);
        assert_ne!(h1, h2);
        assert_eq!(h1, hash(b"secret-one", &key));
        assert_eq!(h1.len(), 64);
        assert!(!h1.contains(&key[4..]));
        assert!(hashes_equal(&h1, &h1.clone()));
        assert!(!hashes_equal(&h1, &h2));
        assert!(!hashes_equal(&h1, &h1[..10]));
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = generate(KeyKind::Agent).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.secret));
    }
}
