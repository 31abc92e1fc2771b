//! The organization's plan and its use of each limit (`GET /v1/admin/usage`), and the plan
//! limits on creating agents, invitations and webhook endpoints (402 `plan_limit`).
//!
//! Validations are counted from the audit log: every recorded decision of the month except
//! `quota_exceeded` ones, which is exactly what the quota charges (docs/plans.md).

use oakauth_core::plans::{BillingStatus, OrgPlan, Quota};
use oakauth_core::quota::month_of;
use oakauth_core::time::format_ms;
use oakauth_core::wire::plans::{AgentUsage, DayUsage, Period, QuotaUsage, Usage, UsageQuotas};
use serde::Deserialize;
use worker::Response;

use super::{now_ms, Admin};
use crate::db::{self, Arg};
use crate::http::{json_response, ApiError, ApiResult};

#[derive(Deserialize)]
struct OrgRow {
    plan: String,
    custom_limits: Option<String>,
    billing_status: String,
    grace_until: Option<i64>,
}

/// The organization's plan as its row says.
pub async fn org_plan(admin: &Admin) -> ApiResult<OrgPlan> {
    let row: OrgRow = db::first(
        &admin.db,
        "SELECT plan, custom_limits, billing_status, grace_until FROM organizations WHERE id = ?1",
        &[Arg::from(&admin.ctx.org_id)],
    )
    .await?
    .ok_or_else(|| ApiError::internal("the caller's organization has no row"))?;
    Ok(OrgPlan::from_row(&row.plan, row.custom_limits.as_deref(), &row.billing_status, row.grace_until)?)
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// How many of `quota` the organization has now (validations: this month's, from the audit log).
async fn count(admin: &Admin, quota: Quota, now: i64) -> ApiResult<u64> {
    let org = Arg::from(&admin.ctx.org_id);
    let month = month_of(now);
    let (sql, args) = match quota {
        Quota::Agents => ("SELECT COUNT(*) AS n FROM agents WHERE org_id = ?1", vec![org]),
        Quota::Members => (
            "SELECT (SELECT COUNT(*) FROM memberships WHERE org_id = ?1)
                  + (SELECT COUNT(*) FROM invitations WHERE org_id = ?1 AND accepted_at IS NULL
                       AND revoked_at IS NULL AND expires_at > ?2) AS n",
            vec![org, Arg::Int(now)],
        ),
        Quota::WebhookEndpoints => ("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE org_id = ?1", vec![org]),
        Quota::Validations => (
            "SELECT COUNT(*) AS n FROM audit_log
             WHERE org_id = ?1 AND created_at >= ?2 AND created_at < ?3 AND reason != 'quota_exceeded'",
            vec![org, Arg::Int(month.start_ms), Arg::Int(month.end_ms)],
        ),
    };
    let n = db::first::<Count>(&admin.db, sql, &args).await?.map_or(0, |c| c.n);
    Ok(n.max(0) as u64)
}

/// 402 `plan_limit` when one more of `quota` would pass the plan's limit.
pub async fn check_room(admin: &Admin, quota: Quota) -> ApiResult<()> {
    let now = now_ms();
    let org = org_plan(admin).await?;
    if org.limits(now).get(quota).is_none() {
        return Ok(());
    }
    let current = count(admin, quota, now).await?;
    oakauth_core::plans::check_add(&org, quota, current, now).map_err(ApiError::plan_limit)
}

/// 402 `plan_limit` when enabling one more agent would pass the plan's agent limit (after a
/// downgrade disabled the newest agents, the organization may have more agents than the limit).
pub async fn check_room_to_enable(admin: &Admin) -> ApiResult<()> {
    let now = now_ms();
    let org = org_plan(admin).await?;
    if org.limits(now).agents.is_none() {
        return Ok(());
    }
    let enabled = db::first::<Count>(
        &admin.db,
        "SELECT COUNT(*) AS n FROM agents WHERE org_id = ?1 AND enabled = 1",
        &[Arg::from(&admin.ctx.org_id)],
    )
    .await?
    .map_or(0, |c| c.n.max(0) as u64);
    oakauth_core::plans::check_add(&org, Quota::Agents, enabled, now).map_err(ApiError::plan_limit)
}

#[derive(Deserialize)]
struct ByAgentDay {
    agent_id: String,
    day: i64,
    n: i64,
}

#[derive(Deserialize)]
struct AgentName {
    id: String,
    name: String,
}

pub async fn get(admin: &Admin) -> ApiResult<Response> {
    let now = now_ms();
    let org = org_plan(admin).await?;
    let limits = org.limits(now);
    let month = month_of(now);
    let rows: Vec<ByAgentDay> = db::all(
        &admin.db,
        "SELECT agent_id, created_at / 86400000 AS day, COUNT(*) AS n FROM audit_log
         WHERE org_id = ?1 AND created_at >= ?2 AND created_at < ?3 AND reason != 'quota_exceeded'
         GROUP BY agent_id, day",
        &[Arg::from(&admin.ctx.org_id), Arg::Int(month.start_ms), Arg::Int(month.end_ms)],
    )
    .await?;
    let mut by_day = std::collections::BTreeMap::<i64, u64>::new();
    let mut by_agent = std::collections::HashMap::<String, u64>::new();
    for r in &rows {
        *by_day.entry(r.day).or_default() += r.n.max(0) as u64;
        *by_agent.entry(r.agent_id.clone()).or_default() += r.n.max(0) as u64;
    }
    let names: Vec<AgentName> =
        db::all(&admin.db, "SELECT id, name FROM agents WHERE org_id = ?1", &[Arg::from(&admin.ctx.org_id)]).await?;
    let mut by_agent: Vec<AgentUsage> = by_agent
        .into_iter()
        .map(|(agent_id, validations)| AgentUsage {
            name: names.iter().find(|a| a.id == agent_id).map(|a| a.name.clone()),
            agent_id,
            validations,
        })
        .collect();
    by_agent.sort_by(|a, b| b.validations.cmp(&a.validations).then_with(|| a.agent_id.cmp(&b.agent_id)));
    let validations = by_agent.iter().map(|a| a.validations).sum();
    let quota = |q: Quota, used: u64| QuotaUsage { used, limit: limits.get(q) };
    let usage = Usage {
        organization_id: admin.ctx.org_id.clone(),
        plan: org.effective(now),
        subscribed_plan: org.plan,
        billing_status: org.status,
        grace_until: org.grace_until_ms.filter(|_| org.status == BillingStatus::PastDue).map(format_ms),
        billing_enabled: crate::billing_configured(&admin.env),
        period: Period { start: format_ms(month.start_ms), end: format_ms(month.end_ms) },
        quotas: UsageQuotas {
            validations: quota(Quota::Validations, validations),
            agents: quota(Quota::Agents, count(admin, Quota::Agents, now).await?),
            members: quota(Quota::Members, count(admin, Quota::Members, now).await?),
            webhook_endpoints: quota(Quota::WebhookEndpoints, count(admin, Quota::WebhookEndpoints, now).await?),
        },
        by_day: by_day
            .into_iter()
            .map(|(day, validations)| DayUsage { date: format_ms(day * 86_400_000)[..10].to_string(), validations })
            .collect(),
        by_agent,
    };
    Ok(json_response(200, &usage))
}
