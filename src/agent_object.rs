//! The agent's Durable Object: one per agent, named by the agent id.
//!
//! It holds the agent's token bucket in its storage (so a restart does not refill it) and makes
//! the final decision for each validate call one at a time, which makes the rate limit exact under
//! concurrency. It writes the decision's audit row to D1 and only then answers, so every answer
//! that leaves the service has its row.

use std::cell::RefCell;

use oakauth_core::bucket::Bucket;
use oakauth_core::decision::{self, BucketOutcome, ToolLookup};
use oakauth_core::wire::{RateLimitConfig, ReasonCode, ReasoningPolicy, ValidateRequest, ValidateResponse};
use oakauth_core::{ids, redact};
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

use crate::db::{self, Arg};
use crate::http::{ApiError, ApiResult};

const BUCKET_KEY: &str = "bucket";

/// What the worker asks the agent's object to decide.
#[derive(Debug, Serialize, Deserialize)]
pub struct DecideCall {
    pub agent_id: String,
    pub org_id: String,
    pub enabled: bool,
    pub rate_limit: RateLimitConfig,
    pub tool_known: bool,
    pub rule: Option<ReasoningPolicy>,
    pub request: ValidateRequest,
    pub request_id: String,
    pub started_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DecideAnswer {
    pub response: ValidateResponse,
    pub retry_after: u64,
}

/// Sends `call` to the agent's object and returns its decision. Any failure is an error (a deny).
pub async fn decide(env: &Env, call: &DecideCall) -> ApiResult<DecideAnswer> {
    let namespace = env.durable_object("AGENT_BUCKET")?;
    let stub = namespace.id_from_name(&call.agent_id)?.get_stub()?;
    let body = serde_json::to_string(call).map_err(ApiError::internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    let req = Request::new_with_init("https://agent-object/decide", &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(ApiError::internal(format!("agent object answered {}: {text}", resp.status_code())));
    }
    resp.json::<DecideAnswer>().await.map_err(ApiError::internal)
}

#[durable_object]
pub struct AgentBucket {
    state: State,
    env: Env,
    /// The bucket as last stored; loaded from storage on first use.
    bucket: RefCell<Option<Bucket>>,
}

impl DurableObject for AgentBucket {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, bucket: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<DecideAnswer> = async {
            if req.method() != Method::Post || req.path() != "/decide" {
                return Err(ApiError::not_found("unknown agent-object route"));
            }
            let call: DecideCall = req.json().await.map_err(ApiError::internal)?;
            self.decide(call).await
        }
        .await;
        match outcome {
            Ok(answer) => Ok(crate::http::json_response(200, &answer)),
            Err(e) => Ok(e.into_response()),
        }
    }
}

impl AgentBucket {
    async fn take(&self, config: RateLimitConfig, now_ms: i64) -> ApiResult<oakauth_core::bucket::Take> {
        if self.bucket.borrow().is_none() {
            let stored: Option<Bucket> = self.state.storage().get(BUCKET_KEY).await.map_err(ApiError::internal)?;
            let mut slot = self.bucket.borrow_mut();
            // Another request may have loaded it while we awaited storage; keep the first.
            if slot.is_none() {
                *slot = Some(stored.unwrap_or_else(|| Bucket::full(config, now_ms)));
            }
        }
        let (take, snapshot) = {
            let mut slot = self.bucket.borrow_mut();
            let bucket = slot.as_mut().expect("loaded above");
            (bucket.take(config, now_ms), *bucket)
        };
        // The in-memory bucket is the truth for this instance (the object runs one request's
        // synchronous code at a time); storage makes it survive a restart.
        self.state.storage().put(BUCKET_KEY, snapshot).await.map_err(ApiError::internal)?;
        Ok(take)
    }

    async fn decide(&self, call: DecideCall) -> ApiResult<DecideAnswer> {
        let now_ms = worker::Date::now().as_millis() as i64;
        let (bucket_outcome, rate_limit, retry_after) = if call.enabled {
            let take = self.take(call.rate_limit, now_ms).await?;
            let outcome = if take.allowed { BucketOutcome::Allowed } else { BucketOutcome::Limited };
            (outcome, Some(take.state), take.retry_after)
        } else {
            (BucketOutcome::NotConsulted, None, 0)
        };
        let tool = if call.tool_known { ToolLookup::Known { rule: call.rule } } else { ToolLookup::Unknown };
        let req = &call.request;
        let decision = decision::decide(call.enabled, bucket_outcome, tool, req.reasoning.as_deref());
        let decision_id = ids::new_id("dec")?;

        let reasoning = req.reasoning.as_deref().map(redact::text);
        let context = match &req.context {
            Some(ctx) => Some(serde_json::to_string(&redact::context(ctx)).map_err(ApiError::internal)?),
            None => None,
        };
        let latency_ms = (now_ms - call.started_ms).max(0);
        let database = db::database(&self.env)?;
        db::run(
            &database,
            "INSERT INTO audit_log (decision_id, org_id, request_id, agent_id, tool, scope, allowed, reason,
                                    reasoning, reasoning_required, reasoning_provided, context, latency_ms, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            &[
                Arg::from(&decision_id),
                Arg::from(&call.org_id),
                Arg::from(&call.request_id),
                Arg::from(&call.agent_id),
                Arg::from(&req.tool),
                Arg::from(&req.scope),
                Arg::from(decision.allowed()),
                Arg::from(decision.reason.as_str()),
                Arg::from(reasoning.as_deref()),
                Arg::from(decision.reasoning_required.as_str()),
                Arg::from(decision.reasoning_provided),
                Arg::from(context.as_deref()),
                Arg::Int(latency_ms),
                Arg::Int(now_ms),
            ],
        )
        .await?;

        let response = ValidateResponse {
            allowed: decision.allowed(),
            reason: decision.reason,
            message: decision::message(decision.reason, &req.tool, &req.scope, retry_after),
            decision_id,
            reasoning_required: decision.reasoning_required,
            reasoning_provided: decision.reasoning_provided,
            rate_limit,
        };
        debug_assert!(response.allowed == response.reason.is_allow());
        let retry_after = if decision.reason == ReasonCode::RateLimited { retry_after } else { 0 };
        Ok(DecideAnswer { response, retry_after })
    }
}
