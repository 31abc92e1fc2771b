//! `/v1/admin/agents/{agent_id}/rules…`: what an agent may do with its tools' scopes, under which
//! conditions, and how much reasoning each needs (see docs/policies.md).

use oakauth_core::approval;
use oakauth_core::condition;
use oakauth_core::ids;
use oakauth_core::limits;
use oakauth_core::policy;
use oakauth_core::time::format_ms;
use oakauth_core::wire::{Condition, CreateRule, Effect, ReasoningPolicy, Rule, RuleList, RuleMode, UpdateRule};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{agent_page, agents, find_one, now_ms, tools, Admin};
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, read_json_checked, ApiError, ApiResult};
use oakauth_core::wire::AdminAction;

#[derive(Deserialize)]
struct RuleRow {
    seq: i64,
    id: String,
    agent_id: String,
    tool_id: String,
    tool: String,
    scope: String,
    effect: String,
    require_reasoning: String,
    conditions: String,
    mode: String,
    description: String,
    approval_expiry_seconds: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl RuleRow {
    fn effect(&self) -> Effect {
        Effect::parse(&self.effect).unwrap_or(Effect::Deny)
    }
    fn mode(&self) -> RuleMode {
        RuleMode::parse(&self.mode).unwrap_or(RuleMode::Enforce)
    }
    fn policy(&self) -> ReasoningPolicy {
        ReasoningPolicy::parse(&self.require_reasoning).unwrap_or(ReasoningPolicy::Hard)
    }
    fn conditions(&self) -> ApiResult<Vec<Condition>> {
        serde_json::from_str(&self.conditions).map_err(ApiError::internal)
    }
}

impl TryFrom<RuleRow> for Rule {
    type Error = ApiError;
    fn try_from(r: RuleRow) -> ApiResult<Rule> {
        Ok(Rule {
            effect: r.effect(),
            mode: r.mode(),
            require_reasoning: r.policy(),
            conditions: r.conditions()?,
            id: r.id,
            agent_id: r.agent_id,
            tool_id: r.tool_id,
            tool: r.tool,
            scope: r.scope,
            description: r.description,
            approval_expiry_seconds: r.approval_expiry_seconds.map(|s| s.clamp(0, u32::MAX as i64) as u32),
            created_at: format_ms(r.created_at),
            updated_at: format_ms(r.updated_at),
        })
    }
}

const SELECT: &str =
    "SELECT r.seq, r.id, r.agent_id, r.tool_id, t.name AS tool, r.scope, r.effect, r.require_reasoning,
                             r.conditions, r.mode, r.description, r.approval_expiry_seconds, r.created_at,
                             r.updated_at
                        FROM rules r JOIN tools t ON t.id = r.tool_id";

async fn find(admin: &Admin, agent_id: &str, rule_id: &str) -> ApiResult<RuleRow> {
    let sql = format!("{SELECT} WHERE r.id = ?1 AND r.agent_id = ?2 AND r.org_id = ?3");
    let args = [Arg::from(rule_id), Arg::from(agent_id), Arg::from(&admin.ctx.org_id)];
    find_one(admin, ("rule", "rule"), rule_id, &sql, &args).await
}

async fn answer(admin: &Admin, agent_id: &str, rule_id: &str, status: u16) -> ApiResult<Response> {
    Ok(json_response(status, &Rule::try_from(find(admin, agent_id, rule_id).await?)?))
}

pub async fn list(admin: &Admin, agent_id: &str, req: &Request) -> ApiResult<Response> {
    let (rows, next) = agent_page(admin, agent_id, req, (SELECT, "r."), |r: &RuleRow| r.seq).await?;
    let rules = rows.into_iter().map(Rule::try_from).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &RuleList { rules, next_cursor: next }))
}

/// Checks conditions the way decisions will read them, against the tool's input schema: a 400
/// naming the offending condition otherwise.
fn check(
    effect: Effect,
    mode: RuleMode,
    conditions: &[Condition],
    schema: Option<&serde_json::Value>,
) -> ApiResult<String> {
    policy::compile("check", effect, mode, ReasoningPolicy::None, conditions, schema)?;
    serde_json::to_string(conditions).map_err(ApiError::internal)
}

/// A rule's approval expiry: only `require_approval` rules have one (NULL: the default).
fn approval_expiry(effect: Effect, requested: Option<u32>) -> ApiResult<Option<i64>> {
    match (effect, requested) {
        (Effect::RequireApproval, Some(s)) => Ok(Some(approval::expiry_seconds(Some(s))? as i64)),
        (Effect::RequireApproval, None) | (_, None) => Ok(None),
        (_, Some(_)) => Err(ApiError::invalid_request("approval_expiry_seconds is for require_approval rules only")),
    }
}

pub async fn create(admin: &Admin, agent_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: CreateRule = read_json_checked(&mut req, limits::MAX_ADMIN_BODY, condition::check_body).await?;
    limits::check_create_rule(&body)?;
    agents::find(admin, agent_id).await?;
    let tool = tools::find_by_name(admin, agent_id, &body.tool)
        .await?
        .ok_or_else(|| ApiError::conflict(format!("tool {:?} is not registered for this agent", body.tool)))?;
    if !tool.scopes().contains(&body.scope) {
        return Err(ApiError::conflict(format!("scope {:?} is not one of tool {:?}'s scopes", body.scope, body.tool)));
    }
    let effect = body.effect.unwrap_or_default();
    let mode = body.mode.unwrap_or_default();
    let conditions = body.conditions.clone().unwrap_or_default();
    let conditions_json = check(effect, mode, &conditions, tool.input_schema().as_ref())?;
    let policy = match effect {
        Effect::Deny => ReasoningPolicy::None,
        Effect::Allow | Effect::RequireApproval => {
            body.require_reasoning.unwrap_or_else(|| tool.risk().default_policy())
        }
    };
    let expiry = approval_expiry(effect, body.approval_expiry_seconds)?;
    let id = ids::new_id("rule")?;
    let insert = db::stmt(
        &admin.db,
        // The scope is checked again inside the transaction: if a concurrent tool update removed
        // it, the scope becomes NULL and the NOT NULL constraint aborts the whole batch. So is the
        // agent's number of rules.
        "INSERT INTO rules (id, org_id, agent_id, tool_id, scope, effect, require_reasoning, conditions, mode,
                            description, approval_expiry_seconds, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4,
                 CASE WHEN EXISTS (SELECT 1 FROM tools t, json_each(t.scopes) s WHERE t.id = ?4 AND s.value = ?5)
                       AND (SELECT COUNT(*) FROM rules WHERE agent_id = ?3) < ?12
                      THEN ?5 END,
                 ?6, ?7, ?8, ?9, ?10, ?13, ?11, ?11)",
        &[
            Arg::from(&id),
            Arg::from(&admin.ctx.org_id),
            Arg::from(agent_id),
            Arg::from(&tool.id),
            Arg::from(&body.scope),
            Arg::from(effect.as_str()),
            Arg::from(policy.as_str()),
            Arg::from(&conditions_json),
            Arg::from(mode.as_str()),
            Arg::from(body.description.as_deref().unwrap_or("")),
            Arg::Int(now_ms()),
            Arg::Int(limits::MAX_RULES_PER_AGENT as i64),
            Arg::from(expiry),
        ],
    )?;
    let event = admin.event(
        AdminAction::RuleCreate,
        Some(agent_id),
        &id,
        json!({"tool": body.tool, "scope": body.scope, "effect": effect, "require_reasoning": policy,
               "conditions": conditions, "mode": mode, "approval_expiry_seconds": expiry}),
    )?;
    admin.commit(agent_id, vec![insert, event]).await.map_err(|e| {
        if e.status >= 500 {
            e
        } else {
            ApiError::conflict(format!(
                "the rule was not saved: the scope was removed meanwhile, or the agent has {} rules already",
                limits::MAX_RULES_PER_AGENT
            ))
        }
    })?;
    answer(admin, agent_id, &id, 201).await
}

pub async fn get(admin: &Admin, agent_id: &str, rule_id: &str) -> ApiResult<Response> {
    agents::find(admin, agent_id).await?;
    answer(admin, agent_id, rule_id, 200).await
}

pub async fn update(admin: &Admin, agent_id: &str, rule_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: UpdateRule = read_json_checked(&mut req, limits::MAX_ADMIN_BODY, condition::check_body).await?;
    body.description.as_deref().map_or(Ok(()), limits::check_description)?;
    agents::find(admin, agent_id).await?;
    let rule = find(admin, agent_id, rule_id).await?;
    let tool = tools::find(admin, agent_id, &rule.tool_id).await?;
    let effect = body.effect.unwrap_or(rule.effect());
    let mode = body.mode.unwrap_or(rule.mode());
    let conditions = match &body.conditions {
        Some(c) => c.clone(),
        None => rule.conditions()?,
    };
    // New conditions are checked against the tool's schema; kept ones were when saved.
    let schema = body.conditions.as_ref().and(tool.input_schema());
    let conditions_json = check(effect, mode, &conditions, schema.as_ref())?;
    let policy = match effect {
        Effect::Deny => ReasoningPolicy::None,
        _ if rule.effect() == Effect::Deny => body.require_reasoning.unwrap_or_else(|| tool.risk().default_policy()),
        Effect::Allow | Effect::RequireApproval => body.require_reasoning.unwrap_or(rule.policy()),
    };
    let kept_expiry = rule.approval_expiry_seconds.map(|s| s.clamp(0, u32::MAX as i64) as u32);
    let expiry = match body.approval_expiry_seconds {
        Some(s) => approval_expiry(effect, Some(s))?,
        // A rule that stops asking for approval drops its expiry.
        None => approval_expiry(effect, kept_expiry.filter(|_| effect == Effect::RequireApproval))?,
    };
    let update = db::stmt(
        &admin.db,
        "UPDATE rules SET effect = ?1, require_reasoning = ?2, conditions = ?3, mode = ?4,
                description = COALESCE(?5, description), updated_at = ?6, approval_expiry_seconds = ?9
          WHERE id = ?7 AND org_id = ?8",
        &[
            Arg::from(effect.as_str()),
            Arg::from(policy.as_str()),
            Arg::from(&conditions_json),
            Arg::from(mode.as_str()),
            Arg::from(body.description.as_deref()),
            Arg::Int(now_ms()),
            Arg::from(rule_id),
            Arg::from(&admin.ctx.org_id),
            Arg::from(expiry),
        ],
    )?;
    let mut statements = vec![update];
    statements.push(admin.event(
        AdminAction::RuleUpdate,
        Some(agent_id),
        rule_id,
        json!({"tool": rule.tool, "scope": rule.scope, "effect": effect, "require_reasoning": policy,
               "conditions": conditions, "mode": mode, "set": body,
               "was": {"effect": rule.effect, "require_reasoning": rule.require_reasoning, "mode": rule.mode}}),
    )?);
    if mode != rule.mode() {
        statements.push(admin.event(
            AdminAction::RuleModeChange,
            Some(agent_id),
            rule_id,
            json!({"tool": rule.tool, "scope": rule.scope, "from": rule.mode, "to": mode}),
        )?);
    }
    admin.commit(agent_id, statements).await?;
    answer(admin, agent_id, rule_id, 200).await
}

pub async fn delete(admin: &Admin, agent_id: &str, rule_id: &str) -> ApiResult<Response> {
    agents::find(admin, agent_id).await?;
    let rule = find(admin, agent_id, rule_id).await?;
    let delete = db::stmt(
        &admin.db,
        "DELETE FROM rules WHERE id = ?1 AND org_id = ?2",
        &[Arg::from(rule_id), Arg::from(&admin.ctx.org_id)],
    )?;
    let event = admin.event(
        AdminAction::RuleDelete,
        Some(agent_id),
        rule_id,
        json!({"tool": rule.tool, "scope": rule.scope}),
    )?;
    admin.commit(agent_id, vec![delete, event]).await?;
    Ok(empty_response(204))
}
