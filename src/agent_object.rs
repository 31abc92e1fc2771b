//! The agent's Durable Object: one per agent, named by the agent id. The hot path of
//! `/v1/validate` runs here.
//!
//! - It caches the agent's configuration (enabled, rate limit, valid key hashes, tools and rules),
//!   loaded from D1 on first use. Every admin change to the agent calls [`invalidate`] after its
//!   D1 commit, so the change applies from the next request; a cached copy also expires after
//!   [`CONFIG_TTL_MS`] as a backstop. In steady state a decision reads nothing from D1.
//! - It holds the agent's token bucket in its storage (a restart does not refill it) and runs one
//!   request's synchronous code at a time, so the rate limit is exact under concurrency.
//! - It links each decision into the agent's audit hash chain and keeps the chain head in its own
//!   storage. Rows go to D1 in batches (group commit: while one batch is being written, the next
//!   rows queue): a batch is linked, stored durably here ("pending") with the new head in one
//!   write, written to D1, and only then answered. A row whose D1 write was cut short by a crash
//!   is written from its pending copy after the object restarts.
//! - It fails closed. A batch D1 refuses is relinked as `unavailable` denies, which is what its
//!   callers are answered, and stays pending until D1 takes it, ahead of any newer row. A decision
//!   whose row cannot be stored at all is answered `unavailable` by the worker (see
//!   [`crate::validate`]).
//!
//! The same class, under names `authfail:…`, counts failed authentications for throttling.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use oakauth_core::audit::{self, AuditRecord, ChainHead};
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
    let results = db::idempotent_batch(
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

/// What happened to a decision's audit row.
#[derive(Debug)]
enum Written {
    /// The row is in D1, as decided.
    Stored(AuditRecord),
    /// D1 refused the row. It was relinked as an `unavailable` deny (what the caller is answered),
    /// is kept pending in the object's storage, and goes to D1 first once D1 is back.
    Deferred(AuditRecord),
    /// The row is nowhere (the object's own storage failed, or too many rows already wait for D1);
    /// the caller is answered `unavailable` and the chain is as if the decision never happened.
    Lost(String),
}

/// Most rows kept waiting for D1 during an outage; beyond it, decisions are answered
/// `unavailable` without a row, so memory stays bounded.
const MAX_DEFERRED: usize = 5_000;

fn pending_key(seq: i64) -> String {
    format!("{PENDING_PREFIX}{seq:020}")
}

/// Links audit rows into the agent's chain and writes them to D1 in batches, one batch in flight
/// at a time (group commit). A batch is linked, stored pending in the object's storage together
/// with the new chain head (one atomic write), written to D1, and then its pending copies are
/// deleted. Linking happens here, in batch order, so a batch that D1 refuses can be relinked as
/// `unavailable` denies before anything after it is linked.
struct AuditWriter {
    env: Env,
    storage: Storage,
    /// The chain head: the last row linked. Loaded by [`AgentBucket::load_durable`].
    chain: RefCell<ChainHead>,
    queue: RefCell<Vec<(AuditRecord, oneshot::Sender<Written>)>>,
    /// Linked rows, pending in storage, that D1 has not taken yet, in chain order.
    deferred: RefCell<Vec<AuditRecord>>,
    flushing: Cell<bool>,
}

impl AuditWriter {
    /// Queues `record` (not yet linked) and resolves once it is linked and stored.
    async fn write(self: &Rc<Self>, record: AuditRecord) -> Written {
        if self.deferred.borrow().len() >= MAX_DEFERRED {
            return Written::Lost(format!("{MAX_DEFERRED} audit rows already wait for the database"));
        }
        let (tx, rx) = oneshot::channel();
        self.queue.borrow_mut().push((record, tx));
        if !self.flushing.replace(true) {
            let writer = Rc::clone(self);
            worker::wasm_bindgen_futures::spawn_local(async move { writer.flush().await });
        }
        rx.await.unwrap_or_else(|_| Written::Lost("audit writer stopped".into()))
    }

    async fn flush(self: Rc<Self>) {
        loop {
            let batch: Vec<_> = {
                let mut queue = self.queue.borrow_mut();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.flushing.set(false);
                return;
            }
            // Rows still waiting from an outage go first, so the chain reaches D1 in order.
            let backlog_ok = self.write_deferred().await.is_ok();
            let (mut records, waiters): (Vec<AuditRecord>, Vec<_>) = batch.into_iter().unzip();
            let before = self.chain.borrow().clone();
            let linked = {
                let mut head = self.chain.borrow_mut();
                for r in records.iter_mut() {
                    head.append(r);
                }
                head.clone()
            };
            if let Err(e) = self.store_pending(&linked, &records).await {
                // Nothing of this batch is stored anywhere: unlink it.
                *self.chain.borrow_mut() = before;
                let why = format!("storing audit rows failed: {}", e.message);
                for tx in waiters {
                    let _ = tx.send(Written::Lost(why.clone()));
                }
                continue;
            }
            let written = if backlog_ok {
                write_rows(&self.env, &records.iter().collect::<Vec<_>>()).await
            } else {
                Err(ApiError::internal("earlier audit rows are still waiting for the database"))
            };
            if written.is_ok() {
                let keys: Vec<String> = records.iter().map(|r| pending_key(r.chain_seq)).collect();
                // A failed cleanup only means the rows are written again (idempotently) later.
                let _ = self.storage.delete_multiple(keys).await;
                for (record, tx) in records.into_iter().zip(waiters) {
                    let _ = tx.send(Written::Stored(record));
                }
                continue;
            }
            // D1 refused the batch. Nothing after it is linked yet, so relink it as what its
            // callers will be answered: unavailable denies.
            let original = records.clone();
            let relinked = audit::relink_as_unavailable(&before, &mut records);
            let outcome = if self.store_pending(&relinked, &records).await.is_ok() {
                *self.chain.borrow_mut() = relinked;
                records
            } else {
                // The decided rows are still pending as linked; they reach D1 as decided.
                original
            };
            self.deferred.borrow_mut().extend(outcome.iter().cloned());
            for (record, tx) in outcome.into_iter().zip(waiters) {
                let _ = tx.send(Written::Deferred(record));
            }
            // Rows queued meanwhile get their own attempt; with none, the loop ends (no spinning
            // on a failing database: the next decision or verification retries).
        }
    }

    /// Stores `records` as pending and `head` as the chain head, in one atomic write.
    async fn store_pending(&self, head: &ChainHead, records: &[AuditRecord]) -> ApiResult<()> {
        let entries = worker::js_sys::Object::new();
        let set = |key: &str, value: JsValue| worker::js_sys::Reflect::set(&entries, &JsValue::from_str(key), &value);
        set(CHAIN_KEY, serde_wasm_bindgen::to_value(head).map_err(ApiError::internal)?)
            .map_err(|e| ApiError::internal(format!("{e:?}")))?;
        for r in records {
            set(&pending_key(r.chain_seq), serde_wasm_bindgen::to_value(r).map_err(ApiError::internal)?)
                .map_err(|e| ApiError::internal(format!("{e:?}")))?;
        }
        self.storage.put_multiple_raw(entries).await.map_err(ApiError::internal)
    }

    /// Writes rows that wait for D1, oldest first, in batches; stops at the first failure.
    async fn write_deferred(&self) -> ApiResult<()> {
        loop {
            let chunk: Vec<AuditRecord> = {
                let deferred = self.deferred.borrow();
                deferred.iter().take(MAX_BATCH).cloned().collect()
            };
            if chunk.is_empty() {
                return Ok(());
            }
            write_rows(&self.env, &chunk.iter().collect::<Vec<_>>()).await?;
            let keys: Vec<String> = chunk.iter().map(|r| pending_key(r.chain_seq)).collect();
            let _ = self.storage.delete_multiple(keys).await;
            let written: std::collections::HashSet<i64> = chunk.iter().map(|r| r.chain_seq).collect();
            self.deferred.borrow_mut().retain(|r| !written.contains(&r.chain_seq));
        }
    }

    /// Writes waiting rows before the chain is verified, unless a flush (which does it) runs.
    async fn catch_up(&self) -> ApiResult<()> {
        if self.flushing.get() {
            return Ok(());
        }
        self.write_deferred().await
    }
}

#[durable_object]
pub struct AgentBucket {
    state: State,
    env: Env,
    /// The bucket as last stored; loaded from storage (with the chain head) on first use.
    durable: RefCell<Option<Durable>>,
    config: RefCell<Option<Rc<AgentConfig>>>,
    /// Bumped by every invalidation, so a load that raced one is not cached.
    generation: Cell<u64>,
    writer: Rc<AuditWriter>,
}

#[derive(Clone)]
struct Durable {
    bucket: Option<Bucket>,
}

impl DurableObject for AgentBucket {
    fn new(state: State, env: Env) -> Self {
        let writer = Rc::new(AuditWriter {
            env: env.clone(),
            storage: state.storage(),
            chain: RefCell::new(ChainHead::default()),
            queue: RefCell::new(Vec::new()),
            deferred: RefCell::new(Vec::new()),
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
                    self.writer.catch_up().await?;
                    let head = self.writer.chain.borrow().clone();
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
    /// Loads the bucket and the chain head. Rows left pending (by a crash, or by a D1 outage
    /// before a restart) wait for D1 again and are written before any newer row.
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
        let mut records = Vec::new();
        for entry in pending.entries() {
            let entry = entry.map_err(|e| ApiError::internal(format!("{e:?}")))?;
            let pair: worker::js_sys::Array = entry.into();
            records.push(serde_wasm_bindgen::from_value::<AuditRecord>(pair.get(1)).map_err(ApiError::internal)?);
        }
        records.sort_by_key(|r| r.chain_seq);
        let mut slot = self.durable.borrow_mut();
        // Another request may have loaded while we awaited storage; keep the first.
        if slot.is_none() {
            *slot = Some(Durable { bucket });
            *self.writer.chain.borrow_mut() = chain;
            *self.writer.deferred.borrow_mut() = records;
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
        let record = AuditRecord {
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
        let record = match self.writer.write(record).await {
            Written::Stored(r) | Written::Deferred(r) => r,
            Written::Lost(why) => return Err(ApiError::internal(why)),
        };
        // A row D1 refused was relinked as an `unavailable` deny: that is the answer too.
        let reason = ReasonCode::parse(&record.reason).unwrap_or(ReasonCode::Unavailable);
        let response = ValidateResponse {
            allowed: reason.is_allow(),
            reason,
            message: decision::message(reason, &req.tool, &req.scope, retry_after),
            decision_id,
            reasoning_required: decision.reasoning_required,
            reasoning_provided: decision.reasoning_provided,
            rate_limit: rate_state,
        };
        let retry_after = if reason == ReasonCode::RateLimited { retry_after } else { 0 };
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
    db::idempotent_batch(&database, statements).await?;
    Ok(())
}
