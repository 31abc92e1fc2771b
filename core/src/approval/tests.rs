use super::*;
use serde_json::json;

const MIN: i64 = 60_000;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("an object"),
    }
}

fn binding(args: Value) -> Binding {
    Binding {
        agent_id: "agt_1".into(),
        tool: "payments".into(),
        scope: "send".into(),
        arguments_digest: arguments_digest(Some(&obj(args))),
        rule_id: "rule_1".into(),
        rule_version: 7,
    }
}

fn pending(now: i64) -> Approval {
    Approval::request("apr_1".into(), binding(json!({"amount": 10, "to": "ana"})), now, 15 * 60)
}

#[test]
fn the_digest_ignores_key_order_whitespace_and_number_spelling_but_no_value() {
    let d = |text: &str| arguments_digest(Some(&obj(serde_json::from_str(text).unwrap())));
    let base = d(r#"{"amount": 10, "to": "ana", "meta": {"b": 1, "a": [1, 2]}}"#);
    assert_eq!(base, d(r#"{"meta":{"a":[1,2],"b":1},"to":"ana","amount":10}"#));
    assert_eq!(base, d(r#"{"amount": 10.0, "to": "ana", "meta": {"b": 1e0, "a": [1, 2]}}"#));
    assert_ne!(base, d(r#"{"amount": 10000, "to": "ana", "meta": {"b": 1, "a": [1, 2]}}"#));
    assert_ne!(base, d(r#"{"amount": 10, "to": "ana", "meta": {"b": 1, "a": [2, 1]}}"#), "array order matters");
    assert_ne!(base, d(r#"{"amount": "10", "to": "ana", "meta": {"b": 1, "a": [1, 2]}}"#), "types matter");
    // Unicode: the same string, escaped or not, is the same; a look-alike is not.
    assert_eq!(d(r#"{"to": "é"}"#), d(r#"{"to": "\u00e9"}"#));
    assert_ne!(d(r#"{"to": "ana"}"#), d(r#"{"to": "аna"}"#));
    // No arguments are the empty object.
    assert_eq!(arguments_digest(None), d("{}"));
    // RFC 8785's own example (section 3.2.3): keys sorted by UTF-16 code units, so the emoji
    // (a surrogate pair, 0xD83D…) sorts before U+FB33, unlike a sort by UTF-8 bytes.
    let canonical = serde_json_canonicalizer::to_string(&json!({
        "\u{20ac}": 1, "\r": 2, "\u{fb33}": 3, "1": 4, "\u{1f600}": 5, "\u{80}": 6, "\u{f6}": 7
    }))
    .unwrap();
    assert_eq!(
        canonical,
        "{\"\\r\":2,\"1\":4,\"\u{80}\":6,\"\u{f6}\":7,\"\u{20ac}\":1,\"\u{1f600}\":5,\"\u{fb33}\":3}"
    );
}

#[test]
fn a_pending_approval_can_be_approved_denied_or_cancelled_once() {
    let mut a = pending(0);
    assert_eq!(a.status_at(0), Status::Pending);
    a.decide(true, "oakadm_AbC", Some("ok for the refund"), MIN).unwrap();
    assert_eq!((a.status, a.decided_by.as_deref(), a.decided_ms), (Status::Approved, Some("oakadm_AbC"), Some(MIN)));
    assert_eq!(a.decide(false, "x", None, MIN), Err(Refusal::AlreadyApproved));
    assert_eq!(a.cancel(MIN), Err(Refusal::AlreadyApproved));

    let mut d = pending(0);
    d.decide(false, "oakadm_AbC", Some("too much"), MIN).unwrap();
    assert_eq!(d.status, Status::Denied);
    assert_eq!(d.comment.as_deref(), Some("too much"));
    assert_eq!(d.decide(true, "x", None, MIN), Err(Refusal::AlreadyFinal(Status::Denied)));
    assert_eq!(d.cancel(MIN), Err(Refusal::AlreadyFinal(Status::Denied)));

    let mut c = pending(0);
    c.cancel(MIN).unwrap();
    assert_eq!(c.status, Status::Cancelled);
    assert_eq!(c.decide(true, "x", None, MIN), Err(Refusal::AlreadyFinal(Status::Cancelled)));
}

#[test]
fn expiry_is_exact_at_the_boundary_and_needs_nothing_to_run() {
    let a = pending(1_000);
    let at = a.expires_ms;
    assert_eq!(at, 1_000 + 15 * MIN);
    assert_eq!(a.status_at(at - 1), Status::Pending);
    assert_eq!(a.status_at(at), Status::Expired);
    let mut late = a.clone();
    assert_eq!(late.decide(true, "x", None, at), Err(Refusal::AlreadyFinal(Status::Expired)));
    assert_eq!(late.cancel(at), Err(Refusal::AlreadyFinal(Status::Expired)));
    // An approval approved but never used expires too.
    let mut approved = a.clone();
    approved.decide(true, "x", None, at - 10).unwrap();
    let call = approved.binding.clone();
    assert_eq!(approved.clone().consume(&call, "dec_1", at - 1), Ok(()));
    assert_eq!(approved.consume(&call, "dec_1", at), Err(UseRefusal::Expired));
}

#[test]
fn expiry_is_bounded() {
    assert_eq!(expiry_seconds(None), Ok(DEFAULT_EXPIRY_SECONDS));
    assert_eq!(expiry_seconds(Some(3600)), Ok(3600));
    assert!(expiry_seconds(Some(59)).is_err());
    assert!(expiry_seconds(Some(MAX_EXPIRY_SECONDS + 1)).is_err());
    let a = Approval::request("apr".into(), binding(json!({})), 0, u32::MAX);
    assert_eq!(a.expires_ms, MAX_EXPIRY_SECONDS as i64 * 1000, "a request never waits longer than 7 days");
}

#[test]
fn only_the_identical_call_uses_an_approval_and_only_once() {
    let mut a = pending(0);
    let call = a.binding.clone();
    assert_eq!(a.clone().consume(&call, "dec_0", 1), Err(UseRefusal::Pending));
    a.decide(true, "oakadm_AbC", None, 1).unwrap();

    // Other calls do not match, and a refusal changes nothing.
    let others = [
        Binding {
            arguments_digest: arguments_digest(Some(&obj(json!({"amount": 10000, "to": "ana"})))),
            ..call.clone()
        },
        Binding { agent_id: "agt_2".into(), ..call.clone() },
        Binding { tool: "email".into(), ..call.clone() },
        Binding { scope: "refund".into(), ..call.clone() },
        Binding { rule_id: "rule_2".into(), ..call.clone() },
        Binding { rule_version: 8, ..call.clone() },
    ];
    for other in &others {
        assert_eq!(a.consume(other, "dec_x", 2), Err(UseRefusal::Mismatch), "{other:?}");
        assert_eq!(a.status, Status::Approved);
    }
    // The same arguments written another way are the same call.
    let respelled = Binding {
        arguments_digest: arguments_digest(Some(&obj(json!({"to": "ana", "amount": 10.0})))),
        ..call.clone()
    };
    a.consume(&respelled, "dec_1", 3).unwrap();
    assert_eq!((a.status, a.consumed_by.as_deref()), (Status::Consumed, Some("dec_1")));
    assert_eq!(a.consume(&call, "dec_2", 4), Err(UseRefusal::Consumed));
    assert_eq!(a.consumed_by.as_deref(), Some("dec_1"));
}

#[test]
fn every_other_state_refuses_a_use_with_its_own_reason() {
    let call = pending(0).binding;
    let mut denied = pending(0);
    denied.decide(false, "x", None, 1).unwrap();
    assert_eq!(denied.consume(&call, "d", 2), Err(UseRefusal::Denied));
    let mut cancelled = pending(0);
    cancelled.cancel(1).unwrap();
    assert_eq!(cancelled.consume(&call, "d", 2), Err(UseRefusal::Cancelled));
    let mut expired = pending(0);
    let late = expired.expires_ms;
    assert_eq!(expired.consume(&call, "d", late), Err(UseRefusal::Expired));
}

#[test]
fn single_use_holds_for_any_number_of_identical_retries() {
    // The agent's object runs one request at a time: N retries are N sequential consumes.
    let mut a = pending(0);
    a.decide(true, "x", None, 1).unwrap();
    let call = a.binding.clone();
    let allowed = (0..20).filter(|i| a.consume(&call, &format!("dec_{i}"), 2 + i).is_ok()).count();
    assert_eq!(allowed, 1);
}

#[test]
fn comments_are_bounded() {
    assert!(check_comment("fine, refund approved\nsee OPS-1").is_ok());
    assert!(check_comment(&"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
    assert!(check_comment("a\u{7}b").is_err());
}

#[test]
fn step_follows_the_latest_approval_until_it_expires_then_asks_anew() {
    let t0 = 1_000_000;
    let call = binding(json!({"amount": 10, "to": "ana"}));
    assert_eq!(step(None, false, &call, t0), Step::Request);
    assert_eq!(step(None, true, &call, t0), Step::Answer(ReasonCode::ApprovalMismatch));

    let mut a = pending(t0);
    assert_eq!(step(Some(&a), false, &call, t0), Step::Answer(ReasonCode::ApprovalRequired));
    a.decide(true, "oakadm_x", None, t0 + 1).unwrap();
    assert_eq!(step(Some(&a), false, &call, t0 + 2), Step::Consume);
    assert_eq!(step(Some(&a), true, &call, t0 + 2), Step::Consume);
    a.consume(&call, "dec_1", t0 + 2).unwrap();
    assert_eq!(step(Some(&a), false, &call, t0 + 3), Step::Answer(ReasonCode::ApprovalConsumed));
    // Past its window the identical call asks anew; naming it still says what it was.
    let end = a.expires_ms;
    assert_eq!(step(Some(&a), false, &call, end), Step::Request);
    assert_eq!(step(Some(&a), true, &call, end), Step::Answer(ReasonCode::ApprovalConsumed));

    let mut d = pending(t0);
    d.decide(false, "oakadm_x", Some("too much"), t0 + 1).unwrap();
    assert_eq!(step(Some(&d), false, &call, t0 + 2), Step::Answer(ReasonCode::ApprovalDenied));
    let mut c = pending(t0);
    c.cancel(t0 + 1).unwrap();
    assert_eq!(step(Some(&c), false, &call, t0 + 2), Step::Answer(ReasonCode::ApprovalCancelled));

    // Expired (never decided) is its own answer, never "denied".
    let e = pending(t0);
    assert_eq!(step(Some(&e), true, &call, e.expires_ms), Step::Answer(ReasonCode::ApprovalExpired));
    assert_eq!(step(Some(&e), false, &call, e.expires_ms), Step::Request);

    // Another call naming this approval: mismatch, whatever its status.
    let other = binding(json!({"amount": 10000, "to": "ana"}));
    assert_eq!(step(Some(&a), true, &other, t0 + 3), Step::Answer(ReasonCode::ApprovalMismatch));
}

#[test]
fn the_binding_key_changes_with_every_bound_field() {
    let base = binding(json!({"amount": 10}));
    let k = base.key();
    assert_eq!(k.len(), 64);
    let variants = [
        Binding { agent_id: "agt_2".into(), ..base.clone() },
        Binding { tool: "payment".into(), ..base.clone() },
        Binding { scope: "refund".into(), ..base.clone() },
        binding(json!({"amount": 11})),
        Binding { rule_id: "rule_2".into(), ..base.clone() },
        Binding { rule_version: 8, ..base.clone() },
    ];
    for v in variants {
        assert_ne!(v.key(), k, "{v:?}");
    }
}

#[test]
fn the_ticket_tells_the_agent_when_to_poll() {
    let t0 = 5_000;
    let mut a = pending(t0);
    let t = a.ticket(t0);
    assert_eq!((t.status, t.poll_after_ms), (Status::Pending, POLL_AFTER_MS));
    assert_eq!(a.ticket(a.expires_ms).status, Status::Expired);
    a.decide(false, "oakadm_x", Some("no"), t0 + 1).unwrap();
    let t = a.ticket(t0 + 2);
    assert_eq!((t.status, t.poll_after_ms, t.comment.as_deref()), (Status::Denied, 0, Some("no")));
    assert!(t.decided_at.is_some());
}
