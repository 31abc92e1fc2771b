use super::*;
use serde_json::json;

// The Standard Webhooks reference vector (the specification's libraries test against it).
const REF_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const REF_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const REF_TIMESTAMP: i64 = 1614265330;
const REF_BODY: &[u8] = br#"{"test": 2432232314}"#;
const REF_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn reference() -> Secret {
    Secret::parse(REF_SECRET).unwrap()
}

fn check(secret: &Secret, signature: &str, body: &[u8], now: i64) -> Result<(), Error> {
    verify(secret, REF_ID, &REF_TIMESTAMP.to_string(), signature, body, now)
}

#[test]
fn the_reference_vector_signs_and_verifies() {
    assert_eq!(sign(&[reference()], REF_ID, REF_TIMESTAMP, REF_BODY), REF_SIGNATURE);
    assert_eq!(check(&reference(), REF_SIGNATURE, REF_BODY, REF_TIMESTAMP), Ok(()));
}

/// A second vector, made with the `standardwebhooks` npm package (1.1.1): a 32-byte secret (so
/// padded base64, as [`Secret::generate`] makes) and a body with non-ASCII characters.
#[test]
fn a_vector_from_the_npm_library_matches() {
    let secret = Secret::parse("whsec_AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=").unwrap();
    let body = r#"{"type":"approval.requested","timestamp":"2023-11-14T22:13:20.123Z","data":{"note":"café ✓"}}"#;
    let expected = "v1,kqxUnpX+sUzaFxPDRCJE7nSOVcfLfgWAYiwJqjbpnNE=";
    assert_eq!(
        sign(std::slice::from_ref(&secret), "msg_2LJoT3cWZUumFRvH8KfY", 1_700_000_000, body.as_bytes()),
        expected
    );
    let headers = ("msg_2LJoT3cWZUumFRvH8KfY", "1700000000");
    assert_eq!(verify(&secret, headers.0, headers.1, expected, body.as_bytes(), 1_700_000_000), Ok(()));
    let key: Vec<u8> = (0..32u8).map(|i| i * 7 + 1).collect();
    assert_eq!(Secret::from_bytes(&key).unwrap().expose(), secret.expose());
}

#[test]
fn any_change_to_the_message_fails_verification() {
    let secret = reference();
    let ts = REF_TIMESTAMP.to_string();
    assert!(check(&secret, REF_SIGNATURE, br#"{"test": 2432232315}"#, REF_TIMESTAMP).is_err());
    assert!(check(&secret, REF_SIGNATURE, br#"{"test":2432232314}"#, REF_TIMESTAMP).is_err());
    assert!(verify(&secret, "msg_other", &ts, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP).is_err());
    let later = (REF_TIMESTAMP + 1).to_string();
    assert!(verify(&secret, REF_ID, &later, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP).is_err());
    let other = Secret::generate().unwrap();
    assert!(check(&other, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP).is_err());
    // A flipped bit in the signature, a truncated one, another version, no `v1,`.
    assert!(check(&secret, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", REF_BODY, REF_TIMESTAMP).is_err());
    assert!(check(&secret, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O", REF_BODY, REF_TIMESTAMP).is_err());
    assert!(check(&secret, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", REF_BODY, REF_TIMESTAMP).is_err());
    assert!(check(&secret, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", REF_BODY, REF_TIMESTAMP).is_err());
    assert!(check(&secret, "", REF_BODY, REF_TIMESTAMP).is_err());
    assert!(check(&secret, "v1,", REF_BODY, REF_TIMESTAMP).is_err());
}

#[test]
fn several_signatures_verify_if_any_matches() {
    let (old, new) = (reference(), Secret::generate().unwrap());
    let header = sign(&[new.clone(), old.clone()], REF_ID, REF_TIMESTAMP, REF_BODY);
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1], REF_SIGNATURE);
    assert!(parts[0].starts_with("v1,") && parts[0].len() == 3 + 44);
    assert_eq!(check(&old, &header, REF_BODY, REF_TIMESTAMP), Ok(()));
    assert_eq!(check(&new, &header, REF_BODY, REF_TIMESTAMP), Ok(()));
    // Unknown versions and garbage next to a good signature are skipped.
    let mixed = format!("v1a,AAAA v1,!!! {REF_SIGNATURE} v0,x");
    assert_eq!(check(&old, &mixed, REF_BODY, REF_TIMESTAMP), Ok(()));
    assert_eq!(sign(&[], REF_ID, REF_TIMESTAMP, REF_BODY), "");
}

#[test]
fn timestamps_outside_five_minutes_are_refused_both_ways() {
    let s = reference();
    assert_eq!(check(&s, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP + TOLERANCE_SECONDS), Ok(()));
    assert_eq!(check(&s, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP - TOLERANCE_SECONDS), Ok(()));
    let late = check(&s, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP + TOLERANCE_SECONDS + 1).unwrap_err();
    assert!(late.to_string().contains("too old"), "{late}");
    let early = check(&s, REF_SIGNATURE, REF_BODY, REF_TIMESTAMP - TOLERANCE_SECONDS - 1).unwrap_err();
    assert!(early.to_string().contains("future"), "{early}");
    assert!(check(&s, REF_SIGNATURE, REF_BODY, i64::MAX).is_err());
    assert!(check(&s, REF_SIGNATURE, REF_BODY, i64::MIN).is_err());
}

#[test]
fn timestamps_must_be_plain_seconds() {
    let s = reference();
    let now = REF_TIMESTAMP;
    for ts in
        ["", " 1614265330", "1614265330 ", "+1614265330", "-1614265330", "1614265330.0", "1614265330000", "1e9", "abc"]
    {
        assert!(verify(&s, REF_ID, ts, REF_SIGNATURE, REF_BODY, now).is_err(), "{ts:?}");
    }
}

#[test]
fn a_signature_from_sign_verifies_with_a_generated_secret() {
    let secret = Secret::generate().unwrap();
    let id = new_message_id().unwrap();
    assert!(crate::ids::is_id("msg", &id));
    let body = Payload::new(EventType::ApprovalRequested, 1_700_000_000_123, json!({"approval_id": "apr_1"})).to_body();
    let header = sign(std::slice::from_ref(&secret), &id, 1_700_000_000, &body);
    assert_eq!(verify(&secret, &id, "1700000000", &header, &body, 1_700_000_100), Ok(()));
    // The same secret through its text form.
    let again = Secret::parse(&secret.expose()).unwrap();
    assert_eq!(verify(&again, &id, "1700000000", &header, &body, 1_700_000_100), Ok(()));
}

#[test]
fn secrets_round_trip_and_hide_in_debug() {
    let secret = Secret::generate().unwrap();
    let text = secret.expose();
    assert!(text.starts_with("whsec_"));
    assert_eq!(text.len(), 6 + 44);
    assert_eq!(Secret::parse(&text).unwrap().expose(), text);
    assert_eq!(text.parse::<Secret>().unwrap().expose(), text);
    assert_ne!(Secret::generate().unwrap().expose(), text);
    let debug = format!("{secret:?} {:?}", Some(&secret));
    assert!(!debug.contains(&text[6..12]), "{debug}");
    assert_eq!(format!("{secret:?}"), "Secret(…)");
    assert_eq!(reference().expose(), REF_SECRET);
}

#[test]
fn malformed_and_short_secrets_are_refused_without_echoing_them() {
    let refused = |s: &str| match Secret::parse(s) {
        Err(Error::Invalid(why)) => {
            assert!(s.len() < 12 || !why.contains(&s[6..]), "{why}");
            why
        }
        other => panic!("{s:?}: {other:?}"),
    };
    // No prefix, a different case, a bare key.
    assert!(refused("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").contains("whsec_"));
    refused("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    refused("whsec:MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    // Not standard, padded, canonical base64.
    assert!(refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!").contains("base64"));
    refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS_");
    refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ");
    refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAA");
    refused("whsec_");
    // 23 bytes is one short; 24 is the least; 64 the most.
    let b64 = |n: usize| format!("whsec_{}", BASE64.encode(vec![7u8; n]));
    assert!(refused(&b64(23)).contains("at least 24 bytes"));
    refused(&b64(16));
    refused(&b64(0));
    assert!(Secret::parse(&b64(24)).is_ok());
    assert!(Secret::parse(&b64(64)).is_ok());
    assert!(refused(&b64(65)).contains("at most 64"));
    assert!(Secret::from_bytes(&[1; 23]).is_err());
    assert!(Secret::from_bytes(&[1; 24]).is_ok());
}

#[test]
fn event_types_have_exactly_their_wire_names() {
    let names: Vec<String> =
        EventType::ALL.iter().map(|t| serde_json::to_value(t).unwrap().as_str().unwrap().to_owned()).collect();
    assert_eq!(
        names,
        [
            "approval.requested",
            "approval.decided",
            "approval.expired",
            "decision.denied",
            "key.rotated",
            "agent.changed",
            "service.degraded",
            "invitation.created",
            "quota.threshold"
        ]
    );
    for t in EventType::ALL {
        assert_eq!(t.as_str(), serde_json::to_value(t).unwrap());
        assert_eq!(EventType::parse(t.as_str()), Some(t));
        assert_eq!(serde_json::from_value::<EventType>(json!(t.as_str())).unwrap(), t);
    }
    assert_eq!(EventType::parse("approval_requested"), None);
    assert!(serde_json::from_value::<EventType>(json!("ApprovalRequested")).is_err());
}

#[test]
fn the_payload_is_the_specification_envelope() {
    let payload = Payload::new(EventType::DecisionDenied, 1_700_000_000_123, json!({"decision_id": "dec_1"}));
    let value: Value = serde_json::from_slice(&payload.to_body()).unwrap();
    assert_eq!(
        value,
        json!({"type": "decision.denied", "timestamp": "2023-11-14T22:13:20.123Z", "data": {"decision_id": "dec_1"}})
    );
    assert_eq!(crate::time::parse_rfc3339(&payload.timestamp), Ok(1_700_000_000_123));
    let back: Payload = serde_json::from_value(value).unwrap();
    assert_eq!(back, payload);
}
