//! Failed-authentication throttling, in a Durable Object class of its own ([`AuthThrottle`]).
//!
//! A well-formed key (its checksum is a public CRC-32, anyone can make one) that matches nothing
//! is a failure. Failures are counted per client (`ip:` + [`oakauth_core::client::subject`]: an
//! IPv4 address, or an IPv6 /64) and per visible key prefix (`prefix:` + the prefix), one object
//! per subject, in a token bucket of [`AUTH_FAIL_LIMIT`]. Past the limit the answer is 429 with
//! `Retry-After` instead of 401.
//!
//! The client's counter is charged before a key is looked up ([`guarded`]): a throttled client
//! gets its 429 without any database read, and concurrent tries cannot overshoot the limit. The
//! charge is given back when the key turns out valid, or when the lookup itself fails. Each
//! isolate also remembers throttled clients until their retry time, so while it lasts a
//! throttled client costs no object call either. Callers skip all of this for a key the isolate
//! has already seen valid: such a key keeps working from a throttled network, while a valid key
//! the isolate has not seen waits out the throttle like any other. If the throttle object fails,
//! the lookup goes ahead (a broken throttle blocks no valid key), and a key that matches nothing
//! still gets its 401.
//!
//! An object forgets its counter once the bucket would be full again: each change (re)arms an
//! alarm for that instant, and the alarm deletes the object's storage.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;

use oakauth_core::bucket::Bucket;
use oakauth_core::client;
use oakauth_core::keys;
use oakauth_core::wire::RateLimitConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{durable_object, js_sys, DurableObject, Env, Method, Request, Response, State};

use crate::http::{json_response, ApiError, ApiResult};

/// Failed authentications allowed per client or key prefix: a burst of 20, then one per 6 s.
pub const AUTH_FAIL_LIMIT: RateLimitConfig = RateLimitConfig { capacity: 20, refill_per_second: 1.0 / 6.0 };

const BUCKET_KEY: &str = "bucket";
/// Throttled clients remembered per isolate; the map is cleared of expired entries, then
/// entirely, when it reaches this size.
const BLOCKED_MAX: usize = 10_000;

thread_local! {
    /// Client subject → until when (ms since the epoch) this isolate answers it 429 unasked.
    static BLOCKED: RefCell<HashMap<String, i64>> = RefCell::new(HashMap::new());
    /// Key hashes being looked up in this isolate → which [`Turn`] holds them.
    static LOOKUPS: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
    static NEXT_TURN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How long a call waits for another call's lookup of the same key before looking it up itself.
const TURN_WAIT_MS: i64 = 2_000;
/// How often a waiting call looks again. Waiting is polling: a request of a stateless worker
/// cannot await a promise another request resolves (the runtime cancels it as hung).
const TURN_POLL_MS: u64 = 5;

/// The right to look one key up; the next call waiting for the same key gets it when this is
/// dropped (also when the request holding it is cancelled).
pub struct Turn {
    hash: String,
    id: u64,
}

impl Drop for Turn {
    fn drop(&mut self) {
        LOOKUPS.with(|m| {
            let mut m = m.borrow_mut();
            if m.get(&self.hash) == Some(&self.id) {
                m.remove(&self.hash);
            }
        });
    }
}

/// Waits (at most [`TURN_WAIT_MS`]) until no other call of this isolate is looking up the key with
/// hash `hash`. A burst of calls with a key the isolate has not seen yet (an agent starting up)
/// then costs one throttle charge and one lookup: the first call looks the key up, and the others
/// find it in their caller's cache once their turn comes. Without it, concurrent first calls each
/// charged the client's counter before their lookup, and a burst of a valid key larger than
/// [`AUTH_FAIL_LIMIT`] was answered 429. A key that matches nothing is still charged once per call.
pub async fn turn(hash: &str) -> Turn {
    let deadline = now_ms() + TURN_WAIT_MS;
    loop {
        let taken = LOOKUPS.with(|m| {
            let mut m = m.borrow_mut();
            if m.contains_key(hash) && now_ms() < deadline {
                return None;
            }
            let id = NEXT_TURN.with(|n| {
                n.set(n.get() + 1);
                n.get()
            });
            m.insert(hash.to_string(), id);
            Some(id)
        });
        if let Some(id) = taken {
            return Turn { hash: hash.to_string(), id };
        }
        worker::Delay::from(std::time::Duration::from_millis(TURN_POLL_MS)).await;
    }
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// The name of the client's counter: `ip:` and its subject, from `CF-Connecting-IP`.
pub fn client_subject(req: &Request) -> String {
    let header = req.headers().get("CF-Connecting-IP").ok().flatten();
    format!("ip:{}", client::subject(header.as_deref()))
}

fn remembered(subject: &str, now: i64) -> Option<u64> {
    BLOCKED.with(|m| {
        let mut m = m.borrow_mut();
        match m.get(subject) {
            Some(&until) if until > now => Some(((until - now) as u64).div_ceil(1000).max(1)),
            Some(_) => {
                m.remove(subject);
                None
            }
            None => None,
        }
    })
}

fn remember(subject: &str, now: i64, seconds: u64) {
    if seconds == 0 {
        return;
    }
    BLOCKED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= BLOCKED_MAX {
            m.retain(|_, until| *until > now);
            if m.len() >= BLOCKED_MAX {
                m.clear();
            }
        }
        m.insert(subject.to_string(), now.saturating_add(seconds.saturating_mul(1000) as i64));
    });
}

/// What an [`AuthThrottle`] answers to `/take`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Verdict {
    /// Seconds to wait when this failure is over the limit (nothing was taken), else 0.
    throttled: u64,
    /// Seconds until the next failure would be within the limit again.
    next: u64,
}

/// What the test route reports about one object's storage.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stored {
    pub bucket: Option<Bucket>,
    pub alarm_ms: Option<i64>,
}

async fn call<T: DeserializeOwned>(env: &Env, subject: &str, path: &str) -> ApiResult<T> {
    crate::objects::call(env, "AUTH_THROTTLE", subject, path, &()).await
}

/// Looks a key up (`lookup`: `None` when it matches nothing) behind the client's throttle: a
/// throttled client gets 429 and `lookup` does not run; a key that matches nothing is counted
/// against the client (charged before the lookup) and the key's prefix, and answered
/// `unauthorized` or 429.
pub async fn guarded<T>(
    req: &Request,
    env: &Env,
    key: &str,
    unauthorized: ApiError,
    lookup: impl Future<Output = ApiResult<Option<T>>>,
) -> ApiResult<T> {
    let subject = client_subject(req);
    if let Some(seconds) = remembered(&subject, now_ms()) {
        return Err(ApiError::too_many_failures(seconds));
    }
    let charged = match call::<Verdict>(env, &subject, "/take").await {
        Ok(Verdict { throttled: 0, next }) => Some(next),
        Ok(Verdict { throttled, .. }) => {
            remember(&subject, now_ms(), throttled);
            return Err(ApiError::too_many_failures(throttled));
        }
        Err(e) => {
            worker::console_error!("auth throttle unavailable ({}); looking the key up anyway", e.message);
            None
        }
    };
    let outcome = lookup.await;
    if let Ok(None) = outcome {
        return Err(count_failure(env, key, unauthorized, &subject, charged).await);
    }
    // A valid key, or a lookup that failed (the caller answers `unavailable`): not a failure.
    if charged.is_some() {
        if let Err(e) = call::<Verdict>(env, &subject, "/give-back").await {
            worker::console_error!("auth throttle give-back failed ({})", e.message);
        }
    }
    outcome.and_then(|found| found.ok_or_else(|| ApiError::internal("unreachable: a miss is handled above")))
}

/// The answer to a well-formed key that matched nothing without [`guarded`] (a key the isolate
/// knew, which is no longer valid): counted against the client and the key's prefix.
pub async fn failed(req: &Request, env: &Env, key: &str, unauthorized: ApiError) -> ApiError {
    count_failure(env, key, unauthorized, &client_subject(req), None).await
}

/// Counts a failure against the key's prefix, and against the client unless `charged` (what
/// taking the client's token answered). If counting fails, the caller still gets no access: a
/// plain 401.
async fn count_failure(env: &Env, key: &str, unauthorized: ApiError, subject: &str, charged: Option<u64>) -> ApiError {
    let prefix = format!("prefix:{}", keys::prefix_of(key).unwrap_or_default());
    let by_prefix = call::<Verdict>(env, &prefix, "/take");
    let (by_client, by_prefix) = match charged {
        Some(next) => (Ok(Verdict { throttled: 0, next }), by_prefix.await),
        None => futures::future::join(call::<Verdict>(env, subject, "/take"), by_prefix).await,
    };
    if let Ok(v) = &by_client {
        remember(subject, now_ms(), v.throttled.max(v.next));
    }
    let throttled = [by_client, by_prefix].into_iter().filter_map(Result::ok).map(|v| v.throttled).max().unwrap_or(0);
    if throttled > 0 {
        ApiError::too_many_failures(throttled)
    } else {
        unauthorized
    }
}

/// Test route (`OAKAUTH_TEST_ROUTES=1`): what the counter of client `address` has in storage.
pub async fn stored(env: &Env, address: Option<&str>) -> ApiResult<Response> {
    let subject = format!("ip:{}", client::subject(address));
    let stored: Stored = call(env, &subject, "/stored").await?;
    Ok(json_response(200, &stored))
}

#[durable_object]
pub struct AuthThrottle {
    state: State,
    /// None until loaded from storage; then the counter, None when there is none.
    bucket: RefCell<Option<Option<Bucket>>>,
}

impl DurableObject for AuthThrottle {
    fn new(state: State, _env: Env) -> Self {
        Self { state, bucket: RefCell::new(None) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<Response> = async {
            if req.method() != Method::Post {
                return Err(ApiError::not_found("unknown auth-throttle route"));
            }
            let now = now_ms();
            match req.path().as_str() {
                "/take" => Ok(json_response(200, &self.change(now, true).await?)),
                "/give-back" => Ok(json_response(200, &self.change(now, false).await?)),
                "/stored" => {
                    let storage = self.state.storage();
                    let bucket: Option<Bucket> = storage.get(BUCKET_KEY).await.map_err(ApiError::internal)?;
                    let alarm_ms = storage.get_alarm().await.map_err(ApiError::internal)?;
                    Ok(json_response(200, &Stored { bucket, alarm_ms }))
                }
                _ => Err(ApiError::not_found("unknown auth-throttle route")),
            }
        }
        .await;
        Ok(outcome.unwrap_or_else(ApiError::into_response))
    }

    /// Forgets the counter once it is full again (nothing left to remember); if a failure came
    /// since the alarm was set, waits for the new instant instead.
    async fn alarm(&self) -> worker::Result<Response> {
        let now = now_ms();
        let bucket = self.load().await.map_err(|e| worker::Error::RustError(e.message))?;
        let storage = self.state.storage();
        match bucket.and_then(|b| b.full_at_ms(AUTH_FAIL_LIMIT)) {
            Some(at) if at > now => storage.set_alarm(at_time(at)).await?,
            _ => {
                *self.bucket.borrow_mut() = Some(None);
                storage.delete_all().await?;
            }
        }
        Response::ok("")
    }
}

fn at_time(ms: i64) -> worker::ScheduledTime {
    worker::ScheduledTime::new(js_sys::Date::new(&(ms as f64).into()))
}

impl AuthThrottle {
    async fn load(&self) -> ApiResult<Option<Bucket>> {
        if let Some(bucket) = *self.bucket.borrow() {
            return Ok(bucket);
        }
        let stored: Option<Bucket> = self.state.storage().get(BUCKET_KEY).await.map_err(ApiError::internal)?;
        // Another request may have loaded (and counted) while we awaited storage; keep the first.
        Ok(*self.bucket.borrow_mut().get_or_insert(stored))
    }

    /// Takes a token (`take`: one more failure), or gives one back; stores the bucket and arms
    /// the alarm for when it is full again.
    async fn change(&self, now: i64, take: bool) -> ApiResult<Verdict> {
        self.load().await?;
        let (verdict, snapshot, idle_at) = {
            let mut slot = self.bucket.borrow_mut();
            let bucket = slot.get_or_insert(None).get_or_insert_with(|| Bucket::full(AUTH_FAIL_LIMIT, now));
            let throttled = if take {
                let t = bucket.take(AUTH_FAIL_LIMIT, now);
                if t.allowed {
                    0
                } else {
                    t.retry_after.max(1)
                }
            } else {
                bucket.give_back(AUTH_FAIL_LIMIT, now);
                0
            };
            let verdict = Verdict { throttled, next: bucket.retry_after(AUTH_FAIL_LIMIT, now) };
            (verdict, *bucket, bucket.full_at_ms(AUTH_FAIL_LIMIT))
        };
        // The in-memory bucket is the truth for this instance (one request's synchronous code
        // runs at a time); storage makes it survive a restart, the alarm makes it go when idle.
        let storage = self.state.storage();
        storage.put(BUCKET_KEY, snapshot).await.map_err(ApiError::internal)?;
        if let Some(at) = idle_at {
            storage.set_alarm(at_time(at)).await.map_err(ApiError::internal)?;
        }
        Ok(verdict)
    }
}
