use super::*;

// Signature vectors made once with the official `stripe` npm package (23.1.0):
//
//   import Stripe from 'stripe';
//   const stripe = new Stripe('sk_test_unused');
//   stripe.webhooks.generateTestHeaderString({ payload: PAYLOAD, secret: SECRET, timestamp: 1767225600 });
//   stripe.webhooks.generateTestHeaderString({ payload: PAYLOAD, secret: OTHER_SECRET, timestamp: 1767225600 });
//   stripe.webhooks.generateTestHeaderString({ payload: '{}', secret: SECRET, timestamp: 1700000000 });
//
// They are Stripe's implementation of the scheme, not ours: our verifier must accept them.
const SECRET: &str = "whsec_test_oakauth_billing_vectors_0123456789";
const OTHER_SECRET: &str = "whsec_another_secret_for_rolls_abcdefghij";
const PAYLOAD: &str = r#"{"id":"evt_test_1","object":"event","type":"customer.subscription.created","created":1767225600,"data":{"object":{"id":"sub_1","customer":"cus_1","status":"active","metadata":{"org_id":"org_1"},"items":{"object":"list","data":[{"price":{"id":"price_pro"}}]}}}}"#;
const T: i64 = 1767225600;
const V1: &str = "0022c3a146fbea4ab3bcfdf1838d137e8ddaa41ce6da66e941ab48196a9d5643";
const V1_OTHER_SECRET: &str = "d38a0db5add81f5e521a8089197d3d430f9a4b7ea4cfa72bafa8db95944af065";
const V1_EMPTY_OBJECT_1700000000: &str = "7a3f4b6acaa9d6997a8ccddfe2d736301d9626c920e1bab6740111308667ad09";

fn header(t: i64, v1: &str) -> String {
    format!("t={t},v1={v1}")
}

fn message(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_header_made_by_stripes_library_verifies() {
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &header(T, V1), SECRET, T), Ok(()));
    assert_eq!(verify_signature(b"{}", &header(1700000000, V1_EMPTY_OBJECT_1700000000), SECRET, 1700000000), Ok(()));
}

#[test]
fn our_signer_agrees_with_stripes_library() {
    assert_eq!(sign(PAYLOAD.as_bytes(), SECRET, T), header(T, V1));
    assert_eq!(sign(PAYLOAD.as_bytes(), OTHER_SECRET, T), header(T, V1_OTHER_SECRET));
}

#[test]
fn a_signature_under_another_secret_or_over_other_bytes_is_refused() {
    let m = message(verify_signature(PAYLOAD.as_bytes(), &header(T, V1_OTHER_SECRET), SECRET, T));
    assert_eq!(m, "no v1 signature in Stripe-Signature matches the payload");
    let altered = PAYLOAD.replace("price_pro", "price_xyz");
    assert!(verify_signature(altered.as_bytes(), &header(T, V1), SECRET, T).is_err());
    // The timestamp is signed too.
    assert!(verify_signature(PAYLOAD.as_bytes(), &header(T + 1, V1), SECRET, T).is_err());
    // Upper-case hex of the right MAC is the same signature.
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &header(T, &V1.to_uppercase()), SECRET, T), Ok(()));
}

#[test]
fn the_secret_never_appears_in_a_message() {
    let cases = [header(T, V1_OTHER_SECRET), header(T - 301, V1), "garbage".to_string(), format!("v1={V1}")];
    for h in cases {
        let m = message(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T));
        assert!(!m.contains(SECRET) && !m.contains("whsec_"), "{m}");
    }
}

#[test]
fn any_one_of_several_v1_signatures_is_enough_and_v0_is_ignored() {
    let h = format!(
        "t={T},v1={V1_OTHER_SECRET},v1={V1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    );
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T), Ok(()));
    let h = format!("t={T},v1={V1},v1={V1_OTHER_SECRET}");
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &h, OTHER_SECRET, T), Ok(()));
    // A v0 that would match is not a v1: v0 alone is not enough.
    let h = format!("t={T},v0={V1}");
    assert_eq!(message(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T)), "Stripe-Signature has no v1 signature");
    // Unknown schemes and spaces after commas are tolerated.
    let h = format!("t={T}, v2=abc, v1={V1}");
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T), Ok(()));
}

#[test]
fn timestamps_outside_five_minutes_either_way_are_refused() {
    let h = header(T, V1);
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T + 300), Ok(()));
    assert_eq!(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T - 300), Ok(()));
    assert_eq!(
        message(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T + 301)),
        "Stripe-Signature timestamp is more than 300 s old"
    );
    assert_eq!(
        message(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T - 301)),
        "Stripe-Signature timestamp is more than 300 s in the future"
    );
}

#[test]
fn malformed_headers_are_refused_with_what_is_wrong() {
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "Stripe-Signature is not a list of key=value items"),
        ("t=1767225600;v1=abc".into(), "Stripe-Signature timestamp (t=) is not a Unix time in seconds"),
        ("t1767225600,v1=abc".into(), "Stripe-Signature is not a list of key=value items"),
        (format!("v1={V1}"), "Stripe-Signature has no timestamp (t=)"),
        (format!("t={T}"), "Stripe-Signature has no v1 signature"),
        (format!("t=,v1={V1}"), "Stripe-Signature timestamp (t=) is not a Unix time in seconds"),
        (format!("t=-1,v1={V1}"), "Stripe-Signature timestamp (t=) is not a Unix time in seconds"),
        (format!("t=1e9,v1={V1}"), "Stripe-Signature timestamp (t=) is not a Unix time in seconds"),
        (format!("t={T},t={T},v1={V1}"), "Stripe-Signature has more than one timestamp (t=)"),
    ];
    for (h, expected) in cases {
        assert_eq!(message(verify_signature(PAYLOAD.as_bytes(), &h, SECRET, T)), expected, "header {h:?}");
    }
    // Signatures that are not 64 hex digits never match (and do not fail the header).
    for v in ["zz", &V1[..62], &format!("{V1}00"), &V1.replace('0', "g")] {
        assert!(verify_signature(PAYLOAD.as_bytes(), &header(T, v), SECRET, T).is_err());
    }
}

#[test]
fn an_overlong_header_is_refused_before_it_is_read() {
    let long = format!("t={T},v1={V1}{}", ",v1=00".repeat(400));
    assert!(long.len() > MAX_SIGNATURE_HEADER_BYTES);
    assert_eq!(
        message(verify_signature(PAYLOAD.as_bytes(), &long, SECRET, T)),
        "Stripe-Signature is longer than 2048 bytes"
    );
}

// Events.

const PRO: &str = "price_pro";

fn settings() -> BillingSettings {
    BillingSettings { pro_price: Some(PRO.into()), grace_days: 7 }
}

fn record(plan: PlanId, status: BillingStatus) -> BillingRecord {
    BillingRecord {
        plan,
        status,
        grace_until_ms: None,
        customer_id: None,
        subscription_id: None,
        billing_updated_at_ms: None,
    }
}

fn event(kind: &str, created: i64, object: serde_json::Value) -> Event {
    let body = serde_json::json!({"id": "evt_1", "object": "event", "type": kind, "created": created, "data": {"object": object}});
    Event::parse(body.to_string().as_bytes()).unwrap()
}

fn subscription(kind: &str, created: i64, status: &str, price: &str) -> Event {
    event(
        kind,
        created,
        serde_json::json!({
            "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
            "metadata": {"org_id": "org_1"},
            "items": {"object": "list", "data": [{"id": "si_1", "price": {"id": price, "object": "price"}}]}
        }),
    )
}

fn run(before: &BillingRecord, e: &Event) -> Applied {
    apply(before, e, &e.change().unwrap(), &settings())
}

const DAY: i64 = 86_400_000;

#[test]
fn the_event_fields_read_are_the_ones_stripe_sends() {
    let e = Event::parse(PAYLOAD.as_bytes()).unwrap();
    assert_eq!(
        (e.id.as_str(), e.kind.as_str(), e.created_ms()),
        ("evt_test_1", "customer.subscription.created", T * 1000)
    );
    assert_eq!(
        e.change().unwrap(),
        Change::Subscription {
            deleted: false,
            id: "sub_1".into(),
            customer: Some("cus_1".into()),
            status: "active".into(),
            org_id: Some("org_1".into()),
            prices: vec!["price_pro".into()],
        }
    );
    assert_eq!(e.change().unwrap().organization(), (Some("org_1"), Some("cus_1")));
    let checkout = event(
        "checkout.session.completed",
        T,
        serde_json::json!({"id": "cs_1", "client_reference_id": "org_1", "customer": {"id": "cus_1"}, "subscription": "sub_1"}),
    );
    assert_eq!(
        checkout.change().unwrap(),
        Change::CheckoutCompleted {
            org_id: Some("org_1".into()),
            customer: Some("cus_1".into()),
            subscription: Some("sub_1".into())
        },
        "an expanded customer is read by its id"
    );
    let invoice = event(
        "invoice.payment_failed",
        T,
        serde_json::json!({"id": "in_1", "customer": "cus_1", "subscription": "sub_1"}),
    );
    assert_eq!(invoice.change().unwrap().organization(), (None, Some("cus_1")));
    assert_eq!(event("customer.created", T, serde_json::json!({"id": "cus_1"})).change().unwrap(), Change::Ignored);
}

#[test]
fn bodies_that_are_not_events_are_refused() {
    assert!(Event::parse(b"not json").is_err());
    assert!(Event::parse(br#"{"id":"evt_1","type":"x","created":1}"#).is_err(), "no data");
    assert!(Event::parse(&vec![b' '; MAX_EVENT_BYTES + 1]).is_err());
    let long_id = format!(r#"{{"id":"{}","type":"x","created":1,"data":{{"object":{{}}}}}}"#, "e".repeat(300));
    assert!(Event::parse(long_id.as_bytes()).is_err());
    let no_status = event("customer.subscription.updated", T, serde_json::json!({"id": "sub_1"}));
    let m = no_status.change().unwrap_err().to_string();
    assert!(m.contains("customer.subscription.updated") && m.contains("status"), "{m}");
}

#[test]
fn checkout_completed_remembers_the_customer_and_subscription_only() {
    let before = record(PlanId::Free, BillingStatus::None);
    let e = event(
        "checkout.session.completed",
        100,
        serde_json::json!({"client_reference_id": "org_1", "customer": "cus_1", "subscription": "sub_1"}),
    );
    let after = run(&before, &e);
    assert!(after.changed);
    assert_eq!(after.record.customer_id.as_deref(), Some("cus_1"));
    assert_eq!(after.record.subscription_id.as_deref(), Some("sub_1"));
    assert_eq!((after.record.plan, after.record.status), (PlanId::Free, BillingStatus::None));
    assert_eq!(after.record.billing_updated_at_ms, None, "a subscription event from the same second still applies");
    assert!(!run(&after.record, &e).changed, "the same ids again change nothing");
}

#[test]
fn an_active_subscription_at_the_pro_price_is_pro() {
    for kind in ["customer.subscription.created", "customer.subscription.updated"] {
        for status in ["active", "trialing"] {
            let after = run(&record(PlanId::Free, BillingStatus::None), &subscription(kind, 100, status, PRO));
            assert!(after.changed);
            assert_eq!(
                after.record,
                BillingRecord {
                    plan: PlanId::Pro,
                    status: BillingStatus::Active,
                    grace_until_ms: None,
                    customer_id: Some("cus_1".into()),
                    subscription_id: Some("sub_1".into()),
                    billing_updated_at_ms: Some(100_000),
                },
                "{kind} {status}"
            );
        }
    }
}

#[test]
fn another_price_leaves_the_plan_as_it_was() {
    let after = run(
        &record(PlanId::Free, BillingStatus::None),
        &subscription("customer.subscription.created", 100, "active", "price_other"),
    );
    assert_eq!((after.record.plan, after.record.status), (PlanId::Free, BillingStatus::Active));
    let no_price = BillingSettings { pro_price: None, grace_days: 7 };
    let e = subscription("customer.subscription.created", 100, "active", PRO);
    let after = apply(&record(PlanId::Free, BillingStatus::None), &e, &e.change().unwrap(), &no_price);
    assert_eq!(after.record.plan, PlanId::Free, "without STRIPE_PRICE_PRO no price is Pro");
}

#[test]
fn a_past_due_subscription_keeps_the_plan_for_the_grace_period() {
    let mut before = record(PlanId::Pro, BillingStatus::Active);
    before.subscription_id = Some("sub_1".into());
    for status in ["past_due", "unpaid"] {
        let after = run(&before, &subscription("customer.subscription.updated", 100, status, PRO));
        assert_eq!(after.record.plan, PlanId::Pro);
        assert_eq!(after.record.status, BillingStatus::PastDue);
        assert_eq!(after.record.grace_until_ms, Some(100_000 + 7 * DAY));
    }
}

#[test]
fn canceled_and_expired_subscriptions_are_free() {
    let mut before = record(PlanId::Pro, BillingStatus::PastDue);
    before.grace_until_ms = Some(5);
    before.subscription_id = Some("sub_1".into());
    for status in ["canceled", "incomplete_expired"] {
        let after = run(&before, &subscription("customer.subscription.updated", 100, status, PRO));
        assert_eq!(
            (after.record.plan, after.record.status, after.record.grace_until_ms),
            (PlanId::Free, BillingStatus::Canceled, None)
        );
    }
    let after = run(&before, &subscription("customer.subscription.deleted", 100, "canceled", PRO));
    assert_eq!(
        (after.record.plan, after.record.status, after.record.grace_until_ms),
        (PlanId::Free, BillingStatus::Canceled, None)
    );
    assert_eq!(after.record.billing_updated_at_ms, Some(100_000));
}

#[test]
fn incomplete_and_paused_subscriptions_change_nothing_but_the_ids() {
    for status in ["incomplete", "paused"] {
        let after = run(
            &record(PlanId::Free, BillingStatus::None),
            &subscription("customer.subscription.created", 100, status, PRO),
        );
        assert_eq!((after.record.plan, after.record.status), (PlanId::Free, BillingStatus::None), "{status}");
        assert_eq!(after.record.subscription_id.as_deref(), Some("sub_1"));
        assert_eq!(after.record.billing_updated_at_ms, None);
    }
}

#[test]
fn a_failed_payment_starts_the_grace_period_once() {
    let before = record(PlanId::Pro, BillingStatus::Active);
    let failed =
        |t| event("invoice.payment_failed", t, serde_json::json!({"customer": "cus_1", "subscription": "sub_1"}));
    let first = run(&before, &failed(1_000));
    assert!(first.changed);
    assert_eq!((first.record.plan, first.record.status), (PlanId::Pro, BillingStatus::PastDue));
    assert_eq!(first.record.grace_until_ms, Some(1_000_000 + 7 * DAY));
    // The retry fails again three days later: the grace period does not start over.
    let second = run(&first.record, &failed(1_000 + 3 * 86_400));
    assert_eq!(second.record.grace_until_ms, first.record.grace_until_ms);
    let past_due = run(&first.record, &subscription("customer.subscription.updated", 1_000 + 60, "past_due", PRO));
    assert_eq!(past_due.record.grace_until_ms, first.record.grace_until_ms);
    // A grace period of 0 days ends at the failure itself.
    let zero = BillingSettings { pro_price: Some(PRO.into()), grace_days: 0 };
    let e = failed(1_000);
    let now = apply(&before, &e, &e.change().unwrap(), &zero);
    assert_eq!(now.record.grace_until_ms, Some(1_000_000));
}

#[test]
fn grace_ends_in_free_limits_and_a_payment_restores_pro() {
    let before = record(PlanId::Pro, BillingStatus::Active);
    let failed = run(&before, &event("invoice.payment_failed", 1_000, serde_json::json!({"customer": "cus_1"}))).record;
    let org = |r: &BillingRecord| crate::plans::OrgPlan {
        plan: r.plan,
        custom: None,
        status: r.status,
        grace_until_ms: r.grace_until_ms,
    };
    let until = failed.grace_until_ms.unwrap();
    assert_eq!(org(&failed).effective(until - 1), PlanId::Pro);
    assert_eq!(org(&failed).effective(until), PlanId::Free);
    let paid = run(&failed, &event("invoice.paid", 2_000, serde_json::json!({"customer": "cus_1"})));
    assert!(paid.changed);
    assert_eq!(
        (paid.record.plan, paid.record.status, paid.record.grace_until_ms),
        (PlanId::Pro, BillingStatus::Active, None)
    );
    assert_eq!(org(&paid.record).effective(until + DAY), PlanId::Pro);
}

#[test]
fn a_paid_invoice_changes_nothing_unless_past_due() {
    let paid = event("invoice.paid", 100, serde_json::json!({"customer": "cus_1"}));
    for status in [BillingStatus::None, BillingStatus::Active, BillingStatus::Canceled] {
        assert!(!run(&record(PlanId::Pro, status), &paid).changed, "{status:?}");
    }
}

#[test]
fn an_event_older_than_the_last_applied_changes_nothing() {
    let mut pro = record(PlanId::Pro, BillingStatus::Active);
    pro.billing_updated_at_ms = Some(200_000);
    pro.subscription_id = Some("sub_1".into());
    // The deletion happened at 150 but arrives after the update of 200: the update stands.
    assert!(!run(&pro, &subscription("customer.subscription.deleted", 150, "canceled", PRO)).changed);
    assert!(!run(&pro, &event("invoice.payment_failed", 199, serde_json::json!({"customer": "cus_1"}))).changed);
    // The same second is not older.
    assert!(run(&pro, &subscription("customer.subscription.deleted", 200, "canceled", PRO)).changed);
    // Applied events move the mark forward, never back.
    let later = run(&pro, &subscription("customer.subscription.deleted", 300, "canceled", PRO));
    assert_eq!(later.record.billing_updated_at_ms, Some(300_000));
}

#[test]
fn events_of_an_older_subscription_change_nothing() {
    let mut pro = record(PlanId::Pro, BillingStatus::Active);
    pro.subscription_id = Some("sub_2".into());
    assert!(!run(&pro, &subscription("customer.subscription.deleted", 100, "canceled", PRO)).changed);
    assert!(!run(&pro, &subscription("customer.subscription.updated", 100, "canceled", PRO)).changed);
    // A new subscription replaces the one remembered.
    let mut canceled = record(PlanId::Free, BillingStatus::Canceled);
    canceled.subscription_id = Some("sub_0".into());
    let after = run(&canceled, &subscription("customer.subscription.created", 100, "active", PRO));
    assert_eq!((after.record.plan, after.record.subscription_id.as_deref()), (PlanId::Pro, Some("sub_1")));
}

#[test]
fn stripe_never_changes_an_enterprise_plan() {
    let enterprise = record(PlanId::Enterprise, BillingStatus::None);
    let deleted = run(&enterprise, &subscription("customer.subscription.deleted", 100, "canceled", PRO));
    assert_eq!((deleted.record.plan, deleted.record.status), (PlanId::Enterprise, BillingStatus::None));
    let failed = run(&enterprise, &event("invoice.payment_failed", 100, serde_json::json!({"customer": "cus_1"})));
    assert!(!failed.changed);
}

#[test]
fn ignored_events_change_nothing() {
    let before = record(PlanId::Pro, BillingStatus::Active);
    let e = event("customer.updated", 100, serde_json::json!({"id": "cus_1"}));
    assert_eq!(run(&before, &e), Applied { record: before, changed: false });
}

#[test]
fn grace_days_are_read_with_a_default_and_a_bound() {
    assert_eq!(BillingSettings::grace_days(None), Ok(7));
    assert_eq!(BillingSettings::grace_days(Some("")), Ok(7));
    assert_eq!(BillingSettings::grace_days(Some("0")), Ok(0));
    assert_eq!(BillingSettings::grace_days(Some(" 14 ")), Ok(14));
    assert_eq!(BillingSettings::grace_days(Some("90")), Ok(90));
    for bad in ["91", "-1", "1.5", "seven"] {
        assert!(BillingSettings::grace_days(Some(bad)).is_err(), "{bad}");
    }
}

// Stripe requests.

#[test]
fn the_checkout_form_has_the_contracts_fields_in_order() {
    let form = checkout_form(
        "org_1",
        "price_pro",
        None,
        "https://d.example/#/usage?checkout=success",
        "https://d.example/#/usage?checkout=cancelled",
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes()).into_owned().collect();
    let expected = [
        ("mode", "subscription"),
        ("line_items[0][price]", "price_pro"),
        ("line_items[0][quantity]", "1"),
        ("client_reference_id", "org_1"),
        ("metadata[org_id]", "org_1"),
        ("subscription_data[metadata][org_id]", "org_1"),
        ("success_url", "https://d.example/#/usage?checkout=success"),
        ("cancel_url", "https://d.example/#/usage?checkout=cancelled"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(fields, expected);
    assert!(form.starts_with("mode=subscription&line_items%5B0%5D%5Bprice%5D=price_pro&"), "{form}");

    let with_customer = checkout_form("org_1", "price_pro", Some("cus_1"), "https://a/", "https://b/");
    let last = url::form_urlencoded::parse(with_customer.as_bytes()).into_owned().last().unwrap();
    assert_eq!(last, ("customer".to_string(), "cus_1".to_string()));
}

#[test]
fn the_portal_form_names_the_customer_and_the_way_back() {
    assert_eq!(
        portal_form("cus_1", "https://d.example/#/usage"),
        "customer=cus_1&return_url=https%3A%2F%2Fd.example%2F%23%2Fusage"
    );
}

#[test]
fn only_an_https_session_url_is_passed_on() {
    assert_eq!(
        session_url(br#"{"id":"cs_1","url":"https://checkout.stripe.com/c/pay/cs_1"}"#),
        Ok("https://checkout.stripe.com/c/pay/cs_1".to_string())
    );
    for bad in [
        br#"{"id":"cs_1"}"#.as_slice(),
        br#"{"url":"http://checkout.stripe.com/x"}"#,
        br#"{"url":"javascript:alert(1)"}"#,
        b"<html>",
    ] {
        assert!(session_url(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
