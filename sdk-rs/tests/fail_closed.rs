//! Fail-closed behaviour against a scripted stub server: whatever goes wrong, the guarded action
//! does not run. Only failures the real worker cannot produce on demand are tested here; the
//! real flows are in `worker.rs`.

#[path = "support/stub.rs"]
mod stub;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oakauth::wire::{CreateAgent, Effect, ReplayRequest, SimulateRequest};
use oakauth::{Admin, Error, LogQuery, OakAuth, Page, ReasonCode, ValidateRequest};
use stub::{decision, Reply, Stub};

const TIMEOUT: Duration = Duration::from_millis(300);

fn client(stub: &Stub, retries: u32) -> OakAuth {
    OakAuth::builder("oak_test_key")
        .base_url(&stub.base_url)
        .allow_insecure_loopback(true)
        .timeout(TIMEOUT)
        .retries(retries)
        .build()
        .unwrap()
}

fn admin_client(stub: &Stub) -> Admin {
    Admin::builder("oakadm_test")
        .base_url(&stub.base_url)
        .allow_insecure_loopback(true)
        .timeout(TIMEOUT)
        .retries(3)
        .build()
        .unwrap()
}

/// Guards an action that counts its runs; returns the result and how often the action ran.
async fn guarded(oak: &OakAuth) -> (Result<&'static str, Error>, usize) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let result = oak
        .guard(ValidateRequest::new("db", "read"), async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "ran"
        })
        .await;
    (result, runs.load(Ordering::SeqCst))
}

#[tokio::test]
async fn an_allow_runs_the_action_once_and_the_request_is_as_documented() {
    let stub = Stub::start(vec![Reply::json(200, decision(true, "allowed"))]).await;
    let oak = client(&stub, 2);
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let out = oak
        .guard(ValidateRequest::new("db", "read").with_reasoning("the user asked"), async move {
            counter.fetch_add(1, Ordering::SeqCst) + 41
        })
        .await
        .unwrap();
    assert_eq!((out, runs.load(Ordering::SeqCst)), (41, 1));

    let seen = stub.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("POST", "/v1/validate"));
    assert_eq!(seen[0].header("authorization"), Some("Bearer oak_test_key"));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body, serde_json::json!({"tool": "db", "scope": "read", "reasoning": "the user asked"}));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_after_the_retries() {
    let stub = Stub::start(vec![Reply::Hang]).await;
    let started = Instant::now();
    let (result, runs) = guarded(&client(&stub, 2)).await;
    assert!(matches!(result, Err(Error::Timeout(t)) if t == TIMEOUT), "{result:?}");
    assert_eq!(runs, 0);
    assert_eq!(stub.seen().len(), 3, "one try and two retries");
    assert!(started.elapsed() >= TIMEOUT * 3);
}

#[tokio::test]
async fn a_dropped_connection_is_a_connection_error() {
    let stub = Stub::start(vec![Reply::Close]).await;
    let (result, runs) = guarded(&client(&stub, 1)).await;
    assert!(matches!(result, Err(Error::Connection(_))), "{result:?}");
    assert_eq!(runs, 0);
    assert_eq!(stub.seen().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let oak = OakAuth::builder("oak_test_key")
        .base_url(url)
        .allow_insecure_loopback(true)
        .timeout(TIMEOUT)
        .retries(1)
        .build()
        .unwrap();
    let (result, runs) = guarded(&oak).await;
    assert!(matches!(&result, Err(e @ Error::Connection(_)) if e.is_transient()), "{result:?}");
    assert_eq!(runs, 0);
}

#[tokio::test]
async fn server_errors_are_retried_then_fail_closed() {
    let body = r#"{"error":{"code":"internal_error","message":"boom"}}"#;
    let stub = Stub::start(vec![Reply::json(500, body).with_header("X-Request-Id", "req_1")]).await;
    let (result, runs) = guarded(&client(&stub, 2)).await;
    match result {
        Err(Error::Server { status: 500, api: Some(api) }) => {
            assert_eq!((api.code.as_str(), api.request_id.as_deref()), ("internal_error", Some("req_1")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(runs, 0);
    assert_eq!(stub.seen().len(), 3);
}

#[tokio::test]
async fn no_retries_means_one_request() {
    let stub = Stub::start(vec![Reply::json(503, "")]).await;
    let (result, runs) = guarded(&client(&stub, 0)).await;
    assert!(matches!(result, Err(Error::Server { status: 503, api: None })), "{result:?}");
    assert_eq!((runs, stub.seen().len()), (0, 1));
}

#[tokio::test]
async fn a_5xx_then_an_allow_runs_the_action_once() {
    let stub = Stub::start(vec![
        Reply::json(500, "{}"),
        Reply::Respond { status: 502, headers: vec![], body: "<html>bad gateway</html>".into() },
        Reply::json(200, decision(true, "reasoning_missing_soft")),
    ])
    .await;
    let (result, runs) = guarded(&client(&stub, 2)).await;
    assert_eq!(result.unwrap(), "ran");
    assert_eq!((runs, stub.seen().len()), (1, 3));
}

#[tokio::test]
async fn retry_after_on_a_503_is_honoured() {
    let stub = Stub::start(vec![
        Reply::json(503, "").with_header("Retry-After", "1"),
        Reply::json(200, decision(true, "allowed")),
    ])
    .await;
    let started = Instant::now();
    let (result, _) = guarded(&client(&stub, 1)).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn malformed_or_contradictory_answers_never_run_the_action() {
    let full = |allowed: &str, reason: &str| {
        format!(
            r#"{{"allowed":{allowed},"reason":"{reason}","message":"m","decision_id":"d","reasoning_required":"none","reasoning_provided":false,"rate_limit":null}}"#
        )
    };
    let bodies = [
        "not json at all".to_owned(),
        "".to_owned(),
        "[]".to_owned(),
        "{}".to_owned(),
        r#"{"allowed": "yes"}"#.to_owned(),
        r#"{"allowed": true}"#.to_owned(),
        full("\"true\"", "allowed"),
        full("1", "allowed"),
        full("true", "maybe"),
        full("true", "scope_not_granted"),
        full("true", "rate_limited"),
        full("false", "allowed"),
        full("null", "allowed"),
    ];
    for body in bodies {
        let stub = Stub::start(vec![Reply::json(200, body.clone())]).await;
        let (result, runs) = guarded(&client(&stub, 2)).await;
        assert_eq!(runs, 0, "action ran for {body}");
        assert!(result.is_err(), "{body}");
        assert_eq!(stub.seen().len(), 1, "a malformed answer is not retried: {body}");
    }
}

#[tokio::test]
async fn a_contradictory_decision_is_a_decode_error_from_validate() {
    let stub = Stub::start(vec![Reply::json(200, decision(true, "scope_not_granted"))]).await;
    let err = client(&stub, 0).validate(&ValidateRequest::new("db", "read")).await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

#[tokio::test]
async fn an_approval_reason_without_its_approval_is_a_decode_error() {
    let ticket = |status: &str| {
        format!(
            r#"{{"id":"apr_1","status":"{status}","tool":"db","scope":"read","expires_at":"2026-01-01T00:00:00.000Z","poll_after_ms":0,"decided_at":null,"comment":null}}"#
        )
    };
    let with = |reason: &str, approval: Option<String>| {
        let body = decision(false, reason);
        match approval {
            Some(a) => format!("{},\"approval\":{a}}}", &body[..body.len() - 1]),
            None => body,
        }
    };
    // Nothing to wait for or to tell: an approval_required without a pending approval, or a
    // denied, expired, cancelled or consumed one without the approval.
    let bodies = [
        with("approval_required", None),
        with("approval_required", Some(ticket("approved"))),
        with("approval_denied", None),
        with("approval_expired", None),
        with("approval_cancelled", None),
        with("approval_consumed", None),
    ];
    for body in bodies {
        let stub = Stub::start(vec![Reply::json(200, body.clone())]).await;
        let (result, runs) = guarded(&client(&stub, 0)).await;
        assert_eq!(runs, 0, "{body}");
        assert!(matches!(result, Err(Error::Decode { status: 200, .. })), "{body}: {result:?}");
    }
    // Asked not to request one, an approval_required comes without an approval: a deny.
    let stub = Stub::start(vec![Reply::json(200, with("approval_required", None))]).await;
    let mut probe = ValidateRequest::new("db", "read");
    probe.request_approval = Some(false);
    let result = client(&stub, 0).guard(probe, async {}).await;
    assert!(matches!(result, Err(Error::Denied { reason: ReasonCode::ApprovalRequired, .. })), "{result:?}");
    // A mismatch may name no approval of this agent's.
    let stub = Stub::start(vec![Reply::json(200, with("approval_mismatch", None))]).await;
    let request = ValidateRequest::new("db", "read").with_approval("apr_nobodys");
    let result = client(&stub, 0).guard(request, async {}).await;
    assert!(
        matches!(&result, Err(Error::ApprovalMismatch { approval_id: Some(id), .. }) if id == "apr_nobodys"),
        "{result:?}"
    );
    let stub = Stub::start(vec![Reply::json(200, with("approval_denied", Some(ticket("denied"))))]).await;
    let (result, runs) = guarded(&client(&stub, 0)).await;
    assert!(matches!(&result, Err(Error::ApprovalDenied { approval, .. }) if approval.id == "apr_1"), "{result:?}");
    assert_eq!(runs, 0);
}

#[tokio::test]
async fn a_deny_is_an_error_with_its_reason_and_is_never_retried() {
    let stub = Stub::start(vec![Reply::json(200, decision(false, "scope_not_granted"))]).await;
    let (result, runs) = guarded(&client(&stub, 3)).await;
    match result {
        Err(Error::Denied { reason, decision_id, tool, scope, .. }) => {
            assert_eq!(reason, ReasonCode::ScopeNotGranted);
            assert_eq!((decision_id.as_str(), tool.as_str(), scope.as_str()), ("dec_stub", "db", "read"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((runs, stub.seen().len()), (0, 1));
}

#[tokio::test]
async fn a_rate_limited_decision_carries_retry_after_and_is_not_retried() {
    let stub =
        Stub::start(vec![Reply::json(429, decision(false, "rate_limited")).with_header("Retry-After", "7")]).await;
    let (result, runs) = guarded(&client(&stub, 3)).await;
    match result {
        Err(Error::RateLimited { retry_after, decision_id, .. }) => {
            assert_eq!(retry_after, Duration::from_secs(7));
            assert_eq!(decision_id.as_deref(), Some("dec_stub"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((runs, stub.seen().len()), (0, 1));
}

#[tokio::test]
async fn a_429_that_claims_an_allow_is_not_an_allow() {
    let stub = Stub::start(vec![Reply::json(429, decision(true, "allowed"))]).await;
    let (result, runs) = guarded(&client(&stub, 0)).await;
    assert!(matches!(result, Err(Error::Decode { status: 429, .. })), "{result:?}");
    assert_eq!(runs, 0);
}

#[tokio::test]
async fn an_error_status_without_an_oakauth_body_is_a_decode_error() {
    let stub = Stub::start(vec![Reply::Respond { status: 401, headers: vec![], body: "<h1>login</h1>".into() }]).await;
    let (result, runs) = guarded(&client(&stub, 2)).await;
    match result {
        Err(Error::Decode { status: 401, body, .. }) => assert_eq!(body, "<h1>login</h1>"),
        other => panic!("{other:?}"),
    }
    assert_eq!((runs, stub.seen().len()), (0, 1));
}

#[tokio::test]
async fn a_create_that_may_have_reached_the_server_is_not_retried() {
    let stub = Stub::start(vec![
        Reply::json(500, r#"{"error":{"code":"internal_error","message":"x"}}"#),
        Reply::json(200, r#"{"agents":[],"next_cursor":null}"#),
    ])
    .await;
    let admin = admin_client(&stub);
    let err = admin.create_agent(&CreateAgent { name: "a".into(), enabled: None, rate_limit: None }).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert_eq!(stub.seen().len(), 1);

    // A read is retried: the stub's second answer is a (empty) page.
    let stub = Stub::start(vec![Reply::json(502, ""), Reply::json(200, r#"{"agents":[],"next_cursor":null}"#)]).await;
    let admin = admin_client(&stub);
    let page = admin.list_agents(&Page { limit: Some(5), cursor: None }).await.unwrap();
    assert!(page.agents.is_empty());
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path, "/v1/admin/agents?limit=5");
    assert_eq!(seen[1].header("authorization"), Some("Bearer oakadm_test"));
}

#[tokio::test]
async fn arguments_are_sent_and_a_deny_by_a_condition_carries_its_explanation() {
    let explanation = r#"{"rule_id":"rul_1","effect":"allow","condition":{"path":"conditions[0]","source":"arguments","pointer":"/amount","op":"lt","expected":500,"observed":900,"holds":false,"error":null},"message":"/amount is 900, not less than 500."}"#;
    let body = decision(false, "conditions_not_met").replacen('{', &format!(r#"{{"explanation":{explanation},"#), 1);
    let stub = Stub::start(vec![Reply::json(200, body)]).await;
    let arguments = serde_json::json!({"amount": 900}).as_object().unwrap().clone();
    let request = ValidateRequest::new("payments", "send").with_arguments(arguments);
    let err = client(&stub, 0).guard(request, async {}).await.unwrap_err();
    let Error::Denied { reason, explanation: Some(why), .. } = &err else { panic!("{err:?}") };
    assert_eq!(*reason, ReasonCode::ConditionsNotMet);
    assert_eq!(
        (why.rule_id.as_deref(), why.condition.as_ref().unwrap().observed.clone()),
        (Some("rul_1"), Some(900.into()))
    );
    assert!(err.to_string().ends_with("(/amount is 900, not less than 500.)"), "{err}");
    let sent: serde_json::Value = serde_json::from_str(&stub.seen()[0].body).unwrap();
    assert_eq!(sent, serde_json::json!({"tool": "payments", "scope": "send", "arguments": {"amount": 900}}));
}

#[tokio::test]
async fn simulate_and_replay_are_posts_retried_like_reads_and_logs_filter_on_shadow() {
    let simulated = r#"{"allowed":true,"reason":"allowed","message":"ok","reasoning_required":"none","reasoning_provided":false,"explanation":null,"shadow":[{"rule_id":"rul_2","would":"deny"}],"trace":[]}"#;
    let stub = Stub::start(vec![Reply::json(503, ""), Reply::json(200, simulated)]).await;
    let admin = admin_client(&stub);
    let body = SimulateRequest {
        agent_id: "agt_x".into(),
        request: ValidateRequest::new("payments", "send"),
        rules: None,
        client_ip: None,
        at: None,
    };
    let answer = admin.simulate(&body).await.unwrap();
    assert_eq!((answer.shadow[0].rule_id.as_str(), answer.shadow[0].would), ("rul_2", Effect::Deny));
    let seen = stub.seen();
    assert_eq!(seen.len(), 2, "a simulation writes nothing, so it is retried");
    assert_eq!((seen[1].method.as_str(), seen[1].path.as_str()), ("POST", "/v1/admin/simulate"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&seen[1].body).unwrap(),
        serde_json::json!({"agent_id": "agt_x", "request": {"tool": "payments", "scope": "send"}})
    );

    let stub = Stub::start(vec![Reply::json(502, ""), Reply::json(200, r#"{"replayed":3,"changed":[]}"#)]).await;
    let replay = admin_client(&stub)
        .replay(&ReplayRequest { agent_id: "agt_x".into(), rules: vec![], limit: Some(3) })
        .await
        .unwrap();
    assert_eq!((replay.replayed, replay.changed.len()), (3, 0));
    let seen = stub.seen();
    assert_eq!((seen.len(), seen[1].path.as_str()), (2, "/v1/admin/simulate/replay"));

    let stub = Stub::start(vec![Reply::json(200, r#"{"logs":[],"next_cursor":null}"#)]).await;
    let query = LogQuery { shadow: Some(Effect::Deny), limit: Some(5), ..Default::default() };
    admin_client(&stub).list_logs(&query).await.unwrap();
    assert_eq!(stub.seen()[0].path, "/v1/admin/logs?shadow=deny&limit=5");
}

/// A stub that answers every request with `status` and a `Location` on another origin, and that
/// other origin, which would answer `body` (an allow, an empty page) if it were asked.
async fn redirecting(status: u16, path: &str, body: String) -> (Stub, Stub) {
    let elsewhere = Stub::start(vec![Reply::json(200, body)]).await;
    let location = format!("{}{path}", elsewhere.base_url);
    let stub = Stub::start(vec![Reply::json(status, "").with_header("Location", location)]).await;
    (stub, elsewhere)
}

#[tokio::test]
async fn a_redirect_on_validate_is_an_error_and_the_action_does_not_run() {
    for status in [301, 302, 303, 307, 308] {
        let (stub, elsewhere) = redirecting(status, "/v1/validate", decision(true, "allowed")).await;
        let (result, runs) = guarded(&client(&stub, 2)).await;
        assert_eq!(runs, 0, "the action ran after a {status}");
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Redirect { status: s, location: Some(l) } if *s == status && l.starts_with(&elsewhere.base_url)),
            "{err:?}"
        );
        assert!(err.to_string().contains("redirect"), "{err}");
        assert!(!err.is_transient());
        assert_eq!(stub.seen().len(), 1, "a redirect is not retried ({status})");
        assert!(elsewhere.seen().is_empty(), "the other origin was asked after a {status}");
    }
}

#[tokio::test]
async fn a_redirect_on_an_admin_call_is_an_error() {
    let page = r#"{"agents":[],"next_cursor":null}"#;
    for status in [301, 302, 307, 308] {
        let (stub, elsewhere) = redirecting(status, "/v1/admin/agents", page.into()).await;
        let admin = admin_client(&stub);
        let err = admin.list_agents(&Page::default()).await.unwrap_err();
        assert!(matches!(err, Error::Redirect { status: s, .. } if s == status), "{err:?}");
        let err = admin.create_agent(&CreateAgent { name: "a".into(), enabled: None, rate_limit: None }).await;
        assert!(matches!(err, Err(Error::Redirect { .. })), "{err:?}");
        let err = admin.delete_agent("agt_x").await;
        assert!(matches!(err, Err(Error::Redirect { .. })), "{err:?}");
        assert_eq!(stub.seen().len(), 3, "no call is retried after a {status}");
        assert!(elsewhere.seen().is_empty(), "the other origin was asked after a {status}");
    }
}

#[tokio::test]
async fn an_http_client_that_follows_redirects_still_gets_no_answer_from_elsewhere() {
    for status in [302, 307] {
        let (stub, elsewhere) = redirecting(status, "/v1/validate", decision(true, "allowed")).await;
        let oak = OakAuth::builder("oak_test_key")
            .base_url(&stub.base_url)
            .allow_insecure_loopback(true)
            .http_client(oakauth::reqwest::Client::new())
            .retries(0)
            .build()
            .unwrap();
        let (result, runs) = guarded(&oak).await;
        assert_eq!(runs, 0, "the action ran on an answer from another origin ({status})");
        assert!(matches!(result, Err(Error::Redirect { .. })), "{result:?}");
        let followed = elsewhere.seen();
        assert!(followed.iter().all(|r| r.header("authorization").is_none()), "{followed:?}");
    }
}

#[test]
fn a_bad_base_url_is_a_configuration_error() {
    for url in ["", "localhost:8787", "ftp://example.com", "https://example.com/?x=1"] {
        let err = OakAuth::builder("oak_x").base_url(url).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
    }
    assert!(matches!(OakAuth::builder("").base_url("https://oakauth.example.com").build(), Err(Error::Config(_))));
}

#[test]
fn clients_and_their_futures_can_move_between_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let oak = OakAuth::builder("oak_x").base_url("https://oakauth.example.com").build().unwrap();
    let admin = Admin::builder("oakadm_x").base_url("https://oakauth.example.com").build().unwrap();
    send_sync(&oak);
    send_sync(&admin);
    send(&oak.guard(ValidateRequest::new("a", "b"), async {}));
    send(&oak.validate(&ValidateRequest::new("a", "b")));
    send(&admin.logs(oakauth::LogQuery::default()));
    send(&admin.list_agents(&Page::default()));
}

/// A `quota_exceeded` decision, with its quota unless `quota` is false.
fn over_quota(quota: bool) -> String {
    let body = decision(false, "quota_exceeded");
    if !quota {
        return body;
    }
    body.replace(
        r#""rate_limit":"#,
        r#""quota":{"limit":1000,"used":1000,"resets_at":"2027-01-01T00:00:00Z"},"rate_limit":"#,
    )
}

#[tokio::test]
async fn over_the_monthly_quota_validate_answers_a_deny_and_guard_a_quota_error() {
    let stub = Stub::start(vec![Reply::json(429, over_quota(true)).with_header("Retry-After", "86400")]).await;
    let oak = client(&stub, 2);
    let d = oak.validate(&ValidateRequest::new("db", "read")).await.unwrap();
    assert!(!d.is_allowed());
    assert_eq!(d.reason, ReasonCode::QuotaExceeded);
    assert_eq!(d.quota.as_ref().map(|q| (q.limit, q.used)), Some((1000, 1000)));
    assert_eq!(d.retry_after, Some(Duration::from_secs(86400)));
    let (result, runs) = guarded(&oak).await;
    assert_eq!(runs, 0);
    let err = result.unwrap_err();
    match &err {
        Error::QuotaExceeded { quota, retry_after, decision_id, tool, .. } => {
            assert_eq!(quota.resets_at, "2027-01-01T00:00:00Z");
            assert_eq!(*retry_after, Duration::from_secs(86400));
            assert_eq!((decision_id.as_str(), tool.as_str()), ("dec_stub", "db"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((err.status(), err.code()), (Some(429), Some("quota_exceeded")));
    assert!(err.to_string().contains("1000 of its 1000 validations"), "{err}");
    assert_eq!(stub.seen().len(), 2, "a quota answer is not retried");
}

#[tokio::test]
async fn a_quota_exceeded_without_its_quota_is_not_a_decision() {
    let stub = Stub::start(vec![Reply::json(429, over_quota(false))]).await;
    let (result, runs) = guarded(&client(&stub, 0)).await;
    assert_eq!(runs, 0);
    assert!(matches!(result, Err(Error::Decode { status: 429, .. })), "{result:?}");
}

#[tokio::test]
async fn a_plan_limit_names_the_limit() {
    let body = r#"{"error":{"code":"plan_limit","message":"the Free plan allows 1 agent; upgrade to Pro for more","quota":"agents","limit":1,"plan":"free"}}"#;
    let stub = Stub::start(vec![Reply::json(402, body)]).await;
    let err = admin_client(&stub)
        .create_agent(&CreateAgent { name: "second".into(), enabled: None, rate_limit: None })
        .await
        .unwrap_err();
    match &err {
        Error::PlanLimit { api, quota, limit, plan } => {
            assert_eq!(api.code, "plan_limit");
            assert_eq!(*quota, Some(oakauth::wire::plans::Quota::Agents));
            assert_eq!(*limit, Some(1));
            assert_eq!(*plan, Some(oakauth::wire::plans::PlanId::Free));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((err.status(), err.code()), (Some(402), Some("plan_limit")));
    assert_eq!(stub.seen().len(), 1, "a create is not sent again");
}
