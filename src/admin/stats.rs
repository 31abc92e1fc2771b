//! `/v1/admin/stats`: counts over a time range, for the dashboard's overview.

use std::collections::BTreeMap;

use oakauth_core::time::{format_ms, start_of_day};
use oakauth_core::wire::{AgentCount, LatencyDay, Stats, TimelinePoint, ToolCount};
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
struct LatencyRow {
    day: i64,
    n: i64,
    p50: i64,
    p95: i64,
    p99: i64,
}

/// Nearest-rank percentiles of `latency_ms` per UTC day of the range (`?1`…`?3` as `window`,
/// `?4` the day's length). A histogram first (one row per day and distinct latency, few since
/// latencies are whole milliseconds), then running counts over it: the p-th percentile of n
/// values is the smallest latency whose running count reaches ceil(p × n / 100), that is whose
/// `upto × 100 >= p × n`. The window functions run over the histogram, not over the decisions.
fn latency_sql(window: &str) -> String {
    format!(
        "WITH h AS (SELECT CAST(created_at / ?4 AS INTEGER) AS day, latency_ms AS v, COUNT(*) AS c FROM audit_log
                     WHERE {window} GROUP BY day, v),
              r AS (SELECT day, v, SUM(c) OVER (PARTITION BY day ORDER BY v) AS upto,
                           SUM(c) OVER (PARTITION BY day) AS n FROM h)
         SELECT day, n, MIN(CASE WHEN upto * 100 >= 50 * n THEN v END) AS p50,
                MIN(CASE WHEN upto * 100 >= 95 * n THEN v END) AS p95,
                MIN(CASE WHEN upto * 100 >= 99 * n THEN v END) AS p99
           FROM r GROUP BY day ORDER BY day"
    )
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
            db::stmt(
                db,
                &latency_sql(window),
                &[Arg::from(&admin.ctx.org_id), Arg::Int(since), Arg::Int(until), Arg::Int(DAY_MS)],
            )?,
        ],
    )
    .await?;
    let [totals, reasons, tools, agents, buckets, latencies] = results.as_slice() else {
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
    let latency = latencies
        .results::<LatencyRow>()?
        .into_iter()
        .map(|r| LatencyDay {
            day: format_ms(r.day * DAY_MS).chars().take(10).collect(),
            decisions: r.n.max(0) as u64,
            p50_ms: r.p50.max(0) as u64,
            p95_ms: r.p95.max(0) as u64,
            p99_ms: r.p99.max(0) as u64,
        })
        .collect();
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
            latency,
        },
    ))
}
