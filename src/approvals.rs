//! Approvals in the worker: the rows in D1, the step a decision takes when a `require_approval`
//! rule holds (the rules are [`oakauth_core::approval`]'s), and the agent's own routes,
//! `GET /v1/approvals/{id}?wait=…` and `POST /v1/approvals/{id}/cancel`.
//!
//! D1 holds every approval. Each transition is one conditional `UPDATE … WHERE status = …`
//! (SQLite runs one writer at a time), so of two deciders, or of twenty identical calls racing
//! for one approval, exactly one wins; the losers read the row again and answer what it now says.

use oakauth_core::approval::{self, Approval, Binding, Status, Step};
use oakauth_core::ids;
use oakauth_core::time::format_ms;
use oakauth_core::webhook::EventType;
use oakauth_core::wire::{self, ApprovalTicket, ReasonCode};
use serde::Deserialize;
use worker::{D1Database, Env, Method, Request, Response};

use crate::db::{self, Arg};
use crate::http::{json_response, query_param, ApiError, ApiResult};

/// Longest long poll, in seconds: under the 30 s that many HTTP clients and proxies allow.
pub const MAX_WAIT_SECONDS: u64 = 25;
/// How often a long poll reads the approval again.
const WAIT_STEP_MS: u64 = 500;

/// The columns of [`Row`], for `SELECT`s and `RETURNING`s (which take no table alias).
pub const COLUMNS: &str = "seq, id, org_id, agent_id, tool, scope, arguments, arguments_digest, reasoning, rule_id, \
     rule_version, status, created_at, expires_at, decided_at, decided_by, comment, consumed_at, consumed_by, \
     requested_by";

/// An approval as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub seq: i64,
    pub id: String,
    pub org_id: String,
    pub agent_id: String,
    pub tool: String,
    pub scope: String,
    pub arguments: Option<String>,
    pub arguments_digest: String,
    pub reasoning: Option<String>,
    pub rule_id: String,
    pub rule_version: i64,
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    pub consumed_at: Option<i64>,
    pub consumed_by: Option<String>,
    pub requested_by: String,
    /// Joined from `agents` by the admin reads; absent elsewhere.
    #[serde(default)]
    pub agent_name: Option<String>,
}

impl Row {
    /// The approval for the core's state machine. A status this code does not know is taken as
    /// cancelled: it can then allow nothing.
    pub fn core(&self) -> Approval {
        Approval {
            id: self.id.clone(),
            binding: Binding {
                agent_id: self.agent_id.clone(),
                tool: self.tool.clone(),
                scope: self.scope.clone(),
                arguments_digest: self.arguments_digest.clone(),
                rule_id: self.rule_id.clone(),
                rule_version: self.rule_version,
            },
            created_ms: self.created_at,
            expires_ms: self.expires_at,
            status: Status::parse(&self.status).unwrap_or(Status::Cancelled),
            decided_by: self.decided_by.clone(),
            comment: self.comment.clone(),
            decided_ms: self.decided_at,
            consumed_by: self.consumed_by.clone(),
        }
    }

    pub fn ticket(&self, now_ms: i64) -> ApprovalTicket {
        self.core().ticket(now_ms)
    }

    /// As admins see it, with its status as of `now_ms`.
    pub fn wire(&self, now_ms: i64) -> wire::Approval {
        wire::Approval {
            id: self.id.clone(),
            agent_id: self.agent_id.clone(),
            agent_name: self.agent_name.clone(),
            tool: self.tool.clone(),
            scope: self.scope.clone(),
            arguments: self.arguments.as_deref().and_then(|a| serde_json::from_str(a).ok()),
            arguments_digest: self.arguments_digest.clone(),
            reasoning: self.reasoning.clone(),
            rule_id: self.rule_id.clone(),
            rule_version: format_ms(self.rule_version),
            status: self.core().status_at(now_ms),
            created_at: format_ms(self.created_at),
            expires_at: format_ms(self.expires_at),
            decided_at: self.decided_at.map(format_ms),
            decided_by: self.decided_by.clone(),
            comment: self.comment.clone(),
            consumed_at: self.consumed_at.map(format_ms),
            consumed_by: self.consumed_by.clone(),
            requested_by: self.requested_by.clone(),
        }
    }
}

/// The approval `id` of `agent_id`, if it exists.
pub async fn of_agent(database: &D1Database, agent_id: &str, id: &str) -> ApiResult<Option<Row>> {
    if !ids::is_id("apr", id) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1 AND agent_id = ?2");
    db::first(database, &sql, &[Arg::from(id), Arg::from(agent_id)]).await
}

async fn latest(database: &D1Database, agent_id: &str, binding_key: &str) -> ApiResult<Option<Row>> {
    let sql =
        format!("SELECT {COLUMNS} FROM approvals WHERE agent_id = ?1 AND binding_key = ?2 ORDER BY seq DESC LIMIT 1");
    db::first(database, &sql, &[Arg::from(agent_id), Arg::from(binding_key)]).await
}

/// What a call held by a `require_approval` rule brings to its approval.
pub struct Call<'a> {
    pub org_id: &'a str,
    pub binding: Binding,
    /// The approval the call names, if it names one.
    pub named: Option<&'a str>,
    /// Redacted, as the audit log stores them.
    pub arguments: Option<&'a str>,
    pub reasoning: Option<&'a str>,
    pub decision_id: &'a str,
    pub expiry_seconds: u32,
    /// False: answer `approval_required` rather than create an approval.
    pub may_request: bool,
    pub now_ms: i64,
}

/// How the call came out: its reason, and the approval it needed or used.
pub struct Resolved {
    pub reason: ReasonCode,
    pub approval: Option<Row>,
    /// The call asked for a new approval (an `approval.requested` event).
    pub requested: bool,
}

/// Takes the call's approval step ([`approval::step`]): consume an approved approval atomically,
/// request a new one, or answer with the one that governs the call.
pub async fn resolve(database: &D1Database, call: &Call<'_>) -> ApiResult<Resolved> {
    let agent_id = &call.binding.agent_id;
    let key = call.binding.key();
    let mut found = match call.named {
        Some(id) => of_agent(database, agent_id, id).await?,
        None => latest(database, agent_id, &key).await?,
    };
    let mut requested = false;
    // Each turn either answers or changes what is found; a race lost twice in a row is not
    // something that happens, and is answered as an error (a deny) rather than looped on.
    for _ in 0..3 {
        let step =
            approval::step(found.as_ref().map(Row::core).as_ref(), call.named.is_some(), &call.binding, call.now_ms);
        match step {
            Step::Answer(reason) => return Ok(Resolved { reason, approval: found, requested }),
            Step::Consume => {
                let row = found.as_ref().expect("a consumable approval was found");
                let consumed: Option<Row> = db::first(
                    database,
                    &format!(
                        "UPDATE approvals SET status = 'consumed', consumed_at = ?3, consumed_by = ?4
                          WHERE id = ?1 AND agent_id = ?2 AND status = 'approved' AND expires_at > ?3
                          RETURNING {COLUMNS}"
                    ),
                    &[
                        Arg::from(&row.id),
                        Arg::from(agent_id.as_str()),
                        Arg::Int(call.now_ms),
                        Arg::from(call.decision_id),
                    ],
                )
                .await?;
                match consumed {
                    Some(row) => return Ok(Resolved { reason: ReasonCode::Allowed, approval: Some(row), requested }),
                    // Another call used it (or it expired) meanwhile: see what it says now.
                    None => found = of_agent(database, agent_id, &row.id).await?,
                }
            }
            Step::Request if !call.may_request => {
                return Ok(Resolved { reason: ReasonCode::ApprovalRequired, approval: None, requested: false });
            }
            Step::Request => {
                found = request(database, call, &key).await?;
                requested = found.as_ref().is_some_and(|r| r.requested_by == call.decision_id);
            }
        }
    }
    Err(ApiError::internal("approval: the approval changed under three tries in a row"))
}

/// Inserts a pending approval unless one governs the call already (a concurrent identical call
/// may have just made it), and returns the latest approval for the call: one transaction.
async fn request(database: &D1Database, call: &Call<'_>, key: &str) -> ApiResult<Option<Row>> {
    let id = ids::new_id("apr")?;
    let pending = Approval::request(id.clone(), call.binding.clone(), call.now_ms, call.expiry_seconds);
    let b = &call.binding;
    let insert = db::stmt(
        database,
        "INSERT INTO approvals (id, org_id, agent_id, tool, scope, arguments, arguments_digest, reasoning, rule_id,
                                rule_version, binding_key, status, created_at, expires_at, requested_by)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, ?13, ?14
          WHERE NOT EXISTS (SELECT 1 FROM approvals
                             WHERE agent_id = ?3 AND binding_key = ?11 AND expires_at > ?12 AND status <> 'expired')",
        &[
            Arg::from(&id),
            Arg::from(call.org_id),
            Arg::from(&b.agent_id),
            Arg::from(&b.tool),
            Arg::from(&b.scope),
            Arg::from(call.arguments),
            Arg::from(&b.arguments_digest),
            Arg::from(call.reasoning),
            Arg::from(&b.rule_id),
            Arg::Int(b.rule_version),
            Arg::from(key),
            Arg::Int(call.now_ms),
            Arg::Int(pending.expires_ms),
            Arg::from(call.decision_id),
        ],
    )?;
    let read = db::stmt(
        database,
        &format!("SELECT {COLUMNS} FROM approvals WHERE agent_id = ?1 AND binding_key = ?2 ORDER BY seq DESC LIMIT 1"),
        &[Arg::from(&b.agent_id), Arg::from(key)],
    )?;
    let results = db::batch(database, vec![insert, read]).await?;
    Ok(results
        .get(1)
        .map(|r| r.results::<Row>())
        .transpose()
        .map_err(ApiError::internal)?
        .and_then(|v| v.into_iter().next()))
}

/// The sentence an approval reason's explanation carries, naming the approval.
pub fn explain(reason: ReasonCode, row: Option<&Row>) -> String {
    let Some(row) = row else {
        return match reason {
            ReasonCode::ApprovalRequired => "a person's approval would be needed (none was requested)".into(),
            _ => "no approval of this agent has that id".into(),
        };
    };
    let by = row.decided_by.as_deref().unwrap_or("an administrator");
    let comment = row.comment.as_deref().map(|c| format!(": {c:?}")).unwrap_or_default();
    match reason {
        ReasonCode::Allowed => format!("allowed once by approval {} (approved by {by}{comment})", row.id),
        ReasonCode::ApprovalRequired => {
            format!("approval {} waits for a person until {}", row.id, format_ms(row.expires_at))
        }
        ReasonCode::ApprovalDenied => format!("approval {} was denied by {by}{comment}", row.id),
        ReasonCode::ApprovalExpired => format!("approval {} expired undecided or unused", row.id),
        ReasonCode::ApprovalCancelled => format!("approval {} was cancelled", row.id),
        ReasonCode::ApprovalConsumed => {
            format!("approval {} was used by decision {}", row.id, row.consumed_by.as_deref().unwrap_or("?"))
        }
        _ => format!("approval {} is for another call", row.id),
    }
}

/// The webhook payload's `data` for an approval event: the approval as admins see it (arguments
/// redacted, never a key).
pub fn event_data(row: &Row, now_ms: i64) -> serde_json::Value {
    serde_json::to_value(row.wire(now_ms)).unwrap_or_default()
}

/// `/v1/approvals/{id}` and `/v1/approvals/{id}/cancel`, for the agent that asked.
pub async fn handle(req: Request, method: Method, env: &Env, rest: &[&str]) -> ApiResult<Response> {
    match (rest, &method) {
        ([id], Method::Get) => get(req, env, id).await,
        ([id, "cancel"], Method::Post) => cancel(req, env, id).await,
        ([_], _) => Err(ApiError::method_not_allowed(&["GET"])),
        ([_, "cancel"], _) => Err(ApiError::method_not_allowed(&["POST"])),
        _ => Err(ApiError::not_found("no such route")),
    }
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

fn not_found() -> ApiError {
    ApiError::not_found("no such approval")
}

async fn get(req: Request, env: &Env, id: &str) -> ApiResult<Response> {
    let wait = match query_param(&req.url()?, "wait")? {
        None => 0,
        Some(w) => match w.parse::<u64>() {
            Ok(n) if n <= MAX_WAIT_SECONDS => n,
            _ => {
                return Err(ApiError::invalid_request(format!(
                    "wait must be a whole number of seconds, 0 to {MAX_WAIT_SECONDS}"
                )))
            }
        },
    };
    let agent_id = crate::validate::authenticate_agent(&req, env).await?;
    let database = db::database(env)?;
    let deadline = now_ms() + (wait * 1000) as i64;
    loop {
        let row = of_agent(&database, &agent_id, id).await?.ok_or_else(not_found)?;
        let now = now_ms();
        let ticket = row.ticket(now);
        if ticket.status != Status::Pending || now >= deadline {
            return Ok(json_response(200, &ticket));
        }
        let step = (deadline - now).clamp(1, WAIT_STEP_MS as i64) as u64;
        worker::Delay::from(std::time::Duration::from_millis(step)).await;
    }
}

async fn cancel(req: Request, env: &Env, id: &str) -> ApiResult<Response> {
    let agent_id = crate::validate::authenticate_agent(&req, env).await?;
    let database = db::database(env)?;
    let now = now_ms();
    let cancelled: Option<Row> = if ids::is_id("apr", id) {
        db::first(
            &database,
            &format!(
                "UPDATE approvals SET status = 'cancelled', decided_at = ?3
                  WHERE id = ?1 AND agent_id = ?2 AND status = 'pending' AND expires_at > ?3
                  RETURNING {COLUMNS}"
            ),
            &[Arg::from(id), Arg::from(&agent_id), Arg::Int(now)],
        )
        .await?
    } else {
        None
    };
    match cancelled {
        Some(row) => Ok(json_response(200, &row.ticket(now))),
        None => {
            let row = of_agent(&database, &agent_id, id).await?.ok_or_else(not_found)?;
            Err(ApiError::conflict(format!(
                "approval {id} is {}, not pending: only a pending approval can be cancelled",
                row.core().status_at(now).as_str()
            )))
        }
    }
}

/// Tells the organization's webhook dispatcher about an event on an approval.
pub async fn emit(env: &Env, event: EventType, row: &Row, now_ms: i64) {
    crate::webhooks::emit(env, &row.org_id, event, event_data(row, now_ms), now_ms).await;
}
