//! An rmcp server wrapped with `McpGuard`, driven by a real rmcp client over an in-process
//! pipe, validating against the real worker.
#![cfg(feature = "rmcp")]

#[path = "support/worker.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use oakauth::mcp::McpGuard;
use oakauth::wire::{ApprovalDecision, Condition, CreateRule, Decision, Effect, Operator, ReasoningPolicy, RiskLevel};
use oakauth::{ApprovalQuery, LogQuery, OakAuth, ReasonCode};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, JsonObject, ListToolsResult, PaginatedRequestParams,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, RoleClient, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value};
use support::{agent_with, worker, TestAgent};

/// Records every call that reached a tool: (tool, arguments).
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

#[derive(Clone)]
struct Demo {
    tool_router: ToolRouter<Self>,
    guard: McpGuard,
    calls: Calls,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Text {
    text: String,
}

#[tool_router]
impl Demo {
    #[tool(description = "Repeat the text")]
    async fn echo(&self, Parameters(args): Parameters<Text>) -> String {
        self.calls.lock().unwrap().push(("echo".into(), json!({"text": args.text})));
        args.text
    }

    #[tool(description = "Delete everything")]
    async fn delete_everything(&self, Parameters(args): Parameters<Text>) -> String {
        self.calls.lock().unwrap().push(("delete_everything".into(), json!({"text": args.text})));
        "deleted".into()
    }

    #[tool(description = "Write a file")]
    async fn write_file(&self, Parameters(args): Parameters<JsonObject>) -> String {
        self.calls.lock().unwrap().push(("write_file".into(), Value::Object(args)));
        "written".into()
    }
}

#[tool_handler]
impl ServerHandler for Demo {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.guard.call_tool(&self.tool_router, self, request, context).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(self.guard.list_tools(&self.tool_router).await)
    }
}

/// An agent allowed `echo:call` and `filesystem:write` (hard reasoning); `delete_everything` is
/// registered but granted nothing.
async fn agent() -> TestAgent {
    agent_with(
        None,
        &[
            ("echo", RiskLevel::Read, &[("call", Some(ReasoningPolicy::None))]),
            ("delete_everything", RiskLevel::Destructive, &[("call", None)]),
            ("filesystem", RiskLevel::Write, &[("write", Some(ReasoningPolicy::Hard))]),
        ],
    )
    .await
}

fn guard(oak: OakAuth) -> McpGuard {
    McpGuard::new(oak).map_tool("write_file", "filesystem", "write")
}

/// Serves `guard` over one end of an in-memory pipe and connects a client to the other.
async fn connect(guard: McpGuard) -> (RunningService<RoleClient, ()>, Calls) {
    let calls = Calls::default();
    let server = Demo { tool_router: Demo::tool_router(), guard, calls: calls.clone() };
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_end).await {
            let _ = running.waiting().await;
        }
    });
    let client = ().serve(client_end).await.expect("client connects");
    (client, calls)
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name.to_owned());
    params.arguments = Some(args.as_object().unwrap().clone());
    client.call_tool(params).await.expect("tools/call answers")
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn an_allowed_tool_runs_and_a_denied_tool_does_not() {
    let agent = agent().await;
    let (client, calls) = connect(guard(agent.oak.clone())).await;

    let ok = call(&client, "echo", json!({"text": "hi"})).await;
    assert_eq!((ok.is_error, text(&ok).as_str()), (Some(false), "hi"));

    let denied = call(&client, "delete_everything", json!({"text": "all of it"})).await;
    assert_eq!(denied.is_error, Some(true));
    assert!(text(&denied).contains("scope_not_granted"), "{}", text(&denied));

    let ran: Vec<String> = calls.lock().unwrap().iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(ran, vec!["echo".to_owned()]);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn reasoning_reaches_the_log_and_not_the_tool() {
    let agent = agent().await;
    let (client, calls) = connect(guard(agent.oak.clone())).await;

    let refused = call(&client, "write_file", json!({"path": "/tmp/x", "content": "1"})).await;
    assert_eq!(refused.is_error, Some(true));
    let message = text(&refused);
    assert!(message.contains("reasoning required") && message.contains("`_reasoning`"), "{message}");
    assert!(calls.lock().unwrap().is_empty());

    let why = "the user asked to save the draft";
    let written = call(&client, "write_file", json!({"path": "/tmp/x", "content": "1", "_reasoning": why})).await;
    assert_eq!((written.is_error, text(&written).as_str()), (Some(false), "written"));
    assert_eq!(
        calls.lock().unwrap().clone(),
        vec![("write_file".to_owned(), json!({"path": "/tmp/x", "content": "1"}))]
    );

    // A tool with strict parameters would refuse an unknown `_reasoning`; it never sees one.
    let echoed = call(&client, "echo", json!({"text": "hi", "_reasoning": "testing"})).await;
    assert_eq!((echoed.is_error, text(&echoed).as_str()), (Some(false), "hi"));

    let logs: Vec<_> = worker()
        .admin()
        .logs(LogQuery { agent_id: Some(agent.id.clone()), ..Default::default() })
        .try_collect()
        .await
        .unwrap();
    let written_log = logs.iter().find(|e| e.tool == "filesystem" && e.allowed).expect("the allowed write is logged");
    assert_eq!((written_log.scope.as_str(), written_log.reasoning.as_deref()), ("write", Some(why)));
    assert_eq!(written_log.context.as_ref().unwrap()["mcp_tool"], "write_file");
    let refused_log = logs.iter().find(|e| e.tool == "filesystem" && !e.allowed).expect("the refusal is logged");
    assert_eq!(refused_log.reason, oakauth::ReasonCode::ReasoningRequired);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_reasoning_argument_that_is_not_text_is_refused() {
    let agent = agent().await;
    let (client, calls) = connect(guard(agent.oak.clone())).await;
    let refused = call(&client, "write_file", json!({"path": "/tmp/x", "_reasoning": {"why": "because"}})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("must be a string"));
    assert!(calls.lock().unwrap().is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn tools_list_advertises_reasoning_and_can_hide_denied_tools() {
    let agent = agent().await;

    let (client, _) = connect(guard(agent.oak.clone())).await;
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["delete_everything", "echo", "write_file"]);
    for tool in &tools {
        let property = &tool.input_schema["properties"]["_reasoning"];
        assert_eq!(property["type"], "string", "{}: {:?}", tool.name, tool.input_schema);
        let required = tool.input_schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
        assert!(!required.contains(&json!("_reasoning")), "reasoning stays optional");
    }
    client.cancel().await.unwrap();

    // Hidden: the tool with no rule. The hard-reasoning tool stays, since reasoning unlocks it.
    let (client, calls) = connect(guard(agent.oak.clone()).hide_denied_tools(true)).await;
    let mut names: Vec<_> = client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["echo", "write_file"]);
    assert!(calls.lock().unwrap().is_empty(), "listing runs no tool");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_oakauth_fails_closed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let oak = OakAuth::builder("oak_unreachable")
        .base_url(url)
        .allow_insecure_loopback(true)
        .timeout(Duration::from_millis(500))
        .retries(0)
        .build()
        .unwrap();

    let (client, calls) = connect(guard(oak.clone())).await;
    let result = call(&client, "echo", json!({"text": "hi"})).await;
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("did not run"), "{}", text(&result));
    assert!(calls.lock().unwrap().is_empty());
    client.cancel().await.unwrap();

    let (client, _) = connect(guard(oak).hide_denied_tools(true)).await;
    assert!(client.list_all_tools().await.unwrap().is_empty(), "nothing is offered when nothing can be checked");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn an_unknown_tool_is_a_protocol_error_and_is_not_validated() {
    let agent = agent().await;
    let (client, _) = connect(guard(agent.oak.clone())).await;
    let mut params = CallToolRequestParams::new("no_such_tool");
    params.arguments = Some(JsonObject::new());
    assert!(client.call_tool(params).await.is_err());
    client.cancel().await.unwrap();
    let logs =
        worker().admin().list_logs(&LogQuery { agent_id: Some(agent.id.clone()), ..Default::default() }).await.unwrap();
    assert!(logs.logs.is_empty(), "{:?}", logs.logs);
}

/// A `tools/call` of a tool named `name` with `args`, as the client sees the answer (a protocol
/// error is `Err`), in a form that compares equal when two answers are the same.
async fn raw_call(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> String {
    let mut params = CallToolRequestParams::new(name.to_owned());
    params.arguments = Some(args.as_object().unwrap().clone());
    format!("{:?}", client.call_tool(params).await)
}

#[tokio::test]
async fn when_denied_tools_are_hidden_a_call_cannot_tell_a_hidden_tool_from_an_unknown_one() {
    let agent = agent().await;
    let (client, calls) = connect(guard(agent.oak.clone()).hide_denied_tools(true)).await;

    let unknown = raw_call(&client, "no_such_tool", json!({"text": "x"})).await;
    assert!(unknown.contains("tool not found"), "{unknown}");
    for args in [json!({"text": "x"}), json!({"text": "x", "_reasoning": "the user asked"}), json!({"_reasoning": 7})] {
        let hidden = raw_call(&client, "delete_everything", args.clone()).await;
        assert_eq!(hidden, unknown, "a hidden tool answered differently ({args})");
    }
    // A tool that is listed still says why a call was refused.
    let refused = call(&client, "write_file", json!({"path": "/tmp/x"})).await;
    assert!(refused.is_error == Some(true) && text(&refused).contains("reasoning required"), "{}", text(&refused));
    assert!(calls.lock().unwrap().is_empty());
    client.cancel().await.unwrap();
}

/// The agent's audit rows with this MCP context key and value.
async fn rows(agent: &TestAgent, key: &str, value: &str) -> usize {
    let logs: Vec<_> = worker()
        .admin()
        .logs(LogQuery { agent_id: Some(agent.id.clone()), ..Default::default() })
        .try_collect()
        .await
        .unwrap();
    logs.iter().filter(|e| e.context.as_ref().and_then(|c| c.get(key)).is_some_and(|v| v == value)).count()
}

#[tokio::test]
async fn listing_checks_each_tool_once_per_cache_time_and_calls_are_never_cached() {
    let agent = agent().await;
    let (client, _) = connect(guard(agent.oak.clone()).hide_denied_tools(true)).await;
    let listings = (0..10).map(|_| client.list_all_tools());
    for tools in futures_util::future::join_all(listings).await {
        let mut names: Vec<_> = tools.unwrap().iter().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(names, ["echo", "write_file"]);
    }
    assert_eq!(rows(&agent, "mcp", "tools/list").await, 3, "ten listings, one check per tool");

    for _ in 0..3 {
        let ok = call(&client, "echo", json!({"text": "hi"})).await;
        assert_eq!(ok.is_error, Some(false));
    }
    assert_eq!(rows(&agent, "mcp_tool", "echo").await, 3, "every call is validated");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_listing_check_is_made_again_after_the_cache_time() {
    let agent = agent().await;
    let ttl = Duration::from_millis(300);
    let (client, _) = connect(guard(agent.oak.clone()).hide_denied_tools(true).list_cache_ttl(ttl)).await;
    client.list_all_tools().await.unwrap();
    client.list_all_tools().await.unwrap();
    assert_eq!(rows(&agent, "mcp", "tools/list").await, 3);
    tokio::time::sleep(ttl * 2).await;
    client.list_all_tools().await.unwrap();
    assert_eq!(rows(&agent, "mcp", "tools/list").await, 6);
    client.cancel().await.unwrap();

    // Zero turns the cache off.
    let agent = self::agent().await;
    let (client, _) = connect(guard(agent.oak.clone()).hide_denied_tools(true).list_cache_ttl(Duration::ZERO)).await;
    client.list_all_tools().await.unwrap();
    client.list_all_tools().await.unwrap();
    assert_eq!(rows(&agent, "mcp", "tools/list").await, 6);
    client.cancel().await.unwrap();
}

/// An agent whose only rule allows `filesystem:write` under `/work` (docs/policies.md, "Work
/// folder"), and that rule's id.
async fn work_folder_agent() -> (TestAgent, String) {
    let agent = agent_with(None, &[("filesystem", RiskLevel::Write, &[("write", None)])]).await;
    let rule = worker()
        .admin()
        .create_rule(
            &agent.id,
            &CreateRule {
                require_reasoning: Some(ReasoningPolicy::None),
                conditions: Some(vec![Condition::test("/path", Operator::PathUnder, json!("/work"))]),
                ..CreateRule::allow("filesystem", "write")
            },
        )
        .await
        .expect("create rule");
    (agent, rule.id)
}

#[tokio::test]
async fn a_call_with_a_forbidden_argument_is_denied_and_the_tool_never_runs() {
    let (agent, rule_id) = work_folder_agent().await;
    let (client, calls) = connect(guard(agent.oak.clone())).await;

    let why = "the user asked for a report";
    let written =
        call(&client, "write_file", json!({"path": "/work/report.md", "content": "1", "_reasoning": why})).await;
    assert_eq!((written.is_error, text(&written).as_str()), (Some(false), "written"));

    // `..` leaves /work: no allow rule applies.
    let escaped =
        call(&client, "write_file", json!({"path": "/work/../etc/passwd", "content": "x", "_reasoning": "cleanup"}))
            .await;
    assert_eq!(escaped.is_error, Some(true));
    let message = text(&escaped);
    assert!(message.contains("OakAuth denied filesystem:write (conditions_not_met)"), "{message}");
    assert!(message.contains("did not run"), "{message}");
    // A relative path cannot be tested against /work: the condition errs, and the rule denies.
    let relative = call(&client, "write_file", json!({"path": "report.md", "content": "x"})).await;
    assert_eq!(relative.is_error, Some(true));
    assert!(text(&relative).contains("OakAuth denied filesystem:write (denied_by_rule)"), "{}", text(&relative));

    assert_eq!(
        calls.lock().unwrap().clone(),
        vec![("write_file".to_owned(), json!({"path": "/work/report.md", "content": "1"}))],
        "the tool ran for the allowed call only"
    );

    // The log holds what OakAuth decided on: the call's arguments, without the reasoning argument.
    let mut logs: Vec<_> = worker()
        .admin()
        .logs(LogQuery { agent_id: Some(agent.id.clone()), ..Default::default() })
        .try_collect()
        .await
        .unwrap();
    logs.reverse();
    let decided: Vec<_> = logs.iter().map(|e| (e.reason, e.arguments.clone().map(Value::Object))).collect();
    assert_eq!(
        decided,
        vec![
            (ReasonCode::Allowed, Some(json!({"path": "/work/report.md", "content": "1"}))),
            (ReasonCode::ConditionsNotMet, Some(json!({"path": "/work/../etc/passwd", "content": "x"}))),
            (ReasonCode::DeniedByRule, Some(json!({"path": "report.md", "content": "x"}))),
        ]
    );
    assert_eq!(logs[0].reasoning.as_deref(), Some(why));
    // Each refusal tells the model the explanation OakAuth logged, naming the rule and the value.
    for (entry, result) in [(&logs[1], &escaped), (&logs[2], &relative)] {
        let explanation = entry.explanation.as_ref().expect("a deny by a rule is explained");
        assert_eq!(explanation.rule_id.as_deref(), Some(rule_id.as_str()));
        assert_eq!(explanation.condition.as_ref().unwrap().pointer, "/path");
        assert!(text(result).contains(&explanation.message), "{} lacks: {}", text(result), explanation.message);
    }
    assert!(
        logs[2].explanation.as_ref().unwrap().condition.as_ref().unwrap().error.is_some(),
        "a relative path is an error"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn hiding_keeps_a_tool_whose_rule_tests_the_arguments_and_still_refuses_a_forbidden_call() {
    let (agent, _) = work_folder_agent().await;
    let (client, calls) = connect(guard(agent.oak.clone()).hide_denied_tools(true)).await;
    // A listing sends no arguments, so the rule denies (`on_missing: deny`), but other arguments
    // could lift that: write_file stays. echo and delete_everything are unknown to OakAuth.
    let names: Vec<_> = client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["write_file"]);

    let denied = call(&client, "write_file", json!({"path": "/etc/passwd", "content": "x"})).await;
    assert_eq!(denied.is_error, Some(true));
    assert!(text(&denied).contains("(conditions_not_met)"), "{}", text(&denied));
    let written = call(&client, "write_file", json!({"path": "/work/a", "content": "x"})).await;
    assert_eq!((written.is_error, text(&written).as_str()), (Some(false), "written"));
    assert_eq!(
        calls.lock().unwrap().clone(),
        vec![("write_file".to_owned(), json!({"path": "/work/a", "content": "x"}))]
    );
    client.cancel().await.unwrap();
}

/// The `apr_…` id in a refusal's text.
fn approval_id(text: &str) -> String {
    let start = text.find("apr_").unwrap_or_else(|| panic!("no approval id in {text}"));
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

#[tokio::test]
async fn a_call_that_needs_approval_is_explained_and_the_identical_retry_runs_once_approved() {
    // Writes under /etc need a person's approval; others are allowed. Every echo needs one.
    let agent = agent_with(
        None,
        &[
            ("filesystem", RiskLevel::Write, &[("write", Some(ReasoningPolicy::None))]),
            ("echo", RiskLevel::Read, &[("call", Some(ReasoningPolicy::None))]),
        ],
    )
    .await;
    let admin = worker().admin();
    let always = CreateRule { effect: Some(Effect::RequireApproval), ..CreateRule::allow("echo", "call") };
    admin.create_rule(&agent.id, &always).await.expect("create the require_approval rule");
    let ask = CreateRule {
        effect: Some(Effect::RequireApproval),
        require_reasoning: Some(ReasoningPolicy::None),
        conditions: Some(vec![Condition::test("/path", Operator::PathUnder, json!("/etc"))]),
        ..CreateRule::allow("filesystem", "write")
    };
    admin.create_rule(&agent.id, &ask).await.expect("create the require_approval rule");
    let (client, calls) = connect(guard(agent.oak.clone()).hide_denied_tools(true)).await;
    let hosts = json!({"path": "/etc/hosts", "content": "127.0.0.1 db"});
    // Listing asks no one: the tools are listed, and no approval is put in front of the admins.
    let mut names: Vec<_> = client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["echo", "write_file"]);
    let query = ApprovalQuery { agent_id: Some(agent.id.clone()), ..Default::default() };
    assert!(admin.list_approvals(&query).await.unwrap().approvals.is_empty());

    let asked =
        call(&client, "write_file", json!({"path": "/etc/hosts", "content": "127.0.0.1 db", "_reasoning": "add db"}))
            .await;
    assert_eq!(asked.is_error, Some(true));
    let message = text(&asked);
    assert!(
        message.contains("approval requested (id apr_")
            && message.contains(
                "; an administrator must approve; call this tool again with the same arguments once approved"
            ),
        "{message}"
    );
    let id = approval_id(&message);
    let ticket = admin.get_approval(&id).await.unwrap();
    assert_eq!(ticket.arguments, hosts.as_object().cloned(), "bound to the arguments, not the reasoning");

    admin.decide_approval(&id, &ApprovalDecision { decision: Decision::Approve, comment: None }).await.unwrap();
    let written = call(&client, "write_file", hosts.clone()).await;
    assert_eq!((written.is_error, text(&written).as_str()), (Some(false), "written"));
    let again = call(&client, "write_file", hosts.clone()).await;
    assert_eq!(again.is_error, Some(true));
    assert!(text(&again).contains("already used"), "{}", text(&again));

    // A denial tells the model what the administrator said.
    let passwd = json!({"path": "/etc/passwd", "content": "x"});
    let denied_id = approval_id(&text(&call(&client, "write_file", passwd.clone()).await));
    let deny = ApprovalDecision { decision: Decision::Deny, comment: Some("never touch passwd".into()) };
    admin.decide_approval(&denied_id, &deny).await.unwrap();
    let refused = call(&client, "write_file", passwd).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("never touch passwd") && text(&refused).contains(&denied_id), "{}", text(&refused));

    assert_eq!(calls.lock().unwrap().clone(), vec![("write_file".to_owned(), hosts)], "the tool ran once");
    client.cancel().await.unwrap();
}

/// A guard that requires receipts runs a call only with the receipt of an allowed decision for
/// exactly that call, and does not ask OakAuth itself: its own client here is an agent with no
/// rules at all, which OakAuth would deny everything.
#[cfg(feature = "receipts")]
#[tokio::test]
async fn a_guard_that_requires_receipts_runs_only_calls_that_carry_one() {
    use oakauth::receipts::ReceiptVerifier;
    use rmcp::model::{MetaObject, RequestMetaObject};

    let deciding = agent().await;
    let nobody = agent_with(None, &[]).await;
    let verifier = ReceiptVerifier::builder(&worker().base_url).allow_insecure_loopback(true).build().unwrap();
    let (client, calls) = connect(guard(nobody.oak.clone()).require_receipt(verifier)).await;

    let receipt_for = |tool: &'static str, scope: &'static str, args: Value| {
        let oak = deciding.oak.clone();
        async move {
            let request = oakauth::ValidateRequest::new(tool, scope)
                .with_reasoning("the user asked to save the draft")
                .with_arguments(args.as_object().unwrap().clone());
            let decision = oak.validate(&request).await.unwrap();
            assert!(decision.is_allowed(), "{decision:?}");
            decision.response.receipt.clone().unwrap()
        }
    };
    let call_with = |name: &'static str, args: Value, receipt: Option<String>| {
        let mut params = CallToolRequestParams::new(name);
        params.arguments = Some(args.as_object().unwrap().clone());
        if let Some(r) = receipt {
            let mut meta = JsonObject::new();
            meta.insert("oakauth/receipt".into(), Value::String(r));
            params.meta = Some(RequestMetaObject(MetaObject(meta)));
        }
        let client = &client;
        async move { client.call_tool(params).await.expect("tools/call answers") }
    };
    let args = json!({"path": "/tmp/x", "content": "1"});

    let bare = call_with("write_file", args.clone(), None).await;
    assert_eq!(bare.is_error, Some(true));
    assert!(text(&bare).contains("only with a receipt"), "{}", text(&bare));

    let receipt = receipt_for("filesystem", "write", args.clone()).await;
    let mut with_reasoning = args.clone();
    with_reasoning["_reasoning"] = json!("the user asked to save the draft");
    let ran = call_with("write_file", with_reasoning, Some(receipt.clone())).await;
    assert_eq!((ran.is_error, text(&ran).as_str()), (Some(false), "written"));

    let replayed = call_with("write_file", args.clone(), Some(receipt)).await;
    assert!(replayed.is_error == Some(true) && text(&replayed).contains("(replayed)"), "{}", text(&replayed));

    let other_args = receipt_for("filesystem", "write", args.clone()).await;
    let changed = call_with("write_file", json!({"path": "/etc/passwd", "content": "1"}), Some(other_args)).await;
    assert!(changed.is_error == Some(true) && text(&changed).contains("arguments_mismatch"), "{}", text(&changed));

    let for_echo = receipt_for("echo", "call", json!({"text": "hi"})).await;
    let wrong_tool = call_with("write_file", json!({"text": "hi"}), Some(for_echo)).await;
    assert!(wrong_tool.is_error == Some(true) && text(&wrong_tool).contains("tool_mismatch"), "{}", text(&wrong_tool));

    let forged = call_with("write_file", args.clone(), Some("eyJhbGciOiJub25lIn0.e30.".into())).await;
    assert!(forged.is_error == Some(true) && text(&forged).contains("malformed"), "{}", text(&forged));

    assert_eq!(
        calls.lock().unwrap().clone(),
        vec![("write_file".to_owned(), args)],
        "only the call with its receipt ran"
    );
    client.cancel().await.unwrap();
}
