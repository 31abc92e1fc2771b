//! `/v1/admin/events` (what admins did) and `/v1/admin/audit/verify` (is the decision log intact).

use oakauth_core::audit::{AuditRecord, StoredRow, Verifier};
use oakauth_core::limits;
use oakauth_core::time::format_ms;
use oakauth_core::wire::{AdminEvent, AdminEventList, AuditVerification, ChainVerification};
use serde::Deserialize;
use worker::{Env, Request, Response};

use super::{cursor_param, next_cursor, Admin};
use crate::agent_object;
use crate::db::{self, Arg};
use crate::http::{json_response, query_param, ApiError, ApiResult};

#[derive(Deserialize)]
struct EventRow {
    seq: i64,
    id: String,
    request_id: String,
    actor: String,
    action: String,
    agent_id: Option<String>,
    target_id: String,
    detail: String,
    created_at: i64,
}

pub async fn events(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let url = req.url()?;
    for (k, _) in url.query_pairs() {
        if !["agent_id", "limit", "cursor"].contains(&k.as_ref()) {
            return Err(ApiError::invalid_request(format!("unknown query parameter {k:?}")));
        }
    }
    let limit = limits::page_size(query_param(&url, "limit")?.as_deref())?;
    let before = cursor_param(&url)?.unwrap_or(i64::MAX);
    let agent = query_param(&url, "agent_id")?;
    let mut sql = String::from(
        "SELECT seq, id, request_id, actor, action, agent_id, target_id, detail, created_at
           FROM admin_events WHERE org_id = ?1 AND seq < ?2",
    );
    let mut args = vec![Arg::from(&admin.ctx.org_id), Arg::Int(before)];
    if let Some(a) = &agent {
        if a.len() > 64 {
            return Err(ApiError::invalid_request("agent_id is too long"));
        }
        sql.push_str(" AND agent_id = ?3");
        args.push(Arg::from(a));
    }
    args.push(Arg::Int(limit as i64 + 1));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ?{}", args.len()));
    let rows: Vec<EventRow> = db::all(&admin.db, &sql, &args).await?;
    let (rows, next) = next_cursor(rows, limit, |r| r.seq);
    let events = rows
        .into_iter()
        .map(|r| AdminEvent {
            id: r.id,
            request_id: r.request_id,
            actor: r.actor,
            action: r.action,
            agent_id: r.agent_id,
            target_id: r.target_id,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            created_at: format_ms(r.created_at),
        })
        .collect();
    Ok(json_response(200, &AdminEventList { events, next_cursor: next }))
}

#[derive(Deserialize)]
struct ChainRow {
    decision_id: String,
    org_id: String,
    request_id: String,
    agent_id: String,
    tool: String,
    scope: String,
    allowed: i64,
    reason: String,
    reasoning: Option<String>,
    reasoning_required: String,
    reasoning_provided: i64,
    context: Option<String>,
    latency_ms: i64,
    created_at: i64,
    chain_seq: Option<i64>,
    prev_hash: Option<String>,
    row_hash: Option<String>,
}

impl From<ChainRow> for StoredRow {
    fn from(r: ChainRow) -> Self {
        StoredRow {
            row_hash: r.row_hash.unwrap_or_default(),
            record: AuditRecord {
                decision_id: r.decision_id,
                org_id: r.org_id,
                request_id: r.request_id,
                agent_id: r.agent_id,
                tool: r.tool,
                scope: r.scope,
                allowed: r.allowed == 1,
                reason: r.reason,
                reasoning: r.reasoning,
                reasoning_required: r.reasoning_required,
                reasoning_provided: r.reasoning_provided == 1,
                context: r.context,
                latency_ms: r.latency_ms,
                created_at: r.created_at,
                chain_seq: r.chain_seq.unwrap_or(0),
                prev_hash: r.prev_hash.unwrap_or_default(),
            },
        }
    }
}

const PAGE: i64 = 500;
/// Agents verified per call when no agent_id is given.
const MAX_AGENTS: i64 = 200;

async fn verify_agent(admin: &Admin, env: &Env, agent_id: &str) -> ApiResult<ChainVerification> {
    // Reading the head first also makes the object write any row left pending by a crash.
    let head = agent_object::chain_head(env, agent_id).await?;
    let mut verifier = Verifier::default();
    let mut after = i64::MIN;
    let mut broken = None;
    'pages: loop {
        // Rows are matched by agent only, not organization: a row moved into another
        // organization is a broken link too.
        let rows: Vec<ChainRow> = db::all(
            &admin.db,
            "SELECT decision_id, org_id, request_id, agent_id, tool, scope, allowed, reason, reasoning,
                    reasoning_required, reasoning_provided, context, latency_ms, created_at,
                    chain_seq, prev_hash, row_hash
               FROM audit_log WHERE agent_id = ?1 AND (chain_seq > ?2 OR chain_seq IS NULL)
              ORDER BY chain_seq LIMIT ?3",
            &[Arg::from(agent_id), Arg::Int(after), Arg::Int(PAGE)],
        )
        .await?;
        let n = rows.len() as i64;
        for row in rows {
            let row = StoredRow::from(row);
            after = row.record.chain_seq;
            if row.record.org_id != admin.ctx.org_id && broken.is_none() {
                broken = Some(oakauth_core::audit::BrokenLink {
                    chain_seq: row.record.chain_seq,
                    decision_id: Some(row.record.decision_id.clone()),
                    problem: "row belongs to another organization".into(),
                });
                break 'pages;
            }
            if let Err(b) = verifier.push(&row) {
                broken = Some(b);
                break 'pages;
            }
        }
        if n < PAGE {
            break;
        }
    }
    if broken.is_none() {
        broken = verifier.finish(&head).err();
    }
    Ok(ChainVerification {
        agent_id: agent_id.to_string(),
        ok: broken.is_none(),
        rows_checked: verifier.rows_checked,
        head_seq: head.seq,
        broken,
    })
}

pub async fn verify(admin: &Admin, req: &Request, env: &Env) -> ApiResult<Response> {
    let url = req.url()?;
    let agent_ids: Vec<String> = match query_param(&url, "agent_id")? {
        Some(id) if oakauth_core::ids::is_id("agt", &id) => {
            #[derive(Deserialize)]
            struct Found {
                n: i64,
            }
            // Known to this organization as an agent, or as the author of its log rows.
            let found: Option<Found> = db::first(
                &admin.db,
                "SELECT (SELECT COUNT(*) FROM agents WHERE id = ?1 AND org_id = ?2)
                      + (SELECT COUNT(*) FROM (SELECT 1 FROM audit_log WHERE agent_id = ?1 AND org_id = ?2 LIMIT 1)) AS n",
                &[Arg::from(&id), Arg::from(&admin.ctx.org_id)],
            )
            .await?;
            if found.map_or(0, |f| f.n) == 0 {
                return Err(ApiError::not_found("no such agent"));
            }
            vec![id]
        }
        Some(_) => return Err(ApiError::not_found("no such agent")),
        None => {
            #[derive(Deserialize)]
            struct Id {
                agent_id: String,
            }
            db::all::<Id>(
                &admin.db,
                "SELECT agent_id FROM (SELECT id AS agent_id FROM agents WHERE org_id = ?1
                                       UNION SELECT DISTINCT agent_id FROM audit_log WHERE org_id = ?1)
                  ORDER BY agent_id LIMIT ?2",
                &[Arg::from(&admin.ctx.org_id), Arg::Int(MAX_AGENTS)],
            )
            .await?
            .into_iter()
            .map(|r| r.agent_id)
            .collect()
        }
    };
    let mut agents = Vec::with_capacity(agent_ids.len());
    for id in &agent_ids {
        agents.push(verify_agent(admin, env, id).await?);
    }
    Ok(json_response(200, &AuditVerification { ok: agents.iter().all(|a| a.ok), agents }))
}
