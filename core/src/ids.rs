//! Public identifiers: a short kind prefix and random base62, e.g. `agt_5kX0q…`.

use crate::Error;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ID_RANDOM_LEN: usize = 20;

/// Appends `len` uniformly random base62 characters, by rejection sampling over CSPRNG bytes.
pub fn push_random_base62(out: &mut String, len: usize) -> Result<(), Error> {
    let mut pushed = 0;
    let mut buf = [0u8; 64];
    while pushed < len {
        getrandom::getrandom(&mut buf).map_err(|_| Error::Random)?;
        for b in buf {
            // 248 = 4 * 62: dropping bytes >= 248 keeps every character equally likely.
            if b < 248 && pushed < len {
                out.push(BASE62[(b % 62) as usize] as char);
                pushed += 1;
            }
        }
    }
    Ok(())
}

/// A new id with the given prefix, such as `"agt"`.
pub fn new_id(prefix: &str) -> Result<String, Error> {
    let mut id = String::with_capacity(prefix.len() + 1 + ID_RANDOM_LEN);
    id.push_str(prefix);
    id.push('_');
    push_random_base62(&mut id, ID_RANDOM_LEN)?;
    Ok(id)
}

/// Whether `s` looks like an id of ours with this prefix (bounds path parameters).
pub fn is_id(prefix: &str, s: &str) -> bool {
    s.len() == prefix.len() + 1 + ID_RANDOM_LEN
        && s.starts_with(prefix)
        && s.as_bytes()[prefix.len()] == b'_'
        && s[prefix.len() + 1..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_are_recognised() {
        let id = new_id("agt").unwrap();
        assert!(id.starts_with("agt_"));
        assert!(is_id("agt", &id));
        assert!(!is_id("tool", &id));
        assert!(!is_id("agt", "agt_short"));
        assert!(!is_id("agt", &format!("{id}'")));
    }

    #[test]
    fn random_base62_is_spread_over_the_alphabet() {
        let mut s = String::new();
        push_random_base62(&mut s, 6200).unwrap();
        let distinct: std::collections::HashSet<char> = s.chars().collect();
        assert_eq!(distinct.len(), 62);
    }
}
