//! The cryptography `jsonwebtoken` runs for receipts: Ed25519 (ed25519-dalek) and nothing else.
//! Installing our own provider instead of the crate's `rust_crypto` feature keeps RSA and the
//! NIST curves out of the worker's wasm, and means no other algorithm can be signed or verified
//! through this crate at all.

use std::sync::Once;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// The 32-byte Ed25519 seed, the last 32 bytes of the PKCS #8 document `EncodingKey` holds.
struct Ed25519Signer(SigningKey);

impl Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, Error> {
        Ok(self.0.sign(msg).to_bytes().to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct Ed25519Verifier(VerifyingKey);

impl Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        let signature = Signature::from_slice(signature)?;
        self.0.verify_strict(msg, &signature).map_err(|_| Error::new())
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let der = key.as_bytes();
    let seed: [u8; 32] = der
        .strip_prefix(&super::PKCS8_ED25519_PREFIX[..])
        .and_then(|s| s.try_into().ok())
        .ok_or(ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Signer(expanded(&seed))))
}

thread_local! {
    /// The last signing key expanded on this thread. `jsonwebtoken` hands the provider the raw key
    /// on every `encode`, and expanding it costs a SHA-512 and a scalar multiplication (as much as
    /// the signature itself); the worker signs every allowed decision with the same key.
    static EXPANDED: std::cell::RefCell<Option<([u8; 32], SigningKey)>> = const { std::cell::RefCell::new(None) };
}

fn expanded(seed: &[u8; 32]) -> SigningKey {
    EXPANDED.with(|cell| {
        let mut cell = cell.borrow_mut();
        match cell.as_ref() {
            Some((cached, key)) if cached == seed => key.clone(),
            _ => {
                let key = SigningKey::from_bytes(seed);
                *cell = Some((*seed, key.clone()));
                key
            }
        }
    })
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: [u8; 32] = key.try_get_as_bytes()?.try_into().map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Verifier(key)))
}

static PROVIDER: CryptoProvider =
    CryptoProvider { signer_factory: signer, verifier_factory: verifier, key_utils: KeyUtils::new_unimplemented() };

/// Makes ours the process's provider, once, unless the program installed another first (which,
/// being a full provider, verifies EdDSA as well; receipts accept no other algorithm either way).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = CryptoProvider::install_default(&PROVIDER);
    });
}
