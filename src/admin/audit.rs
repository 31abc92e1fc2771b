//! `/v1/admin/events` (what admins did) and `/v1/admin/audit/verify` (is the decision log intact).

use oakauth_core::audit::{BrokenLink, StoredRow, Verifier};
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
    actor_type: String,
    actor_id: Option<String>,
    actor_name: Option<String>,
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
        "SELECT seq, id, request_id, actor, actor_type, actor_id, actor_name, action, agent_id, target_id, detail, created_at
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
            actor_type: match r.actor_type.as_str() {
                "user" => oakauth_core::wire::accounts::ActorKind::User,
                "system" => oakauth_core::wire::accounts::ActorKind::System,
                _ => oakauth_core::wire::accounts::ActorKind::Key,
            },
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            agent_id: r.agent_id,
            target_id: r.target_id,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            created_at: format_ms(r.created_at),
        })
        .collect();
    Ok(json_response(200, &AdminEventList { events, next_cursor: next }))
}

const PAGE: i64 = 500;
/// Agents verified per call by default, and at most.
const DEFAULT_AGENTS: u32 = 50;
const MAX_AGENTS: u32 = 200;

async fn verify_agent(admin: &Admin, env: &Env, agent_id: &str) -> ApiResult<ChainVerification> {
    // Reading the head first also makes the object write any row left pending by a crash.
    let state = agent_object::chain_state(env, agent_id).await?;
    let mut verifier = Verifier::default();
    let mut after = i64::MIN;
    loop {
        // Rows are matched by agent only, not organization: a row moved into another
        // organization is a broken link too.
        let rows: Vec<db::AuditRow> = db::all(
            &admin.db,
            &format!(
                "SELECT seq, {} FROM audit_log WHERE agent_id = ?1 AND (chain_seq > ?2 OR chain_seq IS NULL)
                  ORDER BY chain_seq LIMIT ?3",
                db::AUDIT_COLUMNS
            ),
            &[Arg::from(agent_id), Arg::Int(after), Arg::Int(PAGE)],
        )
        .await?;
        let n = rows.len() as i64;
        for row in rows {
            let row = StoredRow::from(row);
            after = row.record.chain_seq;
            if row.record.org_id != admin.ctx.org_id {
                verifier.report(BrokenLink {
                    chain_seq: row.record.chain_seq,
                    decision_id: Some(row.record.decision_id.clone()),
                    problem: "row belongs to another organization".into(),
                });
            }
            verifier.push(&row);
        }
        if n < PAGE {
            break;
        }
    }
    for c in &state.conflicts {
        verifier.report(BrokenLink {
            chain_seq: c.record.chain_seq,
            decision_id: Some(c.record.decision_id.clone()),
            problem: format!(
                "integrity alarm: when this row was written, the database already held a different row in its place ({})",
                c.found
            ),
        });
    }
    let report = verifier.finish(&state.head);
    let mut breaks = report.breaks;
    breaks.sort_by_key(|b| b.chain_seq);
    Ok(ChainVerification {
        agent_id: agent_id.to_string(),
        ok: breaks.is_empty(),
        rows_checked: report.rows_checked,
        head_seq: state.head.seq,
        broken: breaks.first().cloned(),
        breaks,
        breaks_omitted: report.breaks_omitted,
    })
}

#[derive(Deserialize)]
struct Id {
    agent_id: String,
}

/// The next page of agents whose chains exist: those the organization's registry lists (kept
/// apart from D1, so deleting rows there cannot hide a chain) and those D1 knows as agents or as
/// authors of log rows. In id order, after `after`.
async fn agents_page(admin: &Admin, env: &Env, after: &str, limit: u32) -> ApiResult<(Vec<String>, Option<String>)> {
    let registered = crate::registry::agents(env, &admin.ctx.org_id, Some(after), limit + 1).await?;
    let known: Vec<String> = db::all::<Id>(
        &admin.db,
        "SELECT agent_id FROM (SELECT id AS agent_id FROM agents WHERE org_id = ?1
                               UNION SELECT DISTINCT agent_id FROM audit_log WHERE org_id = ?1)
          WHERE agent_id > ?2 ORDER BY agent_id LIMIT ?3",
        &[Arg::from(&admin.ctx.org_id), Arg::from(after), Arg::Int(limit as i64 + 1)],
    )
    .await?
    .into_iter()
    .map(|r| r.agent_id)
    .collect();
    let mut ids: Vec<String> = registered.into_iter().chain(known).collect();
    ids.sort();
    ids.dedup();
    if ids.len() > limit as usize {
        ids.truncate(limit as usize);
        let next = ids.last().cloned();
        Ok((ids, next))
    } else {
        Ok((ids, None))
    }
}

pub async fn verify(admin: &Admin, req: &Request, env: &Env) -> ApiResult<Response> {
    let url = req.url()?;
    for (k, _) in url.query_pairs() {
        if !["agent_id", "limit", "cursor"].contains(&k.as_ref()) {
            return Err(ApiError::invalid_request(format!("unknown query parameter {k:?}")));
        }
    }
    // Checked whether or not they are used (with `agent_id` they are not): a malformed page
    // parameter is an error, never silently ignored.
    let limit = match query_param(&url, "limit")? {
        None => DEFAULT_AGENTS,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_AGENTS).contains(&n) => n,
            _ => return Err(ApiError::invalid_request(format!("limit must be between 1 and {MAX_AGENTS}"))),
        },
    };
    let after = match query_param(&url, "cursor")? {
        None => String::new(),
        Some(c) if oakauth_core::ids::is_id("agt", &c) => c,
        Some(_) => return Err(ApiError::invalid_request("cursor is not a cursor this API returned")),
    };
    let (agent_ids, next_cursor) = match query_param(&url, "agent_id")? {
        Some(id) if oakauth_core::ids::is_id("agt", &id) => {
            #[derive(Deserialize)]
            struct Found {
                n: i64,
            }
            // Known to this organization as an agent, as the author of its log rows, or in its
            // registry of chains.
            let found: Option<Found> = db::first(
                &admin.db,
                "SELECT (SELECT COUNT(*) FROM agents WHERE id = ?1 AND org_id = ?2)
                      + (SELECT COUNT(*) FROM (SELECT 1 FROM audit_log WHERE agent_id = ?1 AND org_id = ?2 LIMIT 1)) AS n",
                &[Arg::from(&id), Arg::from(&admin.ctx.org_id)],
            )
            .await?;
            if found.map_or(0, |f| f.n) == 0 && !crate::registry::contains(env, &admin.ctx.org_id, &id).await? {
                return Err(ApiError::not_found("no such agent"));
            }
            (vec![id], None)
        }
        Some(_) => return Err(ApiError::not_found("no such agent")),
        None => agents_page(admin, env, &after, limit).await?,
    };
    let mut agents = Vec::with_capacity(agent_ids.len());
    for id in &agent_ids {
        agents.push(verify_agent(admin, env, id).await?);
    }
    Ok(json_response(200, &AuditVerification { ok: agents.iter().all(|a| a.ok), agents, next_cursor }))
}
