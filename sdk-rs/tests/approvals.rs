//! Approvals and webhooks through the SDK, against the real worker in local workerd: `guard` in
//! `throw` and `wait` mode, the agent's and the admin's approval routes, webhook endpoints, and a
//! real delivery checked with `oakauth::webhooks::Verifier`.
#![cfg(feature = "webhooks")]

#[path = "support/worker.rs"]
mod support;

#[path = "support/stub.rs"]
mod stub;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use oakauth::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use oakauth::webhooks::{EventType, Verifier};
use oakauth::wire::{
    ApprovalDecision, ApprovalStatus, Condition, CreateRule, CreateWebhook, Decision, DeliveryStatus, Effect, Operator,
    ReasoningPolicy, RiskLevel, RotateWebhookSecret, UpdateWebhook,
};
use oakauth::{Admin, ApprovalMode, ApprovalQuery, DeliveryQuery, Error, OakAuth, Page, ValidateRequest};
use serde_json::json;
use support::{agent_with, worker, TestAgent};

/// An agent whose `payments:send` is allowed, except that amounts over 500 need a person's
/// approval.
async fn payer() -> TestAgent {
    let agent = agent_with(None, &[("payments", RiskLevel::Write, &[("send", Some(ReasoningPolicy::None))])]).await;
    let ask = CreateRule {
        effect: Some(Effect::RequireApproval),
        require_reasoning: Some(ReasoningPolicy::None),
        conditions: Some(vec![Condition::test("/amount", Operator::Gt, json!(500))]),
        ..CreateRule::allow("payments", "send")
    };
    worker().admin().create_rule(&agent.id, &ask).await.expect("create the require_approval rule");
    agent
}

fn pay(amount: u64) -> ValidateRequest {
    let arguments = json!({"amount": amount, "to": "acct_7"});
    ValidateRequest::new("payments", "send").with_arguments(arguments.as_object().unwrap().clone())
}

/// Guards an action that counts its runs, in the given approval mode.
async fn guarded(oak: &OakAuth, request: ValidateRequest, mode: ApprovalMode) -> (Result<(), Error>, usize) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let result = oak
        .guard_with(request, mode, async move {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .await;
    (result, runs.load(Ordering::SeqCst))
}

/// The id of the approval a `guard` in throw mode was told about.
async fn requested(agent: &TestAgent, request: ValidateRequest) -> String {
    match guarded(&agent.oak, request, ApprovalMode::Throw).await {
        (Err(Error::ApprovalPending { approval, .. }), 0) => approval.id,
        other => panic!("expected a pending approval, got {other:?}"),
    }
}

async fn decide(admin: &Admin, id: &str, decision: Decision, comment: Option<&str>) -> Result<(), Error> {
    let body = ApprovalDecision { decision, comment: comment.map(str::to_owned) };
    admin.decide_approval(id, &body).await.map(|_| ())
}

#[tokio::test]
async fn throw_mode_returns_the_pending_approval_and_admins_see_the_call() {
    let agent = payer().await;
    let (small, runs) = guarded(&agent.oak, pay(20), ApprovalMode::Throw).await;
    assert!(small.is_ok() && runs == 1, "{small:?}");

    let (result, runs) = guarded(&agent.oak, pay(900).with_reasoning("invoice 7"), ApprovalMode::Throw).await;
    assert_eq!(runs, 0);
    let Err(Error::ApprovalPending { approval, timed_out: false, .. }) = &result else { panic!("{result:?}") };
    let approval_id = &approval.id;
    assert!(approval_id.starts_with("apr_"), "{approval_id}");
    assert_eq!(
        (approval.status, approval.tool.as_str(), approval.scope.as_str()),
        (ApprovalStatus::Pending, "payments", "send")
    );
    assert!(!approval.expires_at.is_empty() && approval.poll_after_ms > 0);
    let err = result.as_ref().unwrap_err();
    assert_eq!((err.code(), err.status(), err.is_transient()), (Some("approval_required"), Some(200), false));
    assert!(err.to_string().contains("an administrator must approve"), "{err}");
    // `guard` is throw mode; the same call while pending is the same approval.
    let again = agent.oak.guard(pay(900), async {}).await;
    assert_eq!(again.unwrap_err().approval().map(|a| &a.id), Some(approval_id));

    let ticket = agent.oak.get_approval(approval_id, Duration::ZERO).await.unwrap();
    assert_eq!((ticket.status, ticket.tool.as_str()), (ApprovalStatus::Pending, "payments"));

    let admin = worker().admin();
    let query =
        ApprovalQuery { status: Some(ApprovalStatus::Pending), agent_id: Some(agent.id.clone()), ..Default::default() };
    let pending = admin.list_approvals(&query).await.unwrap();
    assert_eq!(pending.approvals.len(), 1);
    let seen = &pending.approvals[0];
    assert_eq!((seen.id.as_str(), seen.agent_name.as_deref()), (approval_id.as_str(), Some(agent.name.as_str())));
    assert_eq!(seen.arguments, json!({"amount": 900, "to": "acct_7"}).as_object().cloned());
    assert_eq!(seen.reasoning.as_deref(), Some("invoice 7"));
    let streamed: Vec<_> = admin.approvals(query).try_collect().await.unwrap();
    assert_eq!(streamed, pending.approvals);
    assert_eq!(admin.get_approval(approval_id).await.unwrap().id, *approval_id);
    // Another organization does not see it.
    assert!(matches!(worker().other_admin().get_approval(approval_id).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn wait_mode_runs_the_action_once_after_an_admin_approves() {
    let agent = payer().await;
    let admin = worker().admin();
    let agent_id = agent.id.clone();
    // An administrator, elsewhere, approves the call once it shows up in the inbox.
    let approver = tokio::spawn(async move {
        let query =
            ApprovalQuery { status: Some(ApprovalStatus::Pending), agent_id: Some(agent_id), ..Default::default() };
        loop {
            if let Some(a) = admin.list_approvals(&query).await.unwrap().approvals.first() {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                decide(&admin, &a.id, Decision::Approve, Some("ok for INV-7")).await.unwrap();
                return a.id.clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let (result, runs) = guarded(&agent.oak, pay(700), ApprovalMode::Wait(Duration::from_secs(60))).await;
    let approved = approver.await.unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(runs, 1, "the action ran once");
    assert!(started.elapsed() < Duration::from_secs(20), "the long poll answered early: {:?}", started.elapsed());
    assert_eq!(worker().admin().get_approval(&approved).await.unwrap().status, ApprovalStatus::Consumed);

    // Used: the identical call is not allowed again, in either mode.
    for mode in [ApprovalMode::Throw, ApprovalMode::Wait(Duration::from_secs(5))] {
        let (again, runs) = guarded(&agent.oak, pay(700), mode).await;
        assert!(
            matches!(&again, Err(Error::ApprovalConsumed { approval, .. }) if approval.id == approved),
            "{again:?}"
        );
        assert_eq!(runs, 0);
    }
}

#[tokio::test]
async fn a_denial_reaches_the_agent_with_the_comment() {
    let agent = payer().await;
    let id = requested(&agent, pay(800)).await;
    decide(&worker().admin(), &id, Decision::Deny, Some("not this month")).await.unwrap();

    for mode in [ApprovalMode::Throw, ApprovalMode::Wait(Duration::from_secs(30))] {
        let (result, runs) = guarded(&agent.oak, pay(800), mode).await;
        assert_eq!(runs, 0);
        let Err(Error::ApprovalDenied { approval, .. }) = &result else { panic!("{result:?}") };
        assert_eq!((approval.id.as_str(), approval.comment.as_deref()), (id.as_str(), Some("not this month")));
        assert!(result.unwrap_err().to_string().contains("not this month"));
    }
    let ticket = agent.oak.get_approval(&id, Duration::from_secs(5)).await.unwrap();
    assert_eq!((ticket.status, ticket.comment.as_deref()), (ApprovalStatus::Denied, Some("not this month")));
    // Deciding again is a conflict.
    let twice = decide(&worker().admin(), &id, Decision::Approve, None).await;
    assert!(matches!(twice, Err(Error::Conflict { .. })), "{twice:?}");
}

#[tokio::test]
async fn a_wait_that_runs_out_is_still_pending_and_says_so() {
    let agent = payer().await;
    let started = Instant::now();
    let (result, runs) = guarded(&agent.oak, pay(650), ApprovalMode::Wait(Duration::from_secs(2))).await;
    let took = started.elapsed();
    assert_eq!(runs, 0);
    assert!(matches!(result, Err(Error::ApprovalPending { timed_out: true, .. })), "{result:?}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn a_long_poll_outlasts_the_client_timeout() {
    let agent = payer().await;
    let id = requested(&agent, pay(660)).await;
    let impatient = OakAuth::builder(&agent.key)
        .base_url(&worker().base_url)
        .allow_insecure_loopback(true)
        .timeout(Duration::from_secs(2))
        .retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let ticket = impatient.get_approval(&id, Duration::from_secs(4)).await.expect("no timeout");
    assert_eq!(ticket.status, ApprovalStatus::Pending);
    assert!(started.elapsed() >= Duration::from_secs(4), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_cancelled_approval_and_one_for_other_arguments_are_refused() {
    let agent = payer().await;
    let id = requested(&agent, pay(1200)).await;
    let cancelled = agent.oak.cancel_approval(&id).await.unwrap();
    assert_eq!(cancelled.status, ApprovalStatus::Cancelled);
    let (result, runs) = guarded(&agent.oak, pay(1200), ApprovalMode::Wait(Duration::from_secs(5))).await;
    assert!(matches!(&result, Err(Error::ApprovalCancelled { approval, .. }) if approval.id == id), "{result:?}");
    assert_eq!(runs, 0);
    assert!(matches!(agent.oak.cancel_approval(&id).await, Err(Error::Conflict { .. })));

    let approved = requested(&agent, pay(1300)).await;
    decide(&worker().admin(), &approved, Decision::Approve, None).await.unwrap();
    let (result, runs) = guarded(&agent.oak, pay(9999).with_approval(&approved), ApprovalMode::Throw).await;
    assert_eq!(runs, 0);
    let Err(Error::ApprovalMismatch { approval_id, .. }) = &result else { panic!("{result:?}") };
    assert_eq!(approval_id.as_deref(), Some(approved.as_str()));
    // Another agent's approval is not found.
    let other = payer().await;
    assert!(matches!(other.oak.get_approval(&approved, Duration::ZERO).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn an_expired_approval_is_not_a_denial() {
    let agent = payer().await;
    let id = requested(&agent, pay(640)).await;
    // Time passes: the clock cannot be moved in workerd, so the row's expiry is moved instead.
    let moved = worker().d1(&format!("UPDATE approvals SET expires_at = 1000 WHERE id = '{id}'"));
    if moved.is_none() {
        eprintln!("skipped: the server's state directory is unknown (OAKAUTH_TEST_PERSIST_DIR)");
        return;
    }
    assert_eq!(agent.oak.get_approval(&id, Duration::from_secs(5)).await.unwrap().status, ApprovalStatus::Expired);
    let (named, runs) = guarded(&agent.oak, pay(640).with_approval(&id), ApprovalMode::Throw).await;
    assert_eq!(runs, 0);
    let Err(Error::ApprovalExpired { approval, .. }) = &named else { panic!("{named:?}") };
    assert_eq!((&approval.id, approval.status), (&id, ApprovalStatus::Expired));
    assert!(named.unwrap_err().to_string().contains("nobody denied it"));
    // Without the name, the call asks anew: a new approval.
    assert_ne!(requested(&agent, pay(640)).await, id);
}

/// A header map of the request a stub received.
fn header_map(seen: &stub::Seen) -> HeaderMap {
    seen.headers
        .iter()
        .map(|(k, v)| (HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap()))
        .collect()
}

#[tokio::test]
async fn webhook_endpoints_are_managed_and_their_secret_is_shown_once() {
    let admin = worker().admin();
    // Disabled: the other tests' events are not sent to this address, where nothing listens.
    let create = CreateWebhook {
        url: "http://127.0.0.1:9/hook".into(),
        event_types: vec![EventType::ApprovalRequested, EventType::ApprovalDecided],
        enabled: Some(false),
        description: Some("pager".into()),
    };
    let created = admin.create_webhook(&create).await.unwrap();
    let id = created.webhook.id.clone();
    assert!(created.secret.starts_with("whsec_"));
    Verifier::new(&created.secret).expect("the secret is long enough");
    assert!(!created.webhook.enabled);

    let listed: Vec<_> = admin.webhooks().try_collect().await.unwrap();
    assert!(listed.iter().any(|w| w.id == id));
    let page = admin.list_webhooks(&Page::default()).await.unwrap();
    assert!(!serde_json::to_string(&page).unwrap().contains(&created.secret), "a list never shows the secret");
    assert_eq!(admin.get_webhook(&id).await.unwrap(), created.webhook);

    let body = UpdateWebhook {
        event_types: Some(vec![EventType::AgentChanged]),
        description: Some("agents".into()),
        ..Default::default()
    };
    let updated = admin.update_webhook(&id, &body).await.unwrap();
    assert_eq!(
        (updated.event_types.as_slice(), updated.description.as_str()),
        (&[EventType::AgentChanged][..], "agents")
    );

    let rotated = admin.rotate_webhook_secret(&id, &RotateWebhookSecret { overlap_seconds: Some(60) }).await.unwrap();
    assert!(rotated.secret.starts_with("whsec_") && rotated.secret != created.secret);
    assert!(rotated.webhook.secret_rotating_until.is_some());
    admin.list_deliveries(&id, &DeliveryQuery::default()).await.unwrap();

    let refused = CreateWebhook { url: "http://10.0.0.1/hook".into(), ..create };
    assert!(matches!(admin.create_webhook(&refused).await, Err(Error::BadRequest { .. })));

    admin.delete_webhook(&id).await.unwrap();
    assert!(matches!(admin.get_webhook(&id).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn a_delivered_event_verifies_with_the_endpoint_secret() {
    let receiver =
        stub::Stub::start(vec![stub::Reply::Respond { status: 204, headers: vec![], body: String::new() }]).await;
    let admin = worker().admin();
    let create = CreateWebhook {
        url: format!("{}/hook", receiver.base_url),
        event_types: vec![EventType::ApprovalRequested],
        enabled: None,
        description: None,
    };
    let created = admin.create_webhook(&create).await.unwrap();
    let verifier = Verifier::new(&created.secret).unwrap();

    let agent = payer().await;
    let approval = requested(&agent, pay(4321)).await;
    // Every endpoint of the organization with this event type gets it; find this approval's.
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivery = loop {
        let found = receiver.seen().into_iter().find(|s| s.body.contains(&approval));
        if let Some(seen) = found {
            break seen;
        }
        assert!(Instant::now() < deadline, "no delivery within 60 s; received {:?}", receiver.seen());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!((delivery.method.as_str(), delivery.path.as_str()), ("POST", "/hook"));
    let event = verifier.verify(&header_map(&delivery), delivery.body.as_bytes()).expect("verifies");
    assert_eq!(event.event_type, EventType::ApprovalRequested);
    assert_eq!(event.data["id"], approval.as_str());
    assert_eq!(event.data["arguments"], json!({"amount": 4321, "to": "acct_7"}));

    // Tampered with, or checked with another endpoint's secret: refused.
    let tampered = delivery.body.replace("4321", "4322");
    assert!(matches!(verifier.verify(&header_map(&delivery), tampered.as_bytes()), Err(Error::Webhook(_))));
    let other =
        admin.create_webhook(&CreateWebhook { event_types: vec![EventType::KeyRotated], ..create }).await.unwrap();
    let stranger = Verifier::new(&other.secret).unwrap();
    assert!(matches!(stranger.verify(&header_map(&delivery), delivery.body.as_bytes()), Err(Error::Webhook(_))));

    // The delivery log has it, delivered; a redelivery sends it again with the same webhook-id.
    let message_id = delivery.header("webhook-id").unwrap().to_owned();
    let query = DeliveryQuery { status: Some(DeliveryStatus::Delivered), ..Default::default() };
    let logged: Vec<_> = admin.deliveries(&created.webhook.id, query).try_collect().await.unwrap();
    let entry = logged.iter().find(|d| d.id == message_id).expect("the delivery is logged");
    assert_eq!((entry.attempts, entry.last_status_code), (1, Some(204)));
    let queued = admin.redeliver(&created.webhook.id, &message_id).await.unwrap();
    assert_eq!(queued.id, message_id);
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.seen().iter().filter(|s| s.header("webhook-id") == Some(message_id.as_str())).count() < 2 {
        assert!(Instant::now() < deadline, "no redelivery within 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for id in [&created.webhook.id, &other.webhook.id] {
        admin.delete_webhook(id).await.unwrap();
    }
}
