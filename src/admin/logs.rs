//! `/v1/admin/logs…`: the audit log, newest first, filtered, paged by cursor.

use oakauth_core::limits;
use oakauth_core::time::{format_ms, parse_rfc3339};
use oakauth_core::wire::{Explanation, LogEntry, LogList, ReasonCode, ReasoningPolicy, ShadowResult};
use serde_json::{Map, Value};
use worker::{Request, Response};

use super::Admin;
use crate::db::{self, Arg};
use crate::http::{json_response, query_param, ApiError, ApiResult};

/// An audit row as the log API shows it.
fn log_entry(row: db::AuditRow) -> ApiResult<LogEntry> {
    let reason = ReasonCode::parse(&row.reason)
        .ok_or_else(|| ApiError::internal(format!("audit row {} has an unknown reason", row.seq)))?;
    let context = parse_json::<Map<String, Value>>(row.context.as_deref())?;
    let arguments = parse_json::<Map<String, Value>>(row.arguments.as_deref())?;
    let explanation = parse_json::<Explanation>(row.explanation.as_deref())?;
    let shadow = parse_json::<Vec<ShadowResult>>(row.shadow.as_deref())?.unwrap_or_default();
    Ok(LogEntry {
        decision_id: row.decision_id,
        request_id: row.request_id,
        agent_id: row.agent_id,
        tool: row.tool,
        scope: row.scope,
        allowed: row.allowed == 1,
        reason,
        reasoning: row.reasoning,
        reasoning_required: ReasoningPolicy::parse(&row.reasoning_required).unwrap_or(ReasoningPolicy::None),
        reasoning_provided: row.reasoning_provided == 1,
        context,
        arguments,
        explanation,
        shadow,
        latency_ms: row.latency_ms.clamp(0, u32::MAX as i64) as u32,
        created_at: format_ms(row.created_at),
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(text: Option<&str>) -> ApiResult<Option<T>> {
    text.map(|t| serde_json::from_str(t).map_err(ApiError::internal)).transpose()
}

/// A log cursor: `created_at.seq` of the last row of the previous page.
fn parse_cursor(c: &str) -> ApiResult<(i64, i64)> {
    let bad = || ApiError::invalid_request("cursor is not a cursor this API returned");
    let (a, b) = c.split_once('.').ok_or_else(bad)?;
    if c.len() > 32 {
        return Err(bad());
    }
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(a), Ok(b)) if a >= 0 && b >= 0 => Ok((a, b)),
        _ => Err(bad()),
    }
}

/// Parses an optional RFC 3339 query parameter.
pub(super) fn time_param(url: &worker::Url, name: &str) -> ApiResult<Option<i64>> {
    match query_param(url, name)? {
        None => Ok(None),
        Some(s) => parse_rfc3339(&s).map(Some).map_err(|e| ApiError::invalid_request(format!("{name}: {e}"))),
    }
}

pub async fn list(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let url = req.url()?;
    for (k, _) in url.query_pairs() {
        if !["agent_id", "tool", "scope", "allowed", "reason", "since", "until", "limit", "cursor", "shadow"]
            .contains(&k.as_ref())
        {
            return Err(ApiError::invalid_request(format!("unknown query parameter {k:?}")));
        }
    }
    let limit = limits::page_size(query_param(&url, "limit")?.as_deref())?;
    let mut sql = format!("SELECT seq, {} FROM audit_log WHERE org_id = ?1", db::AUDIT_COLUMNS);
    let mut texts: Vec<(String, String)> = Vec::new(); // (column, value)
    if let Some(agent_id) = query_param(&url, "agent_id")? {
        if agent_id.len() > 64 {
            return Err(ApiError::invalid_request("agent_id is too long"));
        }
        // An agent's page is current: its object first writes what D1 does not have yet
        // (best effort; if that fails, the page may lag like the organization's list).
        if oakauth_core::ids::is_id("agt", &agent_id) {
            if let Err(e) = crate::agent_object::flush(&admin.env, &agent_id, &admin.ctx.org_id).await {
                worker::console_error!("logs: the rows of {agent_id} could not be flushed: {}", e.message);
            }
        }
        texts.push(("agent_id".into(), agent_id));
    }
    for field in ["tool", "scope"] {
        if let Some(v) = query_param(&url, field)? {
            limits::check_name(field, &v)?;
            texts.push((field.into(), v));
        }
    }
    if let Some(reason) = query_param(&url, "reason")? {
        let code =
            ReasonCode::parse(&reason).ok_or_else(|| ApiError::invalid_request("reason is not a known reason code"))?;
        texts.push(("reason".into(), code.as_str().into()));
    }
    let mut ints: Vec<(&str, &str, i64)> = Vec::new(); // (column, operator, value)
    if let Some(allowed) = query_param(&url, "allowed")? {
        let v = match allowed.as_str() {
            "true" => 1,
            "false" => 0,
            _ => return Err(ApiError::invalid_request("allowed must be true or false")),
        };
        ints.push(("allowed", "=", v));
    }
    if let Some(since) = time_param(&url, "since")? {
        ints.push(("created_at", ">=", since));
    }
    if let Some(until) = time_param(&url, "until")? {
        ints.push(("created_at", "<", until));
    }
    let cursor = match query_param(&url, "cursor")? {
        None => None,
        Some(c) => Some(parse_cursor(&c)?),
    };
    let mut args: Vec<Arg> = vec![Arg::from(&admin.ctx.org_id)];
    for (column, value) in &texts {
        args.push(Arg::from(value));
        sql.push_str(&format!(" AND {column} = ?{}", args.len()));
    }
    for (column, op, value) in &ints {
        args.push(Arg::Int(*value));
        sql.push_str(&format!(" AND {column} {op} ?{}", args.len()));
    }
    // Rows where a shadow rule would have denied: `shadow` is the JSON array the row's hash covers.
    match query_param(&url, "shadow")?.as_deref() {
        None => {}
        Some("deny") => sql.push_str(" AND instr(shadow, '\"would\":\"deny\"') > 0"),
        Some(_) => return Err(ApiError::invalid_request("shadow must be deny (rows a shadow rule would have denied)")),
    }
    if let Some((created_at, seq)) = cursor {
        args.push(Arg::Int(created_at));
        args.push(Arg::Int(seq));
        sql.push_str(&format!(" AND (created_at, seq) < (?{}, ?{})", args.len() - 1, args.len()));
    }
    args.push(Arg::Int(limit as i64 + 1));
    sql.push_str(&format!(" ORDER BY created_at DESC, seq DESC LIMIT ?{}", args.len()));

    let rows: Vec<db::AuditRow> = db::all(&admin.db, &sql, &args).await?;
    let mut rows = rows;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| format!("{}.{}", r.created_at, r.seq))
    } else {
        None
    };
    let logs = rows.into_iter().map(log_entry).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &LogList { logs, next_cursor: next }))
}

/// One decision's row: from D1, or, when D1 does not have it yet, from the agent's object that
/// committed it (decision ids name their agent), so a decision is readable as soon as it is
/// answered.
pub async fn get(admin: &Admin, decision_id: &str) -> ApiResult<Response> {
    if !oakauth_core::ids::is_decision_id(decision_id) {
        return Err(ApiError::not_found("no such decision"));
    }
    let row: Option<db::AuditRow> = db::first(
        &admin.db,
        &format!("SELECT seq, {} FROM audit_log WHERE decision_id = ?1 AND org_id = ?2", db::AUDIT_COLUMNS),
        &[Arg::from(decision_id), Arg::from(&admin.ctx.org_id)],
    )
    .await?;
    if let Some(row) = row {
        return Ok(json_response(200, &log_entry(row)?));
    }
    let Some(agent_id) = oakauth_core::ids::agent_of_decision(decision_id) else {
        return Err(ApiError::not_found("no such decision"));
    };
    let waiting = crate::agent_object::waiting_row(&admin.env, &agent_id, decision_id).await?;
    match waiting {
        Some(w) if w.record.org_id == admin.ctx.org_id => Ok(json_response(
            200,
            &log_entry(db::AuditRow::from(oakauth_core::audit::StoredRow { record: w.record, row_hash: w.row_hash }))?,
        )),
        _ => Err(ApiError::not_found("no such decision")),
    }
}
