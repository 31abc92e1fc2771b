//! `/v1/admin/stats`: counts over a time range, for the dashboard's overview.

use std::collections::BTreeMap;

use oakauth_core::time::{format_ms, start_of_day};
use oakauth_core::wire::{AgentCount, Stats, TimelinePoint, ToolCount};
use serde::Deserialize;
use worker::{Request, Response};

use super::logs::time_param;
use super::{now_ms, Admin};
use crate::db::{self, Arg};
use crate::http::{json_response, ApiError, ApiResult};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const MAX_BUCKETS: i64 = 100;
/// Longest range a stats query may cover.
const MAX_RANGE_MS: i64 = 366 * DAY_MS;

#[derive(Deserialize)]
struct Totals {
    total: i64,
    allowed: Option<i64>,
}
#[derive(Deserialize)]
struct ReasonRow {
    reason: String,
    n: i64,
}
#[derive(Deserialize)]
struct ToolRow {
    tool: String,
    total: i64,
    denied: i64,
}
#[derive(Deserialize)]
struct AgentRow {
    agent_id: String,
    name: Option<String>,
    total: i64,
    allowed: i64,
}
#[derive(Deserialize)]
struct BucketRow {
    b: i64,
    allowed: i64,
    denied: i64,
}

pub async fn get(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let url = req.url()?;
    let now = now_ms();
    let since = time_param(&url, "since")?.unwrap_or_else(|| start_of_day(now));
    let until = time_param(&url, "until")?.unwrap_or(now);
    if until <= since {
        return Err(ApiError::invalid_request("until must be after since"));
    }
    if until - since > MAX_RANGE_MS {
        return Err(ApiError::invalid_request("the range may cover at most 366 days"));
    }
    let range = until - since;
    let bucket_ms = if range <= 2 * DAY_MS {
        HOUR_MS
    } else if range <= MAX_BUCKETS * DAY_MS {
        DAY_MS
    } else {
        (range + MAX_BUCKETS * DAY_MS - 1) / (MAX_BUCKETS * DAY_MS) * DAY_MS
    };
    let org = Arg::from(&admin.ctx.org_id);
    let window = "org_id = ?1 AND created_at >= ?2 AND created_at < ?3";
    let base = [org, Arg::Int(since), Arg::Int(until)];
    let db = &admin.db;
    let results = db::idempotent_batch(
        db,
        vec![
            db::stmt(db, &format!("SELECT COUNT(*) AS total, SUM(allowed) AS allowed FROM audit_log WHERE {window}"), &base)?,
            db::stmt(
                db,
                &format!("SELECT reason, COUNT(*) AS n FROM audit_log WHERE {window} AND allowed = 0 GROUP BY reason"),
                &base,
            )?,
            db::stmt(
                db,
                &format!(
                    "SELECT tool, COUNT(*) AS total, SUM(1 - allowed) AS denied FROM audit_log WHERE {window}
                     GROUP BY tool ORDER BY total DESC, tool LIMIT 10"
                ),
                &base,
            )?,
            db::stmt(
                db,
                "SELECT l.agent_id, a.name, COUNT(*) AS total, SUM(l.allowed) AS allowed
                       FROM audit_log l LEFT JOIN agents a ON a.id = l.agent_id
                      WHERE l.org_id = ?1 AND l.created_at >= ?2 AND l.created_at < ?3
                      GROUP BY l.agent_id ORDER BY total DESC, l.agent_id LIMIT 50",
                &base,
            )?,
            db::stmt(
                db,
                &format!(
                    "SELECT CAST((created_at - ?2) / ?4 AS INTEGER) AS b, SUM(allowed) AS allowed, SUM(1 - allowed) AS denied
                       FROM audit_log WHERE {window} GROUP BY b"
                ),
                &[Arg::from(&admin.ctx.org_id), Arg::Int(since), Arg::Int(until), Arg::Int(bucket_ms)],
            )?,
        ],
    )
    .await?;
    let [totals, reasons, tools, agents, buckets] = results.as_slice() else {
        return Err(ApiError::internal("unexpected batch result count"));
    };
    let totals = totals.results::<Totals>()?.into_iter().next().unwrap_or(Totals { total: 0, allowed: None });
    let total = totals.total.max(0) as u64;
    let allowed = totals.allowed.unwrap_or(0).max(0) as u64;
    let denials_by_reason: BTreeMap<String, u64> =
        reasons.results::<ReasonRow>()?.into_iter().map(|r| (r.reason, r.n.max(0) as u64)).collect();
    let top_tools = tools
        .results::<ToolRow>()?
        .into_iter()
        .map(|r| ToolCount { tool: r.tool, total: r.total as u64, denied: r.denied.max(0) as u64 })
        .collect();
    let agents = agents
        .results::<AgentRow>()?
        .into_iter()
        .map(|r| AgentCount {
            agent_id: r.agent_id,
            name: r.name,
            total: r.total as u64,
            allowed: r.allowed.max(0) as u64,
            denied: (r.total - r.allowed).max(0) as u64,
        })
        .collect();
    let n_buckets = ((range + bucket_ms - 1) / bucket_ms).max(1);
    let mut timeline: Vec<TimelinePoint> = (0..n_buckets)
        .map(|i| TimelinePoint { start: format_ms(since + i * bucket_ms), allowed: 0, denied: 0 })
        .collect();
    for row in buckets.results::<BucketRow>()? {
        if let Some(point) = usize::try_from(row.b).ok().and_then(|i| timeline.get_mut(i)) {
            point.allowed = row.allowed.max(0) as u64;
            point.denied = row.denied.max(0) as u64;
        }
    }
    Ok(json_response(
        200,
        &Stats {
            since: format_ms(since),
            until: format_ms(until),
            total,
            allowed,
            denied: total.saturating_sub(allowed),
            denials_by_reason,
            top_tools,
            agents,
            bucket_seconds: (bucket_ms / 1000) as u64,
            timeline,
        },
    ))
}
