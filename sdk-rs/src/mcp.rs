//! A guard for MCP servers built with the [`rmcp`] crate (feature `rmcp`).
//!
//! Every tool call is validated with OakAuth before it is dispatched through the server's
//! [`ToolRouter`]; a deny (or any failure to get an allow) becomes a tool result with
//! `isError: true` and a sentence that tells the model why, and the tool does not run.
//!
//! **Tool and scope.** An MCP tool `name` is checked as OakAuth tool `name` with the scope `call`,
//! unless [`McpGuard::default_scope`] or [`McpGuard::map_tool`] say otherwise.
//!
//! **Reasoning.** Each advertised tool gets an optional `_reasoning` string argument in its input
//! schema, so models know they can say why they call it. The guard sends it to OakAuth as the
//! reasoning and removes it from the arguments before the tool sees them.
//!
//! **Arguments.** The call's other arguments are sent to OakAuth as the request's `arguments`, for
//! rules whose conditions test them.
//!
//! **Approvals.** A call that a `require_approval` rule holds is answered at once with a tool
//! error the model understands: "OakAuth: approval requested (id apr_…) for payments:send; an
//! administrator must approve; call this tool again with the same arguments once approved". Once
//! an admin approves, the model's identical retry (same arguments; the reasoning argument does not
//! count) runs the tool, once. A denial passes on the admin's comment; an expiry says that nobody
//! denied it; a second use says the approval was already used. A listing check (below) never
//! creates an approval: it asks with `request_approval: false`, and a tool that would need one
//! stays listed.
//!
//! **Hiding tools.** With [`McpGuard::hide_denied_tools`], `tools/list` leaves out the tools the
//! agent may not use at all (unknown tool, scope not granted, agent disabled, a deny rule without
//! conditions); a deny that depends on the arguments does not hide a tool. It finds out by
//! validating each tool without reasoning (each check logged, with context
//! `{"mcp": "tools/list"}`, and each taking a token from the agent's bucket). A tool whose check
//! fails for any other reason than a deny is hidden too. Each tool's answer is reused for
//! [`list_cache_ttl`](McpGuard::list_cache_ttl) (default 5 seconds), so a client that lists over
//! and over cannot empty the agent's bucket or flood the audit log; `tools/call` is never cached.
//! A `tools/call` of a hidden tool gets the same protocol error as a tool that does not exist
//! (`invalid_params`, "tool not found"), so calls cannot tell the two apart.
//!
//! **Receipts.** With [`McpGuard::require_receipt`] (feature `receipts`), the guard does not ask
//! OakAuth itself: each `tools/call` must carry, in its `_meta` under `oakauth/receipt`, the signed
//! receipt of an allowed decision for this tool, scope and exactly these arguments (the reasoning
//! argument removed), as `oakauth proxy` attaches it. A missing, invalid, expired or replayed
//! receipt is a tool error and the tool does not run, so a client that skipped OakAuth cannot drive
//! the server. See [`crate::receipts`].
//!
//! Wire it into a server with a custom `call_tool` and `list_tools` (the `#[tool_handler]` macro
//! keeps the methods you write and generates the rest):
//!
//! ```no_run
//! use oakauth::{mcp::McpGuard, OakAuth};
//! use rmcp::{
//!     handler::server::{router::tool::ToolRouter, wrapper::Parameters},
//!     model::{CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams},
//!     schemars, service::RequestContext, tool, tool_handler, tool_router, ErrorData, RoleServer,
//!     ServerHandler, ServiceExt,
//! };
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct ReadFile {
//!     path: String,
//! }
//!
//! #[derive(Clone)]
//! struct Files {
//!     tool_router: ToolRouter<Self>,
//!     guard: McpGuard,
//! }
//!
//! #[tool_router]
//! impl Files {
//!     #[tool(description = "Read a file")]
//!     async fn read_file(&self, Parameters(p): Parameters<ReadFile>) -> String {
//!         std::fs::read_to_string(p.path).unwrap_or_default()
//!     }
//! }
//!
//! #[tool_handler]
//! impl ServerHandler for Files {
//!     async fn call_tool(
//!         &self,
//!         request: CallToolRequestParams,
//!         context: RequestContext<RoleServer>,
//!     ) -> Result<CallToolResponse, ErrorData> {
//!         self.guard.call_tool(&self.tool_router, self, request, context).await
//!     }
//!
//!     async fn list_tools(
//!         &self,
//!         _request: Option<PaginatedRequestParams>,
//!         _context: RequestContext<RoleServer>,
//!     ) -> Result<ListToolsResult, ErrorData> {
//!         Ok(self.guard.list_tools(&self.tool_router).await)
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let oak = OakAuth::new(std::env::var("OAKAUTH_API_KEY")?)?;
//!     let guard = McpGuard::new(oak).map_tool("read_file", "filesystem", "read").hide_denied_tools(true);
//!     let server = Files { tool_router: Files::tool_router(), guard };
//!     server.serve((tokio::io::stdin(), tokio::io::stdout())).await?.waiting().await?;
//!     Ok(())
//! }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult, Tool};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{json, Map, Value};

use crate::{Error, OakAuth, ReasonCode, ValidateRequest};

/// The scope an MCP tool is checked with when [`McpGuard::map_tool`] does not say otherwise.
pub const DEFAULT_SCOPE: &str = "call";
/// The argument that carries the model's reasoning.
pub const DEFAULT_REASONING_ARGUMENT: &str = "_reasoning";
/// How long a `tools/list` check of one tool is reused when [`McpGuard::list_cache_ttl`] does not
/// say otherwise.
pub const DEFAULT_LIST_CACHE_TTL: Duration = Duration::from_secs(5);

/// The last `tools/list` check of one tool: when, and whether it is shown. Behind its own lock,
/// so that listings at the same time wait for one check instead of each making its own.
type ListCheck = Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>;

/// Validates MCP tool calls with OakAuth before they reach the tool. See the [module docs](self).
///
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct McpGuard {
    oak: OakAuth,
    mapping: Arc<HashMap<String, (String, String)>>,
    default_scope: String,
    reasoning_argument: String,
    hide_denied_tools: bool,
    list_cache_ttl: Duration,
    /// Per MCP tool name; shared by clones.
    list_checks: Arc<Mutex<HashMap<String, ListCheck>>>,
    /// Set by [`McpGuard::require_receipt`]: calls are allowed by their receipts, not by asking.
    #[cfg(feature = "receipts")]
    receipts: Option<ReceiptCheck>,
}

/// Checks a call's receipt: (receipt, tool, scope, arguments) → the receipt's claims.
#[cfg(feature = "receipts")]
type CheckReceipt = dyn Fn(
        String,
        String,
        String,
        Option<Map<String, Value>>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<crate::receipts::Claims, Error>> + Send>>
    + Send
    + Sync;

/// A [`ReceiptVerifier`](crate::receipts::ReceiptVerifier) of any replay store, behind one type.
#[cfg(feature = "receipts")]
#[derive(Clone)]
struct ReceiptCheck(Arc<CheckReceipt>);

#[cfg(feature = "receipts")]
impl std::fmt::Debug for ReceiptCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptCheck")
    }
}

impl McpGuard {
    /// A guard that validates with this client (holding the MCP server's agent key).
    pub fn new(oak: OakAuth) -> Self {
        McpGuard {
            oak,
            mapping: Arc::default(),
            default_scope: DEFAULT_SCOPE.to_owned(),
            reasoning_argument: DEFAULT_REASONING_ARGUMENT.to_owned(),
            hide_denied_tools: false,
            list_cache_ttl: DEFAULT_LIST_CACHE_TTL,
            list_checks: Arc::default(),
            #[cfg(feature = "receipts")]
            receipts: None,
        }
    }

    /// Runs a call only with a valid receipt in its `_meta` (`oakauth/receipt`) for its OakAuth
    /// tool, scope and arguments, checked by `verifier`, instead of asking OakAuth: for a server
    /// behind `oakauth proxy`, which decides and attaches the receipt. Each receipt runs one call.
    /// The guard's own client is then used only by [`hide_denied_tools`](Self::hide_denied_tools).
    ///
    /// ```
    /// # let oak = oakauth::OakAuth::builder("oak_example").base_url("https://oakauth.example.com").build().unwrap();
    /// use oakauth::receipts::ReceiptVerifier;
    ///
    /// let verifier = ReceiptVerifier::builder("https://oakauth.example.com").build().unwrap();
    /// let guard = oakauth::mcp::McpGuard::new(oak).require_receipt(verifier);
    /// ```
    #[cfg(feature = "receipts")]
    #[must_use]
    pub fn require_receipt<R: crate::receipts::ReplayStore>(
        mut self,
        verifier: crate::receipts::ReceiptVerifier<R>,
    ) -> Self {
        self.receipts = Some(ReceiptCheck(Arc::new(move |receipt, tool, scope, arguments| {
            let verifier = verifier.clone();
            Box::pin(async move { verifier.verify(&receipt, &tool, &scope, arguments.as_ref()).await })
        })));
        self
    }

    /// Checks calls of MCP tool `mcp_tool` as OakAuth tool `tool` with `scope`.
    ///
    /// ```
    /// # let oak = oakauth::OakAuth::builder("oak_example").base_url("https://oakauth.example.com").build().unwrap();
    /// let guard = oakauth::mcp::McpGuard::new(oak)
    ///     .map_tool("write_file", "filesystem", "write")
    ///     .map_tool("read_file", "filesystem", "read");
    /// assert_eq!(guard.target("write_file"), ("filesystem", "write"));
    /// assert_eq!(guard.target("search"), ("search", "call"));
    /// ```
    #[must_use]
    pub fn map_tool(mut self, mcp_tool: impl Into<String>, tool: impl Into<String>, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.mapping).insert(mcp_tool.into(), (tool.into(), scope.into()));
        self
    }

    /// The scope of unmapped tools (default `call`).
    #[must_use]
    pub fn default_scope(mut self, scope: impl Into<String>) -> Self {
        self.default_scope = scope.into();
        self
    }

    /// The name of the reasoning argument (default `_reasoning`).
    #[must_use]
    pub fn reasoning_argument(mut self, name: impl Into<String>) -> Self {
        self.reasoning_argument = name.into();
        self
    }

    /// Whether `tools/list` leaves out tools the agent may not use at all (default false).
    #[must_use]
    pub fn hide_denied_tools(mut self, hide: bool) -> Self {
        self.hide_denied_tools = hide;
        self
    }

    /// How long the `tools/list` check of a tool is reused (default 5 seconds, zero: never) when
    /// [`hide_denied_tools`](Self::hide_denied_tools) is on. A rule change or a disabled agent
    /// shows in listings after at most this long; `tools/call` is always checked afresh.
    #[must_use]
    pub fn list_cache_ttl(mut self, ttl: Duration) -> Self {
        self.list_cache_ttl = ttl;
        self
    }

    /// The OakAuth tool and scope that calls of `mcp_tool` are checked as.
    pub fn target<'a>(&'a self, mcp_tool: &'a str) -> (&'a str, &'a str) {
        match self.mapping.get(mcp_tool) {
            Some((tool, scope)) => (tool, scope),
            None => (mcp_tool, &self.default_scope),
        }
    }

    /// Validates the call, and dispatches it through `router` only on an allow.
    ///
    /// An unknown tool is an `invalid_params` error (as the router answers it); a deny, a rate
    /// limit or a failure to reach OakAuth is `Ok` with an `isError` result, and the tool does not
    /// run. With [`hide_denied_tools`](Self::hide_denied_tools), a call of a tool that listing
    /// hides is answered exactly as an unknown tool.
    pub async fn call_tool<S>(
        &self,
        router: &ToolRouter<S>,
        service: &S,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData>
    where
        S: Send + Sync + 'static,
    {
        if router.get(&request.name).is_none() {
            return Err(tool_not_found());
        }
        let Ok(check) = self.check_for(&request.name, &mut request.arguments) else {
            // Whether the tool is hidden is told before anything else about it.
            if self.hide_denied_tools && !self.listed(&request.name).await {
                return Err(tool_not_found());
            }
            return Ok(refusal(format!(
                "The `{}` argument must be a string that says why you need this call; the tool did not run.",
                self.reasoning_argument
            )));
        };
        let (tool, scope) = self.target(&request.name);
        #[cfg(feature = "receipts")]
        if let Some(ReceiptCheck(verify)) = &self.receipts {
            // rmcp moves the request's `_meta` into the context before the handler sees it.
            let key = crate::receipts::MCP_META_KEY;
            let receipt = context.meta.get(key).or_else(|| request.meta.as_ref().and_then(|m| m.get(key)));
            let Some(receipt) = receipt.and_then(Value::as_str) else {
                return Ok(refusal(format!(
                    "OakAuth: this server runs {tool}:{scope} only with a receipt of an allowed decision in the call's \
                     _meta (\"{}\"), and there is none. The tool did not run.",
                    crate::receipts::MCP_META_KEY
                )));
            };
            return match verify(receipt.to_owned(), tool.to_owned(), scope.to_owned(), check.arguments).await {
                Ok(_) => router.call(ToolCallContext::new(service, request, context)).await,
                Err(err) => Ok(refusal(format!(
                    "OakAuth: the receipt for {tool}:{scope} was refused ({}): {err}. The tool did not run.",
                    err.code().unwrap_or("unverified")
                ))),
            };
        }
        match self.oak.guard(check, std::future::ready(())).await {
            Ok(()) => router.call(ToolCallContext::new(service, request, context)).await,
            Err(err) if self.hide_denied_tools && hides(&err) => Err(tool_not_found()),
            Err(err) => Ok(refusal(explain(&err, tool, scope, &self.reasoning_argument))),
        }
    }

    /// What to ask OakAuth about a call of `mcp_tool`: its tool and scope, the reasoning, and the
    /// call's arguments (for rules whose conditions test them). The reasoning argument is taken out
    /// of `arguments`, so neither OakAuth's `arguments` nor the tool see it. Fails when the
    /// reasoning argument is there but not a string.
    fn check_for(
        &self,
        mcp_tool: &str,
        arguments: &mut Option<Map<String, Value>>,
    ) -> Result<ValidateRequest, BadReasoning> {
        let reasoning = match arguments.as_mut().and_then(|args| args.remove(&self.reasoning_argument)) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => return Err(BadReasoning),
        };
        let (tool, scope) = self.target(mcp_tool);
        let mut check = ValidateRequest::new(tool, scope).with_context(mcp_context("mcp_tool", mcp_tool));
        check.reasoning = reasoning;
        check.arguments = arguments.clone();
        Ok(check)
    }

    /// The router's tools, each with the reasoning argument added to its input schema, and
    /// without the denied ones when [`hide_denied_tools`](Self::hide_denied_tools) is on.
    pub async fn list_tools<S>(&self, router: &ToolRouter<S>) -> ListToolsResult
    where
        S: Send + Sync + 'static,
    {
        let mut tools: Vec<Tool> = router.list_all().into_iter().map(|t| self.advertise(t)).collect();
        if self.hide_denied_tools {
            let checks = tools.iter().map(|t| self.listed(&t.name));
            let keep = futures_util::future::join_all(checks).await;
            let mut keep = keep.into_iter();
            tools.retain(|_| keep.next().unwrap_or(false));
        }
        ListToolsResult::with_all_items(tools)
    }

    /// Adds the optional reasoning argument to a tool's input schema.
    pub fn advertise(&self, tool: Tool) -> Tool {
        with_reasoning_argument(tool, &self.reasoning_argument)
    }

    /// Whether `tools/list` shows this tool: the agent may use it at all (an allow now, or a
    /// deny that reasoning or waiting would lift). Checked with OakAuth at most once per
    /// [`list_cache_ttl`](Self::list_cache_ttl).
    async fn listed(&self, mcp_tool: &str) -> bool {
        let slot = {
            let mut checks = self.list_checks.lock().unwrap_or_else(PoisonError::into_inner);
            checks.entry(mcp_tool.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some((checked_at, shown)) = *slot {
            if checked_at.elapsed() < self.list_cache_ttl {
                return shown;
            }
        }
        let (tool, scope) = self.target(mcp_tool);
        let mut check = ValidateRequest::new(tool, scope).with_context(mcp_context("mcp", "tools/list"));
        // A listing asks no one: a tool that would need a person's approval is not put in front
        // of the admins by a tools/list.
        check.request_approval = Some(false);
        let shown = match self.oak.guard(check, std::future::ready(())).await {
            Ok(()) => true,
            Err(err) => !hides(&err),
        };
        *slot = Some((Instant::now(), shown));
        shown
    }
}

/// Adds the optional reasoning argument `name` to a tool's input schema (the guard's and the
/// proxy's `tools/list`).
pub(crate) fn with_reasoning_argument(mut tool: Tool, name: &str) -> Tool {
    let schema = Arc::make_mut(&mut tool.input_schema);
    let properties = schema.entry("properties").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(properties) = properties {
        properties.entry(name.to_owned()).or_insert_with(|| {
            json!({
                "type": "string",
                "description": "Why you need to make this call. Recorded in the audit log; some calls are refused without it."
            })
        });
    }
    tool
}

/// The reasoning argument of a call is not a string.
struct BadReasoning;

/// Whether a failure to get an allow means the agent may not use the tool at all, so that
/// hiding leaves it out: anything but a deny that reasoning, other arguments or waiting would
/// lift. A listing check sends no arguments, so a deny that depends on them (a rule condition,
/// the tool's input schema) does not hide the tool; a deny rule without conditions does.
pub(crate) fn hides(err: &Error) -> bool {
    match err {
        Error::Denied { reason: ReasonCode::ReasoningRequired, .. } | Error::RateLimited { .. } => false,
        // The organization's monthly quota: the tool comes back when it resets or the plan is upgraded.
        Error::QuotaExceeded { .. } => false,
        // A person can lift these.
        Error::Denied { reason: ReasonCode::ApprovalRequired, .. }
        | Error::ApprovalPending { .. }
        | Error::ApprovalDenied { .. }
        | Error::ApprovalExpired { .. }
        | Error::ApprovalCancelled { .. }
        | Error::ApprovalConsumed { .. }
        | Error::ApprovalMismatch { .. } => false,
        Error::Denied { reason: ReasonCode::ConditionsNotMet | ReasonCode::InvalidArguments, .. } => false,
        Error::Denied { reason: ReasonCode::DeniedByRule, explanation, .. } => {
            explanation.as_ref().is_none_or(|e| e.condition.is_none())
        }
        _ => true,
    }
}

/// The answer for a tool that does not exist, and (when hiding) for one the agent may not use.
fn tool_not_found() -> ErrorData {
    ErrorData::invalid_params("tool not found", None)
}

pub(crate) fn mcp_context(key: &str, value: &str) -> Map<String, Value> {
    let mut context = Map::new();
    context.insert(key.to_owned(), Value::String(value.to_owned()));
    context
}

fn refusal(text: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(text)]).into()
}

/// A sentence for the model: what was refused, why, and what it can do about it.
pub(crate) fn explain(err: &Error, tool: &str, scope: &str, reasoning_argument: &str) -> String {
    match err {
        Error::Denied { reason: ReasonCode::ReasoningRequired, message, .. } => format!(
            "OakAuth denied {tool}:{scope}: reasoning required. Call the tool again with a `{reasoning_argument}` \
             argument that says why you need it. ({message})"
        ),
        Error::Denied { reason, message, explanation, .. } => {
            let why = match explanation {
                Some(e) if !e.message.is_empty() && !message.contains(&e.message) => format!(" {}", e.message),
                _ => String::new(),
            };
            format!("OakAuth denied {tool}:{scope} ({}): {message}{why} The tool did not run.", reason.as_str())
        }
        Error::ApprovalPending { approval, .. } => format!(
            "OakAuth: approval requested (id {}) for {tool}:{scope}; an administrator must approve; call this tool \
             again with the same arguments once approved (the request expires at {}). The tool did not run.",
            approval.id, approval.expires_at
        ),
        Error::ApprovalDenied { approval, .. } => format!(
            "OakAuth: an administrator denied approval {} for {tool}:{scope}{}. Do not call it again with the same \
             arguments; the tool did not run.",
            approval.id,
            approval
                .comment
                .as_deref()
                .map(|c| format!(", saying: {c:?}"))
                .unwrap_or_else(|| " without a comment".into())
        ),
        Error::ApprovalExpired { approval, .. } => format!(
            "OakAuth: approval {} for {tool}:{scope} expired: nobody decided in time, or the approved call was not \
             made in time (nobody denied it). Calling the tool again requests a new approval. The tool did not run.",
            approval.id
        ),
        Error::ApprovalConsumed { approval, .. } => format!(
            "OakAuth: approval {} for {tool}:{scope} was already used: an approval allows the call once. The tool \
             did not run this time.",
            approval.id
        ),
        Error::ApprovalCancelled { approval, .. } => {
            format!("OakAuth: approval {} for {tool}:{scope} was cancelled. The tool did not run.", approval.id)
        }
        Error::ApprovalMismatch { message, .. } => format!(
            "OakAuth: the approval named is not for this call to {tool}:{scope} ({message}). The tool did not run."
        ),
        Error::RateLimited { retry_after, .. } => format!(
            "OakAuth rate limit reached for {tool}:{scope}; retry in {} seconds. The tool did not run.",
            retry_after.as_secs().max(1)
        ),
        Error::QuotaExceeded { quota, .. } => format!(
            "OakAuth: this organization has used its {} validations for the month; every call is denied until {}. \
             The tool did not run; do not retry before then.",
            quota.limit, quota.resets_at
        ),
        other => format!("OakAuth could not check {tool}:{scope} ({other}), so the tool did not run."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ConditionResult, Effect, Explanation, Operator, Source};

    fn guard() -> McpGuard {
        let oak = OakAuth::builder("oak_example").base_url("https://oakauth.example.com").build().unwrap();
        McpGuard::new(oak).map_tool("pay", "payments", "send")
    }

    fn object(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn the_call_s_arguments_are_sent_without_the_reasoning() {
        let mut arguments = object(json!({"amount": 900, "to": "a@example.com", "_reasoning": "invoice 7"}));
        let check = guard().check_for("pay", &mut arguments).ok().unwrap();
        assert_eq!((check.tool.as_str(), check.scope.as_str()), ("payments", "send"));
        assert_eq!(check.reasoning.as_deref(), Some("invoice 7"));
        assert_eq!(check.arguments, object(json!({"amount": 900, "to": "a@example.com"})));
        assert_eq!(arguments, check.arguments, "the tool does not see the reasoning argument either");
        assert_eq!(check.context, object(json!({"mcp_tool": "pay"})));

        let mut none = None;
        let check = guard().check_for("search", &mut none).ok().unwrap();
        assert_eq!((check.arguments, check.reasoning), (None, None));

        let mut bad = object(json!({"_reasoning": 5}));
        assert!(guard().check_for("pay", &mut bad).is_err());
    }

    #[test]
    fn only_denies_that_no_arguments_could_lift_hide_a_tool() {
        let deny = |reason, condition: Option<ConditionResult>| Error::Denied {
            tool: "payments".into(),
            scope: "send".into(),
            reason,
            message: "denied".into(),
            decision_id: "dec_x".into(),
            explanation: Some(Box::new(Explanation {
                rule_id: Some("rul_1".into()),
                effect: Some(Effect::Deny),
                condition,
                message: "/amount is missing".into(),
            })),
        };
        let tested = ConditionResult {
            path: "conditions[0]".into(),
            source: Source::Arguments,
            pointer: "/amount".into(),
            op: Operator::Lt,
            expected: json!(500),
            observed: None,
            holds: false,
            error: Some("missing".into()),
        };
        assert!(!hides(&deny(ReasonCode::ConditionsNotMet, Some(tested.clone()))));
        assert!(!hides(&deny(ReasonCode::InvalidArguments, None)));
        assert!(!hides(&deny(ReasonCode::DeniedByRule, Some(tested))));
        assert!(hides(&deny(ReasonCode::DeniedByRule, None)), "a deny rule without conditions always denies");
        assert!(hides(&deny(ReasonCode::ScopeNotGranted, None)));
        assert!(!hides(&deny(ReasonCode::ReasoningRequired, None)));
    }

    #[test]
    fn a_refusal_tells_the_model_which_condition_failed() {
        let err = Error::Denied {
            tool: "payments".into(),
            scope: "send".into(),
            reason: ReasonCode::ConditionsNotMet,
            message: "No allow rule's conditions hold.".into(),
            decision_id: "dec_x".into(),
            explanation: Some(Box::new(Explanation {
                rule_id: Some("rul_1".into()),
                effect: Some(Effect::Allow),
                condition: None,
                message: "/amount is 900, not less than 500.".into(),
            })),
        };
        assert_eq!(
            explain(&err, "payments", "send", "_reasoning"),
            "OakAuth denied payments:send (conditions_not_met): No allow rule's conditions hold. \
             /amount is 900, not less than 500. The tool did not run."
        );
    }

    #[test]
    fn approvals_are_told_to_the_model_in_plain_terms_and_never_hide_a_tool() {
        let ticket = |status: &str, comment: Option<&str>| {
            Box::new(crate::wire::ApprovalTicket {
                id: "apr_1".into(),
                status: crate::wire::ApprovalStatus::parse(status).unwrap(),
                tool: "payments".into(),
                scope: "send".into(),
                expires_at: "2026-01-01T00:15:00.000Z".into(),
                poll_after_ms: 2000,
                decided_at: None,
                comment: comment.map(str::to_owned),
            })
        };
        let (message, decision_id) = (String::from("m"), String::from("dec_x"));
        let pending = Error::ApprovalPending {
            approval: ticket("pending", None),
            timed_out: false,
            message: message.clone(),
            decision_id: decision_id.clone(),
        };
        let text = explain(&pending, "payments", "send", "_reasoning");
        assert!(
            text.starts_with(
                "OakAuth: approval requested (id apr_1) for payments:send; an administrator must approve; \
                 call this tool again with the same arguments once approved"
            ),
            "{text}"
        );
        let denied = Error::ApprovalDenied {
            approval: ticket("denied", Some("not this month")),
            message: message.clone(),
            decision_id: decision_id.clone(),
        };
        let text = explain(&denied, "payments", "send", "_reasoning");
        assert!(text.contains("denied approval apr_1") && text.contains("\"not this month\""), "{text}");
        let expired = Error::ApprovalExpired {
            approval: ticket("expired", None),
            message: message.clone(),
            decision_id: decision_id.clone(),
        };
        assert!(explain(&expired, "payments", "send", "_reasoning").contains("nobody denied it"));
        let consumed = Error::ApprovalConsumed { approval: ticket("consumed", None), message, decision_id };
        assert!(explain(&consumed, "payments", "send", "_reasoning").contains("already used"));
        for err in [pending, denied, expired, consumed] {
            assert!(!hides(&err), "{err}");
            assert!(explain(&err, "payments", "send", "_reasoning").contains("did not run"));
        }
    }
}
