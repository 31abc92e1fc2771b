//! ID tokens signed here with fixed test keys (test-rsa-*.pem, made with `openssl genrsa`, and a
//! fixed P-256 scalar), checked the way the worker checks a provider's.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

const RSA_2048: &str = include_str!("test-rsa-2048.pem");
const RSA_1024: &str = include_str!("test-rsa-1024.pem");
const ISSUER: &str = "https://idp.example.com";
const CLIENT: &str = "oakauth";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: i64 = 1_800_000_000;

fn rsa_key(pem: &str) -> rsa::RsaPrivateKey {
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("test key")
}

fn ec_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("test scalar")
}

fn rsa_jwk(key: &rsa::RsaPrivateKey, kid: &str, extra: Value) -> Value {
    let mut jwk = json!({
        "kty": "RSA", "kid": kid, "use": "sig",
        "n": B64.encode(key.n().to_bytes_be()), "e": B64.encode(key.e().to_bytes_be()),
    });
    jwk.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    jwk
}

fn ec_jwk(kid: &str) -> Value {
    let point = ec_key().verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": B64.encode(point.x().unwrap()), "y": B64.encode(point.y().unwrap())})
}

fn jwks(keys: Vec<Value>) -> JwkSet {
    serde_json::from_value(json!({ "keys": keys })).unwrap()
}

fn provider_keys() -> JwkSet {
    jwks(vec![rsa_jwk(&rsa_key(RSA_2048), "rsa-1", json!({"alg": "RS256"})), ec_jwk("ec-1")])
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "user-1", "aud": CLIENT, "exp": NOW + 300, "iat": NOW, "nonce": NONCE,
        "email": "alice@example.com", "email_verified": true, "name": "Alice", "amr": ["pwd", "otp"], "acr": "mfa",
    })
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()))
}

fn rs256(key: &rsa::RsaPrivateKey, kid: &str, claims: &Value) -> String {
    use rsa::signature::{SignatureEncoding, Signer};
    let input = signing_input(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}), claims);
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    format!("{input}.{}", B64.encode(signer.sign(input.as_bytes()).to_bytes()))
}

fn es256(kid: &str, claims: &Value) -> String {
    use p256::ecdsa::signature::Signer;
    let input = signing_input(&json!({"alg": "ES256", "kid": kid}), claims);
    let signature: p256::ecdsa::Signature = ec_key().sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

fn expected() -> Expected<'static> {
    Expected { issuer: ISSUER, client_id: CLIENT, nonce: NONCE, now_s: NOW }
}

fn verify(token: &str) -> Result<Identity, OidcError> {
    verify_id_token(token, &provider_keys(), &expected())
}

fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn a_provider_signed_rs256_token_gives_the_identity() {
    let id = verify(&rs256(&rsa_key(RSA_2048), "rsa-1", &claims())).unwrap();
    assert_eq!(id.sub, "user-1");
    assert_eq!(id.email.as_deref(), Some("alice@example.com"));
    assert!(id.email_verified);
    assert_eq!(id.name.as_deref(), Some("Alice"));
    assert_eq!(id.amr, vec!["pwd", "otp"]);
    assert_eq!(id.acr.as_deref(), Some("mfa"));
}

#[test]
fn an_es256_token_verifies_with_its_p256_key() {
    assert_eq!(verify(&es256("ec-1", &claims())).unwrap().sub, "user-1");
}

#[test]
fn wrong_issuer_audience_and_nonce_are_refused() {
    let key = rsa_key(RSA_2048);
    assert_eq!(
        verify(&rs256(&key, "rsa-1", &with(json!({"iss": "https://evil.example.com"})))),
        Err(OidcError::Issuer)
    );
    assert_eq!(
        verify(&rs256(&key, "rsa-1", &with(json!({"iss": "https://idp.example.com/"})))),
        Err(OidcError::Issuer)
    );
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"aud": "someone-else"})))), Err(OidcError::Audience));
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"aud": null})))), Err(OidcError::Audience));
    // Several audiences need azp to name us.
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"aud": [CLIENT, "other"]})))), Err(OidcError::Audience));
    assert!(verify(&rs256(&key, "rsa-1", &with(json!({"aud": [CLIENT, "other"], "azp": CLIENT})))).is_ok());
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"nonce": "another"})))), Err(OidcError::Nonce));
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"nonce": null})))), Err(OidcError::MissingClaim("nonce")));
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"sub": null})))), Err(OidcError::MissingClaim("sub")));
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused_with_a_minute_of_skew() {
    let key = rsa_key(RSA_2048);
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"exp": NOW - LEEWAY_S})))), Err(OidcError::Expired));
    assert!(verify(&rs256(&key, "rsa-1", &with(json!({"exp": NOW - LEEWAY_S + 1})))).is_ok());
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"exp": null})))), Err(OidcError::MissingClaim("exp")));
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"iat": NOW + 600})))), Err(OidcError::NotYetValid));
    assert_eq!(verify(&rs256(&key, "rsa-1", &with(json!({"nbf": NOW + 600})))), Err(OidcError::NotYetValid));
    assert!(verify(&rs256(&key, "rsa-1", &with(json!({"nbf": NOW + 30})))).is_ok());
}

#[test]
fn a_bad_signature_or_another_key_is_refused() {
    let key = rsa_key(RSA_2048);
    let token = rs256(&key, "rsa-1", &claims());
    // The payload changed after signing.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = B64.encode(with(json!({"sub": "admin"})).to_string());
    assert_eq!(verify(&parts.join(".")), Err(OidcError::Signature));
    // Signed by another key under the provider's kid.
    let other = rsa::RsaPrivateKey::from_pkcs8_pem(RSA_1024).unwrap();
    let forged = rs256(&other, "rsa-1", &claims());
    assert_eq!(verify(&forged), Err(OidcError::Signature));
    // A truncated signature.
    assert!(matches!(verify(&token[..token.len() - 8]), Err(OidcError::Signature | OidcError::Malformed)));
}

#[test]
fn an_unknown_kid_is_refused() {
    assert_eq!(verify(&rs256(&rsa_key(RSA_2048), "rsa-2", &claims())), Err(OidcError::UnknownKey));
}

#[test]
fn alg_none_and_other_algorithms_are_refused() {
    let none = format!("{}.", signing_input(&json!({"alg": "none", "kid": "rsa-1"}), &claims()));
    assert_eq!(verify(&none), Err(OidcError::Algorithm));
    let none_upper = format!("{}.", signing_input(&json!({"alg": "None"}), &claims()));
    assert_eq!(verify(&none_upper), Err(OidcError::Algorithm));
    let rs512 = format!("{}.c2ln", signing_input(&json!({"alg": "RS512", "kid": "rsa-1"}), &claims()));
    assert_eq!(verify(&rs512), Err(OidcError::Algorithm));
}

#[test]
fn hs256_keyed_with_the_providers_public_key_is_refused() {
    // Key confusion: an attacker signs with HMAC using the public key as the shared secret.
    let key = rsa_key(RSA_2048);
    let public_jwk = rsa_jwk(&key, "rsa-1", json!({}));
    for secret in
        [public_jwk.to_string().into_bytes(), key.n().to_bytes_be(), B64.encode(key.n().to_bytes_be()).into_bytes()]
    {
        let input = signing_input(&json!({"alg": "HS256", "kid": "rsa-1"}), &claims());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(verify(&token), Err(OidcError::Algorithm));
    }
}

#[test]
fn a_key_of_the_wrong_type_or_declared_algorithm_is_refused() {
    // An RS256 header naming the provider's EC key.
    assert_eq!(verify(&rs256(&rsa_key(RSA_2048), "ec-1", &claims())), Err(OidcError::KeyMismatch));
    // An ES256 header naming the RSA key.
    assert_eq!(verify(&es256("rsa-1", &claims())), Err(OidcError::KeyMismatch));
    // The JWK says RS384 or encryption use.
    let key = rsa_key(RSA_2048);
    for extra in [json!({"alg": "RS384"}), json!({"use": "enc"})] {
        let set = jwks(vec![rsa_jwk(&key, "rsa-1", extra)]);
        assert_eq!(verify_id_token(&rs256(&key, "rsa-1", &claims()), &set, &expected()), Err(OidcError::KeyMismatch));
    }
}

#[test]
fn rsa_keys_shorter_than_2048_bits_are_refused() {
    let small = rsa::RsaPrivateKey::from_pkcs8_pem(RSA_1024).unwrap();
    let set = jwks(vec![rsa_jwk(&small, "small", json!({}))]);
    assert_eq!(verify_id_token(&rs256(&small, "small", &claims()), &set, &expected()), Err(OidcError::Signature));
}

#[test]
fn without_a_kid_only_a_single_fitting_key_is_used() {
    use rsa::signature::{SignatureEncoding, Signer};
    let key = rsa_key(RSA_2048);
    let input = signing_input(&json!({"alg": "RS256"}), &claims());
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let token = format!("{input}.{}", B64.encode(signer.sign(input.as_bytes()).to_bytes()));
    assert!(verify(&token).is_ok(), "one RSA key in the set");
    let two = jwks(vec![rsa_jwk(&key, "a", json!({})), rsa_jwk(&key, "b", json!({}))]);
    assert_eq!(verify_id_token(&token, &two, &expected()), Err(OidcError::UnknownKey));
}

#[test]
fn malformed_and_oversized_tokens_are_refused() {
    for bad in ["", "abc", "a.b", "a.b.c", "....."] {
        assert!(matches!(verify(bad), Err(OidcError::Malformed | OidcError::Algorithm)), "{bad:?}");
    }
    assert_eq!(verify(&"a".repeat(MAX_TOKEN_BYTES + 1)), Err(OidcError::Malformed));
}

#[test]
fn discovery_must_name_the_configured_issuer_and_https_endpoints() {
    let doc = |issuer: &str, endpoint: &str| {
        json!({"issuer": issuer, "authorization_endpoint": format!("{endpoint}/auth"), "token_endpoint": format!("{endpoint}/token"), "jwks_uri": format!("{endpoint}/jwks")}).to_string()
    };
    let ok = parse_discovery(doc(ISSUER, ISSUER).as_bytes(), ISSUER).unwrap();
    assert_eq!(ok.token_endpoint, "https://idp.example.com/token");
    assert!(parse_discovery(doc("https://other.example.com", ISSUER).as_bytes(), ISSUER).is_err());
    assert!(parse_discovery(doc(ISSUER, "http://idp.example.com").as_bytes(), ISSUER).is_err());
    // Loopback http only when the issuer itself is local.
    let local = "http://127.0.0.1:8790";
    assert!(parse_discovery(doc(local, local).as_bytes(), local).is_ok());
    assert!(parse_discovery(b"not json", ISSUER).is_err());
    assert!(check_issuer("http://idp.example.com").is_err());
    assert!(check_issuer("https://idp.example.com/tenant?x=1").is_err());
    assert!(check_issuer("https://login.microsoftonline.com/tenant/v2.0").is_ok());
    assert!(check_issuer("http://localhost:8790").is_ok());
}

#[test]
fn the_authorization_url_carries_pkce_state_and_nonce() {
    let meta = ProviderMetadata {
        issuer: ISSUER.into(),
        authorization_endpoint: "https://idp.example.com/authorize?tenant=1".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        jwks_uri: "https://idp.example.com/jwks".into(),
    };
    let req = AuthorizationRequest {
        client_id: CLIENT,
        redirect_uri: "https://api.example.com/v1/auth/callback",
        state: "st",
        nonce: NONCE,
        code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        login_hint: Some("bob@example.com"),
    };
    let url = url::Url::parse(&authorization_url(&meta, &req).unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["tenant"], "1");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    // RFC 7636 appendix B's example.
    assert_eq!(q["code_challenge"], "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_eq!(q["nonce"], NONCE);
    assert_eq!(q["login_hint"], "bob@example.com");
    assert_eq!(q["scope"], "openid email profile");
}

#[test]
fn the_token_request_and_client_authentication_are_form_encoded() {
    let body = token_request_body("c/1", "https://api.example.com/cb", "v", CLIENT);
    assert_eq!(body, "grant_type=authorization_code&code=c%2F1&redirect_uri=https%3A%2F%2Fapi.example.com%2Fcb&code_verifier=v&client_id=oakauth");
    assert_eq!(
        client_secret_basic("a b", "p:w"),
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("a+b:p%3Aw"))
    );
    assert_eq!(id_token_from_token_response(br#"{"id_token":"x.y.z","access_token":"a"}"#).unwrap(), "x.y.z");
    assert!(id_token_from_token_response(br#"{"access_token":"a"}"#).is_err());
}
