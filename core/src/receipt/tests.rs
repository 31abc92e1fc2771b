use serde_json::json;

use super::*;

const NOW_MS: i64 = 1_780_000_000_123;
const NOW_S: i64 = 1_780_000_000;
const ISSUER: &str = "https://oakauth.example";

fn ring(text: &str) -> KeyRing {
    KeyRing::parse(text).unwrap()
}

fn seed(byte: u8) -> String {
    URL_SAFE_NO_PAD.encode([byte; 32])
}

fn args() -> Map<String, Value> {
    json!({"path": "/tmp/a.txt", "amount": 10}).as_object().unwrap().clone()
}

fn claims() -> Claims {
    Claims::new(ISSUER, "org_1", "agt_1", ("filesystem", "write"), Some(&args()), "dec_1", NOW_MS)
}

fn expected(arguments: &Map<String, Value>) -> Expected<'_> {
    Expected { issuer: ISSUER, tool: "filesystem", scope: "write", arguments: Some(arguments) }
}

/// A token with its claims replaced by `claims`, keeping header and signature.
fn with_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2])
}

#[test]
fn a_signed_receipt_verifies_and_says_what_was_allowed() {
    let keys = ring(&format!("k1:{}", seed(7)));
    let token = keys.sign(&claims()).unwrap();
    let got = verify(&token, &keys.jwks(), &expected(&args()), NOW_S + 10, 0).unwrap();
    assert_eq!(got, claims());
    assert_eq!(got.exp - got.iat, 60);
    assert_eq!(got.iat, NOW_S);
    assert_eq!(got.args, crate::approval::arguments_digest(Some(&args())));
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some("k1"));
    assert_eq!(header.typ.as_deref(), Some(TYP));
    assert_eq!(key_id(&token).unwrap(), "k1");
}

#[test]
fn rfc8037_test_vector_gives_the_published_public_key() {
    // RFC 8037, appendix A.1: the private key d and its public key x.
    let keys = ring("rfc:nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    let jwks = serde_json::to_value(keys.jwks()).unwrap();
    assert_eq!(
        jwks,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                         "kid": "rfc", "alg": "EdDSA", "use": "sig"}]})
    );
}

#[test]
fn every_key_is_published_and_the_first_signs() {
    let keys = ring(&format!("new:{}, old:{}", seed(2), seed(1)));
    assert_eq!(keys.signing_kid(), "new");
    let kids: Vec<_> = keys.jwks().keys.iter().map(|k| k.common.key_id.clone().unwrap()).collect();
    assert_eq!(kids, ["new", "old"]);
    // A receipt signed before the rotation still verifies while the old key is published.
    let before = ring(&format!("old:{}", seed(1))).sign(&claims()).unwrap();
    assert!(verify(&before, &keys.jwks(), &expected(&args()), NOW_S, 0).is_ok());
    // ...and not once it is gone.
    let after = ring(&format!("new:{}", seed(2)));
    assert_eq!(verify(&before, &after.jwks(), &expected(&args()), NOW_S, 0), Err(Rejection::UnknownKey));
}

#[test]
fn bad_key_configuration_is_refused_without_echoing_the_key() {
    for (text, says) in [
        ("", "entry 1 is not kid:seed"),
        ("k1", "entry 1 is not kid:seed"),
        (":AAAA", "entry 1: a kid"),
        ("k 1:AAAA", "entry 1: a kid"),
        ("k1:not-base64!!", "key k1 is not 32 bytes"),
        ("k1:AAAA", "key k1 is not 32 bytes"),
    ] {
        let err = KeyRing::parse(text).err().unwrap().to_string();
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(err.starts_with("RECEIPT_KEYS: "), "{err}");
    }
    let secret = seed(3);
    let err = KeyRing::parse(&format!("a:{secret},a:{secret}")).err().unwrap().to_string();
    assert!(err.contains("appears twice") && !err.contains(&secret), "{err}");
    let nine: Vec<String> = (0..9).map(|i| format!("k{i}:{}", seed(i))).collect();
    assert!(KeyRing::parse(&nine.join(",")).is_err());
}

#[test]
fn generated_entries_parse_and_differ() {
    let a = KeyRing::generate_entry("2026-12").unwrap();
    let b = KeyRing::generate_entry("2026-12").unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("2026-12:"));
    let keys = ring(&a);
    assert!(verify(&keys.sign(&claims()).unwrap(), &keys.jwks(), &expected(&args()), NOW_S, 0).is_ok());
    assert!(KeyRing::generate_entry("bad kid").is_err());
}

#[test]
fn a_receipt_from_another_key_with_the_same_kid_is_refused() {
    let real = ring(&format!("k1:{}", seed(1)));
    let forged = ring(&format!("k1:{}", seed(9))).sign(&claims()).unwrap();
    assert_eq!(verify(&forged, &real.jwks(), &expected(&args()), NOW_S, 0), Err(Rejection::Signature));
}

#[test]
fn a_tampered_payload_is_refused() {
    let keys = ring(&format!("k1:{}", seed(1)));
    let token = keys.sign(&claims()).unwrap();
    let mut changed = serde_json::to_value(claims()).unwrap();
    changed["tool"] = json!("payments");
    let tampered = with_claims(&token, &changed);
    let a = args();
    let want = Expected { tool: "payments", ..expected(&a) };
    assert_eq!(verify(&tampered, &keys.jwks(), &want, NOW_S, 0), Err(Rejection::Signature));
    // One flipped bit of the signature.
    let mut bytes = token.into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    assert_eq!(verify(&flipped, &keys.jwks(), &expected(&args()), NOW_S, 0), Err(Rejection::Signature));
}

#[test]
fn the_call_must_match_the_receipt() {
    let keys = ring(&format!("k1:{}", seed(1)));
    let token = keys.sign(&claims()).unwrap();
    let jwks = keys.jwks();
    let a = args();
    let check = |want: Expected<'_>| verify(&token, &jwks, &want, NOW_S, 0);
    assert_eq!(check(Expected { tool: "shell", ..expected(&a) }), Err(Rejection::ToolMismatch));
    assert_eq!(check(Expected { scope: "read", ..expected(&a) }), Err(Rejection::ScopeMismatch));
    assert_eq!(check(Expected { issuer: "https://other.example", ..expected(&a) }), Err(Rejection::Issuer));
    let mut other = args();
    other.insert("amount".into(), json!(11));
    assert_eq!(check(expected(&other)), Err(Rejection::ArgumentsMismatch));
    assert_eq!(check(Expected { arguments: None, ..expected(&a) }), Err(Rejection::ArgumentsMismatch));
    // Key order and number spelling are not a change (RFC 8785).
    let same = json!({"amount": 10.0, "path": "/tmp/a.txt"}).as_object().unwrap().clone();
    assert!(check(expected(&same)).is_ok());
    // A trailing slash on the trusted issuer is the same issuer.
    assert!(check(Expected { issuer: "https://oakauth.example/", ..expected(&a) }).is_ok());
}

#[test]
fn time_bounds_hold_with_at_most_five_seconds_of_leeway() {
    let keys = ring(&format!("k1:{}", seed(1)));
    let token = keys.sign(&claims()).unwrap();
    let jwks = keys.jwks();
    let a = args();
    assert!(verify(&token, &jwks, &expected(&a), NOW_S + 60, 0).is_ok());
    assert_eq!(verify(&token, &jwks, &expected(&a), NOW_S + 61, 0), Err(Rejection::Expired));
    assert!(verify(&token, &jwks, &expected(&a), NOW_S + 65, 5).is_ok());
    assert_eq!(verify(&token, &jwks, &expected(&a), NOW_S + 66, 3600), Err(Rejection::Expired));
    // Issued in the future: a clock far off, or a forged time.
    assert_eq!(verify(&token, &jwks, &expected(&a), NOW_S - 6, 5), Err(Rejection::Lifetime));
    // A receipt that claims a longer life than OakAuth gives.
    let mut long = claims();
    long.exp += 3600;
    let token = keys.sign(&long).unwrap();
    assert_eq!(verify(&token, &jwks, &expected(&a), NOW_S, 0), Err(Rejection::Lifetime));
}

#[test]
fn other_algorithms_and_types_are_refused() {
    let keys = ring(&format!("k1:{}", seed(1)));
    let jwks = keys.jwks();
    let a = args();
    let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let body = b64(serde_json::to_value(claims()).unwrap());
    let none = format!("{}.{body}.", b64(json!({"alg": "none", "typ": TYP, "kid": "k1"})));
    assert_eq!(verify(&none, &jwks, &expected(&a), NOW_S, 0), Err(Rejection::Malformed));
    // HS256 keyed with the public key's bytes (the classic key confusion), signed by hand: the
    // crypto provider refuses to make one.
    let hs_input = format!("{}.{body}", b64(json!({"alg": "HS256", "typ": TYP, "kid": "k1"})));
    let public_x = keys.keys[0].x.clone();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(public_x.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, hs_input.as_bytes());
    let hs = format!("{hs_input}.{}", URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes()));
    assert_eq!(verify(&hs, &jwks, &expected(&a), NOW_S, 0), Err(Rejection::Algorithm));
    // A plain JWT signed by the right key is not a receipt.
    let plain = jsonwebtoken::encode(
        &Header { alg: Algorithm::EdDSA, kid: Some("k1".into()), ..Default::default() },
        &claims(),
        &keys.keys[0].encoding,
    )
    .unwrap();
    assert_eq!(verify(&plain, &jwks, &expected(&a), NOW_S, 0), Err(Rejection::Algorithm));
    for junk in ["", "a.b", "a.b.c", "...", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
        assert_eq!(verify(junk, &jwks, &expected(&a), NOW_S, 0), Err(Rejection::Malformed), "{junk:.20}");
    }
    // Claims missing a field, or with one more, are not a receipt.
    let token = keys.sign(&claims()).unwrap();
    let mut extra = serde_json::to_value(claims()).unwrap();
    extra["admin"] = json!(true);
    assert!(verify(&with_claims(&token, &extra), &jwks, &expected(&a), NOW_S, 0).is_err());
}

#[test]
fn the_replay_cache_refuses_a_second_use_and_stays_bounded() {
    let mut cache = ReplayCache::new(3);
    let mut c = claims();
    assert_eq!(cache.check_and_insert(&c, NOW_S), Ok(()));
    assert_eq!(cache.check_and_insert(&c, NOW_S + 30), Err(Rejection::Replayed));
    // Still refused within the leeway after expiry.
    assert_eq!(cache.check_and_insert(&c, c.exp + MAX_LEEWAY_SECONDS), Err(Rejection::Replayed));
    for i in 2..10 {
        c.jti = format!("dec_{i}");
        c.exp = NOW_S + 60 + i;
        assert_eq!(cache.check_and_insert(&c, NOW_S), Ok(()));
        assert!(cache.len() <= 3);
    }
    // The ones expiring soonest were dropped; the newest are still refused.
    assert_eq!(cache.check_and_insert(&c, NOW_S), Err(Rejection::Replayed));
    // Expired entries leave on their own.
    let later = NOW_S + 60 + 10 + MAX_LEEWAY_SECONDS + 1;
    c.jti = "dec_new".into();
    assert_eq!(cache.check_and_insert(&c, later), Ok(()));
    assert_eq!(cache.len(), 1);
}

#[test]
fn rejection_codes_are_stable() {
    let all = [
        Rejection::Malformed,
        Rejection::Algorithm,
        Rejection::UnknownKey,
        Rejection::Signature,
        Rejection::Issuer,
        Rejection::Expired,
        Rejection::Lifetime,
        Rejection::ToolMismatch,
        Rejection::ScopeMismatch,
        Rejection::ArgumentsMismatch,
        Rejection::Replayed,
    ];
    let codes: Vec<_> = all.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            "malformed",
            "algorithm",
            "unknown_key",
            "signature",
            "issuer",
            "expired",
            "lifetime",
            "tool_mismatch",
            "scope_mismatch",
            "arguments_mismatch",
            "replayed"
        ]
    );
}
