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

/// A decision id that names its agent: `dec_`, the 20 characters of the agent id after `agt_`,
/// and 20 new random ones. The agent's Durable Object holds a decision's row until D1 has it, and
/// this is how a reader finds that object from the id alone.
pub fn new_decision_id(agent_id: &str) -> Result<String, Error> {
    if !is_id("agt", agent_id) {
        return new_id("dec");
    }
    let mut id = String::with_capacity(4 + 2 * ID_RANDOM_LEN);
    id.push_str("dec_");
    id.push_str(&agent_id[4..]);
    push_random_base62(&mut id, ID_RANDOM_LEN)?;
    Ok(id)
}

/// Whether `s` is a decision id: one that names its agent, or an older one that does not.
pub fn is_decision_id(s: &str) -> bool {
    let tail = s.strip_prefix("dec_").unwrap_or("");
    (tail.len() == ID_RANDOM_LEN || tail.len() == 2 * ID_RANDOM_LEN) && tail.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The agent a decision id names, if it names one.
pub fn agent_of_decision(decision_id: &str) -> Option<String> {
    let tail = decision_id.strip_prefix("dec_")?;
    (is_decision_id(decision_id) && tail.len() == 2 * ID_RANDOM_LEN).then(|| format!("agt_{}", &tail[..ID_RANDOM_LEN]))
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
    fn a_decision_id_names_its_agent() {
        let agent = new_id("agt").unwrap();
        let id = new_decision_id(&agent).unwrap();
        assert_eq!(id.len(), 44);
        assert!(is_decision_id(&id));
        assert_eq!(agent_of_decision(&id).as_deref(), Some(agent.as_str()));
        assert_ne!(new_decision_id(&agent).unwrap(), id, "the random part differs");
        let old = new_id("dec").unwrap();
        assert!(is_decision_id(&old), "older ids are still decision ids");
        assert_eq!(agent_of_decision(&old), None);
        for bad in ["dec_", "dec_abc", "agt_aaaaaaaaaaaaaaaaaaaa", &format!("{id}'"), &format!("{id}a")] {
            assert!(!is_decision_id(bad), "{bad}");
            assert_eq!(agent_of_decision(bad), None);
        }
    }

    #[test]
    fn random_base62_is_spread_over_the_alphabet() {
        let mut s = String::new();
        push_random_base62(&mut s, 6200).unwrap();
        let distinct: std::collections::HashSet<char> = s.chars().collect();
        assert_eq!(distinct.len(), 62);
    }
}
