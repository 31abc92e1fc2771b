//! Signed decision receipts: proof, checkable by a tool server on its own, that OakAuth allowed one
//! exact call a moment ago.
//!
//! A receipt is a compact JWS (RFC 7515) signed with Ed25519 (`alg: EdDSA`, RFC 8037), with the
//! header `typ: oakauth-receipt+jwt` and the `kid` of the key that signed it. Its [`Claims`] bind
//! the organization, agent, tool, scope and the SHA-256 of the RFC 8785 canonical arguments
//! ([`crate::approval::arguments_digest`]) to the decision (`jti`), for [`LIFETIME_SECONDS`].
//! The worker signs with the first key of its [`KeyRing`] and publishes every key's public half
//! as a JWKS (RFC 7517) at `/.well-known/jwks.json`; [`verify`] is what the Rust SDK checks
//! against that JWKS. JOSE encoding and decoding is `jsonwebtoken`'s (pure-Rust crypto, so the
//! same code runs in the worker's wasm and natively), over our own
//! Ed25519-only crypto provider (`provider.rs`).
//!
//! Key configuration (the worker secret `RECEIPT_KEYS`): a comma-separated list of
//! `kid:seed`, where `seed` is the 32-byte Ed25519 private key in unpadded base64url. The first
//! key signs; all are published, so a rotation puts the new key first and keeps the old one
//! published until the receipts it signed have expired.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

pub(crate) mod provider;

/// The JWS header's `typ`: a receipt is never mistaken for another JWT, nor another JWT for it.
pub const TYP: &str = "oakauth-receipt+jwt";
/// How long a receipt is valid after it was issued.
pub const LIFETIME_SECONDS: i64 = 60;
/// The most clock difference [`verify`] forgives on `exp` and `iat`.
pub const MAX_LEEWAY_SECONDS: i64 = 5;
/// The longest token [`verify`] reads (receipts are about 600 bytes).
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Keys in `RECEIPT_KEYS`.
pub const MAX_KEYS: usize = 8;
/// The header key under which an MCP `tools/call` carries its receipt, in `_meta`.
pub const MCP_META_KEY: &str = "oakauth/receipt";

/// What a receipt says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The OakAuth deployment that decided (its base URL, no trailing slash).
    pub iss: String,
    /// The organization.
    pub org: String,
    /// The agent that asked.
    pub agent: String,
    pub tool: String,
    pub scope: String,
    /// Lowercase hex SHA-256 of the RFC 8785 canonical JSON of the call's arguments.
    pub args: String,
    /// The decision id (`dec_…`), also the key of its audit row.
    pub jti: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

impl Claims {
    /// The claims of an allowed decision made at `now_ms`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        issuer: &str,
        org: &str,
        agent: &str,
        (tool, scope): (&str, &str),
        arguments: Option<&Map<String, Value>>,
        decision_id: &str,
        now_ms: i64,
    ) -> Claims {
        let iat = now_ms.div_euclid(1000);
        Claims {
            iss: issuer.trim_end_matches('/').to_string(),
            org: org.to_string(),
            agent: agent.to_string(),
            tool: tool.to_string(),
            scope: scope.to_string(),
            args: crate::approval::arguments_digest(arguments),
            jti: decision_id.to_string(),
            iat,
            exp: iat + LIFETIME_SECONDS,
        }
    }
}

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    /// The public key, unpadded base64url (the JWK's `x`).
    x: String,
}

/// The worker's receipt keys: the first signs, all are published.
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

/// PKCS #8 v1 wrapping of a raw Ed25519 private key (RFC 8410, section 7): this prefix, then the
/// 32-byte seed. The form `jsonwebtoken` takes Ed25519 signing keys in.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

fn valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl KeyRing {
    /// Reads `RECEIPT_KEYS` (see the module documentation). The message of an error never
    /// contains key material.
    pub fn parse(text: &str) -> Result<KeyRing, Error> {
        let invalid = |why: String| Error::Invalid(format!("RECEIPT_KEYS: {why}"));
        let mut keys = Vec::new();
        for (i, entry) in text.split(',').map(str::trim).enumerate() {
            let Some((kid, seed)) = entry.split_once(':') else {
                return Err(invalid(format!("entry {} is not kid:seed", i + 1)));
            };
            let kid = kid.trim();
            if !valid_kid(kid) {
                return Err(invalid(format!("entry {}: a kid is 1 to 64 of A-Z a-z 0-9 - _ .", i + 1)));
            }
            if keys.iter().any(|k: &SigningKey| k.kid == kid) {
                return Err(invalid(format!("kid {kid} appears twice")));
            }
            let seed: [u8; 32] = URL_SAFE_NO_PAD
                .decode(seed.trim().trim_end_matches('='))
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| invalid(format!("key {kid} is not 32 bytes of base64url")))?;
            let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            let mut der = PKCS8_ED25519_PREFIX.to_vec();
            der.extend_from_slice(&seed);
            keys.push(SigningKey {
                kid: kid.to_string(),
                encoding: EncodingKey::from_ed_der(&der),
                x: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            });
        }
        if keys.len() > MAX_KEYS {
            return Err(invalid(format!("at most {MAX_KEYS} keys")));
        }
        Ok(KeyRing { keys })
    }

    /// A new random key as a `RECEIPT_KEYS` entry, `kid:seed`.
    pub fn generate_entry(kid: &str) -> Result<String, Error> {
        if !valid_kid(kid) {
            return Err(Error::Invalid("a kid is 1 to 64 of A-Z a-z 0-9 - _ .".into()));
        }
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|_| Error::Random)?;
        Ok(format!("{kid}:{}", URL_SAFE_NO_PAD.encode(seed)))
    }

    /// The `kid` that signs.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// The compact JWS of `claims`, signed with the first key.
    pub fn sign(&self, claims: &Claims) -> Result<String, Error> {
        provider::install();
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TYP.to_string());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| Error::Invalid(format!("signing a receipt: {e}")))
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().map(|k| public_jwk(&k.kid, &k.x)).collect() }
    }
}

fn public_jwk(kid: &str, x: &str) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(kid.to_string()),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: x.to_string(),
        }),
    }
}

/// The call a tool server is about to run, which a receipt must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The OakAuth base URL the verifier trusts.
    pub issuer: &'a str,
    pub tool: &'a str,
    pub scope: &'a str,
    /// The exact arguments the call will run with (`None`: no arguments, hashed like `{}`).
    pub arguments: Option<&'a Map<String, Value>>,
}

/// Why a receipt was refused. Stable codes ([`Rejection::code`]) shared with the TypeScript SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a compact JWS with the receipt's header and claims.
    #[error("the receipt is not a well-formed OakAuth receipt")]
    Malformed,
    /// An algorithm other than EdDSA, or a `typ` other than [`TYP`].
    #[error("the receipt is not signed with EdDSA as an OakAuth receipt")]
    Algorithm,
    /// No key with the receipt's `kid` in the JWKS.
    #[error("the receipt's key is not among the issuer's published keys")]
    UnknownKey,
    #[error("the receipt's signature does not verify")]
    Signature,
    #[error("the receipt was issued by another OakAuth deployment")]
    Issuer,
    #[error("the receipt has expired")]
    Expired,
    /// Issued in the future (beyond the leeway), or with a lifetime longer than receipts have.
    #[error("the receipt's validity period is not one OakAuth issues")]
    Lifetime,
    #[error("the receipt is for another tool")]
    ToolMismatch,
    #[error("the receipt is for another scope")]
    ScopeMismatch,
    #[error("the receipt is for other arguments")]
    ArgumentsMismatch,
    /// Its `jti` was accepted before.
    #[error("the receipt was used already")]
    Replayed,
    /// The replay cache is full of receipts that have not expired, so a replay could not be
    /// ruled out: refused rather than forgetting one that could then be used again.
    #[error("too many receipts are in use to rule out a replay; try again shortly")]
    ReplayCacheFull,
}

impl Rejection {
    /// The stable code: `malformed`, `algorithm`, `unknown_key`, `signature`, `issuer`, `expired`,
    /// `lifetime`, `tool_mismatch`, `scope_mismatch`, `arguments_mismatch`, `replayed`,
    /// `replay_cache_unavailable` (the same codes as the TypeScript SDK's `ReceiptInvalidError`).
    pub fn code(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::Algorithm => "algorithm",
            Rejection::UnknownKey => "unknown_key",
            Rejection::Signature => "signature",
            Rejection::Issuer => "issuer",
            Rejection::Expired => "expired",
            Rejection::Lifetime => "lifetime",
            Rejection::ToolMismatch => "tool_mismatch",
            Rejection::ScopeMismatch => "scope_mismatch",
            Rejection::ArgumentsMismatch => "arguments_mismatch",
            Rejection::Replayed => "replayed",
            Rejection::ReplayCacheFull => "replay_cache_unavailable",
        }
    }
}

/// The key id a receipt names, read without verifying anything (to pick or refresh a JWKS).
pub fn key_id(token: &str) -> Result<String, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
    header.kid.ok_or(Rejection::Malformed)
}

/// Checks a receipt against the issuer's JWKS and the call about to run, at `now_s` (seconds),
/// forgiving `leeway_s` (at most [`MAX_LEEWAY_SECONDS`]) of clock difference. Does not check
/// replay: pass the returned claims to a [`ReplayCache`].
pub fn verify(
    token: &str,
    jwks: &JwkSet,
    expected: &Expected<'_>,
    now_s: i64,
    leeway_s: i64,
) -> Result<Claims, Rejection> {
    provider::install();
    let leeway = leeway_s.clamp(0, MAX_LEEWAY_SECONDS);
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TYP) {
        return Err(Rejection::Algorithm);
    }
    let kid = header.kid.as_deref().ok_or(Rejection::Malformed)?;
    let jwk = jwks.find(kid).ok_or(Rejection::UnknownKey)?;
    // Only an Ed25519 public key can verify a receipt, whatever else the set holds.
    let x = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => &p.x,
        _ => return Err(Rejection::UnknownKey),
    };
    let key = DecodingKey::from_ed_components(x).map_err(|_| Rejection::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // Time is checked below against the caller's clock (the worker's wasm has no system time).
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidEddsaKey => Rejection::Signature,
            ErrorKind::InvalidAlgorithm => Rejection::Algorithm,
            _ => Rejection::Malformed,
        }
    })?;
    let claims = data.claims;
    if claims.iss != expected.issuer.trim_end_matches('/') {
        return Err(Rejection::Issuer);
    }
    if claims.exp - claims.iat > LIFETIME_SECONDS || claims.iat > now_s + leeway {
        return Err(Rejection::Lifetime);
    }
    if now_s > claims.exp + leeway {
        return Err(Rejection::Expired);
    }
    if claims.tool != expected.tool {
        return Err(Rejection::ToolMismatch);
    }
    if claims.scope != expected.scope {
        return Err(Rejection::ScopeMismatch);
    }
    if claims.args != crate::approval::arguments_digest(expected.arguments) {
        return Err(Rejection::ArgumentsMismatch);
    }
    Ok(claims)
}

/// Remembers the `jti` of receipts accepted and not yet expired, to refuse a second use.
/// Bounded: entries leave once their receipt has expired (plus the largest leeway); when the
/// cache is full of live entries a new receipt is refused ([`Rejection::ReplayCacheFull`])
/// rather than forgetting one that could then be replayed. Fail closed.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    /// jti → exp.
    seen: HashMap<String, i64>,
    /// exp → jtis, to evict in expiry order.
    by_exp: BTreeMap<i64, Vec<String>>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` (≥ 1) receipts.
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache { capacity: capacity.max(1), seen: HashMap::new(), by_exp: BTreeMap::new() }
    }

    /// Records `claims.jti`; `Err(Replayed)` when it was recorded before and has not expired.
    pub fn check_and_insert(&mut self, claims: &Claims, now_s: i64) -> Result<(), Rejection> {
        self.evict_expired(now_s);
        if self.seen.contains_key(&claims.jti) {
            return Err(Rejection::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(Rejection::ReplayCacheFull);
        }
        // Kept past `exp` by the largest leeway, so no leeway lets a receipt in twice.
        let until = claims.exp + MAX_LEEWAY_SECONDS;
        self.seen.insert(claims.jti.clone(), until);
        self.by_exp.entry(until).or_default().push(claims.jti.clone());
        Ok(())
    }

    /// Receipts remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn evict_expired(&mut self, now_s: i64) {
        while let Some(first) = self.by_exp.first_entry() {
            if *first.key() >= now_s {
                break;
            }
            for jti in first.remove() {
                self.seen.remove(&jti);
            }
        }
    }
}

#[cfg(test)]
mod tests;
