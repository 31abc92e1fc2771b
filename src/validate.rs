//! `POST /v1/validate`: parse and bound, authenticate, look up the tool and rule, then let the
//! agent's Durable Object take a token, decide, and write the audit row before we answer.

use oakauth_core::decision::ToolLookup;
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::limits;
use oakauth_core::wire::{RateLimitConfig, ReasonCode, ReasoningPolicy, ValidateRequest};
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::agent_object::{self, DecideCall, DecideAnswer};
use crate::auth;
use crate::db::{self, Arg};
use crate::http::{json_response, read_json, ApiError, ApiResult};

#[derive(Deserialize)]
struct AgentRow {
    id: String,
    org_id: String,
    enabled: i64,
    rate_capacity: i64,
    rate_refill: f64,
}

#[derive(Deserialize)]
struct ToolRow {
    require_reasoning: Option<String>,
}

pub async fn handle(mut req: Request, env: &Env, request_id: &str, started_ms: i64) -> ApiResult<Response> {
    let key = auth::presented_key(&req, KeyKind::Agent)?;
    let body: ValidateRequest = read_json(&mut req, limits::MAX_VALIDATE_BODY).await?;
    limits::check_validate(&body)?;

    let hash = keys::hash(&auth::hash_secret(env)?, &key);
    let database = db::database(env)?;
    let now = started_ms;
    // One round trip: the agent behind the key, and the tool with the rule for this scope.
    let statements = vec![
        db::stmt(
            &database,
            "SELECT a.id, a.org_id, a.enabled, a.rate_capacity, a.rate_refill
               FROM agent_keys k JOIN agents a ON a.id = k.agent_id
              WHERE k.key_hash = ?1 AND (k.expires_at IS NULL OR k.expires_at > ?2)",
            &[Arg::from(&hash), Arg::Int(now)],
        )?,
        db::stmt(
            &database,
            "SELECT r.require_reasoning
               FROM agent_keys k
               JOIN tools t ON t.agent_id = k.agent_id AND t.name = ?3
               LEFT JOIN rules r ON r.tool_id = t.id AND r.scope = ?4
              WHERE k.key_hash = ?1 AND (k.expires_at IS NULL OR k.expires_at > ?2)",
            &[Arg::from(&hash), Arg::Int(now), Arg::from(&body.tool), Arg::from(&body.scope)],
        )?,
    ];
    let results = database.batch(statements).await.map_err(ApiError::internal)?;
    let (agent_result, tool_result) = match results.as_slice() {
        [a, t] => (a, t),
        _ => return Err(ApiError::internal("unexpected batch result count")),
    };
    let Some(agent) = agent_result.results::<AgentRow>().map_err(ApiError::internal)?.into_iter().next() else {
        return Err(auth::rejected(&req, env, &key).await);
    };
    let tool = match tool_result.results::<ToolRow>().map_err(ApiError::internal)?.into_iter().next() {
        None => ToolLookup::Unknown,
        Some(row) => ToolLookup::Known {
            rule: match row.require_reasoning.as_deref() {
                None => None,
                // A policy we cannot read is treated as the strictest one.
                Some(p) => Some(ReasoningPolicy::parse(p).unwrap_or(ReasoningPolicy::Hard)),
            },
        },
    };

    let call = DecideCall {
        agent_id: agent.id,
        org_id: agent.org_id,
        enabled: agent.enabled == 1,
        rate_limit: RateLimitConfig {
            capacity: agent.rate_capacity.clamp(1, u32::MAX as i64) as u32,
            refill_per_second: agent.rate_refill,
        },
        tool_known: matches!(tool, ToolLookup::Known { .. }),
        rule: match tool {
            ToolLookup::Known { rule } => rule,
            ToolLookup::Unknown => None,
        },
        request: body,
        request_id: request_id.to_string(),
        started_ms,
    };
    let DecideAnswer { response, retry_after } = agent_object::decide(env, &call).await?;
    if response.reason == ReasonCode::RateLimited {
        let mut resp = json_response(429, &response);
        let _ = resp.headers_mut().set("Retry-After", &retry_after.max(1).to_string());
        return Ok(resp);
    }
    Ok(json_response(200, &response))
}
