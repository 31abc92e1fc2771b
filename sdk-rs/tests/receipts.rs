//! `oakauth::receipts` against the real worker: receipts of real allowed decisions, checked with
//! the keys the worker publishes, and every way a receipt must be refused.
#![cfg(feature = "receipts")]

#[path = "support/stub.rs"]
mod stub;
#[path = "support/worker.rs"]
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oakauth::receipts::{Claims, ReceiptVerifier, Rejection};
use oakauth::wire::{ReasoningPolicy, RiskLevel};
use oakauth::{Error, ValidateRequest};
use oakauth_core::receipt::KeyRing;
use serde_json::{json, Map, Value};
use stub::{Reply, Stub};
use support::{agent_with, worker, TestAgent};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn verifier() -> ReceiptVerifier {
    ReceiptVerifier::builder(&worker().base_url).allow_insecure_loopback(true).build().unwrap()
}

/// An agent allowed `files:read` and `files:write`, without reasoning.
async fn agent() -> TestAgent {
    let any = Some(ReasoningPolicy::None);
    agent_with(None, &[("files", RiskLevel::Write, &[("read", any), ("write", any)])]).await
}

/// The receipt of a real allowed decision of `files:write` with `arguments`, and its decision id.
async fn receipt(agent: &TestAgent, arguments: &Map<String, Value>) -> (String, String) {
    let decision =
        agent.oak.validate(&ValidateRequest::new("files", "write").with_arguments(arguments.clone())).await.unwrap();
    assert!(decision.is_allowed(), "{decision:?}");
    let receipt = decision.response.receipt.clone().expect("an allowed decision carries a receipt");
    (receipt, decision.response.decision_id.clone())
}

fn rejection(result: Result<Claims, Error>) -> Rejection {
    match result {
        Err(Error::Receipt(r)) => r,
        other => panic!("expected a refused receipt, got {other:?}"),
    }
}

/// The claims part of a receipt, decoded.
fn claims_of(receipt: &str) -> Value {
    let payload = receipt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The worker's test signing key (`TEST_RECEIPT_KEYS` in tests/support/worker.mjs): `kid:seed`.
fn worker_test_key() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/support/worker.mjs");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("TEST_RECEIPT_KEYS = '").expect("TEST_RECEIPT_KEYS in worker.mjs") + 21;
    text[start..].split('\'').next().unwrap().to_owned()
}

/// A key ring of a fresh random key named `kid`.
fn other_key(kid: &str) -> KeyRing {
    KeyRing::parse(&KeyRing::generate_entry(kid).unwrap()).unwrap()
}

fn claims(value: Value) -> Claims {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn a_valid_receipt_is_accepted_once() {
    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/report.csv", "content": "a,b\n1,2"}));
    let (receipt, decision_id) = receipt(&agent, &arguments).await;
    let v = verifier();

    let claims = v.verify(&receipt, "files", "write", Some(&arguments)).await.expect("valid");
    assert_eq!(claims.iss, worker().base_url.trim_end_matches('/'));
    assert_eq!(
        (claims.agent.as_str(), claims.tool.as_str(), claims.scope.as_str()),
        (agent.id.as_str(), "files", "write")
    );
    assert_eq!(claims.jti, decision_id);
    if let Some(org) = &worker().organization_id {
        assert_eq!(&claims.org, org);
    }
    assert_eq!(claims.exp - claims.iat, 60);
    assert!((claims.iat - now()).abs() <= 5, "issued now: {}", claims.iat);
    assert_eq!(claims.args, oakauth_core::approval::arguments_digest(Some(&arguments)));

    // The same receipt again: a replay.
    assert_eq!(rejection(v.verify(&receipt, "files", "write", Some(&arguments)).await), Rejection::Replayed);
    // Also through a clone (they share the replay store), but not through another verifier's own.
    assert_eq!(rejection(v.clone().verify(&receipt, "files", "write", Some(&arguments)).await), Rejection::Replayed);
    assert_eq!(v.replay_store().len(), 1);

    // No arguments are the same as an empty object, and a denial carries no receipt.
    let bare = agent.oak.validate(&ValidateRequest::new("files", "read")).await.unwrap();
    let bare_receipt = bare.response.receipt.clone().unwrap();
    v.verify(&bare_receipt, "files", "read", Some(&Map::new())).await.expect("{} hashes like no arguments");
    let denied = agent.oak.validate(&ValidateRequest::new("files", "delete")).await.unwrap();
    assert!(!denied.is_allowed() && denied.response.receipt.is_none(), "{denied:?}");
}

#[tokio::test]
async fn a_receipt_for_another_call_is_refused_and_not_used_up() {
    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/report.csv", "content": "hello"}));
    let (receipt, _) = receipt(&agent, &arguments).await;
    let v = verifier();

    assert_eq!(rejection(v.verify(&receipt, "shell", "write", Some(&arguments)).await), Rejection::ToolMismatch);
    assert_eq!(rejection(v.verify(&receipt, "files", "read", Some(&arguments)).await), Rejection::ScopeMismatch);
    for changed in [
        json!({"path": "/etc/passwd", "content": "hello"}),
        json!({"path": "/srv/report.csv", "content": "hello", "mode": "append"}),
        json!({"path": "/srv/report.csv"}),
        json!({}),
    ] {
        let changed = object(changed);
        assert_eq!(
            rejection(v.verify(&receipt, "files", "write", Some(&changed)).await),
            Rejection::ArgumentsMismatch,
            "{changed:?}"
        );
    }
    assert_eq!(rejection(v.verify(&receipt, "files", "write", None).await), Rejection::ArgumentsMismatch);
    // The same arguments in another key order are the same call (RFC 8785).
    let reordered = object(json!({"content": "hello", "path": "/srv/report.csv"}));
    v.verify(&receipt, "files", "write", Some(&reordered)).await.expect("refusals did not use it up");
}

#[tokio::test]
async fn a_tampered_receipt_is_refused() {
    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/a", "content": "x"}));
    let (receipt, _) = receipt(&agent, &arguments).await;
    let v = verifier();
    let parts: Vec<&str> = receipt.split('.').collect();

    // The payload says another tool, the signature is the original's.
    let mut payload = claims_of(&receipt);
    payload["tool"] = json!("shell");
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    assert_eq!(rejection(v.verify(&forged, "shell", "write", Some(&arguments)).await), Rejection::Signature);

    // A later expiry.
    let mut payload = claims_of(&receipt);
    payload["exp"] = json!(payload["exp"].as_i64().unwrap() + 3600);
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    assert_eq!(rejection(v.verify(&forged, "files", "write", Some(&arguments)).await), Rejection::Signature);

    // One flipped signature byte.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 1;
    let forged = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
    assert_eq!(rejection(v.verify(&forged, "files", "write", Some(&arguments)).await), Rejection::Signature);

    // alg none, and not a JWS at all.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"oakauth-receipt+jwt","kid":"test-1"}"#),
        parts[1]
    );
    assert_eq!(rejection(v.verify(&none, "files", "write", Some(&arguments)).await), Rejection::Malformed);
    assert_eq!(rejection(v.verify("not a receipt", "files", "write", Some(&arguments)).await), Rejection::Malformed);

    v.verify(&receipt, "files", "write", Some(&arguments)).await.expect("the original still verifies");
}

#[tokio::test]
async fn a_receipt_signed_with_another_key_is_refused() {
    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/a", "content": "x"}));
    let (receipt, _) = receipt(&agent, &arguments).await;
    let kid = oakauth_core::receipt::key_id(&receipt).unwrap();

    // The same claims, signed by a key that names the worker's kid but is not the worker's.
    let impostor = other_key(&kid).sign(&claims(claims_of(&receipt))).unwrap();
    assert_eq!(rejection(verifier().verify(&impostor, "files", "write", Some(&arguments)).await), Rejection::Signature);
    // … and by a key the worker does not publish at all.
    let unknown = other_key("not-published").sign(&claims(claims_of(&receipt))).unwrap();
    assert_eq!(rejection(verifier().verify(&unknown, "files", "write", Some(&arguments)).await), Rejection::UnknownKey);

    // The worker's real receipt, checked against a JWKS of another key under the same kid.
    let jwks = serde_json::to_string(&other_key(&kid).jwks()).unwrap();
    let keys = Stub::start(vec![Reply::json(200, jwks)]).await;
    let elsewhere = ReceiptVerifier::builder(&keys.base_url)
        .issuer(&worker().base_url)
        .allow_insecure_loopback(true)
        .build()
        .unwrap();
    assert_eq!(rejection(elsewhere.verify(&receipt, "files", "write", Some(&arguments)).await), Rejection::Signature);
    assert_eq!(keys.seen()[0].path, "/.well-known/jwks.json");
    assert!(keys.seen()[0].header("authorization").is_none(), "the key set is fetched without any key");

    // A receipt issued by another deployment.
    let other_issuer = ReceiptVerifier::builder(&worker().base_url)
        .issuer("https://oakauth.example.com")
        .allow_insecure_loopback(true)
        .build()
        .unwrap();
    assert_eq!(rejection(other_issuer.verify(&receipt, "files", "write", Some(&arguments)).await), Rejection::Issuer);
}

#[tokio::test]
async fn an_expired_receipt_is_refused() {
    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/a", "content": "x"}));
    let (receipt, _) = receipt(&agent, &arguments).await;

    // A real receipt, checked 66 seconds on: past its 60 s and the 5 s leeway.
    let later = ReceiptVerifier::builder(&worker().base_url)
        .allow_insecure_loopback(true)
        .clock(|| now() + 66)
        .build()
        .unwrap();
    assert_eq!(rejection(later.verify(&receipt, "files", "write", Some(&arguments)).await), Rejection::Expired);

    // A receipt the worker's own test key signed, for a decision two minutes ago.
    let worker_key = KeyRing::parse(&worker_test_key()).unwrap();
    let mut old = claims_of(&receipt);
    old["iat"] = json!(now() - 120);
    old["exp"] = json!(now() - 60);
    old["jti"] = json!("dec_expired0000000000000");
    let expired = worker_key.sign(&claims(old.clone())).unwrap();
    assert_eq!(rejection(verifier().verify(&expired, "files", "write", Some(&arguments)).await), Rejection::Expired);
    // The same key signing a current receipt: accepted, so the refusal above was the expiry.
    old["iat"] = json!(now());
    old["exp"] = json!(now() + 60);
    let current = worker_key.sign(&claims(old.clone())).unwrap();
    verifier().verify(&current, "files", "write", Some(&arguments)).await.expect("the test key is the worker's");
    // Valid for longer than receipts are.
    old["exp"] = json!(now() + 3600);
    old["jti"] = json!("dec_longlived000000000000");
    let long = worker_key.sign(&claims(old)).unwrap();
    assert_eq!(rejection(verifier().verify(&long, "files", "write", Some(&arguments)).await), Rejection::Lifetime);
}

#[tokio::test]
async fn an_unknown_key_refetches_the_set_at_most_once_per_interval() {
    let old = other_key("k-old");
    let new = other_key("k-new");
    let both = {
        let mut set = old.jwks();
        set.keys.extend(new.jwks().keys);
        set
    };
    let keys = Stub::start(vec![
        Reply::json(200, serde_json::to_string(&old.jwks()).unwrap()),
        Reply::json(200, serde_json::to_string(&both).unwrap()),
    ])
    .await;
    let issued = |ring: &KeyRing, jti: &str| {
        let c = Claims::new(&keys.base_url, "org_1", "agt_1", ("t", "s"), None, jti, now() * 1000);
        ring.sign(&c).unwrap()
    };
    let v = ReceiptVerifier::builder(&keys.base_url)
        .allow_insecure_loopback(true)
        .refetch_interval(Duration::from_millis(500))
        .build()
        .unwrap();

    v.verify(&issued(&old, "dec_1"), "t", "s", None).await.expect("signed with the published key");
    // A rotation has begun: the new kid is unknown to the cached set. One refetch finds it...
    tokio::time::sleep(Duration::from_millis(600)).await;
    v.verify(&issued(&new, "dec_2"), "t", "s", None).await.expect("refetched on an unknown kid");
    assert_eq!(keys.seen().len(), 2);
    // ... and made-up kids make it fetch once more, then not again within the interval.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let bogus = other_key("k-bogus");
    for i in 0..5 {
        assert_eq!(
            rejection(v.verify(&issued(&bogus, &format!("dec_b{i}")), "t", "s", None).await),
            Rejection::UnknownKey
        );
    }
    assert_eq!(keys.seen().len(), 3, "one refetch for the unknown kid, then none within the interval");
}

#[tokio::test]
async fn without_the_keys_nothing_is_accepted() {
    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/a", "content": "x"}));
    let (receipt, _) = receipt(&agent, &arguments).await;
    for reply in [
        Reply::json(500, r#"{"error":{"code":"internal","message":"no keys"}}"#),
        Reply::json(200, "not json"),
        Reply::Close,
    ] {
        let keys = Stub::start(vec![reply.clone()]).await;
        let v = ReceiptVerifier::builder(&keys.base_url)
            .issuer(&worker().base_url)
            .allow_insecure_loopback(true)
            .retries(0)
            .build()
            .unwrap();
        let err = v.verify(&receipt, "files", "write", Some(&arguments)).await.expect_err("refused");
        assert!(
            matches!(err, Error::Server { .. } | Error::Decode { .. } | Error::Connection(_)),
            "{reply:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_custom_replay_store_is_asked() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Refuses everything, as a shared store that already saw the receipt would.
    struct SeenEverywhere(AtomicUsize);
    impl oakauth::receipts::ReplayStore for SeenEverywhere {
        fn first_use(&self, _: &Claims, _: i64) -> impl std::future::Future<Output = Result<bool, Error>> + Send {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(false))
        }
    }

    let agent = agent().await;
    let arguments = object(json!({"path": "/srv/a", "content": "x"}));
    let (receipt, _) = receipt(&agent, &arguments).await;
    let v = ReceiptVerifier::builder(&worker().base_url)
        .allow_insecure_loopback(true)
        .replay_store(SeenEverywhere(AtomicUsize::new(0)))
        .build()
        .unwrap();
    assert_eq!(rejection(v.verify(&receipt, "files", "write", Some(&arguments)).await), Rejection::Replayed);
    assert_eq!(v.replay_store().0.load(Ordering::SeqCst), 1);
    // A refusal before the replay check does not reach the store.
    assert_eq!(rejection(v.verify(&receipt, "shell", "write", Some(&arguments)).await), Rejection::ToolMismatch);
    assert_eq!(v.replay_store().0.load(Ordering::SeqCst), 1);
}
