//! `POST /v1/validate`: parse and bound, check the key's format, find the agent the key belongs
//! to, and let the agent's Durable Object authenticate, decide and audit.
//!
//! Fail closed: once the request is known to be well formed, any failure to reach the agent's
//! state (D1, or the agent's Durable Object) is answered as a deny with reason `unavailable`
//! (HTTP 200, `Retry-After: 1`), never as a 5xx. Its `decision_id` has an audit row only when
//! the object could store one (see [`crate::agent_object`]).
//!
//! Which agent a key hash belongs to never changes (keys are never reassigned), so this isolate
//! remembers it; whether the key is still valid is decided by the agent's object on every call.

use std::cell::RefCell;
use std::collections::HashMap;

use oakauth_core::decision;
use oakauth_core::ids;
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::limits;
use oakauth_core::wire::{ReasonCode, ValidateRequest, ValidateResponse};
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::agent_object::{self, DecideAnswer, DecideCall};
use crate::auth;
use crate::db::{self, Arg};
use crate::http::{json_response, read_json, ApiResult};
use crate::receipts;

/// Key hashes remembered per isolate; the map is cleared when it reaches this size.
const KEY_CACHE_MAX: usize = 10_000;

thread_local! {
    static AGENT_OF_KEY: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

#[derive(Deserialize)]
struct KeyOwner {
    agent_id: String,
}

fn known_agent(hash: &str) -> Option<String> {
    AGENT_OF_KEY.with(|m| m.borrow().get(hash).cloned())
}

async fn agent_of_key(req: &Request, env: &Env, key: &str, hash: &str) -> ApiResult<String> {
    if let Some(id) = known_agent(hash) {
        return Ok(id);
    }
    // One lookup of a key at a time: concurrent first calls with a new key wait, then find it here.
    let _turn = crate::throttle::turn(hash).await;
    if let Some(id) = known_agent(hash) {
        return Ok(id);
    }
    // A key this isolate does not know: the client's throttle first (429 before any D1 read),
    // then D1; a key that matches nothing is counted as a failure.
    let lookup = async {
        if crate::injected_fault("key_lookup") {
            return Err(crate::http::ApiError::internal("injected fault: key lookup failed"));
        }
        // A slow database, so that calls overlap for certain (tests of concurrent first calls).
        if crate::injected_fault("slow_key_lookup") {
            worker::Delay::from(std::time::Duration::from_millis(300)).await;
        }
        let database = db::database(env)?;
        let owner: Option<KeyOwner> =
            db::first(&database, "SELECT agent_id FROM agent_keys WHERE key_hash = ?1", &[Arg::from(hash)]).await?;
        Ok(owner.map(|o| o.agent_id))
    };
    let agent_id = crate::throttle::guarded(req, env, key, auth::unauthorized(), lookup).await?;
    AGENT_OF_KEY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= KEY_CACHE_MAX {
            m.clear();
        }
        m.insert(hash.to_string(), agent_id.clone());
    });
    Ok(agent_id)
}

fn forget_key(hash: &str) {
    AGENT_OF_KEY.with(|m| m.borrow_mut().remove(hash));
}

/// The agent whose valid key the request presents, for the agent's routes other than validate
/// (its approvals). Throttled and answered exactly like validate's authentication.
pub async fn authenticate_agent(req: &Request, env: &Env) -> ApiResult<String> {
    let key = auth::presented_key(req, KeyKind::Agent)?;
    let hash = keys::hash(&auth::hash_secret(env)?, &key);
    let agent_id = agent_of_key(req, env, &key, &hash).await?;
    if agent_object::key_valid(env, &agent_id, &hash).await? {
        Ok(agent_id)
    } else {
        forget_key(&hash);
        Err(auth::rejected(req, env, &key).await)
    }
}

pub async fn handle(
    mut req: Request,
    env: &Env,
    request_id: &str,
    started_ms: i64,
    facts: &crate::observe::Facts,
) -> ApiResult<Response> {
    let key = auth::presented_key(&req, KeyKind::Agent)?;
    let body: ValidateRequest = read_json(&mut req, limits::MAX_VALIDATE_BODY).await?;
    limits::check_validate(&body)?;
    let (tool, scope, reasoning) = (body.tool.clone(), body.scope.clone(), body.reasoning.clone());

    let decided = authenticate_and_decide(&req, env, key, body, request_id, started_ms, facts).await;
    let (response, rate_retry_after) = match decided {
        Err(e) if e.status >= 500 => {
            // `ApiError::internal` has logged the cause; this line ties it to the answer.
            let decision_id = ids::new_id("dec").unwrap_or_else(|_| "dec_unavailable".to_string());
            worker::console_error!("validate {request_id}: answered unavailable ({decision_id}, no audit row)");
            (decision::unavailable(&tool, &scope, decision_id, reasoning.as_deref()), 0)
        }
        other => other?,
    };
    facts.decided(&response, &tool, &scope);
    let (status, retry_after) = match response.reason {
        ReasonCode::RateLimited | ReasonCode::QuotaExceeded => (429, Some(rate_retry_after.max(1))),
        ReasonCode::Unavailable => (200, Some(1)),
        _ => (200, None),
    };
    let mut resp = json_response(status, &response);
    if let Some(seconds) = retry_after {
        let _ = resp.headers_mut().set("Retry-After", &seconds.to_string());
    }
    Ok(resp)
}

async fn authenticate_and_decide(
    req: &Request,
    env: &Env,
    key: String,
    body: ValidateRequest,
    request_id: &str,
    started_ms: i64,
    facts: &crate::observe::Facts,
) -> ApiResult<(ValidateResponse, u64)> {
    let hash = keys::hash(&auth::hash_secret(env)?, &key);
    // Nothing is allowed without its receipt: keys that cannot sign fail the call before any
    // decision is made or audited.
    let ring = receipts::key_ring(env)?;
    let agent_id = agent_of_key(req, env, &key, &hash).await?;
    facts.agent(&agent_id);
    let client_ip = req.headers().get("CF-Connecting-IP").ok().flatten();
    // Tests move the quota's clock to a month boundary; never honoured without the test routes.
    let quota_clock_ms = if crate::test_routes_enabled(env) {
        req.headers()
            .get("X-OakAuth-Test-Clock")
            .ok()
            .flatten()
            .and_then(|v| oakauth_core::time::parse_rfc3339(&v).ok())
    } else {
        None
    };
    let call = DecideCall {
        agent_id,
        key_hash: hash,
        request: body,
        request_id: request_id.to_string(),
        started_ms,
        client_ip,
        quota_clock_ms,
    };
    if crate::injected_fault("agent_object") {
        return Err(crate::http::ApiError::internal("injected fault: the agent's object failed"));
    }
    match agent_object::decide(env, &call).await? {
        DecideAnswer::Decided { mut response, retry_after, org_id } => {
            facts.org(&org_id);
            if response.allowed {
                let issuer = receipts::issuer(req, env)?;
                let allowed = receipts::Allowed {
                    issuer: &issuer,
                    org_id: &org_id,
                    agent_id: &call.agent_id,
                    tool: &call.request.tool,
                    scope: &call.request.scope,
                    arguments: call.request.arguments.as_ref(),
                    decision_id: &response.decision_id,
                };
                response.receipt = Some(receipts::sign(&ring, &allowed, worker::Date::now().as_millis() as i64)?);
            }
            Ok((*response, retry_after))
        }
        DecideAnswer::KeyRejected => {
            forget_key(&call.key_hash);
            Err(auth::rejected(req, env, &key).await)
        }
    }
}
