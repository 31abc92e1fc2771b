//! `/v1/admin/approvals…`: the organization's approvals, and a person's decision on one.

use oakauth_core::approval::{self, Status};
use oakauth_core::limits;
use oakauth_core::webhook::EventType;
use oakauth_core::wire::{AdminAction, ApprovalDecision, ApprovalList, Decision};
use serde_json::json;
use worker::{Request, Response};

use super::{cursor_param, next_cursor, now_ms, Admin};
use crate::approvals::{Row, COLUMNS};
use crate::db::{self, Arg};
use crate::http::{json_response, query_param, read_json, ApiError, ApiResult};

fn select() -> String {
    format!(
        "SELECT {COLUMNS}, (SELECT name FROM agents WHERE agents.id = approvals.agent_id) AS agent_name FROM approvals"
    )
}

async fn find(admin: &Admin, id: &str) -> ApiResult<Row> {
    let missing = || ApiError::not_found("no such approval");
    if !oakauth_core::ids::is_id("apr", id) {
        return Err(missing());
    }
    let sql = format!("{} WHERE id = ?1 AND org_id = ?2", select());
    db::first(&admin.db, &sql, &[Arg::from(id), Arg::from(&admin.ctx.org_id)]).await?.ok_or_else(missing)
}

/// Newest first. A status filter is as of now: `pending` and `approved` past their expiry are
/// `expired`.
pub async fn list(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let url = req.url()?;
    let limit = limits::page_size(query_param(&url, "limit")?.as_deref())?;
    let before = cursor_param(&url)?.unwrap_or(i64::MAX);
    let now = now_ms();
    let mut sql = format!("{} WHERE org_id = ?1 AND seq < ?2 AND ?3 = ?3 AND (?5 IS NULL OR agent_id = ?5)", select());
    let status = match query_param(&url, "status")? {
        None => None,
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            ApiError::invalid_request("status must be pending, approved, denied, expired, cancelled or consumed")
        })?),
    };
    sql.push_str(match status {
        None => "",
        Some(Status::Pending) => " AND status = 'pending' AND expires_at > ?3",
        Some(Status::Approved) => " AND status = 'approved' AND expires_at > ?3",
        Some(Status::Expired) => {
            " AND (status = 'expired' OR (status IN ('pending', 'approved') AND expires_at <= ?3))"
        }
        Some(Status::Denied) => " AND status = 'denied'",
        Some(Status::Cancelled) => " AND status = 'cancelled'",
        Some(Status::Consumed) => " AND status = 'consumed'",
    });
    let agent_id = query_param(&url, "agent_id")?;
    if let Some(a) = &agent_id {
        if a.len() > 64 {
            return Err(ApiError::invalid_request("agent_id must be at most 64 characters"));
        }
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?4");
    let args = [
        Arg::from(&admin.ctx.org_id),
        Arg::Int(before),
        Arg::Int(now),
        Arg::Int(limit as i64 + 1),
        Arg::from(agent_id.as_deref()),
    ];
    let rows: Vec<Row> = db::all(&admin.db, &sql, &args).await?;
    let (rows, next) = next_cursor(rows, limit, |r| r.seq);
    let approvals = rows.iter().map(|r| r.wire(now)).collect();
    Ok(json_response(200, &ApprovalList { approvals, next_cursor: next }))
}

pub async fn get(admin: &Admin, id: &str) -> ApiResult<Response> {
    Ok(json_response(200, &find(admin, id).await?.wire(now_ms())))
}

/// Approves or denies a pending approval: one conditional update and its admin event, together
/// or not at all, so of two admins deciding at once exactly one decides.
pub async fn decide(admin: &Admin, id: &str, mut req: Request) -> ApiResult<Response> {
    let body: ApprovalDecision = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    let comment = body.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    comment.map_or(Ok(()), approval::check_comment)?;
    let row = find(admin, id).await?;
    let now = now_ms();
    let (approve, action) = match body.decision {
        Decision::Approve => (true, AdminAction::ApprovalApprove),
        Decision::Deny => (false, AdminAction::ApprovalDeny),
    };
    // The core's state machine says whether it can be decided and what it becomes; the
    // conditional update below makes that hold against a concurrent decision too.
    let mut decided = row.core();
    if decided.decide(approve, admin.ctx.actor_label(), comment, now).is_err() {
        return Err(not_pending(id, decided.status_at(now)));
    }
    let status = decided.status;
    let update = db::stmt(
        &admin.db,
        "UPDATE approvals SET status = ?1, decided_at = ?2, decided_by = ?3, comment = ?4
          WHERE id = ?5 AND org_id = ?6 AND status = 'pending' AND expires_at > ?2",
        &[
            Arg::from(status.as_str()),
            Arg::Int(now),
            Arg::from(admin.ctx.actor_label()),
            Arg::from(comment),
            Arg::from(id),
            Arg::from(&admin.ctx.org_id),
        ],
    )?;
    let detail = json!({"tool": row.tool, "scope": row.scope, "decision": status.as_str(), "comment": comment});
    // The event is written only if this request's update is the one that decided.
    let event = admin.event_if(
        action,
        Some(&row.agent_id),
        id,
        detail,
        ("SELECT 1 FROM approvals WHERE id = ?10 AND decided_at = ?11 AND decided_by = ?12", id, now),
    )?;
    db::batch(&admin.db, vec![update, event]).await?;
    let after = find(admin, id).await?;
    let decided_here = after.decided_at == Some(now) && after.decided_by.as_deref() == Some(admin.ctx.actor_label());
    if !decided_here || after.core().status_at(now) != status {
        return Err(not_pending(id, after.core().status_at(now)));
    }
    crate::approvals::emit(&admin.env, EventType::ApprovalDecided, &after, now).await;
    Ok(json_response(200, &after.wire(now)))
}

fn not_pending(id: &str, status: Status) -> ApiError {
    ApiError::conflict(format!("approval {id} is {}, not pending: it can no longer be decided", status.as_str()))
}
