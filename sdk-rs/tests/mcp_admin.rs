//! `oakauth mcp`, the built binary, driven by a real rmcp client over a child-process transport,
//! against the real worker: an assistant creates an agent, gives it a tool and rules, the agent
//! asks OakAuth through the Rust SDK, and the assistant finds and explains the decisions.
#![cfg(feature = "cli")]

#[path = "support/worker.rs"]
mod support;

use std::process::Stdio;
use std::time::Duration;

use oakauth::{ReasonCode, ValidateRequest};
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use support::{unique, worker};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_oakauth");

/// `oakauth mcp` with `args`, talking to the test worker with the admin key `admin_key` (none:
/// no key at all), and nothing else from this process's environment.
fn command(admin_key: Option<&str>, args: &[&str]) -> Command {
    let w = worker();
    let mut cmd = Command::new(BIN);
    cmd.arg("mcp")
        .args(args)
        .env_clear()
        .env("OAKAUTH_BASE_URL", &w.base_url)
        .env("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1");
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    if let Some(key) = admin_key {
        cmd.env("OAKAUTH_ADMIN_KEY", key);
    }
    cmd
}

async fn connect(args: &[&str]) -> RunningService<RoleClient, ()> {
    let transport = TokioChildProcess::new(command(Some(&worker().admin_key), args)).expect("spawn oakauth mcp");
    ().serve(transport).await.expect("the MCP session starts")
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name.to_owned());
    params.arguments = Some(args.as_object().expect("arguments are an object").clone());
    client.call_tool(params).await.unwrap_or_else(|e| panic!("tools/call {name} answers: {e}"))
}

/// A call that must succeed: its structured content.
async fn ok(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> Value {
    let result = call(client, name, args).await;
    assert_eq!(result.is_error, Some(false), "{name}: {}", text(&result));
    result.structured_content.clone().unwrap_or_else(|| panic!("{name}: no structured content"))
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

fn tool<'a>(tools: &'a [Tool], name: &str) -> &'a Tool {
    tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tool {name}"))
}

#[tokio::test]
async fn an_assistant_sets_up_an_agent_and_explains_its_denial() {
    let client = connect(&[]).await;

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "add_rule",
            "add_tool",
            "create_agent",
            "decide_approval",
            "explain_decision",
            "get_agent",
            "list_agents",
            "list_approvals",
            "list_rules",
            "list_tools",
            "search_logs",
            "simulate_call"
        ]
    );
    for t in &tools {
        let a = t.annotations.as_ref().unwrap_or_else(|| panic!("{} has no annotations", t.name));
        assert!(t.description.as_deref().is_some_and(|d| d.len() > 20), "{} has no description", t.name);
        assert_eq!(t.input_schema.get("type"), Some(&json!("object")), "{}", t.name);
        match t.name.as_ref() {
            "create_agent" | "add_tool" | "add_rule" => {
                assert_eq!(
                    (a.read_only_hint, a.destructive_hint, a.idempotent_hint),
                    (Some(false), Some(false), Some(false)),
                    "{}",
                    t.name
                )
            }
            "decide_approval" => {
                assert_eq!(
                    (a.read_only_hint, a.destructive_hint, a.idempotent_hint),
                    (Some(false), Some(true), Some(false))
                )
            }
            _ => assert_eq!(a.read_only_hint, Some(true), "{}", t.name),
        }
    }
    let schema = Value::Object((*tool(&tools, "add_rule").input_schema).clone());
    assert_eq!(schema["additionalProperties"], json!(false), "unknown fields are refused: {schema}");
    assert_eq!(schema["required"], json!(["agent", "tool", "scope"]), "{schema}");

    // An agent, created by name; its key is in the result once, and said to be.
    let name = unique("mcp-agent");
    let created =
        call(&client, "create_agent", json!({"name": name, "rate_limit": {"capacity": 20, "refill_per_second": 5}}))
            .await;
    assert_eq!(created.is_error, Some(false), "{}", text(&created));
    assert!(text(&created).contains("shown this once"), "{}", text(&created));
    let created = created.structured_content.unwrap();
    let api_key = created["api_key"].as_str().expect("api_key").to_owned();
    let agent_id = created["agent"]["id"].as_str().unwrap().to_owned();
    assert!(api_key.starts_with("oak_"));

    // A tool and two rules, naming the agent by name.
    let added = ok(
        &client,
        "add_tool",
        json!({"agent": name, "name": "tickets", "description": "The ticket system", "scopes": ["read", "close"],
               "risk_level": "write",
               "input_schema": {"type": "object", "properties": {"ticket": {"type": "integer"}}}}),
    )
    .await;
    assert_eq!(
        (added["agent_id"].as_str(), added["scopes"].clone()),
        (Some(agent_id.as_str()), json!(["read", "close"]))
    );
    let read = ok(
        &client,
        "add_rule",
        json!({"agent": name, "tool": "tickets", "scope": "read", "require_reasoning": "none"}),
    )
    .await;
    assert_eq!((read["effect"].as_str(), read["mode"].as_str()), (Some("allow"), Some("enforce")));
    let close = ok(
        &client,
        "add_rule",
        json!({"agent": agent_id, "tool": "tickets", "scope": "close", "effect": "allow", "mode": "enforce",
               "require_reasoning": "none",
               "conditions": [{"pointer": "/ticket", "op": "lt", "value": 100, "on_missing": "deny"}]}),
    )
    .await;
    let close_rule = close["id"].as_str().unwrap().to_owned();
    assert_eq!(close["conditions"].as_array().map(Vec::len), Some(1), "{close}");

    let inspected = ok(&client, "get_agent", json!({"agent": name})).await;
    assert_eq!(inspected["agent"]["id"], json!(agent_id));
    assert_eq!((inspected["tools"].as_array().unwrap().len(), inspected["rules"].as_array().unwrap().len()), (1, 2));
    assert_eq!(ok(&client, "list_rules", json!({"agent": name})).await["rules"].as_array().unwrap().len(), 2);
    assert_eq!(ok(&client, "list_tools", json!({"agent": name})).await["tools"][0]["name"], json!("tickets"));
    let agents = ok(&client, "list_agents", json!({"limit": 200})).await;
    assert!(agents["agents"].as_array().unwrap().iter().all(|a| a.get("api_key").is_none()), "no key in a listing");

    // The new agent asks OakAuth through the Rust SDK: one allow, one denial by the condition.
    let oak = worker().agent_client(&api_key);
    let allowed = oak.validate(&ValidateRequest::new("tickets", "read")).await.expect("an answer");
    assert!(allowed.is_allowed(), "{allowed:?}");
    let args = json!({"ticket": 4411}).as_object().cloned().unwrap();
    let denied = oak.validate(&ValidateRequest::new("tickets", "close").with_arguments(args.clone())).await.unwrap();
    assert_eq!((denied.is_allowed(), denied.response.reason), (false, ReasonCode::ConditionsNotMet));
    let (allowed_id, denied_id) = (&allowed.response.decision_id, &denied.response.decision_id);

    // The assistant finds both decisions in the logs, and the denial alone when it filters.
    let logs = ok(&client, "search_logs", json!({"agent": name, "since": "10m"})).await;
    let ids: Vec<&str> = logs["logs"].as_array().unwrap().iter().map(|e| e["decision_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [denied_id.as_str(), allowed_id.as_str()], "newest first");
    let only_denied =
        call(&client, "search_logs", json!({"agent": agent_id, "allowed": false, "reason": "conditions_not_met"}))
            .await;
    assert_eq!(only_denied.structured_content.as_ref().unwrap()["logs"].as_array().unwrap().len(), 1);
    assert!(text(&only_denied).contains("1 decision(s), 1 denied"), "{}", text(&only_denied));

    // … and explains the denial in words: the rule, the condition, the value seen.
    let explained = call(&client, "explain_decision", json!({"decision_id": denied_id})).await;
    assert_eq!(explained.is_error, Some(false));
    let words = text(&explained);
    for part in [
        format!("agent {name:?} ({agent_id}) asked for tickets:close. DENIED, reason conditions_not_met"),
        format!("Rule {close_rule} (allow) decided"),
        "arguments /ticket lt 100, observed 4411".to_owned(),
        "simulate_call".to_owned(),
    ] {
        assert!(words.contains(&part), "{part:?} not in:\n{words}");
    }
    assert_eq!(explained.structured_content.unwrap()["decision_id"], json!(denied_id));

    // A simulation with a draft rule that would allow it; nothing is logged.
    let simulated = ok(
        &client,
        "simulate_call",
        json!({"agent": name, "tool": "tickets", "scope": "close", "arguments": args,
               "rules": [{"tool": "tickets", "scope": "close", "require_reasoning": "none",
                          "conditions": [{"pointer": "/ticket", "op": "lt", "value": 10000, "on_missing": "deny"}]}]}),
    )
    .await;
    assert_eq!((simulated["allowed"].as_bool(), simulated["reason"].as_str()), (Some(true), Some("allowed")));
    let with_saved =
        ok(&client, "simulate_call", json!({"agent": name, "tool": "tickets", "scope": "close", "arguments": args}))
            .await;
    assert_eq!(with_saved["reason"], json!("conditions_not_met"));
    let after = ok(&client, "search_logs", json!({"agent": name})).await;
    assert_eq!(after["logs"].as_array().unwrap().len(), 2, "simulations are not logged");

    client.cancel().await.unwrap();
}

#[tokio::test]
async fn errors_of_the_service_are_tool_errors_with_its_code() {
    let client = connect(&[]).await;

    let missing = call(&client, "get_agent", json!({"agent": "agt_00000000000000000000"})).await;
    assert_eq!(missing.is_error, Some(true));
    assert!(text(&missing).contains("no agent with id or name"), "{}", text(&missing));

    let unknown_decision = call(&client, "explain_decision", json!({"decision_id": "dec_00000000000000000000"})).await;
    assert_eq!(unknown_decision.is_error, Some(true));
    let error = &unknown_decision.structured_content.as_ref().unwrap()["error"];
    assert_eq!((error["code"].as_str(), error["status"].as_u64()), (Some("not_found"), Some(404)), "{error}");
    assert!(text(&unknown_decision).starts_with("OakAuth refused (not_found)"), "{}", text(&unknown_decision));

    let too_many = call(&client, "list_agents", json!({"limit": 5000})).await;
    assert_eq!(too_many.is_error, Some(true));
    assert_eq!(too_many.structured_content.unwrap()["error"]["code"], json!("invalid_request"));

    // A rule whose condition names an argument the tool's schema does not have.
    let name = unique("mcp-errors");
    ok(&client, "create_agent", json!({"name": name})).await;
    ok(
        &client,
        "add_tool",
        json!({"agent": name, "name": "payments", "scopes": ["send"], "risk_level": "destructive",
               "input_schema": {"type": "object", "properties": {"amount": {"type": "number"}}}}),
    )
    .await;
    let bad = call(
        &client,
        "add_rule",
        json!({"agent": name, "tool": "payments", "scope": "send",
               "conditions": [{"pointer": "/amout", "op": "lt", "value": 5, "on_missing": "deny"}]}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    let error = &bad.structured_content.as_ref().unwrap()["error"];
    assert_eq!((error["code"].as_str(), error["status"].as_u64()), (Some("invalid_request"), Some(400)), "{error}");
    assert!(error["message"].as_str().unwrap().contains("/amout"), "{error}");

    let duplicate = call(&client, "create_agent", json!({"name": name})).await;
    assert_eq!(
        (duplicate.is_error, duplicate.structured_content.unwrap()["error"]["code"].as_str()),
        (Some(true), Some("conflict"))
    );

    // A misspelt field is refused, not ignored.
    let misspelt =
        call(&client, "add_rule", json!({"agent": name, "tool": "payments", "scope": "send", "efect": "deny"})).await;
    assert!(misspelt.is_error == Some(true) && text(&misspelt).contains("efect"), "{}", text(&misspelt));

    // The server is still there after all of these.
    assert!(!client.list_all_tools().await.unwrap().is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn an_approval_is_listed_and_decided_once() {
    let client = connect(&[]).await;
    let name = unique("mcp-approvals");
    let key = ok(&client, "create_agent", json!({"name": name})).await["api_key"].as_str().unwrap().to_owned();
    ok(&client, "add_tool", json!({"agent": name, "name": "payments", "scopes": ["send"], "risk_level": "write"}))
        .await;
    ok(&client, "add_rule", json!({"agent": name, "tool": "payments", "scope": "send", "effect": "require_approval", "require_reasoning": "none"})).await;

    let oak = worker().agent_client(&key);
    let args = json!({"amount": 900}).as_object().cloned().unwrap();
    let pending = oak.validate(&ValidateRequest::new("payments", "send").with_arguments(args.clone())).await.unwrap();
    assert_eq!(pending.response.reason, ReasonCode::ApprovalRequired);
    let approval_id = pending.response.approval.as_ref().expect("an approval").id.clone();

    let listed = ok(&client, "list_approvals", json!({"agent": name, "status": "pending"})).await;
    let approvals = listed["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(
        (approvals[0]["id"].as_str(), approvals[0]["arguments"].clone()),
        (Some(approval_id.as_str()), json!({"amount": 900}))
    );

    let decided = call(
        &client,
        "decide_approval",
        json!({"approval_id": approval_id, "decision": "approve", "comment": "ok for May"}),
    )
    .await;
    assert_eq!(decided.is_error, Some(false), "{}", text(&decided));
    assert!(text(&decided).contains("is now approved"), "{}", text(&decided));

    let again = call(&client, "decide_approval", json!({"approval_id": approval_id, "decision": "deny"})).await;
    assert_eq!(
        (again.is_error, again.structured_content.unwrap()["error"]["code"].as_str()),
        (Some(true), Some("conflict"))
    );

    // The agent's identical call now runs, once.
    let approved = oak.validate(&ValidateRequest::new("payments", "send").with_arguments(args.clone())).await.unwrap();
    assert!(approved.is_allowed(), "{approved:?}");
    let used = oak.validate(&ValidateRequest::new("payments", "send").with_arguments(args)).await.unwrap();
    assert!(!used.is_allowed(), "{used:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn read_only_serves_only_the_tools_that_change_nothing() {
    let client = connect(&["--read-only"]).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 8);
    assert!(tools.iter().all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)));
    let mut params = CallToolRequestParams::new("create_agent");
    params.arguments = json!({"name": unique("ro")}).as_object().cloned();
    let refused = client.call_tool(params).await;
    assert!(refused.is_err(), "create_agent is not served: {refused:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn without_an_admin_key_it_does_not_start() {
    for (key, expected) in [
        (None, "no admin key (oakadm_…): set OAKAUTH_ADMIN_KEY"),
        (Some(""), "no admin key (oakadm_…): set OAKAUTH_ADMIN_KEY"),
        (Some("oak_agentkeynotadmin"), "is an agent key"),
    ] {
        let mut child =
            command(key, &[]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Standard input stays open (as a host's would): the refusal does not wait for it.
        let _stdin = child.stdin.take();
        let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await;
        let out = out.expect("it stops at once").unwrap();
        assert_eq!(out.status.code(), Some(1), "{key:?}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", String::from_utf8_lossy(&out.stdout));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{key:?}: {stderr}");
        if let Some(k) = key.filter(|k| !k.is_empty()) {
            assert!(!stderr.contains(k), "the key is not printed: {stderr}");
        }
    }
}

/// Every line on standard output is a JSON-RPC 2.0 message, also when a call fails, and the admin
/// key appears nowhere in what the server writes.
#[tokio::test]
async fn standard_output_carries_only_json_rpc_and_no_key() {
    let w = worker();
    let mut child = command(Some(&w.admin_key), &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_agents", "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "get_agent", "arguments": {"agent": "agt_00000000000000000000"}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}),
    ];
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answered = Vec::new();
    for request in &requests {
        stdin.write_all(format!("{request}\n").as_bytes()).await.unwrap();
        if request.get("id").is_some() {
            let line =
                tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
            let message: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert_eq!(message["jsonrpc"], json!("2.0"), "{line}");
            assert!(!line.contains(&w.admin_key), "the admin key is in an answer");
            answered.push(message);
        }
    }
    drop(stdin);
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        let mut rest = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push(line);
        }
        rest
    })
    .await
    .expect("it stops when its input closes");
    assert!(rest.is_empty(), "nothing unasked on stdout: {rest:?}");
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&w.admin_key), "the admin key is not logged");
    let ids: Vec<u64> = answered.iter().map(|m| m["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert_eq!(answered[3]["result"]["isError"], json!(true));
    assert!(answered[4].get("error").is_some(), "an unknown tool is a protocol error: {}", answered[4]);
}
