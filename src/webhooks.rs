//! Webhook delivery: events become rows of `webhook_deliveries` (one per subscribed endpoint,
//! all with the event's message id), and each organization's [`WebhookDispatcher`] object sends
//! them, signed per the Standard Webhooks specification ([`oakauth_core::webhook`]), retrying on
//! the specification's schedule with its alarm, until a `2xx`, a `410 Gone` (which disables the
//! endpoint) or the last attempt.
//!
//! The dispatcher also expires the organization's approvals nobody decided in time, so that
//! `approval.expired` is sent when an approval expires and not when someone next looks at it.
//!
//! An event is never lost between its cause and its delivery row once the row is written: the
//! rows are in D1, and a dispatcher that restarts finds them due. What can be lost is an event
//! whose row could not be written (D1 unreachable at that moment); that is logged.

use std::cell::Cell;
use std::time::Duration;

use oakauth_core::time::format_ms;
use oakauth_core::webhook::degraded::{self, Counted, DegradedWindow};
use oakauth_core::webhook::{self, sealed, DeliveryOutcome, EventType, Failure, Payload, Secret};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

use crate::db::{self, Arg};
use crate::http::{ApiError, ApiResult};

/// Most deliveries one run sends; the rest wait for the next run, which starts at once.
const BATCH: u32 = 20;
/// How long one attempt may take, connection and answer included.
pub const ATTEMPT_TIMEOUT_MS: u64 = 10_000;
/// Most bytes of a failed answer's body kept as its `last_error`.
const ERROR_BODY_CHARS: usize = 200;

/// Whether the deployment allows `http://` endpoints on loopback (local development and tests).
pub fn allow_loopback(env: &Env) -> bool {
    env.var("WEBHOOK_ALLOW_HTTP_LOOPBACK").map(|v| v.to_string() == "true").unwrap_or(false)
}

/// Records `event` for every enabled endpoint of `org_id` that subscribed to it, then, if there
/// was one, wakes the organization's dispatcher (an event nobody subscribed to costs one D1
/// statement and nothing more). Never fails the caller: an event that cannot be recorded is logged.
pub async fn emit(env: &Env, org_id: &str, event: EventType, data: Value, at_ms: i64) {
    match record(env, org_id, event, data, at_ms).await {
        Ok(0) => {}
        Ok(_) => kick(env, org_id).await,
        Err(e) => worker::console_error!("webhook event {} of {org_id} not recorded: {}", event.as_str(), e.message),
    }
}

/// Writes the event's deliveries; returns how many endpoints get it.
async fn record(env: &Env, org_id: &str, event: EventType, data: Value, at_ms: i64) -> ApiResult<usize> {
    let id = webhook::new_message_id()?;
    let payload = Payload::new(event, at_ms, data);
    let body = String::from_utf8(payload.to_body()).map_err(ApiError::internal)?;
    let database = db::database(env)?;
    let results = db::batch(
        &database,
        vec![db::stmt(
            &database,
            "INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_type, payload, status, attempts,
                                             next_attempt_at, created_at)
             SELECT ?1, ?2, e.id, ?3, ?4, 'pending', 0, ?5, ?5
               FROM webhook_endpoints e
              WHERE e.org_id = ?2 AND e.enabled = 1
                AND EXISTS (SELECT 1 FROM json_each(e.event_types) t WHERE t.value = ?3)
             RETURNING webhook_id",
            &[Arg::from(&id), Arg::from(org_id), Arg::from(event.as_str()), Arg::from(&body), Arg::Int(at_ms)],
        )?],
    )
    .await?;
    let recorded = results.first().map(|r| r.results::<Value>()).transpose().map_err(ApiError::internal)?;
    Ok(recorded.map_or(0, |r| r.len()))
}

/// Wakes the organization's dispatcher: it sends what is due and sets its alarm for what is not.
pub async fn kick(env: &Env, org_id: &str) {
    let r: ApiResult<Value> = crate::objects::call(env, "WEBHOOK_DISPATCHER", org_id, "/kick", &org_id).await;
    if let Err(e) = r {
        // The dispatcher's alarm, or the next kick, sends it later.
        worker::console_error!("webhook dispatcher of {org_id} not reached: {}", e.message);
    }
}

/// The deployment's `service.degraded` threshold (`DEGRADED_THRESHOLD_PER_MINUTE`).
fn degraded_threshold(env: &Env) -> u32 {
    let setting = env.var("DEGRADED_THRESHOLD_PER_MINUTE").ok().map(|v| v.to_string());
    degraded::threshold(setting.as_deref())
}

#[derive(Serialize, Deserialize)]
struct UnavailableReport {
    org_id: String,
    at_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct UnavailableCounted {
    /// The minute's `service.degraded` has been sent (by this report or an earlier one).
    sent: bool,
}

/// Counts one `unavailable` decision of `org_id` made at `at_ms` in the organization's
/// dispatcher, which records `service.degraded` when the minute's count reaches the threshold.
/// Returns whether the minute's event has been sent, after which reports of that minute change
/// nothing.
pub async fn report_unavailable(env: &Env, org_id: &str, at_ms: i64) -> ApiResult<bool> {
    let report = UnavailableReport { org_id: org_id.to_string(), at_ms };
    let counted: UnavailableCounted =
        crate::objects::call(env, "WEBHOOK_DISPATCHER", org_id, "/unavailable", &report).await?;
    Ok(counted.sent)
}

/// Storage key of the dispatcher's [`DegradedWindow`].
const DEGRADED_KEY: &str = "degraded";

/// One organization's webhook sender (one object per organization, named by its id).
#[durable_object]
pub struct WebhookDispatcher {
    state: State,
    env: Env,
    /// A run is in progress; a kick meanwhile only asks it to go round once more.
    running: Cell<bool>,
    again: Cell<bool>,
    /// The current minute's count of `unavailable` decisions, once read from storage.
    degraded: Cell<Option<DegradedWindow>>,
}

impl DurableObject for WebhookDispatcher {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, running: Cell::new(false), again: Cell::new(false), degraded: Cell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        if req.method() == Method::Post && req.path() == "/unavailable" {
            let report: UnavailableReport = req.json().await?;
            return Ok(match self.count_unavailable(&report).await {
                Ok(sent) => crate::http::json_response(200, &UnavailableCounted { sent }),
                Err(e) => e.into_response(),
            });
        }
        if req.method() != Method::Post || req.path() != "/kick" {
            return Ok(ApiError::not_found("unknown dispatcher route").into_response());
        }
        let org_id: String = req.json().await?;
        self.state.storage().put("org_id", &org_id).await?;
        Ok(match self.run(&org_id).await {
            Ok(()) => crate::http::json_response(200, &serde_json::json!({})),
            Err(e) => e.into_response(),
        })
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let org_id: Option<String> = self.state.storage().get("org_id").await?;
        if let Some(org_id) = org_id {
            if let Err(e) = self.run(&org_id).await {
                worker::console_error!("webhook dispatcher of {org_id}: {}", e.message);
                // Try again in a minute rather than never.
                self.state.storage().set_alarm(Duration::from_secs(60)).await?;
            }
        }
        Response::ok("")
    }
}

#[derive(Deserialize)]
struct Due {
    id: String,
    webhook_id: String,
    payload: String,
    attempts: i64,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
}

#[derive(Deserialize)]
struct Next {
    at: Option<i64>,
}

impl WebhookDispatcher {
    /// Counts one report; at the threshold, records the minute's `service.degraded` and sends it.
    /// The count is stored before the event is recorded, so that a restart cannot send the
    /// minute's event twice (at worst, with D1 down at that moment, not at all: logged).
    async fn count_unavailable(&self, report: &UnavailableReport) -> ApiResult<bool> {
        let storage = self.state.storage();
        let mut window = match self.degraded.get() {
            Some(w) => w,
            None => storage.get::<DegradedWindow>(DEGRADED_KEY).await.ok().flatten().unwrap_or_default(),
        };
        let threshold = degraded_threshold(&self.env);
        let counted = window.count(report.at_ms, 1, threshold);
        self.degraded.set(Some(window));
        storage.put(DEGRADED_KEY, window).await.map_err(ApiError::internal)?;
        match counted {
            Counted::Below => Ok(false),
            Counted::AlreadySent => Ok(true),
            Counted::Emit { minute, count } => {
                let org_id = &report.org_id;
                storage.put("org_id", org_id).await.map_err(ApiError::internal)?;
                let data = degraded::event_data(minute, count, threshold);
                let at = now_ms();
                match record(&self.env, org_id, EventType::ServiceDegraded, data, at).await {
                    Ok(0) => {}
                    Ok(_) => self.run(org_id).await?,
                    Err(e) => worker::console_error!("service.degraded of {org_id} not recorded: {}", e.message),
                }
                Ok(true)
            }
        }
    }

    async fn run(&self, org_id: &str) -> ApiResult<()> {
        if self.running.get() {
            self.again.set(true);
            return Ok(());
        }
        self.running.set(true);
        let result = async {
            loop {
                self.again.set(false);
                let expired = self.expire_approvals(org_id).await?;
                let sent = self.send_due(org_id).await?;
                if !self.again.get() && sent < BATCH && expired == 0 {
                    break;
                }
            }
            self.schedule(org_id).await
        }
        .await;
        self.running.set(false);
        result
    }

    /// Marks the organization's pending approvals past their expiry as expired and sends
    /// `approval.expired` for each.
    async fn expire_approvals(&self, org_id: &str) -> ApiResult<usize> {
        let database = db::database(&self.env)?;
        let now = now_ms();
        let rows: Vec<crate::approvals::Row> = db::all(
            &database,
            &format!(
                "UPDATE approvals SET status = 'expired'
                  WHERE org_id = ?1 AND status = 'pending' AND expires_at <= ?2
                  RETURNING {}",
                crate::approvals::COLUMNS
            ),
            &[Arg::from(org_id), Arg::Int(now)],
        )
        .await?;
        for row in &rows {
            record(&self.env, org_id, EventType::ApprovalExpired, crate::approvals::event_data(row, now), now).await?;
        }
        Ok(rows.len())
    }

    /// Sends up to [`BATCH`] due deliveries, concurrently; returns how many it tried.
    async fn send_due(&self, org_id: &str) -> ApiResult<u32> {
        let database = db::database(&self.env)?;
        let now = now_ms();
        let due: Vec<Due> = db::all(
            &database,
            "SELECT d.id, d.webhook_id, d.payload, d.attempts, e.url, e.secret, e.previous_secret,
                    e.previous_secret_until
               FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.webhook_id
              WHERE d.org_id = ?1 AND d.status = 'pending' AND d.next_attempt_at <= ?2 AND e.enabled = 1
              ORDER BY d.next_attempt_at LIMIT ?3",
            &[Arg::from(org_id), Arg::Int(now), Arg::Int(BATCH as i64)],
        )
        .await?;
        let loopback = allow_loopback(&self.env);
        let master = crate::auth::hash_secret(&self.env)?;
        let attempts = due.iter().map(|d| attempt(d, &master, loopback, now));
        let outcomes = futures::future::join_all(attempts).await;
        for (d, (status, error)) in due.iter().zip(outcomes) {
            self.settle(org_id, d, status, error).await?;
        }
        Ok(due.len() as u32)
    }

    /// Records an attempt's outcome: delivered, retried later, failed for good, or the endpoint
    /// disabled by a `410 Gone`.
    async fn settle(&self, org_id: &str, d: &Due, status: Option<u16>, error: Option<String>) -> ApiResult<()> {
        let database = db::database(&self.env)?;
        let now = now_ms();
        let attempts = d.attempts + 1;
        let code = status.map(|s| Arg::Int(s as i64)).unwrap_or(Arg::Null);
        let mut statements = Vec::new();
        match DeliveryOutcome::classify(status) {
            DeliveryOutcome::Delivered => statements.push(db::stmt(
                &database,
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = ?3, last_status_code = ?4,
                        last_error = NULL, next_attempt_at = NULL, delivered_at = ?5
                  WHERE webhook_id = ?1 AND id = ?2",
                &[Arg::from(&d.webhook_id), Arg::from(&d.id), Arg::Int(attempts), code, Arg::Int(now)],
            )?),
            DeliveryOutcome::DisableEndpoint => {
                let why = format!("the endpoint answered 410 Gone at {}", format_ms(now));
                statements.push(db::stmt(
                    &database,
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?2, updated_at = ?3
                      WHERE id = ?1 AND org_id = ?4",
                    &[Arg::from(&d.webhook_id), Arg::from(&why), Arg::Int(now), Arg::from(org_id)],
                )?);
                statements.push(db::stmt(
                    &database,
                    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,
                            last_error = 'endpoint disabled: it answered 410 Gone'
                      WHERE webhook_id = ?1 AND status = 'pending'",
                    &[Arg::from(&d.webhook_id)],
                )?);
                statements.push(db::stmt(
                    &database,
                    "UPDATE webhook_deliveries SET attempts = ?3, last_status_code = 410 WHERE webhook_id = ?1 AND id = ?2",
                    &[Arg::from(&d.webhook_id), Arg::from(&d.id), Arg::Int(attempts)],
                )?);
            }
            DeliveryOutcome::Retry(failure) => {
                let error = error.unwrap_or_else(|| describe(failure));
                let next = webhook::next_attempt(attempts as u32).map(|wait| now + wait.as_millis() as i64);
                let (status_text, next_arg) = match next {
                    Some(at) => ("pending", Arg::Int(at)),
                    None => ("failed", Arg::Null),
                };
                statements.push(db::stmt(
                    &database,
                    "UPDATE webhook_deliveries SET status = ?3, attempts = ?4, last_status_code = ?5, last_error = ?6,
                            next_attempt_at = ?7
                      WHERE webhook_id = ?1 AND id = ?2",
                    &[
                        Arg::from(&d.webhook_id),
                        Arg::from(&d.id),
                        Arg::from(status_text),
                        Arg::Int(attempts),
                        code,
                        Arg::from(&error),
                        next_arg,
                    ],
                )?);
            }
        }
        db::batch(&database, statements).await?;
        Ok(())
    }

    /// Sets the alarm for the earliest due delivery or pending approval's expiry, if any.
    async fn schedule(&self, org_id: &str) -> ApiResult<()> {
        let database = db::database(&self.env)?;
        let next: Option<Next> = db::first(
            &database,
            "SELECT MIN(at) AS at FROM (
               SELECT MIN(d.next_attempt_at) AS at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.webhook_id
                WHERE d.org_id = ?1 AND d.status = 'pending' AND e.enabled = 1
               UNION ALL
               SELECT MIN(expires_at) FROM approvals WHERE org_id = ?1 AND status = 'pending')",
            &[Arg::from(org_id)],
        )
        .await?;
        let storage = self.state.storage();
        match next.and_then(|n| n.at) {
            // An `i64` alarm time is an offset from now in worker-rs, not an instant.
            Some(at) => storage.set_alarm((at - now_ms()).max(1)).await.map_err(ApiError::internal),
            None => storage.delete_alarm().await.map_err(ApiError::internal),
        }
    }
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

fn describe(failure: Failure) -> String {
    match failure {
        Failure::NoResponse => "no response (connection failed or timed out)".into(),
        Failure::RateLimited => "HTTP 429 Too Many Requests".into(),
        Failure::ServerError(s) => format!("HTTP {s}"),
        Failure::Rejected(s) => format!("HTTP {s}: the receiver refused the message (check its secret)"),
        Failure::Unexpected(s) => format!("HTTP {s}: redirects are not followed"),
    }
}

/// The secrets that sign now, opened from their sealed form ([`sealed`]): the current one, and
/// the previous one during its overlap.
fn secrets(d: &Due, master: &[u8], now: i64) -> Result<Vec<Secret>, String> {
    let mut out = vec![sealed::open(master, &d.secret).map_err(|e| e.to_string())?];
    if let (Some(previous), Some(until)) = (&d.previous_secret, d.previous_secret_until) {
        if until > now {
            out.push(sealed::open(master, previous).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

/// One attempt: the status of the answer (None: no answer) and an error to record.
async fn attempt(d: &Due, master: &[u8], allow_loopback: bool, now: i64) -> (Option<u16>, Option<String>) {
    match try_attempt(d, master, allow_loopback, now).await {
        Ok((status, error)) => (Some(status), error),
        Err(e) => (None, Some(e)),
    }
}

async fn try_attempt(d: &Due, master: &[u8], allow_loopback: bool, now: i64) -> Result<(u16, Option<String>), String> {
    // The URL rules apply at every delivery, not only when the endpoint was saved.
    let url = webhook::check_url(&d.url, allow_loopback).map_err(|e| format!("endpoint URL refused: {e}"))?;
    let secrets = secrets(d, master, now)?;
    let timestamp = now.div_euclid(1000);
    let signature = webhook::sign(&secrets, &d.id, timestamp, d.payload.as_bytes());
    let headers = worker::Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("content-type", "application/json")?;
    set("user-agent", "OakAuth-Webhooks/1")?;
    set(webhook::HEADER_ID, &d.id)?;
    set(webhook::HEADER_TIMESTAMP, &timestamp.to_string())?;
    set(webhook::HEADER_SIGNATURE, &signature)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(worker::wasm_bindgen::JsValue::from_str(&d.payload)))
        .with_redirect(worker::RequestRedirect::Manual);
    let request = Request::new_with_init(url.as_str(), &init).map_err(|e| e.to_string())?;
    let mut resp = crate::http::fetch_with_timeout(request, ATTEMPT_TIMEOUT_MS).await?;
    let status = resp.status_code();
    let error = if (200..300).contains(&status) {
        None
    } else {
        let body = resp.text().await.unwrap_or_default();
        let body: String = body.chars().filter(|c| !c.is_control()).take(ERROR_BODY_CHARS).collect();
        Some(if body.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {body}") })
    };
    Ok((status, error))
}
