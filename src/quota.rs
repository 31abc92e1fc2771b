//! The monthly validation quota (docs/plans.md): the organization's quota object ([`OrgQuota`],
//! one per organization, holding its [`Pool`]) and the agent object's side ([`Holder`]: the lease
//! it takes units from without a round trip). The arithmetic and its property tests live in
//! [`oakauth_core::quota`]; this module only stores and sends.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use oakauth_core::quota::{Exchange, Lease, Pool, StoredLease};
use oakauth_core::time::format_ms;
use oakauth_core::webhook::EventType;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State, Storage};

use crate::http::{ApiError, ApiResult};

/// The agent's lease, in the agent object's storage (written when it changes, not per decision).
const LEASE_KEY: &str = "quota_lease";
/// The organization's pool, in the quota object's storage.
const POOL_KEY: &str = "pool";

#[derive(Debug, Serialize, Deserialize)]
struct ExchangeCall {
    agent_id: String,
    org_id: String,
    returned: Option<Lease>,
    limit: u64,
    now_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct GiveBack {
    agent_id: String,
    lease: Lease,
    now_ms: i64,
}

/// What the pool asks an agent object when it has nothing left: its lease back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reclaim {
    pub agent_id: String,
}

/// The agent's chain head now (a lease is stored against it).
pub type HeadSeq = Box<dyn Fn() -> i64>;

/// The month's validations are used up (or all held by agents busy using them).
#[derive(Debug, Clone)]
pub struct Exceeded {
    pub limit: u64,
    pub used: u64,
    pub resets_at_ms: i64,
}

/// How often an agent asks the pool again when it was refused while other agents held units, and
/// the first pause (it grows by as much each time: 10 + 20 + … + 80 ms = 360 ms at most).
const EXCHANGE_RETRIES: u64 = 8;
const EXCHANGE_RETRY_MS: u64 = 10;

/// How long an agent's object keeps a lease it does not use before giving it back.
pub const IDLE_GIVE_BACK_MS: u64 = 30_000;

/// The agent object's side: its current lease and the one exchange with the pool in flight.
#[derive(Default)]
pub struct Holder {
    loaded: Cell<bool>,
    lease: Cell<Option<Lease>>,
    /// The last lease given up (to the pool's reclaim, or on idle): sent again with the next
    /// exchange, in case that exchange reaches the pool before the give-back (the pool counts a
    /// grant once, so whichever arrives second changes nothing).
    surrendered: Cell<Option<Lease>>,
    exchanging: Cell<bool>,
    waiters: RefCell<Vec<oneshot::Sender<()>>>,
    /// When a unit was last taken (ms), and whether the idle watch runs.
    last_used_ms: Cell<i64>,
    watching: Cell<bool>,
}

/// A unit taken for a decision; [`Holder::refund`] puts it back if the decision was not recorded.
#[derive(Debug, Clone, Copy)]
pub struct Charged {
    grant: u64,
}

impl Holder {
    async fn load(&self, storage: &Storage, head_seq: i64) -> ApiResult<()> {
        if self.loaded.get() {
            return Ok(());
        }
        let stored: Option<StoredLease> = storage.get(LEASE_KEY).await.map_err(ApiError::internal)?;
        if !self.loaded.replace(true) {
            self.lease.set(stored.map(|s| s.restore(head_seq)));
        }
        Ok(())
    }

    /// Takes one unit of the organization's month for a decision at `now_ms`: from the lease,
    /// or after exchanging it with the organization's pool. `head_seq` is the agent's chain head
    /// (a new lease is stored against it).
    #[allow(clippy::too_many_arguments)]
    pub async fn charge(
        &self,
        env: &Env,
        storage: &Storage,
        org_id: &str,
        agent_id: &str,
        limit: u64,
        now_ms: i64,
        head_seq: impl Fn() -> i64,
    ) -> ApiResult<Result<Charged, Exceeded>> {
        self.load(storage, head_seq()).await?;
        loop {
            if let Some(mut l) = self.lease.get() {
                if l.take(now_ms) {
                    self.lease.set(Some(l));
                    self.last_used_ms.set(worker::Date::now().as_millis() as i64);
                    return Ok(Ok(Charged { grant: l.grant }));
                }
            }
            if self.exchanging.replace(true) {
                let (tx, rx) = oneshot::channel();
                self.waiters.borrow_mut().push(tx);
                let _ = rx.await;
                continue;
            }
            let mut result = self.exchange(env, storage, org_id, agent_id, limit, now_ms, &head_seq).await;
            // Refused while other agents hold units: their leases may be on the way back (an agent
            // gives its lease back with its next exchange, which may reach the pool after ours), so
            // ask again a few times before refusing. Waiting calls of this agent keep waiting.
            for attempt in 1..=EXCHANGE_RETRIES {
                match &result {
                    Ok(e) if e.worth_retrying() => {}
                    _ => break,
                }
                worker::Delay::from(std::time::Duration::from_millis(EXCHANGE_RETRY_MS * attempt)).await;
                result = self.exchange(env, storage, org_id, agent_id, limit, now_ms, &head_seq).await;
            }
            self.exchanging.set(false);
            for waiter in self.waiters.borrow_mut().drain(..) {
                let _ = waiter.send(());
            }
            let exchange = result?;
            if exchange.lease.is_none() {
                return Ok(Err(Exceeded {
                    limit: exchange.limit,
                    used: exchange.used,
                    resets_at_ms: exchange.month.end_ms,
                }));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        env: &Env,
        storage: &Storage,
        org_id: &str,
        agent_id: &str,
        limit: u64,
        now_ms: i64,
        head_seq: &impl Fn() -> i64,
    ) -> ApiResult<Exchange> {
        // Stored as gone before the pool hears of it: a crash now leaves units unused, never used twice.
        let held = self.lease.take();
        if held.is_some() {
            storage.delete(LEASE_KEY).await.map_err(ApiError::internal)?;
        }
        let returned = held.or(self.surrendered.take());
        let call = ExchangeCall { agent_id: agent_id.into(), org_id: org_id.into(), returned, limit, now_ms };
        let exchange: Exchange = crate::objects::call(env, "ORG_QUOTA", org_id, "/exchange", &call).await?;
        if let Some(lease) = exchange.lease {
            storage.put(LEASE_KEY, StoredLease { lease, base_seq: head_seq() }).await.map_err(ApiError::internal)?;
            self.lease.set(Some(lease));
        }
        Ok(exchange)
    }

    /// Puts back a unit of a decision that could not be recorded (only into the lease it came from).
    pub fn refund(&self, charged: Charged) {
        if let Some(mut lease) = self.lease.get().filter(|l| l.grant == charged.grant) {
            lease.refund();
            self.lease.set(Some(lease));
        }
    }

    /// Gives the lease up (stored as gone first) and returns it, for the pool.
    pub async fn surrender(&self, storage: &Storage, head_seq: i64) -> ApiResult<Option<Lease>> {
        self.load(storage, head_seq).await?;
        let lease = self.lease.take();
        if let Some(l) = lease {
            self.surrendered.set(Some(l));
            storage.delete(LEASE_KEY).await.map_err(ApiError::internal)?;
        }
        Ok(lease)
    }

    /// Whether the idle watch runs (callers skip building its arguments then).
    pub fn watching(&self) -> bool {
        self.watching.get()
    }

    /// Gives the lease back once no unit has been taken from it for [`IDLE_GIVE_BACK_MS`], so
    /// that other agents of the organization can use it. One watch per object at a time.
    pub fn watch_idle(self: &Rc<Self>, env: Env, storage: Storage, names: (String, String), head_seq: HeadSeq) {
        if self.watching.replace(true) {
            return;
        }
        let holder = Rc::clone(self);
        worker::wasm_bindgen_futures::spawn_local(async move {
            loop {
                worker::Delay::from(std::time::Duration::from_millis(IDLE_GIVE_BACK_MS)).await;
                if holder.lease.get().is_none() {
                    break;
                }
                let idle = worker::Date::now().as_millis() as i64 - holder.last_used_ms.get();
                if idle >= IDLE_GIVE_BACK_MS as i64 {
                    holder.give_back(&env, &storage, &names.0, &names.1, head_seq()).await;
                    break;
                }
            }
            holder.watching.set(false);
        });
    }

    /// Gives the lease back to the organization's pool (on a configuration change: the limit may
    /// have changed). Failures only leave units unused until the month ends.
    pub async fn give_back(&self, env: &Env, storage: &Storage, org_id: &str, agent_id: &str, head_seq: i64) {
        let outcome = async {
            if let Some(lease) = self.surrender(storage, head_seq).await? {
                let now_ms = worker::Date::now().as_millis() as i64;
                let body = GiveBack { agent_id: agent_id.into(), lease, now_ms };
                crate::objects::call::<_, serde_json::Value>(env, "ORG_QUOTA", org_id, "/give_back", &body).await?;
            }
            Ok::<_, ApiError>(())
        }
        .await;
        if let Err(e) = outcome {
            worker::console_error!("quota lease of {agent_id} not given back: {}", e.message);
        }
    }
}

/// The organization's quota object: one per organization, named by its id.
#[durable_object]
pub struct OrgQuota {
    state: State,
    env: Env,
    pool: RefCell<Option<Pool>>,
}

impl DurableObject for OrgQuota {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, pool: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<Response> = async {
            if req.method() != Method::Post {
                return Err(ApiError::not_found("unknown quota-object route"));
            }
            match req.path().as_str() {
                "/exchange" => {
                    let call: ExchangeCall = req.json().await.map_err(ApiError::internal)?;
                    let exchange = self.exchange(&call).await?;
                    Ok(crate::http::json_response(200, &exchange))
                }
                "/give_back" => {
                    let back: GiveBack = req.json().await.map_err(ApiError::internal)?;
                    self.load().await?;
                    self.with_pool(|p| p.give_back(&back.agent_id, &back.lease, back.now_ms));
                    self.save().await?;
                    Ok(crate::http::json_response(200, &serde_json::json!({})))
                }
                _ => Err(ApiError::not_found("unknown quota-object route")),
            }
        }
        .await;
        Ok(outcome.unwrap_or_else(ApiError::into_response))
    }
}

impl OrgQuota {
    async fn load(&self) -> ApiResult<()> {
        if self.pool.borrow().is_some() {
            return Ok(());
        }
        let stored: Option<Pool> = self.state.storage().get(POOL_KEY).await.map_err(ApiError::internal)?;
        let mut slot = self.pool.borrow_mut();
        if slot.is_none() {
            *slot = Some(stored.unwrap_or_default());
        }
        Ok(())
    }

    fn with_pool<T>(&self, f: impl FnOnce(&mut Pool) -> T) -> T {
        f(self.pool.borrow_mut().as_mut().expect("loaded"))
    }

    /// Stores the pool as it is now; answers wait for it (a grant is durable before it is used).
    async fn save(&self) -> ApiResult<()> {
        let pool = self.with_pool(|p| p.clone());
        self.state.storage().put(POOL_KEY, pool).await.map_err(ApiError::internal)
    }

    async fn exchange(&self, call: &ExchangeCall) -> ApiResult<Exchange> {
        self.load().await?;
        let (agent, limit, now) = (call.agent_id.as_str(), call.limit, call.now_ms);
        let mut exchange = self.with_pool(|p| p.exchange(agent, call.returned.as_ref(), limit, now));
        if exchange.lease.is_none() {
            // Before refusing: the units other agents hold and do not use come back.
            let holders = self.with_pool(|p| p.holders_except(agent));
            if !holders.is_empty() {
                self.save().await?;
                for holder in holders {
                    let asked: ApiResult<Option<Lease>> = crate::objects::call(
                        &self.env,
                        "AGENT_BUCKET",
                        &holder,
                        "/quota/return",
                        &Reclaim { agent_id: holder.clone() },
                    )
                    .await;
                    match asked {
                        Ok(Some(lease)) => self.with_pool(|p| p.give_back(&holder, &lease, now)),
                        Ok(None) => {}
                        Err(e) => worker::console_error!("quota: {holder} did not give its lease back: {}", e.message),
                    }
                }
                let again = self.with_pool(|p| p.exchange(agent, None, limit, now));
                exchange = Exchange { crossed: [exchange.crossed, again.crossed].concat(), ..again };
            }
        }
        self.save().await?;
        if !exchange.crossed.is_empty() {
            let env = self.env.clone();
            let org_id = call.org_id.clone();
            let (crossed, used, month) = (exchange.crossed.clone(), exchange.used, exchange.month);
            worker::wasm_bindgen_futures::spawn_local(async move {
                for threshold in crossed {
                    let data = serde_json::json!({
                        "quota": "validations",
                        "threshold": threshold,
                        "used": used,
                        "limit": limit,
                        "period_start": format_ms(month.start_ms),
                        "resets_at": format_ms(month.end_ms),
                    });
                    crate::webhooks::emit(&env, &org_id, EventType::QuotaThreshold, data, now).await;
                }
            });
        }
        Ok(exchange)
    }
}
