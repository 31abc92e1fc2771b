//! The cryptography `jsonwebtoken` runs: Ed25519 signing and verifying for receipts
//! (ed25519-dalek), and verifying only, for identity providers' ID tokens ([`crate::oidc`]),
//! RS256 (`rsa`, PKCS #1 v1.5 with SHA-256, moduli of 2,048 to 4,096 bits) and ES256 (`p256`).
//! Nothing else can be signed or verified through the crate: no HMAC (so a public key can never be
//! used as a shared secret), no `none`. Our own provider instead of the crate's `rust_crypto`
//! feature keeps the other RSA and curve variants, and RSA signing, out of the worker's wasm.

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

/// RS256 with a public key given as modulus and exponent (a JWK's `n` and `e`).
struct Rs256Verifier(rsa::RsaPublicKey);

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(msg);
        self.0.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, signature).map_err(|_| Error::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

/// ES256: ECDSA over P-256 with SHA-256, the signature as JOSE's fixed 64 bytes (r ‖ s).
struct Es256Verifier(p256::ecdsa::VerifyingKey);

impl Verifier<Vec<u8>> for Es256Verifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        use p256::ecdsa::signature::Verifier as _;
        let signature = p256::ecdsa::Signature::from_slice(signature).map_err(|_| Error::new())?;
        self.0.verify(msg, &signature).map_err(|_| Error::new())
    }
}

impl JwtVerifier for Es256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

fn rs256_verifier(key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    use jsonwebtoken::DecodingKeyKind;
    use rsa::traits::PublicKeyParts;
    let DecodingKeyKind::RsaModulusExponent { n, e } = key.kind() else {
        return Err(ErrorKind::InvalidKeyFormat.into());
    };
    let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e))
        .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
    if key.n().bits() < crate::oidc::MIN_RSA_BITS {
        return Err(ErrorKind::InvalidRsaKey("modulus shorter than 2048 bits".into()).into());
    }
    Ok(Box::new(Rs256Verifier(key)))
}

fn es256_verifier(key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let point = key.try_get_as_bytes()?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    Ok(Box::new(Es256Verifier(key)))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    use jsonwebtoken::AlgorithmFamily;
    match (algorithm, key.family()) {
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {}
        (Algorithm::RS256, AlgorithmFamily::Rsa) => return rs256_verifier(key),
        (Algorithm::ES256, AlgorithmFamily::Ec) => return es256_verifier(key),
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
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
