//! `/v1/admin/agents…`: create (key shown once), list, get, update, delete, rotate key.

use oakauth_core::ids;
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::limits;
use oakauth_core::time::format_ms;
use oakauth_core::webhook::EventType;
use oakauth_core::wire::{Agent, AgentList, AgentWithKey, CreateAgent, RateLimitConfig, RotateKey, UpdateAgent};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use super::{find_one, now_ms, page, Admin};
use crate::auth::hash_secret;
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, read_json, read_optional_json, ApiError, ApiResult};
use oakauth_core::wire::AdminAction;
use oakauth_core::wire::ErrorCode;

#[derive(Deserialize)]
pub(super) struct AgentRow {
    seq: i64,
    id: String,
    name: String,
    pub(super) enabled: i64,
    key_prefix: String,
    rate_capacity: i64,
    rate_refill: f64,
    created_at: i64,
    updated_at: i64,
}

impl From<AgentRow> for Agent {
    fn from(r: AgentRow) -> Self {
        Agent {
            id: r.id,
            name: r.name,
            enabled: r.enabled == 1,
            key_prefix: r.key_prefix,
            rate_limit: RateLimitConfig { capacity: r.rate_capacity as u32, refill_per_second: r.rate_refill },
            created_at: format_ms(r.created_at),
            updated_at: format_ms(r.updated_at),
        }
    }
}

const COLUMNS: &str = "seq, id, name, enabled, key_prefix, rate_capacity, rate_refill, created_at, updated_at";

/// The agent with this id in the caller's organization, or 404.
pub(super) async fn find(admin: &Admin, agent_id: &str) -> ApiResult<AgentRow> {
    let sql = format!("SELECT {COLUMNS} FROM agents WHERE id = ?1 AND org_id = ?2");
    find_one(admin, ("agt", "agent"), agent_id, &sql, &[Arg::from(agent_id), Arg::from(&admin.ctx.org_id)]).await
}

pub async fn list(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let select = format!("SELECT {COLUMNS} FROM agents WHERE org_id = ?1");
    let (rows, next) =
        page(admin, req, &select, "seq", vec![Arg::from(&admin.ctx.org_id)], |r: &AgentRow| r.seq).await?;
    Ok(json_response(200, &AgentList { agents: rows.into_iter().map(Agent::from).collect(), next_cursor: next }))
}

pub async fn create(admin: &Admin, mut req: Request, env: &Env) -> ApiResult<Response> {
    let body: CreateAgent = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    limits::check_create_agent(&body)?;
    super::usage::check_room(admin, oakauth_core::plans::Quota::Agents).await?;
    let rate = body.rate_limit.unwrap_or_default();
    let id = ids::new_id("agt")?;
    let key = keys::generate(KeyKind::Agent)?;
    let hash = keys::hash(&hash_secret(env)?, &key.secret);
    let now = now_ms();
    db::batch(
        &admin.db,
        vec![
            db::stmt(
                &admin.db,
                "INSERT INTO agents (id, org_id, name, enabled, key_hash, key_prefix, rate_capacity, rate_refill, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                &[
                    Arg::from(&id),
                    Arg::from(&admin.ctx.org_id),
                    Arg::from(&body.name),
                    Arg::from(body.enabled.unwrap_or(true)),
                    Arg::from(&hash),
                    Arg::from(&key.prefix),
                    Arg::Int(rate.capacity as i64),
                    Arg::Real(rate.refill_per_second),
                    Arg::Int(now),
                ],
            )?,
            db::stmt(
                &admin.db,
                "INSERT INTO agent_keys (key_hash, agent_id, org_id, key_prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                &[Arg::from(&hash), Arg::from(&id), Arg::from(&admin.ctx.org_id), Arg::from(&key.prefix), Arg::Int(now)],
            )?,
            admin.event(
                AdminAction::AgentCreate,
                Some(&id),
                &id,
                json!({"name": body.name, "enabled": body.enabled.unwrap_or(true), "rate_limit": rate, "key_prefix": key.prefix}),
            )?,
        ],
    )
    .await
    .map_err(|e| name_conflict(e, &body.name))?;
    let agent: Agent = find(admin, &id).await?.into();
    admin.notify(EventType::AgentChanged, json!({"action": "agent.create", "agent": agent})).await;
    Ok(json_response(201, &AgentWithKey { agent, api_key: key.secret, previous_key_expires_at: None }))
}

fn name_conflict(e: ApiError, name: &str) -> ApiError {
    if e.code == ErrorCode::Conflict {
        ApiError::conflict(format!("an agent named {name:?} already exists"))
    } else {
        e
    }
}

pub async fn get(admin: &Admin, agent_id: &str) -> ApiResult<Response> {
    let agent = find(admin, agent_id).await?;
    Ok(json_response(200, &Agent::from(agent)))
}

pub async fn update(admin: &Admin, agent_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: UpdateAgent = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    limits::check_update_agent(&body)?;
    let current = find(admin, agent_id).await?;
    let name = body.name.clone().unwrap_or(current.name.clone());
    let action = match body.enabled {
        Some(false) if current.enabled == 1 => AdminAction::AgentDisable,
        Some(true) if current.enabled == 0 => AdminAction::AgentEnable,
        _ => AdminAction::AgentUpdate,
    };
    if action == AdminAction::AgentEnable {
        // After a downgrade disabled agents, enabling one needs room among the enabled ones.
        super::usage::check_room_to_enable(admin).await?;
    }
    // Only the fields sent are written: a concurrent change to another field (an emergency
    // disable during a rename) is never undone by this one.
    let update = db::stmt(
        &admin.db,
        "UPDATE agents SET name = COALESCE(?1, name), enabled = COALESCE(?2, enabled),
                rate_capacity = COALESCE(?3, rate_capacity), rate_refill = COALESCE(?4, rate_refill), updated_at = ?5
          WHERE id = ?6 AND org_id = ?7",
        &[
            Arg::from(body.name.as_deref()),
            body.enabled.map_or(Arg::Null, Arg::from),
            body.rate_limit.map_or(Arg::Null, |rl| Arg::Int(rl.capacity as i64)),
            body.rate_limit.map_or(Arg::Null, |rl| Arg::Real(rl.refill_per_second)),
            Arg::Int(now_ms()),
            Arg::from(agent_id),
            Arg::from(&admin.ctx.org_id),
        ],
    )?;
    let event = admin.event(action, Some(agent_id), agent_id, serde_json::to_value(&body).unwrap_or_default())?;
    admin.commit(agent_id, vec![update, event]).await.map_err(|e| name_conflict(e, &name))?;
    let agent = Agent::from(find(admin, agent_id).await?);
    admin.notify(EventType::AgentChanged, json!({"action": action.as_str(), "agent": agent})).await;
    Ok(json_response(200, &agent))
}

pub async fn delete(admin: &Admin, agent_id: &str) -> ApiResult<Response> {
    let agent = find(admin, agent_id).await?;
    let scoped = [Arg::from(agent_id), Arg::from(&admin.ctx.org_id)];
    let mut statements = db::stmts(
        &admin.db,
        &[
            "DELETE FROM rules WHERE agent_id = ?1 AND org_id = ?2",
            "DELETE FROM tools WHERE agent_id = ?1 AND org_id = ?2",
            "DELETE FROM agent_keys WHERE agent_id = ?1 AND org_id = ?2",
            "DELETE FROM agents WHERE id = ?1 AND org_id = ?2",
        ],
        &scoped,
    )?;
    statements.push(admin.event(AdminAction::AgentDelete, Some(agent_id), agent_id, json!({"name": agent.name}))?);
    admin.commit(agent_id, statements).await?;
    admin
        .notify(
            EventType::AgentChanged,
            json!({"action": "agent.delete", "agent": {"id": agent_id, "name": agent.name}}),
        )
        .await;
    Ok(empty_response(204))
}

pub async fn rotate_key(admin: &Admin, agent_id: &str, mut req: Request, env: &Env) -> ApiResult<Response> {
    let body: RotateKey = read_optional_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    let overlap = body.overlap_seconds.unwrap_or(limits::DEFAULT_OVERLAP_SECONDS);
    if overlap > limits::MAX_OVERLAP_SECONDS {
        return Err(ApiError::invalid_request(format!(
            "overlap_seconds must be between 0 and {}",
            limits::MAX_OVERLAP_SECONDS
        )));
    }
    find(admin, agent_id).await?;
    let key = keys::generate(KeyKind::Agent)?;
    let hash = keys::hash(&hash_secret(env)?, &key.secret);
    let now = now_ms();
    let expires = now + overlap as i64 * 1000;
    let org = &admin.ctx.org_id;
    admin.commit(
        agent_id,
        vec![
            // Old keys end at the overlap, or earlier if an earlier rotation already set that.
            db::stmt(
                &admin.db,
                "UPDATE agent_keys SET expires_at = MIN(COALESCE(expires_at, ?1), ?1) WHERE agent_id = ?2 AND org_id = ?3",
                &[Arg::Int(expires), Arg::from(agent_id), Arg::from(org)],
            )?,
            db::stmt(
                &admin.db,
                "INSERT INTO agent_keys (key_hash, agent_id, org_id, key_prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                &[Arg::from(&hash), Arg::from(agent_id), Arg::from(org), Arg::from(&key.prefix), Arg::Int(now)],
            )?,
            db::stmt(
                &admin.db,
                "UPDATE agents SET key_hash = ?1, key_prefix = ?2, updated_at = ?3 WHERE id = ?4 AND org_id = ?5",
                &[Arg::from(&hash), Arg::from(&key.prefix), Arg::Int(now), Arg::from(agent_id), Arg::from(org)],
            )?,
            // Expired keys are of no use; keep the table small.
            db::stmt(
                &admin.db,
                "DELETE FROM agent_keys WHERE agent_id = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2",
                &[Arg::from(agent_id), Arg::Int(now)],
            )?,
            admin.event(
                AdminAction::AgentRotateKey,
                Some(agent_id),
                agent_id,
                json!({"overlap_seconds": overlap, "key_prefix": key.prefix}),
            )?,
        ],
    )
    .await?;
    let agent = find(admin, agent_id).await?;
    let previous_key_expires_at = (overlap > 0).then(|| format_ms(expires));
    admin
        .notify(
            EventType::KeyRotated,
            json!({"agent_id": agent_id, "key_prefix": key.prefix, "previous_key_expires_at": previous_key_expires_at}),
        )
        .await;
    Ok(json_response(200, &AgentWithKey { agent: agent.into(), api_key: key.secret, previous_key_expires_at }))
}

/// `agent.changed` for agents OakAuth itself changed (a downgrade disabled them), sent as an
/// admin's change of the same agents would be. Sent after the change is committed; an agent
/// deleted meanwhile is skipped.
pub async fn notify_system_change(env: &Env, org_id: &str, agent_ids: &[String], action: AdminAction) -> ApiResult<()> {
    let database = db::database(env)?;
    let sql = format!("SELECT {COLUMNS} FROM agents WHERE id = ?1 AND org_id = ?2");
    for agent_id in agent_ids {
        let row: Option<AgentRow> =
            db::first(&database, &sql, &[Arg::from(agent_id.as_str()), Arg::from(org_id)]).await?;
        if let Some(row) = row {
            let data = json!({"action": action.as_str(), "agent": Agent::from(row)});
            crate::webhooks::emit(env, org_id, EventType::AgentChanged, data, now_ms()).await;
        }
    }
    Ok(())
}
