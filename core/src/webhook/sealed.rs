//! Endpoint secrets at rest. Signing needs the secret itself, so it cannot be stored hashed like
//! API keys; it is stored sealed instead: AES-256-GCM (the `aes-gcm` crate, RustCrypto) under a
//! key derived from the deployment's `KEY_HASH_SECRET`, with a fresh random nonce each time. A
//! copy of the database alone does not give anyone the secrets.
//!
//! Stored form: `sealed:v1:` + standard base64 of `nonce (12 bytes) || ciphertext || tag`.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Secret;
use crate::Error;

const PREFIX: &str = "sealed:v1:";
const NONCE_BYTES: usize = 12;

fn cipher(master: &[u8]) -> Aes256Gcm {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(b"oakauth webhook secrets v1");
    let key: [u8; 32] = mac.finalize().into_bytes().into();
    Aes256Gcm::new(&key.into())
}

/// Seals `secret` for storage under `master` (the deployment's `KEY_HASH_SECRET`).
pub fn seal(master: &[u8], secret: &Secret) -> Result<String, Error> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::getrandom(&mut nonce).map_err(|_| Error::Random)?;
    let sealed = cipher(master)
        .encrypt(Nonce::from_slice(&nonce), secret.expose().as_bytes())
        .map_err(|_| Error::Invalid("the webhook secret could not be sealed".into()))?;
    let mut bytes = nonce.to_vec();
    bytes.extend(sealed);
    Ok(format!("{PREFIX}{}", BASE64.encode(bytes)))
}

/// Opens a secret sealed by [`seal`] under the same `master`; anything else (another master, a
/// changed byte, an unsealed value) is an error that never repeats the input.
pub fn open(master: &[u8], stored: &str) -> Result<Secret, Error> {
    let bad = || Error::Invalid("a stored webhook secret could not be opened (was KEY_HASH_SECRET changed?)".into());
    let bytes = stored.strip_prefix(PREFIX).and_then(|b| BASE64.decode(b).ok()).ok_or_else(bad)?;
    if bytes.len() <= NONCE_BYTES {
        return Err(bad());
    }
    let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
    let text = cipher(master).decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| bad())?;
    Secret::parse(std::str::from_utf8(&text).map_err(|_| bad())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_under_its_master_and_unchanged() {
        let secret = Secret::generate().unwrap();
        let master = b"test-only-key-hash-secret-0123456789";
        let stored = seal(master, &secret).unwrap();
        assert!(stored.starts_with(PREFIX));
        assert!(!stored.contains(&secret.expose()[6..]), "the secret is not readable in the stored form");
        assert_ne!(seal(master, &secret).unwrap(), stored, "a fresh nonce each time");
        assert_eq!(open(master, &stored).unwrap().expose(), secret.expose());
        assert!(open(b"another-master-secret-0123456789", &stored).is_err());
        let mut bytes = BASE64.decode(&stored[PREFIX.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(open(master, &format!("{PREFIX}{}", BASE64.encode(bytes))).is_err());
        let err = open(master, &secret.expose()).unwrap_err().to_string();
        assert!(!err.contains(&secret.expose()[6..]), "the error does not repeat the input");
    }
}
