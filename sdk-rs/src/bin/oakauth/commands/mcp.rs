//! `oakauth mcp`: the admin API as MCP tools over stdio, for an AI assistant that helps an admin
//! manage OakAuth. Every tool is one or a few calls of the SDK's admin client; an error of the
//! service becomes a tool result with `isError` and the service's code and message. Nothing but
//! MCP JSON-RPC is written to standard output; keys are never logged.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use oakauth::wire::{
    AgentList, ApprovalDecision, ApprovalStatus, Condition, CreateAgent, CreateRule, CreateTool, Decision, DraftRule,
    Effect, LogEntry, RateLimitConfig, ReasoningPolicy, RiskLevel, RuleMode, SimulateRequest,
};
use oakauth::{Admin, ApprovalQuery, Error, LogQuery, Page, ReasonCode, ValidateRequest};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{agent_filter, resolve_agent, when, Failure, Outcome};
use crate::connect::{KeyOrigin, Service};

#[derive(Args)]
pub struct McpArgs {
    /// Serve only the tools that change nothing (lists, logs, explanations, simulations).
    #[arg(long)]
    read_only: bool,
}

/// The tools that change something, left out by `--read-only`.
pub const CHANGING_TOOLS: [&str; 4] = ["create_agent", "add_tool", "add_rule", "decide_approval"];

const INSTRUCTIONS: &str = "OakAuth decides whether AI agents may use their tools. These tools manage \
one organization's agents, their tools and rules, read the audit log of decisions, explain denials, \
simulate calls and decide approvals, with an admin key. Agents are named by id (agt_…) or exact name. \
A new agent's key is shown once, in create_agent's result: tell the user to store it in a secret \
store, and never repeat it.";

pub async fn run(service: Service, admin_key_flag: Option<String>, args: McpArgs) -> Outcome {
    let (admin, key) = service.admin_unattended(admin_key_flag)?;
    let mut tool_router = AdminTools::tool_router();
    if args.read_only {
        for name in CHANGING_TOOLS {
            tool_router.remove_route(name);
        }
    }
    let server = AdminTools { admin, origin: Arc::new((service, key)), tool_router };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Failure::Message(format!("the MCP client did not start a session: {e}")))?;
    running.waiting().await.map_err(|e| Failure::Message(format!("the MCP session failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone)]
pub struct AdminTools {
    admin: Admin,
    /// The service and where the admin key came from, to word errors as the CLI does.
    origin: Arc<(Service, KeyOrigin)>,
    tool_router: ToolRouter<Self>,
}

// Inputs. Unknown fields are refused, so a misspelt field never silently becomes a default.

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageInput {
    /// How many to return, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// The agent's id (`agt_…`) or exact name.
    agent: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPageInput {
    /// The agent's id (`agt_…`) or exact name.
    agent: String,
    /// How many to return, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitInput {
    /// Tokens the bucket holds when full (the burst), 1 to 100000.
    capacity: u32,
    /// Tokens added per second, more than 0 and at most 100000.
    refill_per_second: f64,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentInput {
    /// A name unique in the organization.
    name: String,
    /// Whether it may use its tools at once (default true).
    enabled: Option<bool>,
    /// Its rate limit, a token bucket (default 60 tokens, 1 per second).
    rate_limit: Option<RateLimitInput>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reads only; its rules need no reasoning by default.
    Read,
    /// Changes things; its rules want reasoning (soft) by default.
    Write,
    /// Deletes or cannot be undone; its rules require reasoning (hard) by default.
    Destructive,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddToolInput {
    /// The agent's id (`agt_…`) or exact name.
    agent: String,
    /// The tool's name, as the agent will ask for it.
    name: String,
    /// What the tool does.
    description: Option<String>,
    /// The scopes it has, such as ["read", "write"]; rules grant them one by one.
    scopes: Vec<String>,
    /// How risky it is; sets the default reasoning requirement of its rules.
    risk_level: Risk,
    /// The JSON Schema of the tool's arguments (an MCP tool's inputSchema): calls whose arguments
    /// do not conform are denied, and rule conditions are checked against it when saved.
    input_schema: Option<Map<String, Value>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleEffect {
    /// Allow the call when the conditions hold.
    Allow,
    /// Deny the call when the conditions hold; an enforced deny wins over any allow.
    Deny,
    /// Hold the call until a person approves it.
    RequireApproval,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reasoning {
    /// Reasoning is recorded when given, never required.
    None,
    /// Allowed without reasoning, but flagged as missing.
    Soft,
    /// Denied without real reasoning.
    Hard,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The rule decides.
    Enforce,
    /// The rule is only evaluated and logged, to see what it would do.
    Shadow,
}

/// Conditions as the API takes them, described for the model.
const CONDITIONS_HELP: &str = "All must hold for the rule to apply (none: it always applies). Each is \
{\"pointer\": \"/amount\", \"op\": \"lt\", \"value\": 500, \"on_missing\": \"deny\"} (a JSON Pointer into \
the call's arguments; \"source\": \"context\" or \"request\" for the caller's context or /client_ip, /time, \
/weekday; ops eq, ne, lt, lte, gt, gte, in, not_in, prefix, suffix, contains, matches, len_max, path_under, \
host_in, cidr, exists; on_missing deny or skip), or {\"all_of\": [...]}, {\"any_of\": [...]}, {\"not\": {...}}.";

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRuleInput {
    /// The agent's id (`agt_…`) or exact name.
    agent: String,
    /// The name of one of the agent's tools.
    tool: String,
    /// One of the tool's scopes.
    scope: String,
    /// What the rule does when its conditions hold (default allow).
    effect: Option<RuleEffect>,
    /// Allow rules: the reasoning a call must carry (default from the tool's risk: read none,
    /// write soft, destructive hard).
    require_reasoning: Option<Reasoning>,
    #[schemars(description = CONDITIONS_HELP)]
    conditions: Option<Vec<Value>>,
    /// enforce (default) or shadow.
    mode: Option<Mode>,
    /// What the rule is for.
    description: Option<String>,
    /// require_approval rules: how long an approval waits for a decision, 60 to 604800 seconds
    /// (default 900).
    approval_expiry_seconds: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchLogsInput {
    /// Only this agent (id or name; the id of a deleted agent works too).
    agent: Option<String>,
    /// Only this tool (by name).
    tool: Option<String>,
    /// Only this scope.
    scope: Option<String>,
    /// Only allowed (true) or only denied (false) decisions.
    allowed: Option<bool>,
    /// Only this reason code, such as scope_not_granted, reasoning_required, denied_by_rule,
    /// conditions_not_met, rate_limited, approval_required.
    reason: Option<String>,
    /// Only decisions that a rule in shadow mode would have denied.
    shadow_deny: Option<bool>,
    /// From (inclusive): RFC 3339, a date (2026-11-22) or an age (90s, 30m, 2h, 7d).
    since: Option<String>,
    /// Until (exclusive), in the same forms.
    until: Option<String>,
    /// How many, 1 to 200 (default 50), newest first.
    limit: Option<u32>,
    /// The `next_cursor` of the previous page (older decisions).
    cursor: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The decision id (`dec_…`), as in the logs or in the agent's answer.
    decision_id: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    /// The agent's id (`agt_…`) or exact name.
    agent: String,
    /// The tool the agent would ask for.
    tool: String,
    /// The scope it would ask for.
    scope: String,
    /// The reasoning it would give.
    reasoning: Option<String>,
    /// The tool call's arguments.
    arguments: Option<Map<String, Value>>,
    /// The call's free context.
    context: Option<Map<String, Value>>,
    /// Draft rules to decide with instead of the agent's saved ones: objects with tool, scope and
    /// optionally id, effect, require_reasoning, conditions (as in add_rule) and mode.
    rules: Option<Vec<Value>>,
    /// The caller's IP address, for conditions on request /client_ip.
    client_ip: Option<String>,
    /// The time of the call, RFC 3339 (default now), for conditions on request /time and /weekday.
    at: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Expired,
    Consumed,
    Cancelled,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListApprovalsInput {
    /// Only approvals with this status (default: all).
    status: Option<Status>,
    /// Only this agent's (id or name).
    agent: Option<String>,
    /// How many, 1 to 200 (default 50), newest first.
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The identical call, made again by the agent, is allowed once.
    Approve,
    /// The call stays denied; the agent sees the comment.
    Deny,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideApprovalInput {
    /// The approval id (`apr_…`).
    approval_id: String,
    /// approve or deny.
    decision: Verdict,
    /// A comment the agent sees, such as why it was denied.
    comment: Option<String>,
}

#[tool_router]
impl AdminTools {
    #[tool(
        description = "List the organization's agents, oldest first, one page at a time (each with its id, name, \
                       enabled, key prefix and rate limit; never a key).",
        annotations(title = "List agents", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_agents(&self, Parameters(p): Parameters<PageInput>) -> CallToolResult {
        let page = Page { limit: p.limit, cursor: p.cursor };
        match self.admin.list_agents(&page).await {
            Ok(list) => answer(agents_summary(&list), &list),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "Show one agent (by id or exact name) with its tools and rules.",
        annotations(title = "Get an agent", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_agent(&self, Parameters(p): Parameters<AgentInput>) -> CallToolResult {
        let agent = match resolve_agent(&self.admin, &p.agent).await {
            Ok(a) => a,
            Err(f) => return self.failure(f),
        };
        let all = Page { limit: Some(200), cursor: None };
        let (tools, rules) =
            match tokio::try_join!(self.admin.list_tools(&agent.id, &all), self.admin.list_rules(&agent.id, &all)) {
                Ok(both) => both,
                Err(e) => return self.failed(&e),
            };
        let summary = format!(
            "Agent {:?} ({}), {}, {} tool(s), {} rule(s){}.",
            agent.name,
            agent.id,
            if agent.enabled { "enabled" } else { "disabled" },
            tools.tools.len(),
            rules.rules.len(),
            if tools.next_cursor.is_some() || rules.next_cursor.is_some() {
                " (the first 200 of each shown; list_tools and list_rules page through the rest)"
            } else {
                ""
            }
        );
        let value = json!({"agent": agent, "tools": tools.tools, "rules": rules.rules});
        answer(summary, &value)
    }

    #[tool(
        description = "Create an agent. The result holds its new API key (oak_…), shown this once: OakAuth keeps only \
                       a hash. Tell the user to store it in a secret store at once; never repeat it in the \
                       conversation. The agent can do nothing until tools and rules are added.",
        annotations(
            title = "Create an agent",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn create_agent(&self, Parameters(p): Parameters<CreateAgentInput>) -> CallToolResult {
        let body = CreateAgent {
            name: p.name,
            enabled: p.enabled,
            rate_limit: p
                .rate_limit
                .map(|r| RateLimitConfig { capacity: r.capacity, refill_per_second: r.refill_per_second }),
        };
        match self.admin.create_agent(&body).await {
            Ok(created) => answer(
                format!(
                    "Created agent {:?} ({}). Its API key is in `api_key` below and is shown this once: OakAuth keeps \
                     only a hash, so it cannot be shown again (a lost key is replaced with a key rotation). Store it \
                     in a secret store now, and do not repeat it in this conversation.",
                    created.agent.name, created.agent.id
                ),
                &created,
            ),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "List an agent's tools (their scopes, risk level and input schema), one page at a time.",
        annotations(title = "List an agent's tools", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_tools(&self, Parameters(p): Parameters<AgentPageInput>) -> CallToolResult {
        let agent_id = match self.agent_id(&p.agent).await {
            Ok(id) => id,
            Err(r) => return r,
        };
        match self.admin.list_tools(&agent_id, &Page { limit: p.limit, cursor: p.cursor }).await {
            Ok(list) => answer(format!("{} tool(s){}.", list.tools.len(), more(&list.next_cursor)), &list),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "Register a tool for an agent, with its scopes and risk level. Registering grants nothing: \
                       add_rule grants a scope.",
        annotations(
            title = "Add a tool",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn add_tool(&self, Parameters(p): Parameters<AddToolInput>) -> CallToolResult {
        let agent_id = match self.agent_id(&p.agent).await {
            Ok(id) => id,
            Err(r) => return r,
        };
        let body = CreateTool {
            name: p.name,
            description: p.description,
            scopes: p.scopes,
            risk_level: match p.risk_level {
                Risk::Read => RiskLevel::Read,
                Risk::Write => RiskLevel::Write,
                Risk::Destructive => RiskLevel::Destructive,
            },
            input_schema: p.input_schema.map(Value::Object),
        };
        match self.admin.create_tool(&agent_id, &body).await {
            Ok(tool) => answer(
                format!(
                    "Registered tool {:?} ({}) with scopes {} for agent {agent_id}; no scope is granted until a rule \
                     allows it.",
                    tool.name,
                    tool.id,
                    tool.scopes.join(", ")
                ),
                &tool,
            ),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "List an agent's rules (tool, scope, effect, reasoning requirement, conditions, mode), one page \
                       at a time.",
        annotations(title = "List an agent's rules", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_rules(&self, Parameters(p): Parameters<AgentPageInput>) -> CallToolResult {
        let agent_id = match self.agent_id(&p.agent).await {
            Ok(id) => id,
            Err(r) => return r,
        };
        match self.admin.list_rules(&agent_id, &Page { limit: p.limit, cursor: p.cursor }).await {
            Ok(list) => answer(format!("{} rule(s){}.", list.rules.len(), more(&list.next_cursor)), &list),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "Add a rule for one of an agent's tools and scopes: allow (default), deny or require_approval, \
                       with a reasoning requirement, conditions on the call's arguments, and a mode (enforce, or \
                       shadow to only log what it would do). Takes effect on the agent's next request. Use \
                       simulate_call first to check what a draft rule would decide.",
        annotations(
            title = "Add a rule",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn add_rule(&self, Parameters(p): Parameters<AddRuleInput>) -> CallToolResult {
        let conditions = match p.conditions.as_deref().map(conditions).transpose() {
            Ok(c) => c,
            Err(message) => return refused("invalid_request", &message),
        };
        let agent_id = match self.agent_id(&p.agent).await {
            Ok(id) => id,
            Err(r) => return r,
        };
        let body = CreateRule {
            tool: p.tool,
            scope: p.scope,
            effect: p.effect.map(effect),
            require_reasoning: p.require_reasoning.map(reasoning),
            conditions,
            mode: p.mode.map(mode),
            description: p.description,
            approval_expiry_seconds: p.approval_expiry_seconds,
        };
        match self.admin.create_rule(&agent_id, &body).await {
            Ok(rule) => answer(
                format!(
                    "Added rule {} for {}:{}: {} ({}), reasoning {}, {} condition(s).",
                    rule.id,
                    rule.tool,
                    rule.scope,
                    rule.effect.as_str(),
                    rule.mode.as_str(),
                    rule.require_reasoning.as_str(),
                    rule.conditions.len()
                ),
                &rule,
            ),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "Search the audit log of decisions, newest first: by agent, tool, scope, allowed or denied, \
                       reason code, shadow denials and time. Each entry has the decision id, reason, reasoning, \
                       redacted arguments and context, and the explanation of a rule's decision.",
        annotations(title = "Search the logs", read_only_hint = true, open_world_hint = false)
    )]
    async fn search_logs(&self, Parameters(p): Parameters<SearchLogsInput>) -> CallToolResult {
        let reason = match p.reason.as_deref().map(|r| ReasonCode::parse(r).ok_or(r)).transpose() {
            Ok(r) => r,
            Err(bad) => {
                let all: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
                return refused("invalid_request", &format!("unknown reason {bad:?}; one of {}", all.join(", ")));
            }
        };
        let (since, until) = match (p.since.as_deref().map(when).transpose(), p.until.as_deref().map(when).transpose())
        {
            (Ok(s), Ok(u)) => (s, u),
            (Err(m), _) | (_, Err(m)) => return refused("invalid_request", &m),
        };
        let agent_id = match &p.agent {
            Some(a) => match agent_filter(&self.admin, a).await {
                Ok(id) => Some(id),
                Err(f) => return self.failure(f),
            },
            None => None,
        };
        let query = LogQuery {
            agent_id,
            tool: p.tool,
            scope: p.scope,
            allowed: p.allowed,
            reason,
            shadow: p.shadow_deny.unwrap_or(false).then_some(Effect::Deny),
            since,
            until,
            limit: p.limit,
            cursor: p.cursor,
        };
        match self.admin.list_logs(&query).await {
            Ok(page) => {
                let denied = page.logs.iter().filter(|e| !e.allowed).count();
                let summary = format!(
                    "{} decision(s), {denied} denied{}.",
                    page.logs.len(),
                    more(&page.next_cursor).replace("more", "older ones")
                );
                answer(summary, &page)
            }
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "Explain one decision in words, from its audit-log row: who asked for what, the answer and its \
                       reason, the rule and condition that decided, the reasoning given, and what would change it.",
        annotations(title = "Explain a decision", read_only_hint = true, open_world_hint = false)
    )]
    async fn explain_decision(&self, Parameters(p): Parameters<DecisionInput>) -> CallToolResult {
        let entry = match self.admin.get_log(&p.decision_id).await {
            Ok(e) => e,
            Err(e) => return self.failed(&e),
        };
        // The agent's name, when it still exists; its id otherwise.
        let name = self.admin.get_agent(&entry.agent_id).await.ok().map(|a| a.name);
        answer(explain(&entry, name.as_deref()), &entry)
    }

    #[tool(
        description = "Decide a call as OakAuth would for an agent, with its saved rules or with draft rules, and show \
                       every rule's part (trace). Nothing is logged and no rate limit is spent: use it to test a rule \
                       before adding it.",
        annotations(title = "Simulate a call", read_only_hint = true, open_world_hint = false)
    )]
    async fn simulate_call(&self, Parameters(p): Parameters<SimulateInput>) -> CallToolResult {
        let rules = match p.rules.map(draft_rules).transpose() {
            Ok(r) => r,
            Err(message) => return refused("invalid_request", &message),
        };
        let agent_id = match self.agent_id(&p.agent).await {
            Ok(id) => id,
            Err(r) => return r,
        };
        let mut request = ValidateRequest::new(p.tool, p.scope);
        request.reasoning = p.reasoning;
        request.arguments = p.arguments;
        request.context = p.context;
        let body = SimulateRequest { agent_id, request, rules, client_ip: p.client_ip, at: p.at };
        match self.admin.simulate(&body).await {
            Ok(decision) => {
                let why = decision.explanation.as_ref().map(|x| format!(" {}", x.message)).unwrap_or_default();
                let summary = format!(
                    "Would be {} ({}): {}.{why}",
                    if decision.allowed { "allowed" } else { "DENIED" },
                    decision.reason.as_str(),
                    decision.message
                );
                answer(summary, &decision)
            }
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "List approvals (calls that a require_approval rule holds for a person), newest first, with the \
                       call each is for: agent, tool, scope, redacted arguments and reasoning.",
        annotations(title = "List approvals", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_approvals(&self, Parameters(p): Parameters<ListApprovalsInput>) -> CallToolResult {
        let agent_id = match &p.agent {
            Some(a) => match self.agent_id(a).await {
                Ok(id) => Some(id),
                Err(r) => return r,
            },
            None => None,
        };
        let status = p.status.map(|s| match s {
            Status::Pending => ApprovalStatus::Pending,
            Status::Approved => ApprovalStatus::Approved,
            Status::Denied => ApprovalStatus::Denied,
            Status::Expired => ApprovalStatus::Expired,
            Status::Consumed => ApprovalStatus::Consumed,
            Status::Cancelled => ApprovalStatus::Cancelled,
        });
        let query = ApprovalQuery { status, agent_id, limit: p.limit, cursor: p.cursor };
        match self.admin.list_approvals(&query).await {
            Ok(page) => answer(format!("{} approval(s){}.", page.approvals.len(), more(&page.next_cursor)), &page),
            Err(e) => self.failed(&e),
        }
    }

    #[tool(
        description = "Approve or deny a pending approval, with a comment the agent sees. Approving lets the agent's \
                       identical call run once; this cannot be undone. Confirm with the user before approving.",
        annotations(
            title = "Decide an approval",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn decide_approval(&self, Parameters(p): Parameters<DecideApprovalInput>) -> CallToolResult {
        let body = ApprovalDecision {
            decision: match p.decision {
                Verdict::Approve => Decision::Approve,
                Verdict::Deny => Decision::Deny,
            },
            comment: p.comment,
        };
        match self.admin.decide_approval(&p.approval_id, &body).await {
            Ok(approval) => answer(
                format!(
                    "Approval {} for {}:{} is now {}.",
                    approval.id,
                    approval.tool,
                    approval.scope,
                    approval.status.as_str()
                ),
                &approval,
            ),
            Err(e) => self.failed(&e),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for AdminTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("oakauth", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

impl AdminTools {
    /// An agent's id from its id or name, or the tool result that says why there is none.
    async fn agent_id(&self, agent: &str) -> Result<String, CallToolResult> {
        resolve_agent(&self.admin, agent).await.map(|a| a.id).map_err(|f| self.failure(f))
    }

    fn failure(&self, failure: Failure) -> CallToolResult {
        match failure {
            Failure::Api(e) => self.failed(&e),
            Failure::Message(m) | Failure::Usage(m) => refused("invalid_request", &m),
        }
    }

    /// A failed admin call as a tool error: the service's code and message (and status and
    /// request id), in words and as structured content.
    fn failed(&self, e: &Error) -> CallToolResult {
        let (service, key) = &*self.origin;
        let message = service.explain(e, key);
        let code = e.code().unwrap_or(match e {
            Error::Connection(_) | Error::Timeout(_) => "no_answer",
            _ => "bad_answer",
        });
        let mut error = Map::new();
        error.insert("code".into(), code.into());
        error.insert("message".into(), api_message(e).unwrap_or(&message).into());
        if let Some(status) = e.status() {
            error.insert("status".into(), status.into());
        }
        if let Some(id) = request_id(e) {
            error.insert("request_id".into(), id.into());
        }
        let text = match e.code() {
            Some(code) => format!("OakAuth refused ({code}): {message}"),
            None => format!("No usable answer from OakAuth ({code}): {message}"),
        };
        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        result.structured_content = Some(json!({ "error": error }));
        result
    }
}

fn api_message(e: &Error) -> Option<&str> {
    match e {
        Error::Auth { api, .. } | Error::BadRequest { api, .. } | Error::NotFound { api } | Error::Conflict { api } => {
            Some(&api.message)
        }
        Error::Server { api: Some(api), .. } => Some(&api.message),
        _ => None,
    }
}

fn request_id(e: &Error) -> Option<&str> {
    match e {
        Error::Auth { api, .. } | Error::BadRequest { api, .. } | Error::NotFound { api } | Error::Conflict { api } => {
            api.request_id.as_deref()
        }
        Error::Server { api: Some(api), .. } => api.request_id.as_deref(),
        _ => None,
    }
}

/// A request refused here, before it reached the service, in the same shape as the service's.
fn refused(code: &str, message: &str) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(format!("Refused ({code}): {message}"))]);
    result.structured_content = Some(json!({"error": {"code": code, "message": message}}));
    result
}

/// A successful answer: a sentence, the JSON (for clients that read only text) and the same as
/// structured content.
fn answer<T: Serialize>(summary: String, value: &T) -> CallToolResult {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    let mut result = CallToolResult::success(vec![ContentBlock::text(summary), ContentBlock::text(value.to_string())]);
    result.structured_content = Some(value);
    result
}

fn more(next_cursor: &Option<String>) -> &'static str {
    if next_cursor.is_some() {
        "; more on the next page (pass next_cursor as cursor)"
    } else {
        ""
    }
}

fn agents_summary(list: &AgentList) -> String {
    let names: Vec<String> = list.agents.iter().map(|a| format!("{} ({})", a.name, a.id)).collect();
    format!(
        "{} agent(s){}{}{}",
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", "),
        more(&list.next_cursor)
    )
}

fn conditions(raw: &[Value]) -> Result<Vec<Condition>, String> {
    raw.iter()
        .enumerate()
        .map(|(i, c)| Condition::from_json(c, &format!("conditions[{i}]")).map_err(|e| e.to_string()))
        .collect()
}

fn draft_rules(raw: Vec<Value>) -> Result<Vec<DraftRule>, String> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| serde_json::from_value(r).map_err(|e| format!("rules[{i}]: {e}")))
        .collect()
}

fn effect(e: RuleEffect) -> Effect {
    match e {
        RuleEffect::Allow => Effect::Allow,
        RuleEffect::Deny => Effect::Deny,
        RuleEffect::RequireApproval => Effect::RequireApproval,
    }
}

fn reasoning(r: Reasoning) -> ReasoningPolicy {
    match r {
        Reasoning::None => ReasoningPolicy::None,
        Reasoning::Soft => ReasoningPolicy::Soft,
        Reasoning::Hard => ReasoningPolicy::Hard,
    }
}

fn mode(m: Mode) -> RuleMode {
    match m {
        Mode::Enforce => RuleMode::Enforce,
        Mode::Shadow => RuleMode::Shadow,
    }
}

/// One decision in words: who asked for what, the answer, why, and what would change it.
pub fn explain(e: &LogEntry, agent_name: Option<&str>) -> String {
    let who = match agent_name {
        Some(name) => format!("agent {name:?} ({})", e.agent_id),
        None => format!("agent {} (deleted, or not visible to this key)", e.agent_id),
    };
    let verdict = if e.allowed { "ALLOWED" } else { "DENIED" };
    let mut lines = vec![
        format!(
            "Decision {} at {}: {who} asked for {}:{}. {verdict}, reason {}.",
            e.decision_id,
            e.created_at,
            e.tool,
            e.scope,
            e.reason.as_str()
        ),
        format!("Why: {}.", sentence(e)),
    ];
    if let Some(x) = &e.explanation {
        let rule = match (&x.rule_id, x.effect) {
            (Some(id), Some(effect)) => format!("Rule {id} ({}) decided: ", effect.as_str()),
            (Some(id), None) => format!("Rule {id} decided: "),
            _ => String::new(),
        };
        lines.push(format!("{rule}{}", x.message));
        if let Some(c) = &x.condition {
            let observed = c.observed.as_ref().map(Value::to_string).unwrap_or_else(|| "missing".into());
            let error = c.error.as_deref().map(|err| format!(", error: {err}")).unwrap_or_default();
            lines.push(format!(
                "Condition {}: {} {} {} {}, observed {observed}{error}.",
                c.path,
                c.source.as_str(),
                c.pointer,
                c.op.as_str(),
                c.expected
            ));
        }
    }
    let reasoning = match e.reasoning.as_deref() {
        None => "none".to_owned(),
        Some(r) if r.trim().is_empty() => "blank".to_owned(),
        Some(r) => format!("{r:?}"),
    };
    lines.push(format!("Reasoning given: {reasoning} (required: {}).", e.reasoning_required.as_str()));
    if let Some(args) = &e.arguments {
        lines.push(format!("Arguments (redacted): {}.", Value::Object(args.clone())));
    }
    for s in &e.shadow {
        lines.push(format!("Shadow rule {} would {} (not enforced).", s.rule_id, s.would.as_str()));
    }
    lines.push(format!("What would change it: {}", remedy(e)));
    lines.join("\n")
}

/// The service's sentence for the decision's reason.
fn sentence(e: &LogEntry) -> String {
    match e.reason {
        ReasonCode::RateLimited => "denied: the agent's rate limit was reached".to_owned(),
        reason => oakauth_core::decision::message(reason, &e.tool, &e.scope, 0),
    }
}

fn remedy(e: &LogEntry) -> String {
    let (tool, scope) = (&e.tool, &e.scope);
    match e.reason {
        ReasonCode::Allowed => "nothing: the call was allowed.".into(),
        ReasonCode::ReasoningMissingSoft => {
            "the call was allowed, but the agent gave no real reasoning; a hard rule would deny such calls.".into()
        }
        ReasonCode::AgentDisabled => "the agent is disabled; enabling it (oakauth agents update --enable) lets it \
                                      use its rules again."
            .into(),
        ReasonCode::UnknownTool => format!(
            "the tool {tool:?} is not registered for this agent; register it (add_tool) and add a rule for it, if the \
             agent should use it."
        ),
        ReasonCode::ScopeNotGranted => {
            format!("no rule grants {tool}:{scope}; an allow rule (add_rule) would, if the agent should have it.")
        }
        ReasonCode::ReasoningRequired => {
            "a rule requires real reasoning for this call: the agent must say why in its request.".into()
        }
        ReasonCode::RateLimited => {
            "the agent's token bucket was empty; wait, or raise its rate limit if this is its normal pace.".into()
        }
        ReasonCode::QuotaExceeded => "the organization used its plan's validations for this month; it resets at \
                                      the start of the next month (UTC), or an owner can upgrade the plan \
                                      (oakauth usage shows the counts)."
            .into(),
        ReasonCode::Unavailable => {
            "OakAuth could not reach the agent's state and failed closed; the same call made again should be decided."
                .into()
        }
        ReasonCode::DeniedByRule => "the deny rule above matched (or a condition could not be evaluated); change or \
                                     delete that rule, and try the change first with simulate_call and draft rules."
            .into(),
        ReasonCode::ConditionsNotMet => "allow rules exist but the conditions above did not hold for these \
                                         arguments; try a changed rule with simulate_call and draft rules."
            .into(),
        ReasonCode::InvalidArguments => {
            "the arguments do not fit the tool's input_schema; the agent must send arguments that do.".into()
        }
        ReasonCode::ApprovalRequired => "a require_approval rule holds the call for a person: see list_approvals and \
                                         decide_approval; the agent's identical call then runs once if approved."
            .into(),
        ReasonCode::ApprovalDenied => "a person denied this call's approval; the same call stays denied.".into(),
        ReasonCode::ApprovalExpired => {
            "nobody decided the approval in time (nobody denied it); the agent's next call asks anew.".into()
        }
        ReasonCode::ApprovalCancelled => "the agent cancelled the approval; its next call asks anew.".into(),
        ReasonCode::ApprovalConsumed => {
            "the approval had already been used once; the agent's next call asks for a new one.".into()
        }
        ReasonCode::ApprovalMismatch => "the approval named was for another call (agent, tool, scope, arguments or \
                                         rule version); the agent must make the identical call."
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changing_tools_are_the_ones_not_marked_read_only() {
        let router = AdminTools::tool_router();
        for tool in router.list_all() {
            let annotations = tool.annotations.as_ref().expect("every tool has annotations");
            let read_only = annotations.read_only_hint == Some(true);
            assert_eq!(!read_only, CHANGING_TOOLS.contains(&tool.name.as_ref()), "{}", tool.name);
            if !read_only {
                assert!(
                    annotations.destructive_hint.is_some() && annotations.idempotent_hint.is_some(),
                    "{}",
                    tool.name
                );
            }
        }
    }

    #[test]
    fn a_denial_is_explained_with_its_rule_condition_and_remedy() {
        let entry: LogEntry = serde_json::from_value(json!({
            "decision_id": "dec_1", "request_id": "req_1", "agent_id": "agt_1", "tool": "payments",
            "scope": "send", "allowed": false, "reason": "conditions_not_met", "reasoning": "invoice 7",
            "reasoning_required": "soft", "reasoning_provided": true, "context": null,
            "arguments": {"amount": 900},
            "explanation": {"rule_id": "rul_1", "effect": "allow", "message": "/amount is 900, not less than 500.",
                "condition": {"path": "conditions[0]", "source": "arguments", "pointer": "/amount", "op": "lt",
                    "expected": 500, "observed": 900, "holds": false, "error": null}},
            "shadow": [], "latency_ms": 3, "created_at": "2026-12-01T00:00:00.000Z"
        }))
        .unwrap();
        let text = explain(&entry, Some("billing"));
        for part in [
            "agent \"billing\" (agt_1) asked for payments:send. DENIED, reason conditions_not_met",
            "no rule's conditions allow this call to payments:send",
            "Rule rul_1 (allow) decided: /amount is 900, not less than 500.",
            "Condition conditions[0]: arguments /amount lt 500, observed 900.",
            "Reasoning given: \"invoice 7\"",
            "simulate_call",
        ] {
            assert!(text.contains(part), "{part:?} not in:\n{text}");
        }
    }
}
