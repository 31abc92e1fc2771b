//! The SDK against the real worker in local workerd: guard, validate and every admin endpoint.

#[path = "support/worker.rs"]
mod support;

use std::time::Duration;

use futures_util::TryStreamExt;
use oakauth::wire::{
    CreateAgent, CreateRule, CreateTool, RateLimitConfig, ReasoningPolicy, RiskLevel, RotateKey, UpdateAgent,
    UpdateRule, UpdateTool,
};
use oakauth::{BrokenLink, Error, EventQuery, LogQuery, Page, ReasonCode, ValidateRequest};
use support::{agent_with, run_guarded, unique, worker};

use ReasoningPolicy::{Hard, Soft};

fn denied_reason(result: &Result<(), Error>) -> Option<ReasonCode> {
    match result {
        Err(Error::Denied { reason, .. }) => Some(*reason),
        _ => None,
    }
}

#[tokio::test]
async fn healthcheck_answers_ok() {
    let w = worker();
    let health = w.agent_client("oak_unused").healthcheck().await.unwrap();
    assert_eq!(health.status, "ok");
    assert!(!health.version.is_empty());
}

#[tokio::test]
async fn an_allowed_call_runs_and_a_denied_one_does_not() {
    let agent =
        agent_with(None, &[("database", RiskLevel::Read, &[("read", Some(ReasoningPolicy::None)), ("drop", None)])])
            .await;

    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("database", "read")).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(runs, 1);

    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("database", "drop")).await;
    assert_eq!(runs, 0);
    let Err(Error::Denied { reason, decision_id, tool, scope, message, explanation }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(reason, ReasonCode::ScopeNotGranted);
    assert_eq!((tool.as_str(), scope.as_str()), ("database", "drop"));
    assert!(!message.is_empty());
    assert_eq!(explanation, None, "a scope without a rule has no rule to explain");

    // The deny is in the audit log under its decision id.
    let entry = worker().admin().get_log(&decision_id).await.unwrap();
    assert_eq!(
        (entry.agent_id.as_str(), entry.allowed, entry.reason),
        (agent.id.as_str(), false, ReasonCode::ScopeNotGranted)
    );

    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("email", "send")).await;
    assert_eq!((denied_reason(&result), runs), (Some(ReasonCode::UnknownTool), 0));
}

#[tokio::test]
async fn hard_reasoning_needs_real_reasoning_and_it_reaches_the_log() {
    let agent = agent_with(None, &[("files", RiskLevel::Destructive, &[("delete", Some(Hard))])]).await;

    for reasoning in [None, Some("   "), Some("\u{200b}\u{200b}")] {
        let mut request = ValidateRequest::new("files", "delete");
        request.reasoning = reasoning.map(str::to_owned);
        let (result, runs) = run_guarded(&agent.oak, request).await;
        assert_eq!((denied_reason(&result), runs), (Some(ReasonCode::ReasoningRequired), 0), "{reasoning:?}");
    }

    let why = "the user asked to delete /tmp/report.csv";
    let decision = agent.oak.validate(&ValidateRequest::new("files", "delete").with_reasoning(why)).await.unwrap();
    assert!(decision.is_allowed());
    assert_eq!(
        (decision.reason, decision.reasoning_required, decision.reasoning_provided),
        (ReasonCode::Allowed, Hard, true)
    );

    let entry = worker().admin().get_log(&decision.decision_id).await.unwrap();
    assert_eq!(entry.reasoning.as_deref(), Some(why));
    assert!(entry.allowed && entry.reasoning_provided);
}

#[tokio::test]
async fn soft_reasoning_allows_but_flags_the_missing_reasoning() {
    let agent = agent_with(None, &[("email", RiskLevel::Write, &[("send", Some(Soft))])]).await;
    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("email", "send")).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(runs, 1);
    let decision = agent.oak.validate(&ValidateRequest::new("email", "send")).await.unwrap();
    assert_eq!((decision.reason, decision.is_allowed()), (ReasonCode::ReasoningMissingSoft, true));
}

#[tokio::test]
async fn an_empty_bucket_is_a_rate_limit_with_retry_after() {
    let limit = RateLimitConfig { capacity: 2, refill_per_second: 0.01 };
    let agent =
        agent_with(Some(limit), &[("search", RiskLevel::Read, &[("query", Some(ReasoningPolicy::None))])]).await;
    for _ in 0..2 {
        let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("search", "query")).await;
        assert!(result.is_ok() && runs == 1, "{result:?}");
    }
    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("search", "query")).await;
    assert_eq!(runs, 0);
    let Err(Error::RateLimited { retry_after, decision_id, .. }) = result else { panic!("{result:?}") };
    assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}");
    assert!(decision_id.is_some());

    // validate() hands back the rate-limited decision itself.
    let decision = agent.oak.validate(&ValidateRequest::new("search", "query")).await.unwrap();
    assert_eq!((decision.reason, decision.is_allowed()), (ReasonCode::RateLimited, false));
    assert!(decision.retry_after.is_some());
    assert_eq!(decision.rate_limit.unwrap().remaining, 0);
}

#[tokio::test]
async fn a_disabled_agent_is_denied_until_enabled_again() {
    let agent = agent_with(None, &[("search", RiskLevel::Read, &[("query", Some(ReasoningPolicy::None))])]).await;
    let admin = worker().admin();
    let disabled =
        admin.update_agent(&agent.id, &UpdateAgent { enabled: Some(false), ..Default::default() }).await.unwrap();
    assert!(!disabled.enabled);
    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("search", "query")).await;
    assert_eq!((denied_reason(&result), runs), (Some(ReasonCode::AgentDisabled), 0));

    admin.update_agent(&agent.id, &UpdateAgent { enabled: Some(true), ..Default::default() }).await.unwrap();
    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("search", "query")).await;
    assert!(result.is_ok() && runs == 1, "{result:?}");
}

#[tokio::test]
async fn wrong_keys_are_authentication_errors() {
    let w = worker();
    // Well-formed but unknown agent key: 401.
    let unknown = w.agent_client("oak_0000000000000000000000000000000000000");
    let (result, runs) = run_guarded(&unknown, ValidateRequest::new("a", "b")).await;
    assert!(matches!(&result, Err(Error::Auth { status: 401, .. })), "{result:?}");
    assert_eq!(runs, 0);
    assert_eq!(result.unwrap_err().code(), Some("unauthorized"));

    // An admin key on validate, and an agent key on the admin API: 403.
    let (result, _) = run_guarded(&w.agent_client(&w.admin_key), ValidateRequest::new("a", "b")).await;
    assert!(matches!(result, Err(Error::Auth { status: 403, .. })), "{result:?}");
    let agent = agent_with(None, &[]).await;
    let as_admin =
        oakauth::Admin::builder(&agent.key).base_url(&w.base_url).allow_insecure_loopback(true).build().unwrap();
    assert!(matches!(as_admin.me().await, Err(Error::Auth { status: 403, .. })));
}

#[tokio::test]
async fn me_names_the_key_organization() {
    let w = worker();
    let me = w.admin().me().await.unwrap();
    if let Some(org) = &w.organization_id {
        assert_eq!(&me.organization.id, org);
    }
    let prefix = me.key_prefix.as_deref().expect("an admin key's prefix");
    assert!(w.admin_key.starts_with(prefix));
    assert_eq!(me.actor.kind, oakauth::wire::accounts::ActorKind::Key);
    assert_eq!(me.actor.key_prefix.as_deref(), Some(prefix));
    assert!(me.actor.id.starts_with("adk_") && me.actor.email.is_none(), "{:?}", me.actor);
    assert_ne!(w.other_admin().me().await.unwrap().organization.id, me.organization.id);
}

#[tokio::test]
async fn agents_can_be_created_listed_changed_and_deleted() {
    let admin = worker().admin();
    let name = unique("crud");
    let created = admin
        .create_agent(&CreateAgent {
            name: name.clone(),
            enabled: Some(true),
            rate_limit: Some(RateLimitConfig { capacity: 5, refill_per_second: 0.5 }),
        })
        .await
        .unwrap();
    assert!(created.api_key.starts_with("oak_") && created.api_key.starts_with(&created.agent.key_prefix));
    assert!(created.previous_key_expires_at.is_none());
    let id = created.agent.id.clone();

    let all: Vec<_> = admin.agents().try_collect().await.unwrap();
    assert!(all.iter().any(|a| a.id == id && a.name == name));

    let got = admin.get_agent(&id).await.unwrap();
    assert_eq!(got.rate_limit, RateLimitConfig { capacity: 5, refill_per_second: 0.5 });

    let renamed = unique("renamed");
    let updated =
        admin.update_agent(&id, &UpdateAgent { name: Some(renamed.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(updated.name, renamed);

    let dup = admin.create_agent(&CreateAgent { name: renamed, enabled: None, rate_limit: None }).await.unwrap_err();
    assert!(matches!(&dup, Error::Conflict { .. }), "{dup:?}");
    assert_eq!(dup.code(), Some("conflict"));

    admin.delete_agent(&id).await.unwrap();
    assert!(matches!(admin.get_agent(&id).await, Err(Error::NotFound { .. })));
    assert!(matches!(admin.delete_agent(&id).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn rotating_a_key_with_and_without_overlap() {
    let agent = agent_with(None, &[("search", RiskLevel::Read, &[("query", Some(ReasoningPolicy::None))])]).await;
    let admin = worker().admin();
    let check = ValidateRequest::new("search", "query");

    let rotated = admin.rotate_key(&agent.id, &RotateKey { overlap_seconds: Some(600) }).await.unwrap();
    assert_ne!(rotated.api_key, agent.key);
    assert!(rotated.previous_key_expires_at.is_some());
    let new = worker().agent_client(&rotated.api_key);
    assert!(agent.oak.validate(&check).await.unwrap().is_allowed(), "the old key works during the overlap");
    assert!(new.validate(&check).await.unwrap().is_allowed());

    let again = admin.rotate_key(&agent.id, &RotateKey { overlap_seconds: Some(0) }).await.unwrap();
    assert!(matches!(agent.oak.validate(&check).await, Err(Error::Auth { status: 401, .. })));
    assert!(matches!(new.validate(&check).await, Err(Error::Auth { status: 401, .. })));
    assert!(worker().agent_client(&again.api_key).validate(&check).await.unwrap().is_allowed());
}

#[tokio::test]
async fn tools_and_rules_can_be_managed() {
    let agent = agent_with(None, &[]).await;
    let admin = worker().admin();

    let tool = admin
        .create_tool(
            &agent.id,
            &CreateTool {
                name: "crm".into(),
                description: Some("customer records".into()),
                scopes: vec!["read".into(), "write".into()],
                risk_level: RiskLevel::Write,
                input_schema: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((tool.agent_id.as_str(), tool.description.as_str()), (agent.id.as_str(), "customer records"));
    let dup = CreateTool {
        name: "crm".into(),
        description: None,
        scopes: vec!["x".into()],
        risk_level: RiskLevel::Read,
        input_schema: None,
    };
    assert!(matches!(admin.create_tool(&agent.id, &dup).await, Err(Error::Conflict { .. })));
    let bad = CreateTool {
        name: "no spaces allowed".into(),
        description: None,
        scopes: vec!["x".into()],
        risk_level: RiskLevel::Read,
        input_schema: None,
    };
    let err = admin.create_tool(&agent.id, &bad).await.unwrap_err();
    assert!(matches!(err, Error::BadRequest { status: 400, .. }), "{err:?}");

    // A rule without a policy takes the tool's risk default (write: soft).
    let rule = admin.create_rule(&agent.id, &CreateRule::allow("crm", "write")).await.unwrap();
    assert_eq!((rule.tool.as_str(), rule.tool_id.as_str(), rule.require_reasoning), ("crm", tool.id.as_str(), Soft));
    assert_eq!(admin.get_rule(&agent.id, &rule.id).await.unwrap(), rule);
    let rules: Vec<_> = admin.rules(&agent.id).try_collect().await.unwrap();
    assert_eq!(rules, vec![rule.clone()]);

    let check = ValidateRequest::new("crm", "write");
    assert_eq!(agent.oak.validate(&check).await.unwrap().reason, ReasonCode::ReasoningMissingSoft);
    let hard = admin
        .update_rule(&agent.id, &rule.id, &UpdateRule { require_reasoning: Some(Hard), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(hard.require_reasoning, Hard);
    assert_eq!(agent.oak.validate(&check).await.unwrap().reason, ReasonCode::ReasoningRequired);

    admin.delete_rule(&agent.id, &rule.id).await.unwrap();
    assert_eq!(agent.oak.validate(&check).await.unwrap().reason, ReasonCode::ScopeNotGranted);

    let updated = admin
        .update_tool(&agent.id, &tool.id, &UpdateTool { scopes: Some(vec!["read".into()]), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(updated.scopes, vec!["read".to_owned()]);
    assert_eq!(admin.get_tool(&agent.id, &tool.id).await.unwrap(), updated);
    let tools: Vec<_> = admin.tools(&agent.id).try_collect().await.unwrap();
    assert_eq!(tools, vec![updated]);

    admin.delete_tool(&agent.id, &tool.id).await.unwrap();
    assert!(matches!(admin.get_tool(&agent.id, &tool.id).await, Err(Error::NotFound { .. })));
    assert_eq!(agent.oak.validate(&ValidateRequest::new("crm", "read")).await.unwrap().reason, ReasonCode::UnknownTool);
}

#[tokio::test]
async fn another_organizations_ids_are_not_found() {
    let agent = agent_with(None, &[("search", RiskLevel::Read, &[("query", Some(ReasoningPolicy::None))])]).await;
    let decision = agent.oak.validate(&ValidateRequest::new("search", "query")).await.unwrap();
    let other = worker().other_admin();
    assert!(matches!(other.get_agent(&agent.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(other.list_tools(&agent.id, &Page::default()).await, Err(Error::NotFound { .. })));
    assert!(matches!(other.get_log(&decision.decision_id).await, Err(Error::NotFound { .. })));
    let theirs = other
        .list_logs(&LogQuery { agent_id: Some(agent.id.clone()), ..Default::default() })
        .await
        .map(|l| l.logs.len());
    assert!(matches!(theirs, Ok(0) | Err(Error::NotFound { .. })), "{theirs:?}");
}

#[tokio::test]
async fn the_log_stream_pages_through_every_matching_decision_newest_first() {
    let agent =
        agent_with(None, &[("kv", RiskLevel::Read, &[("get", Some(ReasoningPolicy::None)), ("put", None)])]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let scope = if i % 2 == 0 { "get" } else { "put" };
        let request = ValidateRequest::new("kv", scope).with_reasoning(format!("step {i}"));
        ids.push(agent.oak.validate(&request).await.unwrap().decision_id.clone());
    }
    let admin = worker().admin();
    let query = LogQuery { agent_id: Some(agent.id.clone()), limit: Some(2), ..Default::default() };

    let first = admin.list_logs(&query).await.unwrap();
    assert_eq!(first.logs.len(), 2);
    assert!(first.next_cursor.is_some());

    let all: Vec<_> = admin.logs(query.clone()).try_collect().await.unwrap();
    let streamed: Vec<_> = all.iter().map(|e| e.decision_id.clone()).collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(streamed, newest_first);
    assert_eq!(all[0].reasoning.as_deref(), Some("step 4"));

    let denied: Vec<_> = admin.logs(LogQuery { allowed: Some(false), ..query.clone() }).try_collect().await.unwrap();
    assert_eq!(denied.len(), 2);
    assert!(denied.iter().all(|e| !e.allowed && e.scope == "put" && e.reason == ReasonCode::ScopeNotGranted));
    let by_reason: Vec<_> =
        admin.logs(LogQuery { reason: Some(ReasonCode::Allowed), ..query.clone() }).try_collect().await.unwrap();
    assert_eq!(by_reason.len(), 3);
    let by_scope: Vec<_> = admin.logs(LogQuery { scope: Some("get".into()), ..query }).try_collect().await.unwrap();
    assert_eq!(by_scope.len(), 3);
}

#[tokio::test]
async fn stats_count_the_decisions() {
    let agent = agent_with(None, &[("kv", RiskLevel::Read, &[("get", Some(ReasoningPolicy::None))])]).await;
    agent.oak.validate(&ValidateRequest::new("kv", "get")).await.unwrap();
    agent.oak.validate(&ValidateRequest::new("kv", "nope")).await.unwrap();
    // Rows reach D1 in the background; an agent's log page first writes what its object holds.
    worker().admin().list_logs(&LogQuery { agent_id: Some(agent.id.clone()), ..Default::default() }).await.unwrap();
    let stats = worker().admin().stats(None, None).await.unwrap();
    assert!(stats.total >= 2 && stats.total == stats.allowed + stats.denied, "{stats:?}");
    let ours = stats.agents.iter().find(|a| a.agent_id == agent.id).expect("our agent in the stats");
    assert_eq!((ours.total, ours.allowed, ours.denied), (2, 1, 1));
    assert_eq!(ours.name.as_deref(), Some(agent.name.as_str()));

    let err = worker().admin().stats(Some("yesterday"), None).await.unwrap_err();
    assert!(matches!(err, Error::BadRequest { status: 400, .. }), "{err:?}");
}

#[tokio::test]
async fn admin_events_say_who_did_what_to_which_target_newest_first() {
    let w = worker();
    let admin = w.admin();
    let me = admin.me().await.unwrap();
    let created =
        admin.create_agent(&CreateAgent { name: unique("events"), enabled: None, rate_limit: None }).await.unwrap();
    let agent = created.agent.id.clone();
    let tool = admin
        .create_tool(
            &agent,
            &CreateTool {
                name: "crm".into(),
                description: None,
                scopes: vec!["read".into(), "write".into()],
                risk_level: RiskLevel::Write,
                input_schema: None,
            },
        )
        .await
        .unwrap();
    admin
        .update_tool(&agent, &tool.id, &UpdateTool { description: Some("customers".into()), ..Default::default() })
        .await
        .unwrap();
    let rule = admin.create_rule(&agent, &CreateRule::allow("crm", "write")).await.unwrap();
    admin
        .update_rule(&agent, &rule.id, &UpdateRule { require_reasoning: Some(Hard), ..Default::default() })
        .await
        .unwrap();
    admin.update_agent(&agent, &UpdateAgent { enabled: Some(false), ..Default::default() }).await.unwrap();
    admin.update_agent(&agent, &UpdateAgent { enabled: Some(true), ..Default::default() }).await.unwrap();
    let limit = RateLimitConfig { capacity: 9, refill_per_second: 1.0 };
    admin.update_agent(&agent, &UpdateAgent { rate_limit: Some(limit), ..Default::default() }).await.unwrap();
    admin.rotate_key(&agent, &RotateKey { overlap_seconds: Some(0) }).await.unwrap();
    admin.delete_rule(&agent, &rule.id).await.unwrap();
    admin.delete_tool(&agent, &tool.id).await.unwrap();
    admin.delete_agent(&agent).await.unwrap();

    let expected = [
        ("agent.delete", agent.as_str()),
        ("tool.delete", tool.id.as_str()),
        ("rule.delete", rule.id.as_str()),
        ("agent.rotate_key", agent.as_str()),
        ("agent.update", agent.as_str()),
        ("agent.enable", agent.as_str()),
        ("agent.disable", agent.as_str()),
        ("rule.update", rule.id.as_str()),
        ("rule.create", rule.id.as_str()),
        ("tool.update", tool.id.as_str()),
        ("tool.create", tool.id.as_str()),
        ("agent.create", agent.as_str()),
    ];
    // One page, filtered by the (deleted) agent: every change, newest first.
    let query = EventQuery { agent_id: Some(agent.clone()), ..Default::default() };
    let page = admin.list_events(&query).await.unwrap();
    assert_eq!(page.next_cursor, None);
    let got: Vec<_> = page.events.iter().map(|e| (e.action.as_str(), e.target_id.as_str())).collect();
    assert_eq!(got, expected);
    for e in &page.events {
        assert_eq!(
            (Some(e.actor.as_str()), e.agent_id.as_deref()),
            (me.key_prefix.as_deref(), Some(agent.as_str())),
            "{e:?}"
        );
        assert_eq!(e.actor_type, oakauth::wire::accounts::ActorKind::Key, "{e:?}");
        assert_eq!(e.actor_id.as_deref(), Some(me.actor.id.as_str()), "{e:?}");
        assert!(e.id.len() > 4 && !e.request_id.is_empty() && e.created_at.ends_with('Z'), "{e:?}");
    }
    assert!(page.events.windows(2).all(|p| p[0].created_at >= p[1].created_at));
    // The details say what was set, and never contain a key.
    let detail = |action: &str| &page.events.iter().find(|e| e.action == action).unwrap().detail;
    assert_eq!(detail("rule.update")["require_reasoning"], "hard");
    assert_eq!(detail("agent.update")["rate_limit"]["capacity"], 9);
    assert_eq!(detail("agent.create")["key_prefix"], created.agent.key_prefix.as_str());
    let all_details = serde_json::to_string(&page.events).unwrap();
    assert!(!all_details.contains(&created.api_key));

    // Small pages: the stream walks the cursors to the same list; the first page has a cursor.
    let small = EventQuery { limit: Some(5), ..query.clone() };
    let first = admin.list_events(&small).await.unwrap();
    assert_eq!(first.events.len(), 5);
    let next = first.next_cursor.clone().expect("a next page");
    let second = admin.list_events(&EventQuery { cursor: Some(next), ..small.clone() }).await.unwrap();
    assert_eq!(second.events[0], page.events[5]);
    let streamed: Vec<_> = admin.events(small).try_collect().await.unwrap();
    assert_eq!(streamed, page.events);

    // Unfiltered, the organization's newest events include ours; another organization sees none.
    let recent: Vec<_> =
        admin.list_events(&EventQuery { limit: Some(200), ..Default::default() }).await.unwrap().events;
    assert!(recent.iter().any(|e| e.action == "agent.delete" && e.target_id == agent));
    let theirs = w.other_admin().list_events(&query).await.unwrap();
    assert!(theirs.events.is_empty(), "{theirs:?}");
}

#[tokio::test]
async fn the_audit_chain_verifies_and_a_forged_row_is_named() {
    let w = worker();
    let admin = w.admin();
    let agent = agent_with(
        None,
        &[("files", RiskLevel::Destructive, &[("read", Some(ReasoningPolicy::None)), ("delete", Some(Hard))])],
    )
    .await;
    let mut decisions = Vec::new();
    for (scope, reasoning) in
        [("read", None), ("delete", None), ("delete", Some("the user asked to remove it")), ("read", None)]
    {
        let mut request = ValidateRequest::new("files", scope);
        request.reasoning = reasoning.map(str::to_owned);
        decisions.push(agent.oak.validate(&request).await.unwrap());
    }
    let denied = &decisions[1];
    assert_eq!((denied.is_allowed(), denied.reason), (false, ReasonCode::ReasoningRequired));

    // Untouched: intact, every row checked, ending at the head.
    let report = admin.verify_audit(Some(&agent.id)).await.unwrap();
    assert!(report.ok, "{report:?}");
    let [chain] = &report.agents[..] else { panic!("{report:?}") };
    assert_eq!(
        (chain.agent_id.as_str(), chain.ok, chain.rows_checked, chain.head_seq),
        (agent.id.as_str(), true, 4, 4)
    );
    assert_eq!(chain.broken, None);
    // Without an agent, every agent of the organization is listed, ours among them.
    let all = admin.verify_audit(None).await.unwrap();
    assert!(all.agents.iter().any(|a| a.agent_id == agent.id), "{all:?}");
    assert!(matches!(admin.verify_audit(Some("agt_doesnotexist")).await, Err(Error::NotFound { .. })));
    assert!(matches!(w.other_admin().verify_audit(Some(&agent.id)).await, Err(Error::NotFound { .. })));

    // Someone turns the deny into an allow directly in the database.
    if w.forge_allow(&denied.decision_id).is_none() {
        eprintln!("skipped the tampering half: the server's state directory is unknown (set OAKAUTH_TEST_PERSIST_DIR)");
        return;
    }
    let forged = admin.get_log(&denied.decision_id).await.unwrap();
    assert!(forged.allowed && forged.reason == ReasonCode::Allowed, "the edit took: {forged:?}");

    let report = admin.verify_audit(Some(&agent.id)).await.unwrap();
    assert!(!report.ok, "{report:?}");
    let chain = &report.agents[0];
    assert!(!chain.ok);
    assert_eq!(chain.rows_checked, 4, "every row is read, past the break");
    assert_eq!(chain.breaks.len(), 1, "one edited row is one break: {:?}", chain.breaks);
    let broken: &BrokenLink = chain.broken.as_ref().expect("a broken link");
    assert_eq!(broken.chain_seq, 2);
    assert_eq!(broken.decision_id.as_deref(), Some(denied.decision_id.as_str()));
    assert!(broken.problem.contains("modified"), "{broken:?}");
    let all = admin.verify_audit(None).await.unwrap();
    assert!(!all.ok);
    assert!(all.agents.iter().any(|a| a.agent_id == agent.id && a.broken.as_ref() == Some(broken)));
}
