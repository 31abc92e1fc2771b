//! OpenID Connect for people's sign-in (authorization code with PKCE): the provider's discovery
//! document, the authorization request, and the ID token check. The worker fetches documents and
//! keys; everything that decides is here, tested natively.
//!
//! An ID token is accepted only when all of these hold ([`verify_id_token`]):
//! - it is a compact JWS whose `alg` is `RS256` or `ES256` (never `none`, never an HMAC: a
//!   provider's public key used as an HMAC secret is refused), under a `kid` the provider's JWKS
//!   lists with a key of the matching type (an RSA key of at least 2,048 bits for `RS256`, a P-256
//!   key for `ES256`), whose own `alg` and `use`, when given, agree;
//! - the signature verifies (`jsonwebtoken` with our provider, `rsa` and `p256` underneath);
//! - `iss` is exactly the configured issuer, `aud` contains the client id (and `azp`, when there
//!   are several audiences, is the client id);
//! - `exp` is in the future and `iat`/`nbf` not in the future (each with [`LEEWAY_S`] of clock
//!   skew), against the caller's clock;
//! - `nonce` equals the one this sign-in sent; `sub` is present.

use base64::Engine;
pub use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Clock skew allowed on `exp`, `iat` and `nbf` (seconds).
pub const LEEWAY_S: i64 = 60;
/// The largest ID token read (bytes).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The largest discovery document or JWKS read (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The smallest RSA modulus accepted (bits).
pub const MIN_RSA_BITS: usize = 2048;

/// Why the provider's answer or an ID token was refused. The message never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider's configuration is unusable: {0}")]
    Discovery(String),
    #[error("the ID token is not a well-formed JWT")]
    Malformed,
    #[error("the ID token's algorithm is not accepted (RS256 or ES256 only)")]
    Algorithm,
    #[error("the ID token names a key the identity provider does not publish")]
    UnknownKey,
    #[error("the ID token's key does not fit its algorithm")]
    KeyMismatch,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token comes from another issuer")]
    Issuer,
    #[error("the ID token is for another client")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet")]
    NotYetValid,
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
    #[error("the ID token lacks a required claim: {0}")]
    MissingClaim(&'static str),
}

/// The parts of a provider's discovery document (`/.well-known/openid-configuration`) used here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Where a provider's discovery document lives.
pub fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// Whether `url` is `http` on a loopback host (allowed for local development only).
pub fn is_loopback_http(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    u.scheme() == "http" && loopback
}

/// An issuer as configured: an `https` URL (or `http` on a loopback host), without query or
/// fragment.
pub fn check_issuer(issuer: &str) -> Result<(), OidcError> {
    let u = url::Url::parse(issuer).map_err(|_| OidcError::Discovery("OIDC_ISSUER is not a URL".into()))?;
    if !(u.scheme() == "https" || is_loopback_http(issuer)) || u.query().is_some() || u.fragment().is_some() {
        return Err(OidcError::Discovery(
            "OIDC_ISSUER must be an https URL (http only on 127.0.0.1 or localhost) without query or fragment".into(),
        ));
    }
    Ok(())
}

/// Reads a discovery document and checks it against the configured issuer: `issuer` must equal
/// it exactly (OpenID Connect Discovery §4.3), and every endpoint must be `https` (or loopback
/// `http` when the issuer itself is).
pub fn parse_discovery(body: &[u8], expected_issuer: &str) -> Result<ProviderMetadata, OidcError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(OidcError::Discovery("the discovery document is too large".into()));
    }
    let meta: ProviderMetadata = serde_json::from_slice(body)
        .map_err(|_| OidcError::Discovery("the discovery document is not the expected JSON".into()))?;
    if meta.issuer != expected_issuer {
        return Err(OidcError::Discovery(format!(
            "the discovery document names issuer {:?}, not the configured one",
            meta.issuer
        )));
    }
    let local = is_loopback_http(expected_issuer);
    for (name, value) in [
        ("authorization_endpoint", &meta.authorization_endpoint),
        ("token_endpoint", &meta.token_endpoint),
        ("jwks_uri", &meta.jwks_uri),
    ] {
        let ok = match url::Url::parse(value) {
            Ok(u) => u.scheme() == "https" || (local && is_loopback_http(value)),
            Err(_) => false,
        };
        if !ok {
            return Err(OidcError::Discovery(format!("{name} must be an https URL")));
        }
    }
    Ok(meta)
}

/// Reads a provider's JWKS.
pub fn parse_jwks(body: &[u8]) -> Result<JwkSet, OidcError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(OidcError::Discovery("the JWKS is too large".into()));
    }
    serde_json::from_slice(body).map_err(|_| OidcError::Discovery("the JWKS is not a JSON Web Key Set".into()))
}

/// The PKCE `code_challenge` (method `S256`) of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// One sign-in's authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    /// `login_hint`, e.g. an invited address.
    pub login_hint: Option<&'a str>,
}

/// The URL the browser is sent to: the authorization endpoint with `response_type=code`, scopes
/// `openid email profile`, the state, the nonce and the PKCE challenge.
pub fn authorization_url(meta: &ProviderMetadata, req: &AuthorizationRequest<'_>) -> Result<String, OidcError> {
    let mut url = url::Url::parse(&meta.authorization_endpoint)
        .map_err(|_| OidcError::Discovery("authorization_endpoint is not a URL".into()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", req.client_id)
            .append_pair("redirect_uri", req.redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", req.state)
            .append_pair("nonce", req.nonce)
            .append_pair("code_challenge", &pkce_challenge(req.code_verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = req.login_hint {
            q.append_pair("login_hint", hint);
        }
    }
    Ok(url.into())
}

/// The form body of the token request (`application/x-www-form-urlencoded`).
pub fn token_request_body(code: &str, redirect_uri: &str, code_verifier: &str, client_id: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", code_verifier)
        .append_pair("client_id", client_id)
        .finish()
}

/// The `Authorization` header for `client_secret_basic` (RFC 6749 §2.3.1: both parts
/// form-encoded first).
pub fn client_secret_basic(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(client_id), enc(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
}

/// The `id_token` of a token endpoint's answer.
pub fn id_token_from_token_response(body: &[u8]) -> Result<String, OidcError> {
    #[derive(Deserialize)]
    struct TokenResponse {
        id_token: Option<String>,
    }
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(OidcError::Malformed);
    }
    let r: TokenResponse = serde_json::from_slice(body).map_err(|_| OidcError::Malformed)?;
    r.id_token.ok_or(OidcError::MissingClaim("id_token"))
}

/// What an ID token must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the epoch, the caller's clock.
    pub now_s: i64,
}

/// Who signed in, from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    azp: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    nonce: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: bool,
    name: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    acr: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `email_verified` as a boolean, or the strings "true"/"false" some providers send.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match B::deserialize(d)? {
        B::Bool(b) => b,
        B::Text(t) => t == "true",
        B::Other(_) => false,
    })
}

/// The key of `jwks` that may verify a token signed with `alg` under `kid`.
fn key_for<'a>(jwks: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Result<&'a Jwk, OidcError> {
    let fits = |jwk: &Jwk| match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        _ => false,
    };
    let jwk = match kid {
        Some(kid) => jwks.find(kid).ok_or(OidcError::UnknownKey)?,
        // Without a kid, only a set with exactly one key of the right type is unambiguous.
        None => {
            let mut candidates = jwks.keys.iter().filter(|k| fits(k));
            match (candidates.next(), candidates.next()) {
                (Some(k), None) => k,
                _ => return Err(OidcError::UnknownKey),
            }
        }
    };
    if !fits(jwk) {
        return Err(OidcError::KeyMismatch);
    }
    let declared = jwk.common.key_algorithm;
    let alg_agrees = match declared {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    let use_agrees = matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
    if !alg_agrees || !use_agrees {
        return Err(OidcError::KeyMismatch);
    }
    Ok(jwk)
}

/// Verifies an ID token against the provider's keys and this sign-in's expectations (see the
/// module's documentation for the list).
pub fn verify_id_token(token: &str, jwks: &JwkSet, expected: &Expected<'_>) -> Result<Identity, OidcError> {
    crate::receipt::provider::install();
    if token.len() > MAX_TOKEN_BYTES {
        return Err(OidcError::Malformed);
    }
    // The algorithm is read first, by itself, so that `none` or an algorithm the JOSE crate does
    // not know is refused as an algorithm, not as a malformed token.
    let alg = token
        .split('.')
        .next()
        .and_then(|h| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .ok_or(OidcError::Malformed)?
        .get("alg")
        .and_then(|a| a.as_str().map(str::to_string))
        .ok_or(OidcError::Malformed)?;
    if alg != "RS256" && alg != "ES256" {
        return Err(OidcError::Algorithm);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| OidcError::Malformed)?;
    let jwk = key_for(jwks, header.kid.as_deref(), header.alg)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| OidcError::KeyMismatch)?;
    let mut validation = Validation::new(header.alg);
    // Time, issuer and audience are checked below against the caller's clock and configuration
    // (the worker's wasm has no system clock), with our own error for each.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<IdClaims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey => {
                OidcError::Signature
            }
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => OidcError::Algorithm,
            ErrorKind::InvalidKeyFormat => OidcError::KeyMismatch,
            _ => OidcError::Malformed,
        }
    })?;
    let c = data.claims;
    if c.iss.as_deref() != Some(expected.issuer) {
        return Err(OidcError::Issuer);
    }
    let audiences = match c.aud {
        Some(Audience::One(a)) => vec![a],
        Some(Audience::Many(a)) => a,
        None => return Err(OidcError::Audience),
    };
    if !audiences.iter().any(|a| a == expected.client_id) {
        return Err(OidcError::Audience);
    }
    if audiences.len() > 1 && c.azp.as_deref() != Some(expected.client_id) {
        return Err(OidcError::Audience);
    }
    let exp = c.exp.ok_or(OidcError::MissingClaim("exp"))?;
    let iat = c.iat.ok_or(OidcError::MissingClaim("iat"))?;
    if expected.now_s >= exp + LEEWAY_S {
        return Err(OidcError::Expired);
    }
    if iat > expected.now_s + LEEWAY_S || c.nbf.is_some_and(|nbf| nbf > expected.now_s + LEEWAY_S) {
        return Err(OidcError::NotYetValid);
    }
    match c.nonce {
        Some(n) if crate::keys::hashes_equal(&n, expected.nonce) && !expected.nonce.is_empty() => {}
        Some(_) => return Err(OidcError::Nonce),
        None => return Err(OidcError::MissingClaim("nonce")),
    }
    let sub = c.sub.filter(|s| !s.is_empty() && s.len() <= 255).ok_or(OidcError::MissingClaim("sub"))?;
    Ok(Identity { sub, email: c.email, email_verified: c.email_verified, name: c.name, amr: c.amr, acr: c.acr })
}

#[cfg(test)]
mod tests;
