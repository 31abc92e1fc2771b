//! `/v1/admin/agents/{agent_id}/rules…`: which tool scopes an agent may use, and how much
//! reasoning each needs.

use oakauth_core::ids;
use oakauth_core::limits;
use oakauth_core::time::format_ms;
use oakauth_core::wire::{CreateRule, ReasoningPolicy, Rule, RuleList, UpdateRule};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{agent_page, agents, find_one, now_ms, tools, Admin};
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, read_json, ApiError, ApiResult};
use oakauth_core::wire::AdminAction;
use oakauth_core::wire::ErrorCode;

#[derive(Deserialize)]
struct RuleRow {
    seq: i64,
    id: String,
    agent_id: String,
    tool_id: String,
    tool: String,
    scope: String,
    require_reasoning: String,
    created_at: i64,
    updated_at: i64,
}

impl From<RuleRow> for Rule {
    fn from(r: RuleRow) -> Self {
        Rule {
            id: r.id,
            agent_id: r.agent_id,
            tool_id: r.tool_id,
            tool: r.tool,
            scope: r.scope,
            require_reasoning: ReasoningPolicy::parse(&r.require_reasoning).unwrap_or(ReasoningPolicy::Hard),
            created_at: format_ms(r.created_at),
            updated_at: format_ms(r.updated_at),
        }
    }
}

const SELECT: &str = "SELECT r.seq, r.id, r.agent_id, r.tool_id, t.name AS tool, r.scope, r.require_reasoning,
                             r.created_at, r.updated_at
                        FROM rules r JOIN tools t ON t.id = r.tool_id";

async fn find(admin: &Admin, agent_id: &str, rule_id: &str) -> ApiResult<RuleRow> {
    let sql = format!("{SELECT} WHERE r.id = ?1 AND r.agent_id = ?2 AND r.org_id = ?3");
    let args = [Arg::from(rule_id), Arg::from(agent_id), Arg::from(&admin.ctx.org_id)];
    find_one(admin, ("rule", "rule"), rule_id, &sql, &args).await
}

pub async fn list(admin: &Admin, agent_id: &str, req: &Request) -> ApiResult<Response> {
    let (rows, next) = agent_page(admin, agent_id, req, (SELECT, "r."), |r: &RuleRow| r.seq).await?;
    Ok(json_response(200, &RuleList { rules: rows.into_iter().map(Rule::from).collect(), next_cursor: next }))
}

pub async fn create(admin: &Admin, agent_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: CreateRule = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    limits::check_create_rule(&body)?;
    agents::find(admin, agent_id).await?;
    let tool = tools::find_by_name(admin, agent_id, &body.tool)
        .await?
        .ok_or_else(|| ApiError::conflict(format!("tool {:?} is not registered for this agent", body.tool)))?;
    if !tool.scopes().contains(&body.scope) {
        return Err(ApiError::conflict(format!("scope {:?} is not one of tool {:?}'s scopes", body.scope, body.tool)));
    }
    let policy = body.require_reasoning.unwrap_or_else(|| tool.risk().default_policy());
    let id = ids::new_id("rule")?;
    let insert = db::stmt(
        &admin.db,
        // The scope is checked again inside the transaction: if a concurrent tool update removed
        // it, the scope becomes NULL and the NOT NULL constraint aborts the whole batch.
        "INSERT INTO rules (id, org_id, agent_id, tool_id, scope, require_reasoning, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4,
                 CASE WHEN EXISTS (SELECT 1 FROM tools t, json_each(t.scopes) s WHERE t.id = ?4 AND s.value = ?5)
                      THEN ?5 END,
                 ?6, ?7, ?7)",
        &[
            Arg::from(&id),
            Arg::from(&admin.ctx.org_id),
            Arg::from(agent_id),
            Arg::from(&tool.id),
            Arg::from(&body.scope),
            Arg::from(policy.as_str()),
            Arg::Int(now_ms()),
        ],
    )?;
    let event = admin.event(
        AdminAction::RuleCreate,
        Some(agent_id),
        &id,
        json!({"tool": body.tool, "scope": body.scope, "require_reasoning": policy}),
    )?;
    admin.commit(agent_id, vec![insert, event]).await.map_err(|e| {
        if e.code == ErrorCode::Conflict {
            ApiError::conflict(format!("a rule for {}:{} already exists", body.tool, body.scope))
        } else {
            e
        }
    })?;
    Ok(json_response(201, &Rule::from(find(admin, agent_id, &id).await?)))
}

pub async fn get(admin: &Admin, agent_id: &str, rule_id: &str) -> ApiResult<Response> {
    agents::find(admin, agent_id).await?;
    Ok(json_response(200, &Rule::from(find(admin, agent_id, rule_id).await?)))
}

pub async fn update(admin: &Admin, agent_id: &str, rule_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: UpdateRule = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    agents::find(admin, agent_id).await?;
    let rule = find(admin, agent_id, rule_id).await?;
    let update = db::stmt(
        &admin.db,
        "UPDATE rules SET require_reasoning = ?1, updated_at = ?2 WHERE id = ?3 AND org_id = ?4",
        &[
            Arg::from(body.require_reasoning.as_str()),
            Arg::Int(now_ms()),
            Arg::from(rule_id),
            Arg::from(&admin.ctx.org_id),
        ],
    )?;
    let event = admin.event(
        AdminAction::RuleUpdate,
        Some(agent_id),
        rule_id,
        json!({"tool": rule.tool, "scope": rule.scope, "require_reasoning": body.require_reasoning, "was": rule.require_reasoning}),
    )?;
    admin.commit(agent_id, vec![update, event]).await?;
    Ok(json_response(200, &Rule::from(find(admin, agent_id, rule_id).await?)))
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
