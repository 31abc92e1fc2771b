//! The agent's Durable Object: one per agent, named by the agent id.
//!
//! It holds the agent's token bucket in its storage (so a restart does not refill it) and makes
//! the final decision for each validate call one at a time, which makes the rate limit exact under
//! concurrency. It links each decision into the agent's audit hash chain, keeps the chain head in
//! its own storage, and stores the row durably here ("pending") before writing it to D1. It
//! answers only after the D1 write, so every answer that leaves the service has its row; a row
//! whose D1 write was cut short by a crash is written from the pending copy on the object's next
//! start.
//!
//! The same class, under names `authfail:…`, counts failed authentications for throttling.

use std::cell::RefCell;

use oakauth_core::audit::{AuditRecord, ChainHead};
use oakauth_core::bucket::Bucket;
use oakauth_core::decision::{self, BucketOutcome, ToolLookup};
use oakauth_core::wire::{RateLimitConfig, ReasonCode, ReasoningPolicy, ValidateRequest, ValidateResponse};
use oakauth_core::{ids, redact};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

use crate::db::{self, Arg};
use crate::http::{ApiError, ApiResult};

const BUCKET_KEY: &str = "bucket";
const CHAIN_KEY: &str = "chain";
const PENDING_PREFIX: &str = "pending:";

/// Failed authentications allowed per client address or key prefix: a burst, then one per 6 s.
pub const AUTH_FAIL_LIMIT: RateLimitConfig = RateLimitConfig { capacity: 20, refill_per_second: 1.0 / 6.0 };

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

/// Calls `path` on the object named `name` with a JSON body; any failure is an error (a deny).
async fn call_object<B: Serialize, T: DeserializeOwned>(env: &Env, name: &str, path: &str, body: &B) -> ApiResult<T> {
    let namespace = env.durable_object("AGENT_BUCKET")?;
    let stub = namespace.id_from_name(name)?.get_stub()?;
    let body = serde_json::to_string(body).map_err(ApiError::internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    let req = Request::new_with_init(&format!("https://agent-object{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(ApiError::internal(format!("agent object answered {}: {text}", resp.status_code())));
    }
    resp.json::<T>().await.map_err(ApiError::internal)
}

/// Sends `call` to the agent's object and returns its decision.
pub async fn decide(env: &Env, call: &DecideCall) -> ApiResult<DecideAnswer> {
    call_object(env, &call.agent_id, "/decide", call).await
}

/// The head of the agent's audit chain, after any pending rows have been written to D1.
pub async fn chain_head(env: &Env, agent_id: &str) -> ApiResult<ChainHead> {
    call_object(env, agent_id, "/head", &()).await
}

/// Records one failed authentication for `subject` (a client address or key prefix). Returns the
/// seconds to wait when the subject has failed too often, else `None`.
pub async fn auth_failure(env: &Env, subject: &str) -> ApiResult<Option<u64>> {
    let take: oakauth_core::bucket::Take = call_object(env, &format!("authfail:{subject}"), "/authfail", &()).await?;
    Ok((!take.allowed).then_some(take.retry_after.max(1)))
}

#[durable_object]
pub struct AgentBucket {
    state: State,
    env: Env,
    /// Bucket and chain head as last stored; loaded from storage on first use.
    loaded: RefCell<Option<Loaded>>,
}

#[derive(Clone)]
struct Loaded {
    bucket: Option<Bucket>,
    chain: ChainHead,
}

impl DurableObject for AgentBucket {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, loaded: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<Response> = async {
            if req.method() != Method::Post {
                return Err(ApiError::not_found("unknown agent-object route"));
            }
            let json = |v: &dyn erased::Json| crate::http::json_response(200, &v.value());
            match req.path().as_str() {
                "/decide" => {
                    let call: DecideCall = req.json().await.map_err(ApiError::internal)?;
                    let answer = self.decide(call).await?;
                    Ok(json(&answer))
                }
                "/head" => {
                    self.load().await?;
                    let head = self.loaded.borrow().as_ref().map(|l| l.chain.clone()).unwrap_or_default();
                    Ok(json(&head))
                }
                "/authfail" => {
                    let now_ms = worker::Date::now().as_millis() as i64;
                    let take = self.take(AUTH_FAIL_LIMIT, now_ms).await?;
                    Ok(json(&take))
                }
                _ => Err(ApiError::not_found("unknown agent-object route")),
            }
        }
        .await;
        Ok(outcome.unwrap_or_else(ApiError::into_response))
    }
}

/// Lets `fetch` serialize answers of different types through one closure.
mod erased {
    pub trait Json {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

impl AgentBucket {
    /// Loads the bucket and chain head, and writes to D1 any row left pending by a crash.
    async fn load(&self) -> ApiResult<()> {
        if self.loaded.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let bucket: Option<Bucket> = storage.get(BUCKET_KEY).await.map_err(ApiError::internal)?;
        let chain: ChainHead = storage.get(CHAIN_KEY).await.map_err(ApiError::internal)?.unwrap_or_default();
        let pending = storage
            .list_with_options(worker::ListOptions::new().prefix(PENDING_PREFIX))
            .await
            .map_err(ApiError::internal)?;
        let mut rows: Vec<(String, AuditRecord)> = Vec::new();
        for entry in pending.entries() {
            let entry = entry.map_err(|e| ApiError::internal(format!("{e:?}")))?;
            let pair: worker::js_sys::Array = entry.into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let record: AuditRecord = serde_wasm_bindgen::from_value(pair.get(1)).map_err(ApiError::internal)?;
            rows.push((key, record));
        }
        for (key, record) in rows {
            write_row(&self.env, &record).await?;
            storage.delete(&key).await.map_err(ApiError::internal)?;
        }
        let mut slot = self.loaded.borrow_mut();
        // Another request may have loaded while we awaited storage; keep the first.
        if slot.is_none() {
            *slot = Some(Loaded { bucket, chain });
        }
        Ok(())
    }

    async fn take(&self, config: RateLimitConfig, now_ms: i64) -> ApiResult<oakauth_core::bucket::Take> {
        self.load().await?;
        let (take, snapshot) = {
            let mut slot = self.loaded.borrow_mut();
            let loaded = slot.as_mut().expect("loaded above");
            let bucket = loaded.bucket.get_or_insert_with(|| Bucket::full(config, now_ms));
            (bucket.take(config, now_ms), *bucket)
        };
        // The in-memory bucket is the truth for this instance (the object runs one request's
        // synchronous code at a time); storage makes it survive a restart.
        self.state.storage().put(BUCKET_KEY, snapshot).await.map_err(ApiError::internal)?;
        Ok(take)
    }

    async fn decide(&self, call: DecideCall) -> ApiResult<DecideAnswer> {
        let now_ms = worker::Date::now().as_millis() as i64;
        self.load().await?;
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

        let context = match &req.context {
            Some(ctx) => Some(serde_json::to_string(&redact::context(ctx)).map_err(ApiError::internal)?),
            None => None,
        };
        let mut record = AuditRecord {
            decision_id: decision_id.clone(),
            org_id: call.org_id.clone(),
            request_id: call.request_id.clone(),
            agent_id: call.agent_id.clone(),
            tool: req.tool.clone(),
            scope: req.scope.clone(),
            allowed: decision.allowed(),
            reason: decision.reason.as_str().to_string(),
            reasoning: req.reasoning.as_deref().map(redact::text),
            reasoning_required: decision.reasoning_required.as_str().to_string(),
            reasoning_provided: decision.reasoning_provided,
            context,
            latency_ms: (now_ms - call.started_ms).max(0),
            created_at: now_ms,
            chain_seq: 0,
            prev_hash: String::new(),
        };
        let head = {
            let mut slot = self.loaded.borrow_mut();
            let loaded = slot.as_mut().expect("loaded above");
            loaded.chain.append(&mut record);
            loaded.chain.clone()
        };
        let pending_key = format!("{PENDING_PREFIX}{:020}", record.chain_seq);
        let storage = self.state.storage();
        storage.put(CHAIN_KEY, &head).await.map_err(ApiError::internal)?;
        storage.put(&pending_key, &record).await.map_err(ApiError::internal)?;
        write_row(&self.env, &record).await?;
        storage.delete(&pending_key).await.map_err(ApiError::internal)?;

        let response = ValidateResponse {
            allowed: decision.allowed(),
            reason: decision.reason,
            message: decision::message(decision.reason, &req.tool, &req.scope, retry_after),
            decision_id,
            reasoning_required: decision.reasoning_required,
            reasoning_provided: decision.reasoning_provided,
            rate_limit,
        };
        let retry_after = if decision.reason == ReasonCode::RateLimited { retry_after } else { 0 };
        Ok(DecideAnswer { response, retry_after })
    }
}

/// Writes one audit row to D1. Idempotent: a row already written is left as it is.
async fn write_row(env: &Env, r: &AuditRecord) -> ApiResult<()> {
    let database = db::database(env)?;
    let row_hash = r.hash();
    db::run(
        &database,
        "INSERT OR IGNORE INTO audit_log (decision_id, org_id, request_id, agent_id, tool, scope, allowed, reason,
                                reasoning, reasoning_required, reasoning_provided, context, latency_ms, created_at,
                                chain_seq, prev_hash, row_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        &[
            Arg::from(&r.decision_id),
            Arg::from(&r.org_id),
            Arg::from(&r.request_id),
            Arg::from(&r.agent_id),
            Arg::from(&r.tool),
            Arg::from(&r.scope),
            Arg::from(r.allowed),
            Arg::from(r.reason.as_str()),
            Arg::from(r.reasoning.as_deref()),
            Arg::from(r.reasoning_required.as_str()),
            Arg::from(r.reasoning_provided),
            Arg::from(r.context.as_deref()),
            Arg::Int(r.latency_ms),
            Arg::Int(r.created_at),
            Arg::Int(r.chain_seq),
            Arg::from(&r.prev_hash),
            Arg::from(&row_hash),
        ],
    )
    .await?;
    Ok(())
}
