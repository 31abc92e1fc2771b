//! The agent's Durable Object: one per agent, named by the agent id. The hot path of
//! `/v1/validate` runs here: it decides, audits and throttles, not only buckets.
//!
//! Why the class is still called `AgentBucket` (binding `AGENT_BUCKET`): every deployed object's
//! storage (bucket, chain head, pending rows) lives under that class name. A rename needs a
//! `renamed_classes` migration applied in the same deploy as the code, and a deploy that gets one
//! without the other loses every agent's chain head and bucket; the name buys nothing worth that.
//!
//! - It caches the agent's configuration (enabled, rate limit, valid key hashes, tools and rules),
//!   loaded from D1 on first use. Every admin change to the agent calls [`invalidate`] after its
//!   D1 commit, so the change applies from the next request; a cached copy also expires after
//!   [`CONFIG_TTL_MS`] as a backstop (the rules are [`ConfigCache`], tested in the core). In
//!   steady state a decision reads nothing from D1.
//! - It holds the agent's token bucket in its storage (a restart does not refill it) and runs one
//!   request's synchronous code at a time, so the rate limit is exact under concurrency.
//! - It links each decision into the agent's audit hash chain and commits the row, the chain head
//!   and the bucket in one write of its own storage before the answer leaves; the rows reach D1 in
//!   the background, in batches, retried by the object's alarm ([`oakauth_core::audit_writer`]:
//!   group commit, background shipping, crash replay, conflict alarms; the logic and its tests live
//!   there). This module only implements its two backends: the object's own storage
//!   ([`ObjectStore`]) and D1 ([`D1Rows`]). A row D1 does not have yet is served from here
//!   ([`waiting_row`]); decision ids name their agent so a reader finds this object.
//! - **Storage rows written per decision** (what Durable Objects bill): one `state` value per
//!   commit, shared by every decision in the commit (so at most 1 per decision), plus, only while
//!   D1 lags by more than [`oakauth_core::audit_writer::MAX_INLINE`] rows, a spill entry and its
//!   removal per batch of rows, plus one alarm write per
//!   [`oakauth_core::audit_writer::SHIP_ALARM_MS`] while the agent is active. **Queue messages**:
//!   one per shipment to the audit Queue ([`crate::audit_rows`]); a shipment waits
//!   [`oakauth_core::audit_writer::SHIP_LINGER_MS`] and carries every row committed meanwhile, so
//!   a busy agent sends one message per 200 ms, and an agent deciding less often one per decision.
//!   For the benchmark's cost table (worst case, one call per commit):
//!   storage rows written per decision: 1
//!   queue messages per decision: 1
//! - On its first decision it registers its agent in the organization's [`crate::registry`], so
//!   the chain verifier finds its chain even when D1 no longer lists the agent.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use oakauth_core::audit::{AuditRecord, ChainHead, StoredRow};
use oakauth_core::audit_writer::{AuditWriter, BackendError, Commit, Conflict, LocalStore, Restored, Written};
use oakauth_core::bucket::{Bucket, Take};
use oakauth_core::config_cache::ConfigCache;
use oakauth_core::decision::{self, BucketOutcome, ToolLookup};
use oakauth_core::webhook::EventType;
use oakauth_core::wire::{Effect, Explanation, RateLimitConfig, ReasonCode, ValidateRequest, ValidateResponse};
use oakauth_core::{approval, ids, keys, policy, redact};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State, Storage};

use crate::db::{self, Arg};
use crate::http::{ApiError, ApiResult};

/// The chain head, the bucket and the inline rows not yet in D1: one value, written per commit.
const STATE_KEY: &str = "state";
/// Rows not yet in D1 beyond the inline ones, one entry per spill, named by its first row.
const SPILL_PREFIX: &str = "spill:";
/// Before the state value (2026-11): the bucket, the chain head and one entry per pending row.
/// Read when no state value exists; legacy pending rows are shipped and removed like spills.
const LEGACY_BUCKET_KEY: &str = "bucket";
const LEGACY_CHAIN_KEY: &str = "chain";
const LEGACY_PENDING_PREFIX: &str = "pending:";
const CONFLICT_PREFIX: &str = "conflict:";
const REGISTERED_KEY: &str = "registered";
/// Most integrity alarms one `/head` answer carries.
const MAX_CONFLICTS_LISTED: u32 = 100;
/// Longest time a cached agent configuration is used without reloading it from D1.
pub const CONFIG_TTL_MS: i64 = 60_000;

/// What the worker asks the agent's object to decide.
#[derive(Debug, Serialize, Deserialize)]
pub struct DecideCall {
    pub agent_id: String,
    pub key_hash: String,
    pub request: ValidateRequest,
    pub request_id: String,
    pub started_ms: i64,
    /// The caller's address (`CF-Connecting-IP`), for conditions on `/client_ip`.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// The time the quota's month is counted at, when a test moved the clock
    /// (`X-OakAuth-Test-Clock`, honoured only with the test routes enabled); None: now.
    #[serde(default)]
    pub quota_clock_ms: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DecideAnswer {
    /// The key is not (or no longer) a valid key of this agent.
    KeyRejected,
    /// Decided and recorded; `retry_after` is set when rate limited. `org_id` is the agent's
    /// organization, for the receipt the worker signs on an allow.
    Decided { response: Box<ValidateResponse>, retry_after: u64, org_id: String },
}

/// Sends `call` to the agent's object and returns its decision.
pub async fn decide(env: &Env, call: &DecideCall) -> ApiResult<DecideAnswer> {
    crate::objects::call(env, "AGENT_BUCKET", &call.agent_id, "/decide", call).await
}

/// Whether `key_hash` is a valid, unexpired key of the agent (judged by its object, which knows
/// the agent's keys as decisions do).
pub async fn key_valid(env: &Env, agent_id: &str, key_hash: &str) -> ApiResult<bool> {
    crate::objects::call(
        env,
        "AGENT_BUCKET",
        agent_id,
        "/key",
        &KeyCheck { agent_id: agent_id.into(), key_hash: key_hash.into() },
    )
    .await
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyCheck {
    agent_id: String,
    key_hash: String,
}

/// Drops the agent's cached configuration; the next decision reloads it from D1.
pub async fn invalidate(env: &Env, agent_id: &str) -> ApiResult<()> {
    if crate::injected_fault("invalidate") {
        return Err(ApiError::internal("injected fault: invalidation refused"));
    }
    crate::objects::call::<_, serde_json::Value>(env, "AGENT_BUCKET", agent_id, "/invalidate", &()).await.map(|_| ())
}

/// What the agent's object knows of its chain, apart from D1.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChainState {
    pub head: ChainHead,
    /// Rows D1 already held at a decision's place with other content (at most 100 listed).
    pub conflicts: Vec<Conflict>,
}

/// The head of the agent's audit chain (after any pending rows have been written to D1) and its
/// integrity alarms.
pub async fn chain_state(env: &Env, agent_id: &str) -> ApiResult<ChainState> {
    crate::objects::call(env, "AGENT_BUCKET", agent_id, "/head", &()).await
}

/// Writes the rows D1 does not have yet straight to D1, if the agent belongs to `org_id` (so an
/// agent's log page is current).
pub async fn flush(env: &Env, agent_id: &str, org_id: &str) -> ApiResult<()> {
    let body = Flush { agent_id: agent_id.into(), org_id: org_id.into() };
    crate::objects::call::<_, serde_json::Value>(env, "AGENT_BUCKET", agent_id, "/flush", &body).await.map(|_| ())
}

#[derive(Debug, Serialize, Deserialize)]
struct Flush {
    agent_id: String,
    org_id: String,
}

/// The row of `decision_id` if the agent's object still holds it (D1 does not have it yet).
pub async fn waiting_row(env: &Env, agent_id: &str, decision_id: &str) -> ApiResult<Option<StoredRow>> {
    crate::objects::call(env, "AGENT_BUCKET", agent_id, "/row", &RowQuery { decision_id: decision_id.into() }).await
}

#[derive(Debug, Serialize, Deserialize)]
struct RowQuery {
    decision_id: String,
}

/// The object's state value.
#[derive(Serialize, Deserialize, Default)]
struct StoredState {
    head: ChainHead,
    bucket: Option<Bucket>,
    rows: Vec<AuditRecord>,
}

/// The agent's configuration as the decision needs it.
struct AgentConfig {
    /// None: the agent does not exist (any more).
    agent: Option<AgentRow>,
    /// Valid key hashes and when they expire (None: never).
    keys: HashMap<String, Option<i64>>,
    /// Tool name → its scopes, input schema and compiled rules.
    tools: crate::policy::Tools,
    /// The organization's plan, parsed once per load (None when the agent does not exist).
    org_plan: Option<oakauth_core::plans::OrgPlan>,
}

#[derive(Deserialize)]
struct AgentRow {
    org_id: String,
    enabled: i64,
    rate_capacity: i64,
    rate_refill: f64,
    plan: String,
    custom_limits: Option<String>,
    billing_status: String,
    grace_until: Option<i64>,
}

#[derive(Deserialize)]
struct KeyRow {
    key_hash: String,
    expires_at: Option<i64>,
}

async fn load_config(env: &Env, agent_id: &str) -> ApiResult<AgentConfig> {
    let database = db::database(env)?;
    let id = [Arg::from(agent_id)];
    let mut statements = vec![
        db::stmt(
            &database,
            "SELECT a.org_id, a.enabled, a.rate_capacity, a.rate_refill, o.plan, o.custom_limits, o.billing_status,
                    o.grace_until
             FROM agents a JOIN organizations o ON o.id = a.org_id WHERE a.id = ?1",
            &id,
        )?,
        db::stmt(&database, "SELECT key_hash, expires_at FROM agent_keys WHERE agent_id = ?1", &id)?,
    ];
    statements.extend(crate::policy::statements(&database, agent_id)?);
    let results = db::idempotent_batch(&database, statements).await?;
    let [agent, keys, tools, rules] = results.as_slice() else {
        return Err(ApiError::internal("unexpected batch result count"));
    };
    let agent = agent.results::<AgentRow>()?.into_iter().next();
    // A row that does not parse fails the load, so decisions fail closed: never "unlimited".
    let org_plan = match &agent {
        Some(a) => Some(oakauth_core::plans::OrgPlan::from_row(
            &a.plan,
            a.custom_limits.as_deref(),
            &a.billing_status,
            a.grace_until,
        )?),
        None => None,
    };
    let keys = keys.results::<KeyRow>()?.into_iter().map(|k| (k.key_hash, k.expires_at)).collect();
    Ok(AgentConfig { agent, keys, tools: crate::policy::build(tools, rules)?, org_plan })
}

fn key_valid_in(cfg: &AgentConfig, key_hash: &str, now_ms: i64) -> bool {
    cfg.keys.iter().any(|(hash, expires)| keys::hashes_equal(hash, key_hash) && expires.is_none_or(|at| at > now_ms))
}

fn spill_key(first_seq: i64) -> String {
    format!("{SPILL_PREFIX}{first_seq:020}")
}

fn js_error(e: impl std::fmt::Debug) -> BackendError {
    BackendError(format!("{e:?}"))
}

/// The audit writer's state value, spill entries and integrity alarms, in the object's storage.
struct ObjectStore {
    storage: Storage,
    /// The agent's bucket as last taken from: stored with every commit (each decision that took
    /// from it is committed before it is answered).
    bucket: Rc<Cell<Option<Bucket>>>,
    /// Legacy pending rows (by `chain_seq`) still in storage, removed under their own keys.
    legacy: RefCell<HashSet<i64>>,
}

impl LocalStore for ObjectStore {
    async fn commit(&self, commit: &Commit<'_>) -> Result<(), BackendError> {
        let state = StoredState { head: commit.head.clone(), bucket: self.bucket.get(), rows: commit.inline.to_vec() };
        let entries = worker::js_sys::Object::new();
        let set = |key: &str, json: String| {
            worker::js_sys::Reflect::set(&entries, &JsValue::from_str(key), &JsValue::from_str(&json))
                .map(|_| ())
                .map_err(js_error)
        };
        set(STATE_KEY, serde_json::to_string(&state).map_err(js_error)?)?;
        if let Some(spill) = commit.spill.filter(|rows| !rows.is_empty()) {
            set(&spill_key(spill[0].chain_seq), serde_json::to_string(spill).map_err(js_error)?)?;
        }
        self.storage.put_multiple_raw(entries).await.map_err(js_error)?;
        if let Some(ms) = commit.arm_alarm_ms {
            self.storage.set_alarm(ms).await.map_err(js_error)?;
        }
        Ok(())
    }

    async fn remove_spills(&self, first_seqs: &[i64]) -> Result<(), BackendError> {
        let keys: Vec<String> = {
            let mut legacy = self.legacy.borrow_mut();
            first_seqs
                .iter()
                .map(|s| if legacy.remove(s) { format!("{LEGACY_PENDING_PREFIX}{s:020}") } else { spill_key(*s) })
                .collect()
        };
        self.storage.delete_multiple(keys).await.map(|_| ()).map_err(js_error)
    }

    async fn put_conflicts(&self, conflicts: &[Conflict]) -> Result<(), BackendError> {
        for c in conflicts {
            let r = &c.record;
            worker::console_error!(
                "audit integrity alarm: D1 already holds {} where decision {} (row {}) belongs",
                c.found,
                r.decision_id,
                r.chain_seq
            );
            let key = format!("{CONFLICT_PREFIX}{:020}:{}", r.chain_seq, r.decision_id);
            self.storage.put(&key, c).await.map_err(js_error)?;
        }
        Ok(())
    }

    async fn arm_alarm(&self, after_ms: i64) -> Result<(), BackendError> {
        self.storage.set_alarm(after_ms).await.map_err(js_error)
    }

    async fn linger(&self, ms: i64) {
        worker::Delay::from(std::time::Duration::from_millis(ms.max(0) as u64)).await;
    }
}

type Writer = AuditWriter<ObjectStore, crate::audit_rows::D1Rows, crate::audit_rows::QueueRows>;

#[durable_object]
pub struct AgentBucket {
    state: State,
    env: Env,
    /// Loaded from storage on first use: the bucket as last stored, the audit writer continuing
    /// the stored chain, and whether the agent is registered for verification.
    loaded: RefCell<Option<Loaded>>,
    /// The agent's configuration (see [`ConfigCache`]: TTL, and loads racing an invalidation).
    config: RefCell<ConfigCache<AgentConfig>>,
    /// Its lease of the organization's monthly validations ([`crate::quota`]).
    quota: Rc<crate::quota::Holder>,
    /// (organization, agent) once a decision named them: whom to give the lease back to.
    names: RefCell<Option<(String, String)>>,
}

struct Loaded {
    bucket: Rc<Cell<Option<Bucket>>>,
    writer: Rc<Writer>,
    registered: bool,
}

impl DurableObject for AgentBucket {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            loaded: RefCell::new(None),
            config: RefCell::new(ConfigCache::new(CONFIG_TTL_MS)),
            quota: Rc::default(),
            names: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<Response> = async {
            if req.method() != Method::Post {
                return Err(ApiError::not_found("unknown agent-object route"));
            }
            let ok = |v: serde_json::Result<serde_json::Value>| {
                v.map(|v| crate::http::json_response(200, &v)).map_err(ApiError::internal)
            };
            match req.path().as_str() {
                "/decide" => {
                    let call: DecideCall = req.json().await.map_err(ApiError::internal)?;
                    let answer = self.decide(call).await?;
                    ok(serde_json::to_value(&answer))
                }
                "/key" => {
                    let check: KeyCheck = req.json().await.map_err(ApiError::internal)?;
                    let now_ms = worker::Date::now().as_millis() as i64;
                    let cfg = self.config(&check.agent_id, now_ms).await?;
                    ok(serde_json::to_value(cfg.agent.is_some() && key_valid_in(&cfg, &check.key_hash, now_ms)))
                }
                "/invalidate" => {
                    self.config.borrow_mut().invalidate();
                    // The organization's limit may have changed: the lease goes back (in the background).
                    let names = self.names.borrow().clone();
                    if let Some((org_id, agent_id)) = names {
                        let head_seq = self.writer().await?.head().seq;
                        let (env, storage, quota) = (self.env.clone(), self.state.storage(), Rc::clone(&self.quota));
                        worker::wasm_bindgen_futures::spawn_local(async move {
                            quota.give_back(&env, &storage, &org_id, &agent_id, head_seq).await;
                        });
                    }
                    ok(Ok(serde_json::json!({})))
                }
                "/quota/return" => {
                    let _: crate::quota::Reclaim = req.json().await.map_err(ApiError::internal)?;
                    let head_seq = self.writer().await?.head().seq;
                    let lease = self.quota.surrender(&self.state.storage(), head_seq).await?;
                    ok(serde_json::to_value(lease))
                }
                "/row" => {
                    let query: RowQuery = req.json().await.map_err(ApiError::internal)?;
                    let writer = self.writer().await?;
                    let row = writer
                        .waiting_row(&query.decision_id)
                        .map(|record| StoredRow { row_hash: record.hash(), record });
                    ok(serde_json::to_value(&row))
                }
                "/flush" => {
                    let flush: Flush = req.json().await.map_err(ApiError::internal)?;
                    // The rows say whose they are: a deleted agent's log page is current too,
                    // and another organization's admin flushes nothing.
                    let writer = self.writer().await?;
                    if writer.waits_for(&flush.org_id) {
                        writer.catch_up().await.map_err(|e| ApiError::internal(e.0))?;
                    }
                    ok(Ok(serde_json::json!({})))
                }
                "/shipped" => {
                    let shipped: crate::audit_rows::Shipped = req.json().await.map_err(ApiError::internal)?;
                    let writer = self.writer().await?;
                    writer
                        .confirm(&shipped.chain_seqs, &shipped.conflicts)
                        .await
                        .map_err(|e| ApiError::internal(e.0))?;
                    ok(Ok(serde_json::json!({})))
                }
                "/head" => {
                    let writer = self.writer().await?;
                    writer.catch_up().await.map_err(|e| ApiError::internal(e.0))?;
                    let conflicts = self.conflicts().await?;
                    ok(serde_json::to_value(&ChainState { head: writer.head(), conflicts }))
                }
                _ => Err(ApiError::not_found("unknown agent-object route")),
            }
        }
        .await;
        Ok(outcome.unwrap_or_else(ApiError::into_response))
    }

    /// Ships rows D1 does not have yet: armed by a commit that left rows waiting, or after D1
    /// refused a batch (the writer re-arms it with back-off while D1 refuses).
    async fn alarm(&self) -> worker::Result<Response> {
        match self.writer().await {
            Ok(writer) => {
                if let Err(e) = writer.on_alarm().await {
                    worker::console_error!("audit rows wait for D1 ({} waiting): {}", writer.waiting(), e.0);
                }
            }
            Err(e) => worker::console_error!("audit writer could not load: {}", e.message),
        }
        Response::ok("")
    }
}

impl AgentBucket {
    /// Loads the bucket, the chain head and the rows D1 may not have (left by a crash, an outage
    /// or a shipment not yet done), which the writer ships before any newer row.
    async fn load(&self) -> ApiResult<()> {
        if self.loaded.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let state: Option<String> = storage.get(STATE_KEY).await.map_err(ApiError::internal)?;
        let state: StoredState = match state {
            Some(json) => serde_json::from_str(&json).map_err(ApiError::internal)?,
            None => StoredState {
                head: storage.get(LEGACY_CHAIN_KEY).await.map_err(ApiError::internal)?.unwrap_or_default(),
                bucket: storage.get(LEGACY_BUCKET_KEY).await.map_err(ApiError::internal)?,
                rows: Vec::new(),
            },
        };
        let registered: bool = storage.get(REGISTERED_KEY).await.map_err(ApiError::internal)?.unwrap_or(false);
        let mut restored = Restored { head: state.head, rows: state.rows, spills: Vec::new() };
        for json in self.list::<String>(SPILL_PREFIX, None).await? {
            let rows: Vec<AuditRecord> = serde_json::from_str(&json).map_err(ApiError::internal)?;
            if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
                restored.spills.push((first.chain_seq, last.chain_seq));
            }
            restored.rows.extend(rows);
        }
        let mut legacy = HashSet::new();
        for row in self.list::<AuditRecord>(LEGACY_PENDING_PREFIX, None).await? {
            legacy.insert(row.chain_seq);
            restored.spills.push((row.chain_seq, row.chain_seq));
            restored.rows.push(row);
        }
        let mut slot = self.loaded.borrow_mut();
        // Another request may have loaded while we awaited storage; keep the first.
        if slot.is_none() {
            let bucket = Rc::new(Cell::new(state.bucket));
            let store = ObjectStore { storage, bucket: Rc::clone(&bucket), legacy: RefCell::new(legacy) };
            let transport = crate::audit_rows::QueueRows::bound(&self.env);
            let writer = AuditWriter::new(store, crate::audit_rows::D1Rows(self.env.clone()), transport, restored);
            *slot = Some(Loaded { bucket, writer: Rc::new(writer), registered });
        }
        Ok(())
    }

    async fn writer(&self) -> ApiResult<Rc<Writer>> {
        self.load().await?;
        Ok(Rc::clone(&self.loaded.borrow().as_ref().expect("loaded above").writer))
    }

    /// Values stored under `prefix`, in key order, at most `limit`.
    async fn list<T: DeserializeOwned>(&self, prefix: &str, limit: Option<u32>) -> ApiResult<Vec<T>> {
        let mut options = worker::ListOptions::new().prefix(prefix);
        if let Some(n) = limit {
            options = options.limit(n as usize);
        }
        let map = self.state.storage().list_with_options(options).await.map_err(ApiError::internal)?;
        let mut values = Vec::new();
        for entry in map.entries() {
            let entry = entry.map_err(|e| ApiError::internal(format!("{e:?}")))?;
            let pair: worker::js_sys::Array = entry.into();
            values.push(serde_wasm_bindgen::from_value::<T>(pair.get(1)).map_err(ApiError::internal)?);
        }
        Ok(values)
    }

    async fn conflicts(&self) -> ApiResult<Vec<Conflict>> {
        self.list(CONFLICT_PREFIX, Some(MAX_CONFLICTS_LISTED)).await
    }

    /// Registers the agent's chain with its organization's registry, once.
    async fn register(&self, org_id: &str, agent_id: &str) -> ApiResult<()> {
        if self.loaded.borrow().as_ref().is_some_and(|l| l.registered) {
            return Ok(());
        }
        crate::registry::register(&self.env, org_id, agent_id).await?;
        self.state.storage().put(REGISTERED_KEY, true).await.map_err(ApiError::internal)?;
        if let Some(l) = self.loaded.borrow_mut().as_mut() {
            l.registered = true;
        }
        Ok(())
    }

    /// The agent's configuration: cached, or loaded from D1.
    async fn config(&self, agent_id: &str, now_ms: i64) -> ApiResult<Rc<AgentConfig>> {
        if let Some(cfg) = self.config.borrow().get(now_ms) {
            return Ok(cfg);
        }
        let load = self.config.borrow().start_load(now_ms);
        let cfg = load_config(&self.env, agent_id).await?;
        Ok(self.config.borrow_mut().finish_load(load, cfg))
    }

    /// Takes from the agent's bucket. The in-memory bucket is the truth for this instance (the
    /// object runs one request's synchronous code at a time); it is stored with the commit of the
    /// decision's row, before the answer, so a restart does not refill it.
    async fn take(&self, config: RateLimitConfig, now_ms: i64) -> ApiResult<Take> {
        self.load().await?;
        let cell = Rc::clone(&self.loaded.borrow().as_ref().expect("loaded above").bucket);
        let mut bucket = cell.get().unwrap_or_else(|| Bucket::full(config, now_ms));
        let take = bucket.take(config, now_ms);
        cell.set(Some(bucket));
        Ok(take)
    }

    /// Events a decision causes, sent in the background (the answer does not wait): a new
    /// approval's `approval.requested`, and a deny's `decision.denied`.
    fn after_decision(
        &self,
        org_id: &str,
        agent_id: &str,
        (tool, scope): (&str, &str),
        response: &ValidateResponse,
        requested: Option<crate::approvals::Row>,
        now_ms: i64,
    ) {
        let env = self.env.clone();
        let org_id = org_id.to_string();
        let denied = (!response.allowed).then(|| {
            serde_json::json!({
                "decision_id": response.decision_id,
                "agent_id": agent_id,
                "tool": redact::identifier(tool),
                "scope": redact::identifier(scope),
                "reason": response.reason,
                "approval_id": response.approval.as_ref().map(|a| a.id.clone()),
            })
        });
        worker::wasm_bindgen_futures::spawn_local(async move {
            if let Some(row) = requested {
                crate::approvals::emit(&env, EventType::ApprovalRequested, &row, now_ms).await;
                crate::webhooks::kick(&env, &org_id).await;
            }
            if let Some(data) = denied {
                crate::webhooks::emit(&env, &org_id, EventType::DecisionDenied, data, now_ms).await;
            }
        });
    }

    async fn decide(&self, call: DecideCall) -> ApiResult<DecideAnswer> {
        let now_ms = worker::Date::now().as_millis() as i64;
        let writer = self.writer().await?;
        let cfg = self.config(&call.agent_id, now_ms).await?;
        let Some(agent) = cfg.agent.as_ref() else {
            return Ok(DecideAnswer::KeyRejected);
        };
        if !key_valid_in(&cfg, &call.key_hash, now_ms) {
            return Ok(DecideAnswer::KeyRejected);
        }
        self.register(&agent.org_id, &call.agent_id).await?;
        if self.names.borrow().is_none() {
            *self.names.borrow_mut() = Some((agent.org_id.clone(), call.agent_id.clone()));
        }

        // The organization's month first: a call over the quota is answered without using the
        // bucket or the rules, and does not count.
        let quota_now = call.quota_clock_ms.unwrap_or(now_ms);
        let mut exceeded = None;
        let mut charged = None;
        if let Some(limit) = cfg.org_plan.as_ref().and_then(|p| p.limits(now_ms).validations_per_month) {
            let head = || writer.head().seq;
            let storage = self.state.storage();
            match self.quota.charge(&self.env, &storage, &agent.org_id, &call.agent_id, limit, quota_now, head).await? {
                Ok(c) => charged = Some(c),
                Err(e) => exceeded = Some(e),
            }
            if !self.quota.watching() {
                let w = Rc::clone(&writer);
                let names = (agent.org_id.clone(), call.agent_id.clone());
                self.quota.watch_idle(self.env.clone(), storage, names, Box::new(move || w.head().seq));
            }
        }

        let enabled = agent.enabled == 1;
        let rate_limit = RateLimitConfig {
            capacity: agent.rate_capacity.clamp(1, u32::MAX as i64) as u32,
            refill_per_second: agent.rate_refill,
        };
        let (bucket_outcome, rate_state, retry_after) = if exceeded.is_some() {
            (BucketOutcome::NotConsulted, None, 0)
        } else if enabled {
            let take = self.take(rate_limit, now_ms).await?;
            let outcome = if take.allowed { BucketOutcome::Allowed } else { BucketOutcome::Limited };
            (outcome, Some(take.state), take.retry_after)
        } else {
            (BucketOutcome::NotConsulted, None, 0)
        };
        let req = &call.request;
        let facts = policy::Facts {
            arguments: req.arguments.as_ref(),
            context: req.context.as_ref(),
            client_ip: call.client_ip.as_deref(),
            now_ms,
        };
        // A disabled or rate-limited agent is not assessed: its answer does not depend on rules.
        let assessed = (exceeded.is_none() && enabled && bucket_outcome == BucketOutcome::Allowed)
            .then(|| policy::assess(cfg.tools.get(&req.tool), &req.scope, &facts, false));
        let (lookup, explanation, shadow) = match assessed {
            Some(a) => (a.lookup, a.explanation, a.shadow),
            None => (ToolLookup::Unknown, None, Vec::new()),
        };
        let mut decision = match &exceeded {
            Some(_) => decision::quota_exceeded(req.reasoning.as_deref()),
            None => decision::decide(enabled, bucket_outcome, lookup, explanation, req.reasoning.as_deref()),
        };
        let decision_id = ids::new_decision_id(&call.agent_id)?;

        let context = match &req.context {
            Some(ctx) => Some(serde_json::to_string(&redact::context(ctx)).map_err(ApiError::internal)?),
            None => None,
        };
        let arguments = match &req.arguments {
            Some(args) => Some(serde_json::to_string(&redact::arguments(args)).map_err(ApiError::internal)?),
            None => None,
        };
        let reasoning = req.reasoning.as_deref().map(redact::text);
        let mut approval_event = None;
        if let Some(ask) = decision.ask.take() {
            let call_facts = crate::approvals::Call {
                org_id: &agent.org_id,
                binding: approval::Binding {
                    agent_id: call.agent_id.clone(),
                    tool: req.tool.clone(),
                    scope: req.scope.clone(),
                    arguments_digest: approval::arguments_digest(req.arguments.as_ref()),
                    rule_id: ask.rule_id.clone(),
                    rule_version: ask.rule_version,
                },
                named: req.approval_id.as_deref(),
                arguments: arguments.as_deref(),
                reasoning: reasoning.as_deref(),
                decision_id: &decision_id,
                expiry_seconds: ask.expiry_seconds,
                may_request: req.request_approval != Some(false),
                now_ms,
            };
            let database = db::database(&self.env)?;
            let resolved = crate::approvals::resolve(&database, &call_facts).await?;
            let message = crate::approvals::explain(resolved.reason, resolved.approval.as_ref());
            decision.reason = resolved.reason;
            decision.approval = resolved.approval.as_ref().map(|r| r.ticket(now_ms));
            decision.explanation = Some(Explanation {
                rule_id: Some(ask.rule_id),
                effect: Some(Effect::RequireApproval),
                condition: None,
                message,
            });
            if resolved.requested {
                approval_event = resolved.approval;
            }
        }
        let explanation = match &decision.explanation {
            Some(e) => Some(serde_json::to_string(e).map_err(ApiError::internal)?),
            None => None,
        };
        let shadow =
            if shadow.is_empty() { None } else { Some(serde_json::to_string(&shadow).map_err(ApiError::internal)?) };
        let record = AuditRecord {
            decision_id: decision_id.clone(),
            org_id: agent.org_id.clone(),
            request_id: call.request_id.clone(),
            agent_id: call.agent_id.clone(),
            // Stored text never carries a secret, whichever field it was pasted into.
            tool: redact::identifier(&req.tool),
            scope: redact::identifier(&req.scope),
            allowed: decision.allowed(),
            reason: decision.reason.as_str().to_string(),
            reasoning,
            reasoning_required: decision.reasoning_required.as_str().to_string(),
            reasoning_provided: decision.reasoning_provided,
            context,
            arguments,
            explanation,
            shadow,
            latency_ms: (now_ms - call.started_ms).max(0),
            created_at: now_ms,
            chain_seq: 0,
            prev_hash: String::new(),
        };
        let spawn = |task| worker::wasm_bindgen_futures::spawn_local(task);
        let written = writer.write(record, &spawn).await;
        // A row that could not be committed is answered `unavailable` (the chain skips it), and
        // its unit of the month goes back.
        let reason = match &written {
            Written::Lost(why) => {
                if let Some(c) = charged {
                    self.quota.refund(c);
                }
                return Err(ApiError::internal(why));
            }
            w if w.answers_unavailable() => ReasonCode::Unavailable,
            _ => decision.reason,
        };
        let mut response = decision.response(reason, (&req.tool, &req.scope), decision_id, retry_after, rate_state);
        let mut retry_after = if reason == ReasonCode::RateLimited { retry_after } else { 0 };
        if let (Some(e), ReasonCode::QuotaExceeded) = (&exceeded, reason) {
            retry_after = oakauth_core::quota::seconds_until(quota_now, e.resets_at_ms);
            response.quota = Some(oakauth_core::wire::plans::QuotaExceeded {
                limit: e.limit,
                used: e.used,
                resets_at: oakauth_core::time::format_ms(e.resets_at_ms),
            });
        }
        self.after_decision(&agent.org_id, &call.agent_id, (&req.tool, &req.scope), &response, approval_event, now_ms);
        Ok(DecideAnswer::Decided { response: Box::new(response), retry_after, org_id: agent.org_id.clone() })
    }
}
