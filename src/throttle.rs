//! Failed-authentication throttling, in a Durable Object class of its own ([`AuthThrottle`]).
//!
//! A well-formed key (its checksum is a public CRC-32, anyone can make one) that matches nothing
//! is a failure. Failures are counted per client (`ip:` + [`oakauth_core::client::subject`]: an
//! IPv4 address, or an IPv6 /64) and per visible key prefix (`prefix:` + the prefix), one object
//! per subject, in a token bucket of [`AUTH_FAIL_LIMIT`]. Past the limit the answer is 429 with
//! `Retry-After` instead of 401.
//!
//! The client's counter is consulted before the key is looked up ([`check`]): a throttled client
//! costs no database read. Each isolate also remembers throttled clients until their retry time,
//! so while it lasts a throttled client costs no object call either. A key whose agent this
//! isolate already knows is not checked at all (a valid key keeps working from a throttled
//! network); a valid key it does not know yet waits out the throttle like any other key. If the
//! throttle object fails, the check lets the request through (a broken throttle blocks no valid
//! key), and a key that then matches nothing still gets its 401.
//!
//! An object forgets its counter once the bucket would be full again: each failure (re)arms an
//! alarm for that instant, and the alarm deletes the object's storage.

use std::cell::RefCell;
use std::collections::HashMap;

use oakauth_core::bucket::Bucket;
use oakauth_core::client;
use oakauth_core::keys;
use oakauth_core::wire::RateLimitConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{durable_object, js_sys, DurableObject, Env, Method, Request, RequestInit, Response, State};

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

/// What an [`AuthThrottle`] answers.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Verdict {
    /// Seconds to wait: non-zero when this failure (`/fail`) is over the limit, or when a failure
    /// now would be (`/check`).
    throttled: u64,
    /// `/fail` only: seconds until the next failure would be within the limit again.
    next: u64,
}

/// What the test route reports about one object's storage.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stored {
    pub bucket: Option<Bucket>,
    pub alarm_ms: Option<i64>,
}

async fn call<T: DeserializeOwned>(env: &Env, subject: &str, path: &str) -> ApiResult<T> {
    let namespace = env.durable_object("AUTH_THROTTLE")?;
    let stub = namespace.id_from_name(subject)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    let req = Request::new_with_init(&format!("https://auth-throttle{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        return Err(ApiError::internal(format!("auth throttle answered {}", resp.status_code())));
    }
    resp.json::<T>().await.map_err(ApiError::internal)
}

/// Before a key this isolate does not know is looked up: a 429 if the client is throttled.
/// Nothing is counted here. A throttle that cannot be asked lets the request through.
pub async fn check(req: &Request, env: &Env) -> ApiResult<()> {
    let subject = client_subject(req);
    let now = now_ms();
    if let Some(seconds) = remembered(&subject, now) {
        return Err(ApiError::too_many_failures(seconds));
    }
    match call::<Verdict>(env, &subject, "/check").await {
        Ok(Verdict { throttled: 0, .. }) => Ok(()),
        Ok(Verdict { throttled, .. }) => {
            remember(&subject, now, throttled);
            Err(ApiError::too_many_failures(throttled))
        }
        Err(e) => {
            worker::console_error!("auth throttle check failed ({}); not blocking", e.message);
            Ok(())
        }
    }
}

/// The answer to a well-formed key that matched nothing: the failure is counted against the
/// client and the key's prefix; 429 with `Retry-After` once either is over the limit, else 401.
/// If counting fails, the caller still gets no access: a plain 401.
pub async fn failed(req: &Request, env: &Env, key: &str, unauthorized: ApiError) -> ApiError {
    let subject = client_subject(req);
    let prefix = format!("prefix:{}", keys::prefix_of(key).unwrap_or_default());
    let (by_client, by_prefix) =
        futures::future::join(call::<Verdict>(env, &subject, "/fail"), call::<Verdict>(env, &prefix, "/fail")).await;
    let now = now_ms();
    if let Ok(v) = &by_client {
        remember(&subject, now, v.throttled.max(v.next));
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
                "/check" => {
                    let bucket = self.load().await?;
                    let throttled = bucket.map_or(0, |b| b.retry_after(AUTH_FAIL_LIMIT, now));
                    Ok(json_response(200, &Verdict { throttled, next: 0 }))
                }
                "/fail" => Ok(json_response(200, &self.fail(now).await?)),
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

    async fn fail(&self, now: i64) -> ApiResult<Verdict> {
        self.load().await?;
        let (verdict, snapshot, idle_at) = {
            let mut slot = self.bucket.borrow_mut();
            let bucket = slot.get_or_insert(None).get_or_insert_with(|| Bucket::full(AUTH_FAIL_LIMIT, now));
            let take = bucket.take(AUTH_FAIL_LIMIT, now);
            let throttled = if take.allowed { 0 } else { take.retry_after.max(1) };
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
