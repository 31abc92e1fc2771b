//! The agent's Durable Object: one per agent, named by the agent id. The hot path of
//! `/v1/validate` runs here.
//!
//! - It caches the agent's configuration (enabled, rate limit, valid key hashes, tools and rules),
//!   loaded from D1 on first use. Every admin change to the agent calls [`invalidate`] after its
//!   D1 commit, so the change applies from the next request; a cached copy also expires after
//!   [`CONFIG_TTL_MS`] as a backstop. In steady state a decision reads nothing from D1.
//! - It holds the agent's token bucket in its storage (a restart does not refill it) and runs one
//!   request's synchronous code at a time, so the rate limit is exact under concurrency.
//! - It links each decision into the agent's audit hash chain, keeps the chain head in its own
//!   storage, stores the row durably here ("pending") and writes it to D1 before answering.
//!   Concurrent decisions share D1 writes (group commit): while one batch is being written, the
//!   next rows queue and go together in the following batch. A row whose D1 write was cut short
//!   by a crash is written from its pending copy when the object next starts.
//!
//! The same class, under names `authfail:…`, counts failed authentications for throttling.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use oakauth_core::audit::{AuditRecord, ChainHead};
use oakauth_core::bucket::{Bucket, Take};
use oakauth_core::decision::{self, BucketOutcome, ToolLookup};
use oakauth_core::wire::{RateLimitConfig, ReasonCode, ReasoningPolicy, ValidateRequest, ValidateResponse};
use oakauth_core::{ids, keys, redact};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State, Storage};

use crate::db::{self, Arg};
use crate::http::{ApiError, ApiResult};

const BUCKET_KEY: &str = "bucket";
const CHAIN_KEY: &str = "chain";
const PENDING_PREFIX: &str = "pending:";
/// Longest time a cached agent configuration is used without reloading it from D1.
pub const CONFIG_TTL_MS: i64 = 60_000;
/// Most audit rows written to D1 in one batch.
const MAX_BATCH: usize = 100;

/// Failed authentications allowed per client address or key prefix: a burst, then one per 6 s.
pub const AUTH_FAIL_LIMIT: RateLimitConfig = RateLimitConfig { capacity: 20, refill_per_second: 1.0 / 6.0 };

/// What the worker asks the agent's object to decide.
#[derive(Debug, Serialize, Deserialize)]
pub struct DecideCall {
    pub agent_id: String,
    pub key_hash: String,
    pub request: ValidateRequest,
    pub request_id: String,
    pub started_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DecideAnswer {
    /// None when the key is not (or no longer) a valid key of this agent.
    pub response: Option<ValidateResponse>,
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

/// Drops the agent's cached configuration; the next decision reloads it from D1.
pub async fn invalidate(env: &Env, agent_id: &str) -> ApiResult<()> {
    call_object::<_, serde_json::Value>(env, agent_id, "/invalidate", &()).await.map(|_| ())
}

/// The head of the agent's audit chain, after any pending rows have been written to D1.
pub async fn chain_head(env: &Env, agent_id: &str) -> ApiResult<ChainHead> {
    call_object(env, agent_id, "/head", &()).await
}

/// Records one failed authentication for `subject` (a client address or key prefix). Returns the
/// seconds to wait when the subject has failed too often, else `None`.
pub async fn auth_failure(env: &Env, subject: &str) -> ApiResult<Option<u64>> {
    let take: Take = call_object(env, &format!("authfail:{subject}"), "/authfail", &()).await?;
    Ok((!take.allowed).then_some(take.retry_after.max(1)))
}

/// The agent's configuration as the decision needs it.
struct AgentConfig {
    /// None: the agent does not exist (any more).
    agent: Option<AgentRow>,
    /// Valid key hashes and when they expire (None: never).
    keys: HashMap<String, Option<i64>>,
    /// Tool name → scope → reasoning policy of the rule granting it.
    tools: HashMap<String, HashMap<String, ReasoningPolicy>>,
    loaded_ms: i64,
}

#[derive(Deserialize)]
struct AgentRow {
    org_id: String,
    enabled: i64,
    rate_capacity: i64,
    rate_refill: f64,
}

#[derive(Deserialize)]
struct KeyRow {
    key_hash: String,
    expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct GrantRow {
    tool: String,
    scope: Option<String>,
    require_reasoning: Option<String>,
}

async fn load_config(env: &Env, agent_id: &str, now_ms: i64) -> ApiResult<AgentConfig> {
    let database = db::database(env)?;
    let id = [Arg::from(agent_id)];
    let results = db::batch(
        &database,
        vec![
            db::stmt(&database, "SELECT org_id, enabled, rate_capacity, rate_refill FROM agents WHERE id = ?1", &id)?,
            db::stmt(&database, "SELECT key_hash, expires_at FROM agent_keys WHERE agent_id = ?1", &id)?,
            db::stmt(
                &database,
                "SELECT t.name AS tool, r.scope, r.require_reasoning
                   FROM tools t LEFT JOIN rules r ON r.tool_id = t.id
                  WHERE t.agent_id = ?1",
                &id,
            )?,
        ],
    )
    .await?;
    let [agent, keys, grants] = results.as_slice() else {
        return Err(ApiError::internal("unexpected batch result count"));
    };
    let agent = agent.results::<AgentRow>()?.into_iter().next();
    let keys = keys.results::<KeyRow>()?.into_iter().map(|k| (k.key_hash, k.expires_at)).collect();
    let mut tools: HashMap<String, HashMap<String, ReasoningPolicy>> = HashMap::new();
    for g in grants.results::<GrantRow>()? {
        let scopes = tools.entry(g.tool).or_default();
        if let (Some(scope), Some(policy)) = (g.scope, g.require_reasoning) {
            // A policy we cannot read is treated as the strictest one.
            scopes.insert(scope, ReasoningPolicy::parse(&policy).unwrap_or(ReasoningPolicy::Hard));
        }
    }
    Ok(AgentConfig { agent, keys, tools, loaded_ms: now_ms })
}

/// A queued audit row, its pending-storage key, and who waits for its D1 write.
type Queued = (AuditRecord, String, oneshot::Sender<Result<(), String>>);

/// Queues audit rows and writes them to D1 in batches, one batch in flight at a time.
struct AuditWriter {
    env: Env,
    storage: Storage,
    queue: RefCell<Vec<Queued>>,
    /// Rows whose D1 write failed (their callers got an error). They stay pending in storage and
    /// go first in the next batch, so a passing D1 outage leaves no hole in the chain.
    failed: RefCell<Vec<(AuditRecord, String)>>,
    flushing: Cell<bool>,
}

impl AuditWriter {
    /// Resolves once `record` is in D1 (or its batch failed).
    async fn write(self: &Rc<Self>, record: AuditRecord, pending_key: String) -> ApiResult<()> {
        let (tx, rx) = oneshot::channel();
        self.queue.borrow_mut().push((record, pending_key, tx));
        if !self.flushing.replace(true) {
            let writer = Rc::clone(self);
            worker::wasm_bindgen_futures::spawn_local(async move { writer.flush().await });
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ApiError::internal(format!("audit write failed: {e}"))),
            Err(_) => Err(ApiError::internal("audit writer stopped")),
        }
    }

    async fn flush(self: Rc<Self>) {
        loop {
            let retry: Vec<(AuditRecord, String)> = std::mem::take(&mut *self.failed.borrow_mut());
            let batch: Vec<_> = {
                let mut queue = self.queue.borrow_mut();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() && retry.is_empty() {
                self.flushing.set(false);
                return;
            }
            let records: Vec<&AuditRecord> =
                retry.iter().map(|(r, _)| r).chain(batch.iter().map(|(r, _, _)| r)).collect();
            let result = write_rows(&self.env, &records).await;
            let mut waiters = Vec::with_capacity(batch.len());
            let mut written: Vec<(AuditRecord, String)> = retry;
            for (record, key, tx) in batch {
                written.push((record, key));
                waiters.push(tx);
            }
            if result.is_ok() {
                let keys: Vec<&str> = written.iter().map(|(_, k)| k.as_str()).collect();
                // A failed cleanup only means the rows are written again (idempotently) later.
                let _ = self.storage.delete_multiple(keys).await;
            } else {
                self.failed.borrow_mut().extend(written);
            }
            let outcome = result.map_err(|e| e.message);
            for tx in waiters {
                let _ = tx.send(outcome.clone());
            }
            if outcome.is_err() {
                // Do not spin on a failing database: the next write or verification retries.
                self.flushing.set(false);
                return;
            }
        }
    }

    /// Writes rows whose earlier write failed, before the chain is verified.
    async fn retry_failed(self: &Rc<Self>) -> ApiResult<()> {
        if self.failed.borrow().is_empty() || self.flushing.get() {
            return Ok(());
        }
        let retry: Vec<(AuditRecord, String)> = std::mem::take(&mut *self.failed.borrow_mut());
        let records: Vec<&AuditRecord> = retry.iter().map(|(r, _)| r).collect();
        match write_rows(&self.env, &records).await {
            Ok(()) => {
                let keys: Vec<&str> = retry.iter().map(|(_, k)| k.as_str()).collect();
                let _ = self.storage.delete_multiple(keys).await;
                Ok(())
            }
            Err(e) => {
                self.failed.borrow_mut().extend(retry);
                Err(e)
            }
        }
    }
}

#[durable_object]
pub struct AgentBucket {
    state: State,
    env: Env,
    /// Bucket and chain head as last stored; loaded from storage on first use.
    durable: RefCell<Option<Durable>>,
    config: RefCell<Option<Rc<AgentConfig>>>,
    /// Bumped by every invalidation, so a load that raced one is not cached.
    generation: Cell<u64>,
    writer: Rc<AuditWriter>,
}

#[derive(Clone)]
struct Durable {
    bucket: Option<Bucket>,
    chain: ChainHead,
}

impl DurableObject for AgentBucket {
    fn new(state: State, env: Env) -> Self {
        let writer = Rc::new(AuditWriter {
            env: env.clone(),
            storage: state.storage(),
            queue: RefCell::new(Vec::new()),
            failed: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
        });
        Self { state, env, durable: RefCell::new(None), config: RefCell::new(None), generation: Cell::new(0), writer }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<Response> = async {
            if req.method() != Method::Post {
                return Err(ApiError::not_found("unknown agent-object route"));
            }
            let ok = |v: serde_json::Value| crate::http::json_response(200, &v);
            let value = |v: &dyn erased::Json| v.value();
            match req.path().as_str() {
                "/decide" => {
                    let call: DecideCall = req.json().await.map_err(ApiError::internal)?;
                    let answer = self.decide(call).await?;
                    Ok(ok(value(&answer)))
                }
                "/invalidate" => {
                    self.generation.set(self.generation.get() + 1);
                    *self.config.borrow_mut() = None;
                    Ok(ok(serde_json::json!({})))
                }
                "/head" => {
                    self.load_durable().await?;
                    self.writer.retry_failed().await?;
                    let head = self.durable.borrow().as_ref().map(|d| d.chain.clone()).unwrap_or_default();
                    Ok(ok(value(&head)))
                }
                "/authfail" => {
                    let now_ms = worker::Date::now().as_millis() as i64;
                    let take = self.take(AUTH_FAIL_LIMIT, now_ms).await?;
                    Ok(ok(value(&take)))
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
    async fn load_durable(&self) -> ApiResult<()> {
        if self.durable.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let bucket: Option<Bucket> = storage.get(BUCKET_KEY).await.map_err(ApiError::internal)?;
        let chain: ChainHead = storage.get(CHAIN_KEY).await.map_err(ApiError::internal)?.unwrap_or_default();
        let pending = storage
            .list_with_options(worker::ListOptions::new().prefix(PENDING_PREFIX))
            .await
            .map_err(ApiError::internal)?;
        let mut keys = Vec::new();
        let mut records = Vec::new();
        for entry in pending.entries() {
            let entry = entry.map_err(|e| ApiError::internal(format!("{e:?}")))?;
            let pair: worker::js_sys::Array = entry.into();
            keys.push(pair.get(0).as_string().unwrap_or_default());
            records.push(serde_wasm_bindgen::from_value::<AuditRecord>(pair.get(1)).map_err(ApiError::internal)?);
        }
        for chunk in records.chunks(MAX_BATCH) {
            write_rows(&self.env, &chunk.iter().collect::<Vec<_>>()).await?;
        }
        if !keys.is_empty() {
            storage.delete_multiple(keys).await.map_err(ApiError::internal)?;
        }
        let mut slot = self.durable.borrow_mut();
        // Another request may have loaded while we awaited storage; keep the first.
        if slot.is_none() {
            *slot = Some(Durable { bucket, chain });
        }
        Ok(())
    }

    /// The agent's configuration: cached, or loaded from D1.
    async fn config(&self, agent_id: &str, now_ms: i64) -> ApiResult<Rc<AgentConfig>> {
        if let Some(cfg) = self.config.borrow().as_ref() {
            if now_ms - cfg.loaded_ms < CONFIG_TTL_MS && now_ms >= cfg.loaded_ms {
                return Ok(Rc::clone(cfg));
            }
        }
        let generation = self.generation.get();
        let cfg = Rc::new(load_config(&self.env, agent_id, now_ms).await?);
        if self.generation.get() == generation {
            *self.config.borrow_mut() = Some(Rc::clone(&cfg));
        }
        Ok(cfg)
    }

    async fn take(&self, config: RateLimitConfig, now_ms: i64) -> ApiResult<Take> {
        self.load_durable().await?;
        let (take, snapshot) = {
            let mut slot = self.durable.borrow_mut();
            let durable = slot.as_mut().expect("loaded above");
            let bucket = durable.bucket.get_or_insert_with(|| Bucket::full(config, now_ms));
            (bucket.take(config, now_ms), *bucket)
        };
        // The in-memory bucket is the truth for this instance (the object runs one request's
        // synchronous code at a time); storage makes it survive a restart.
        self.state.storage().put(BUCKET_KEY, snapshot).await.map_err(ApiError::internal)?;
        Ok(take)
    }

    async fn decide(&self, call: DecideCall) -> ApiResult<DecideAnswer> {
        let now_ms = worker::Date::now().as_millis() as i64;
        self.load_durable().await?;
        let cfg = self.config(&call.agent_id, now_ms).await?;
        let Some(agent) = cfg.agent.as_ref() else {
            return Ok(DecideAnswer { response: None, retry_after: 0 });
        };
        let key_valid = cfg
            .keys
            .iter()
            .any(|(hash, expires)| keys::hashes_equal(hash, &call.key_hash) && expires.is_none_or(|at| at > now_ms));
        if !key_valid {
            return Ok(DecideAnswer { response: None, retry_after: 0 });
        }

        let enabled = agent.enabled == 1;
        let rate_limit = RateLimitConfig {
            capacity: agent.rate_capacity.clamp(1, u32::MAX as i64) as u32,
            refill_per_second: agent.rate_refill,
        };
        let (bucket_outcome, rate_state, retry_after) = if enabled {
            let take = self.take(rate_limit, now_ms).await?;
            let outcome = if take.allowed { BucketOutcome::Allowed } else { BucketOutcome::Limited };
            (outcome, Some(take.state), take.retry_after)
        } else {
            (BucketOutcome::NotConsulted, None, 0)
        };
        let req = &call.request;
        let tool = match cfg.tools.get(&req.tool) {
            None => ToolLookup::Unknown,
            Some(scopes) => ToolLookup::Known { rule: scopes.get(&req.scope).copied() },
        };
        let decision = decision::decide(enabled, bucket_outcome, tool, req.reasoning.as_deref());
        let decision_id = ids::new_id("dec")?;

        let context = match &req.context {
            Some(ctx) => Some(serde_json::to_string(&redact::context(ctx)).map_err(ApiError::internal)?),
            None => None,
        };
        let mut record = AuditRecord {
            decision_id: decision_id.clone(),
            org_id: agent.org_id.clone(),
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
            let mut slot = self.durable.borrow_mut();
            let durable = slot.as_mut().expect("loaded above");
            durable.chain.append(&mut record);
            durable.chain.clone()
        };
        let pending_key = format!("{PENDING_PREFIX}{:020}", record.chain_seq);
        let storage = self.state.storage();
        storage.put(CHAIN_KEY, &head).await.map_err(ApiError::internal)?;
        storage.put(&pending_key, &record).await.map_err(ApiError::internal)?;
        self.writer.write(record, pending_key).await?;

        let response = ValidateResponse {
            allowed: decision.allowed(),
            reason: decision.reason,
            message: decision::message(decision.reason, &req.tool, &req.scope, retry_after),
            decision_id,
            reasoning_required: decision.reasoning_required,
            reasoning_provided: decision.reasoning_provided,
            rate_limit: rate_state,
        };
        let retry_after = if decision.reason == ReasonCode::RateLimited { retry_after } else { 0 };
        Ok(DecideAnswer { response: Some(response), retry_after })
    }
}

/// Writes audit rows to D1 in one atomic batch. Idempotent: rows already written are left as
/// they are.
async fn write_rows(env: &Env, rows: &[&AuditRecord]) -> ApiResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let database = db::database(env)?;
    let mut statements = Vec::with_capacity(rows.len());
    for r in rows {
        let row_hash = r.hash();
        statements.push(db::stmt(
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
        )?);
    }
    db::batch(&database, statements).await?;
    Ok(())
}
