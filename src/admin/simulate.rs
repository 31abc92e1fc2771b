//! `/v1/admin/simulate` and `/v1/admin/simulate/replay`: the production evaluator
//! ([`oakauth_core::policy`] and [`oakauth_core::decision`]) on a call, or on an agent's recent
//! audited calls, with its saved rules or a draft set. Touches no bucket, writes no audit row.

use oakauth_core::condition;
use oakauth_core::decision::{self, BucketOutcome};
use oakauth_core::limits;
use oakauth_core::policy::{self, Facts};
use oakauth_core::time::{format_ms, parse_rfc3339};
use oakauth_core::wire::{
    DraftRule, ReasonCode, ReasoningPolicy, ReplayChange, ReplayRequest, ReplayResponse, SimulateRequest,
    SimulateResponse, ValidateRequest,
};
use serde_json::{Map, Value};
use worker::{Request, Response};

use super::{agents, now_ms, Admin};
use crate::db::{self, Arg};
use crate::http::{json_response, read_json_checked, ApiError, ApiResult};
use crate::policy::Tools;

/// Most audited calls one replay reads.
const MAX_REPLAY: u32 = 1000;
const DEFAULT_REPLAY: u32 = 100;
/// Most rules in a draft set.
const MAX_DRAFT_RULES: usize = 200;

/// The agent's tools with `draft` in place of its saved rules, each draft rule checked like a
/// saved one (a 400 naming `rules[i]…` otherwise).
fn with_draft(mut tools: Tools, draft: &[DraftRule]) -> ApiResult<Tools> {
    if draft.len() > MAX_DRAFT_RULES {
        return Err(ApiError::invalid_request(format!("rules: at most {MAX_DRAFT_RULES} draft rules")));
    }
    for tool in tools.values_mut() {
        tool.rules.clear();
    }
    for (i, d) in draft.iter().enumerate() {
        let at = |msg: String| ApiError::invalid_request(format!("rules[{i}]: {msg}"));
        limits::check_name("tool", &d.tool).map_err(|e| at(e.to_string()))?;
        let id = d.id.clone().unwrap_or_else(|| format!("draft_{i}"));
        // As when saving a rule: a tool or scope the agent does not have is a conflict (409).
        let conflict = |msg: String| ApiError::conflict(format!("rules[{i}]: {msg}"));
        let tool = tools
            .get_mut(&d.tool)
            .ok_or_else(|| conflict(format!("tool {:?} is not registered for this agent", d.tool)))?;
        if !tool.scopes.contains(&d.scope) {
            return Err(conflict(format!("scope {:?} is not one of tool {:?}'s scopes", d.scope, d.tool)));
        }
        let effect = d.effect.unwrap_or_default();
        // A draft without a reasoning policy asks for none (a saved rule defaults from the risk level).
        let reasoning = d.require_reasoning.unwrap_or(ReasoningPolicy::None);
        let conditions = d.conditions.clone().unwrap_or_default();
        let compiled = policy::compile(&id, effect, d.mode.unwrap_or_default(), reasoning, &conditions, None)
            .map_err(|e| at(e.to_string()))?;
        tool.rules.push((d.scope.clone(), compiled));
    }
    Ok(tools)
}

/// Decides `call` as validate would for an enabled or disabled agent with tokens to spare.
fn decide(
    tools: &Tools,
    enabled: bool,
    call: &ValidateRequest,
    facts: &Facts,
    trace: bool,
) -> (decision::Decision, policy::Assessment) {
    let assessment = policy::assess(tools.get(&call.tool), &call.scope, facts, trace);
    let bucket = if enabled { BucketOutcome::Allowed } else { BucketOutcome::NotConsulted };
    let d = decision::decide(
        enabled,
        bucket,
        assessment.lookup.clone(),
        assessment.explanation.clone(),
        call.reasoning.as_deref(),
    );
    (d, assessment)
}

pub async fn simulate(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let body: SimulateRequest =
        read_json_checked(&mut req, limits::MAX_VALIDATE_BODY + limits::MAX_ADMIN_BODY, condition::check_body).await?;
    limits::check_validate(&body.request)?;
    let now = match &body.at {
        Some(at) => parse_rfc3339(at).map_err(|e| ApiError::invalid_request(format!("at: {e}")))?,
        None => now_ms(),
    };
    if let Some(ip) = &body.client_ip {
        if ip.len() > 64 {
            return Err(ApiError::invalid_request("client_ip is too long"));
        }
    }
    let agent = agents::find(admin, &body.agent_id).await?;
    let mut tools = crate::policy::load(&admin.db, &body.agent_id).await?;
    if let Some(draft) = &body.rules {
        tools = with_draft(tools, draft)?;
    }
    let call = &body.request;
    let facts = Facts {
        arguments: call.arguments.as_ref(),
        context: call.context.as_ref(),
        client_ip: body.client_ip.as_deref(),
        now_ms: now,
    };
    let (d, a) = decide(&tools, agent.enabled == 1, call, &facts, true);
    let answer = d.response(d.reason, (&call.tool, &call.scope), String::new(), 0, None);
    Ok(json_response(
        200,
        &SimulateResponse {
            allowed: answer.allowed,
            reason: answer.reason,
            message: answer.message,
            reasoning_required: answer.reasoning_required,
            reasoning_provided: answer.reasoning_provided,
            explanation: answer.explanation,
            shadow: a.shadow,
            trace: a.trace,
        },
    ))
}

#[derive(serde::Deserialize)]
struct Audited {
    decision_id: String,
    tool: String,
    scope: String,
    allowed: i64,
    reason: String,
    reasoning: Option<String>,
    context: Option<String>,
    arguments: Option<String>,
    #[serde(default)]
    explanation: Option<String>,
    created_at: i64,
}

/// What a replay compares: every outcome of the approval step (an approval requested, used,
/// denied, expired …) is the rules asking for approval, which is all a replay can know.
fn as_rules_decided(reason: ReasonCode, explanation: Option<&str>) -> ReasonCode {
    let asked = reason.as_str().starts_with("approval_")
        || explanation.is_some_and(|e| e.contains("\"effect\":\"require_approval\""));
    if asked {
        ReasonCode::ApprovalRequired
    } else {
        reason
    }
}

/// Reasons that came from the tool and its rules (not from the agent's state or the bucket).
fn decided_by_rules(r: ReasonCode) -> bool {
    !matches!(r, ReasonCode::AgentDisabled | ReasonCode::RateLimited | ReasonCode::Unavailable)
}

pub async fn replay(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let body: ReplayRequest = read_json_checked(&mut req, limits::MAX_ADMIN_BODY, condition::check_body).await?;
    let limit = body.limit.unwrap_or(DEFAULT_REPLAY);
    if !(1..=MAX_REPLAY).contains(&limit) {
        return Err(ApiError::invalid_request(format!("limit must be 1 to {MAX_REPLAY}")));
    }
    agents::find(admin, &body.agent_id).await?;
    // Replay the agent's latest decisions, including those D1 does not have yet (best effort).
    if let Err(e) = crate::agent_object::flush(&admin.env, &body.agent_id, &admin.ctx.org_id).await {
        worker::console_error!("replay: the rows of {} could not be flushed: {}", body.agent_id, e.message);
    }
    let tools = with_draft(crate::policy::load(&admin.db, &body.agent_id).await?, &body.rules)?;
    let rows: Vec<Audited> = db::all(
        &admin.db,
        "SELECT decision_id, tool, scope, allowed, reason, reasoning, context, arguments, explanation, created_at
           FROM audit_log WHERE org_id = ?1 AND agent_id = ?2 ORDER BY created_at DESC, seq DESC LIMIT ?3",
        &[Arg::from(&admin.ctx.org_id), Arg::from(&body.agent_id), Arg::Int(limit as i64)],
    )
    .await?;
    let mut replayed = 0;
    let mut changed = Vec::new();
    for row in rows {
        let Some(before) = ReasonCode::parse(&row.reason).filter(|r| decided_by_rules(*r)) else { continue };
        let before = as_rules_decided(before, row.explanation.as_deref());
        let parse = |t: &Option<String>| t.as_deref().and_then(|t| serde_json::from_str::<Map<String, Value>>(t).ok());
        let (arguments, context) = (parse(&row.arguments), parse(&row.context));
        let approximate =
            row.arguments.as_deref().is_some_and(|a| a.contains("[REDACTED]") || a.contains("… [sha256:"));
        let call = ValidateRequest {
            tool: row.tool.clone(),
            scope: row.scope.clone(),
            reasoning: row.reasoning.clone(),
            context: context.clone(),
            arguments: arguments.clone(),
            approval_id: None,
            request_approval: None,
        };
        let facts =
            Facts { arguments: arguments.as_ref(), context: context.as_ref(), client_ip: None, now_ms: row.created_at };
        let (d, _) = decide(&tools, true, &call, &facts, false);
        replayed += 1;
        if d.reason != before {
            changed.push(ReplayChange {
                decision_id: row.decision_id,
                created_at: format_ms(row.created_at),
                tool: row.tool,
                scope: row.scope,
                before,
                after: d.reason,
                allowed_before: row.allowed == 1,
                allowed_after: d.allowed(),
                explanation: d.explanation,
                approximate,
            });
        }
    }
    Ok(json_response(200, &ReplayResponse { replayed, changed }))
}
