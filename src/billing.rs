//! Stripe billing (docs/billing.md): owners start a subscription through Stripe Checkout and
//! manage it in the Customer Portal; Stripe tells OakAuth what happened through its webhook.
//! Stripe is never in the hot path: validate reads only the organization's plan.
//!
//! The logic (signature, events, the record after an event, the forms) is in
//! [`oakauth_core::billing`]; this is the network and database around it. Billing is off unless
//! configured: `STRIPE_SECRET_KEY` for Checkout and the Portal, `STRIPE_WEBHOOK_SECRET` for the
//! webhook.

use std::rc::Rc;

use oakauth_core::billing::{self, Applied, BillingRecord, BillingSettings, Change, Event};
use oakauth_core::plans::{AgentSeat, BillingStatus, Limits, OrgPlan, PlanId};
use oakauth_core::wire::plans::{BillingRedirect, CheckoutRequest};
use oakauth_core::wire::{AdminAction, ErrorCode};
use serde::Deserialize;
use serde_json::json;
use worker::{Context, D1Database, Env, Method, Request, RequestInit, Response};

use crate::admin::{now_ms, system_event, Admin};
use crate::db::{self, Arg};
use crate::http::{json_response, read_body, read_json, read_optional_json, ApiError, ApiResult};
use crate::signin::setting;

/// How long a call to Stripe's API may take.
const STRIPE_TIMEOUT_MS: u64 = 10_000;
/// The largest answer read from Stripe's API (a session object is a few kilobytes).
const MAX_STRIPE_ANSWER_BYTES: usize = 64 * 1024;
const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// The `actor` of the admin events billing writes.
const ACTOR: &str = "billing";
/// Tries at applying an event when the organization's billing changes at the same time.
const APPLY_TRIES: usize = 3;

fn not_configured(what: &str) -> ApiError {
    ApiError::coded(ErrorCode::BillingNotConfigured, format!("billing is not configured on this deployment ({what})"))
}

/// Stripe's API as this deployment reaches it.
struct StripeApi {
    secret_key: String,
    base: String,
}

impl StripeApi {
    fn from_env(env: &Env) -> ApiResult<StripeApi> {
        let secret_key = setting(env, "STRIPE_SECRET_KEY").ok_or_else(|| not_configured("STRIPE_SECRET_KEY"))?;
        let base = setting(env, "STRIPE_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_string());
        match worker::Url::parse(&base) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {}
            _ => return Err(ApiError::internal("STRIPE_API_BASE is not an http(s) URL")),
        }
        Ok(StripeApi { secret_key, base: base.trim_end_matches('/').to_string() })
    }

    /// Creates a session (`path`: `/v1/checkout/sessions` or `/v1/billing_portal/sessions`) and
    /// returns its URL. Any failure is logged (never with the key) and answered 500.
    async fn create_session(&self, path: &str, form: String) -> ApiResult<String> {
        let fail = |what: String| ApiError::internal(format!("Stripe {path}: {what}"));
        let headers = worker::Headers::new();
        headers.set("Authorization", &format!("Bearer {}", self.secret_key)).map_err(|_| fail("bad key".into()))?;
        headers.set("Content-Type", "application/x-www-form-urlencoded").map_err(|e| fail(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(worker::wasm_bindgen::JsValue::from_str(&form)))
            .with_redirect(worker::RequestRedirect::Manual);
        let request =
            Request::new_with_init(&format!("{}{path}", self.base), &init).map_err(|e| fail(e.to_string()))?;
        let mut resp = crate::http::fetch_with_timeout(request, STRIPE_TIMEOUT_MS).await.map_err(fail)?;
        let status = resp.status_code();
        let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        if body.len() > MAX_STRIPE_ANSWER_BYTES {
            return Err(fail(format!("an answer of {} bytes", body.len())));
        }
        if !(200..300).contains(&status) {
            // Only the error's type and code: Stripe's message may quote part of the key.
            #[derive(Deserialize, Default)]
            struct StripeError {
                #[serde(rename = "type")]
                kind: Option<String>,
                code: Option<String>,
            }
            #[derive(Deserialize)]
            struct Answer {
                error: StripeError,
            }
            let e = serde_json::from_slice::<Answer>(&body).map(|a| a.error).unwrap_or_default();
            let clean = |s: Option<String>| {
                s.unwrap_or_else(|| "-".into())
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect::<String>()
            };
            return Err(fail(format!("HTTP {status} ({}, {})", clean(e.kind), clean(e.code))));
        }
        billing::session_url(&body).map_err(|e| fail(e.to_string()))
    }
}

/// Where the dashboard is: `DASHBOARD_URL`, else the first `CORS_ORIGINS` entry.
fn dashboard_url(env: &Env) -> ApiResult<String> {
    setting(env, "DASHBOARD_URL")
        .or_else(|| {
            setting(env, "CORS_ORIGINS")
                .and_then(|v| v.split(',').map(str::trim).find(|o| !o.is_empty()).map(String::from))
        })
        .map(|u| u.trim_end_matches('/').to_string())
        .ok_or_else(|| not_configured("DASHBOARD_URL, where Stripe sends the owner back"))
}

/// An organization's billing columns as stored.
#[derive(Deserialize)]
struct OrgRow {
    plan: String,
    custom_limits: Option<String>,
    billing_status: String,
    grace_until: Option<i64>,
    stripe_customer_id: Option<String>,
    stripe_subscription_id: Option<String>,
    billing_updated_at: Option<i64>,
}

impl OrgRow {
    fn record(&self) -> ApiResult<BillingRecord> {
        Ok(BillingRecord {
            plan: PlanId::parse(&self.plan).map_err(ApiError::internal)?,
            status: BillingStatus::parse(&self.billing_status).map_err(ApiError::internal)?,
            grace_until_ms: self.grace_until,
            customer_id: self.stripe_customer_id.clone(),
            subscription_id: self.stripe_subscription_id.clone(),
            billing_updated_at_ms: self.billing_updated_at,
        })
    }

    /// The organization's own limits, parsed as everywhere else: a value that does not parse is an
    /// error (the webhook answers 500 and Stripe retries), never "no custom limits".
    fn custom_limits(&self) -> ApiResult<Option<Limits>> {
        OrgPlan::from_row(&self.plan, self.custom_limits.as_deref(), &self.billing_status, self.grace_until)
            .map(|p| p.custom)
            .map_err(ApiError::internal)
    }
}

async fn load(db: &D1Database, org_id: &str) -> ApiResult<Option<OrgRow>> {
    db::first(
        db,
        "SELECT plan, custom_limits, billing_status, grace_until, stripe_customer_id, stripe_subscription_id,
                billing_updated_at
           FROM organizations WHERE id = ?1",
        &[Arg::from(org_id)],
    )
    .await
}

/// `POST /v1/admin/billing/checkout` (owner): a Stripe Checkout page for a subscription to Pro.
pub async fn checkout(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let stripe = StripeApi::from_env(&admin.env)?;
    let body: CheckoutRequest = read_json(&mut req, 1024).await?;
    let plan = body.plan.plan();
    if !plan.self_serve || body.plan == PlanId::Free {
        return Err(ApiError::invalid_request(format!(
            "the {} plan cannot be bought through Checkout (pro can)",
            plan.name
        )));
    }
    let price = setting(&admin.env, "STRIPE_PRICE_PRO").ok_or_else(|| not_configured("STRIPE_PRICE_PRO"))?;
    let dashboard = dashboard_url(&admin.env)?;
    let org =
        load(&admin.db, &admin.ctx.org_id).await?.ok_or_else(|| ApiError::internal("organization row missing"))?;
    let record = org.record()?;
    if record.plan == PlanId::Enterprise {
        return Err(ApiError::conflict(
            "the organization is on the Enterprise plan, which is not billed through Stripe",
        ));
    }
    if matches!(record.status, BillingStatus::Active | BillingStatus::PastDue) {
        return Err(ApiError::conflict(
            "the organization already has a subscription; manage it in the billing portal (POST /v1/admin/billing/portal)",
        ));
    }
    let form = billing::checkout_form(
        &admin.ctx.org_id,
        &price,
        record.customer_id.as_deref(),
        &format!("{dashboard}/#/usage?checkout=success"),
        &format!("{dashboard}/#/usage?checkout=cancelled"),
    );
    let url = stripe.create_session("/v1/checkout/sessions", form).await?;
    Ok(json_response(200, &BillingRedirect { url }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PortalRequest {}

/// `POST /v1/admin/billing/portal` (owner): the Stripe Customer Portal of the organization.
pub async fn portal(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let stripe = StripeApi::from_env(&admin.env)?;
    let PortalRequest {} = read_optional_json(&mut req, 1024).await?;
    let dashboard = dashboard_url(&admin.env)?;
    let org =
        load(&admin.db, &admin.ctx.org_id).await?.ok_or_else(|| ApiError::internal("organization row missing"))?;
    let customer = org.stripe_customer_id.ok_or_else(|| {
        ApiError::conflict("the organization has no Stripe customer yet; subscribe through Checkout first")
    })?;
    let form = billing::portal_form(&customer, &format!("{dashboard}/#/usage"));
    let url = stripe.create_session("/v1/billing_portal/sessions", form).await?;
    Ok(json_response(200, &BillingRedirect { url }))
}

fn received(duplicate: bool) -> Response {
    if duplicate {
        json_response(200, &json!({"received": true, "duplicate": true}))
    } else {
        json_response(200, &json!({"received": true}))
    }
}

/// `POST /v1/billing/stripe/webhook` (public; Stripe calls it): verify, skip replays, apply.
pub async fn webhook(mut req: Request, env: &Env, background: Rc<Context>, request_id: &str) -> ApiResult<Response> {
    // A request without the header is malformed whatever the configuration: 400 before 404.
    let header = req
        .headers()
        .get(billing::SIGNATURE_HEADER)
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::invalid_request("the Stripe-Signature header is missing"))?;
    let secret = setting(env, "STRIPE_WEBHOOK_SECRET").ok_or_else(|| not_configured("STRIPE_WEBHOOK_SECRET"))?;
    let payload = read_body(&mut req, billing::MAX_EVENT_BYTES).await?;
    let now = now_ms();
    billing::verify_signature(&payload, &header, &secret, now.div_euclid(1000))?;
    let event = Event::parse(&payload)?;
    let change = event.change()?;
    let settings = BillingSettings {
        pro_price: setting(env, "STRIPE_PRICE_PRO"),
        grace_days: BillingSettings::grace_days(setting(env, "BILLING_GRACE_DAYS").as_deref())
            .map_err(ApiError::internal)?,
    };
    let db = db::database(env)?;
    if seen(&db, &event.id).await? {
        return Ok(received(true));
    }
    let Some(org_id) = organization(&db, &change).await? else {
        if change != Change::Ignored {
            worker::console_log!(
                "Stripe event {} ({}): no organization of this deployment; ignored",
                event.id,
                event.kind
            );
        }
        return record_only(&db, &event, None, now).await;
    };
    for _ in 0..APPLY_TRIES {
        let Some(row) = load(&db, &org_id).await? else {
            return record_only(&db, &event, None, now).await;
        };
        let before = row.record()?;
        let applied = billing::apply(&before, &event, &change, &settings);
        if !applied.changed {
            return record_only(&db, &event, Some(&org_id), now).await;
        }
        let ctx = Applying { db: &db, event: &event, org_id: &org_id, request_id, now };
        match ctx.commit(&row, &before, &applied).await? {
            Committed::Yes { agents, disabled } => {
                // The agents' objects hold the organization's limits: make them read the new ones.
                for agent_id in agents {
                    crate::admin::tell_agent(env, &background, &agent_id).await;
                }
                // Webhook subscribers hear of agents a downgrade disabled, as of an admin's change.
                if !disabled.is_empty() {
                    let notified =
                        crate::admin::notify_system_change(env, &org_id, &disabled, AdminAction::AgentDisable).await;
                    if let Err(e) = notified {
                        worker::console_error!("Stripe event {}: agent.changed not sent: {}", event.id, e.message);
                    }
                }
                return Ok(received(false));
            }
            Committed::Duplicate => return Ok(received(true)),
            Committed::Moved => continue,
        }
    }
    Err(ApiError::internal(format!(
        "Stripe event {}: organization {org_id}'s billing kept changing while it was applied",
        event.id
    )))
}

async fn seen(db: &D1Database, event_id: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct One {
        #[allow(dead_code)]
        n: i64,
    }
    Ok(db::first::<One>(db, "SELECT 1 AS n FROM stripe_events WHERE id = ?1", &[Arg::from(event_id)]).await?.is_some())
}

/// The organization an event is about: the id Stripe carries for us if it is one of ours, else
/// the organization with the event's customer.
async fn organization(db: &D1Database, change: &Change) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let (org_id, customer) = change.organization();
    if let Some(org_id) = org_id.filter(|id| oakauth_core::ids::is_id("org", id)) {
        let found = db::first::<Id>(db, "SELECT id FROM organizations WHERE id = ?1", &[Arg::from(org_id)]).await?;
        if let Some(found) = found {
            return Ok(Some(found.id));
        }
    }
    if let Some(customer) = customer {
        let found =
            db::first::<Id>(db, "SELECT id FROM organizations WHERE stripe_customer_id = ?1", &[Arg::from(customer)])
                .await?;
        return Ok(found.map(|f| f.id));
    }
    Ok(None)
}

/// Remembers an event that changes nothing, so that a replay is answered as one.
async fn record_only(db: &D1Database, event: &Event, org_id: Option<&str>, now: i64) -> ApiResult<Response> {
    let insert = db::stmt(
        db,
        "INSERT INTO stripe_events (id, type, org_id, received_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        &[Arg::from(&event.id), Arg::from(&event.kind), Arg::from(org_id), Arg::Int(now)],
    )?;
    let results = db::batch(db, vec![insert]).await?;
    let inserted = results.first().and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0);
    Ok(received(inserted == 0))
}

enum Committed {
    /// Applied: the organization's agents (to tell), and those the change disabled.
    Yes { agents: Vec<String>, disabled: Vec<String> },
    /// Another delivery of the event was applied first.
    Duplicate,
    /// The organization's billing changed since it was read: read it again.
    Moved,
}

struct Applying<'a> {
    db: &'a D1Database,
    event: &'a Event,
    org_id: &'a str,
    request_id: &'a str,
    now: i64,
}

/// Every statement after the first runs only if the first recorded this delivery of the event.
const RECORDED: &str = "SELECT 1 FROM stripe_events WHERE id = ?10 AND received_at = ?11";

impl Applying<'_> {
    /// One atomic batch: the event id (only if the organization's billing is still `before`),
    /// the new billing columns, the admin events, and the agents disabled by a downgrade.
    async fn commit(&self, row: &OrgRow, before: &BillingRecord, applied: &Applied) -> ApiResult<Committed> {
        let after = &applied.record;
        let unchanged = "plan = ?5 AND billing_status = ?6 AND grace_until IS ?7 AND stripe_customer_id IS ?8
             AND stripe_subscription_id IS ?9 AND billing_updated_at IS ?10";
        let mut statements = vec![db::stmt(
            self.db,
            &format!(
                "INSERT INTO stripe_events (id, type, org_id, received_at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = ?3 AND {unchanged})"
            ),
            &[
                Arg::from(&self.event.id),
                Arg::from(&self.event.kind),
                Arg::from(self.org_id),
                Arg::Int(self.now),
                Arg::from(before.plan.as_str()),
                Arg::from(before.status.as_str()),
                Arg::from(before.grace_until_ms),
                Arg::from(before.customer_id.as_deref()),
                Arg::from(before.subscription_id.as_deref()),
                Arg::from(before.billing_updated_at_ms),
            ],
        )?];
        statements.push(db::stmt(
            self.db,
            "UPDATE organizations SET plan = ?1, billing_status = ?2, grace_until = ?3, stripe_customer_id = ?4,
                    stripe_subscription_id = ?5, billing_updated_at = ?6
              WHERE id = ?7 AND EXISTS (SELECT 1 FROM stripe_events WHERE id = ?8 AND received_at = ?9)",
            &[
                Arg::from(after.plan.as_str()),
                Arg::from(after.status.as_str()),
                Arg::from(after.grace_until_ms),
                Arg::from(after.customer_id.as_deref()),
                Arg::from(after.subscription_id.as_deref()),
                Arg::from(after.billing_updated_at_ms),
                Arg::from(self.org_id),
                Arg::from(&self.event.id),
                Arg::Int(self.now),
            ],
        )?);
        let guard = Some((RECORDED, self.event.id.as_str(), self.now));
        let plan_changed = after.plan != before.plan;
        let billing_changed =
            plan_changed || after.status != before.status || after.grace_until_ms != before.grace_until_ms;
        if plan_changed || after.status != before.status {
            statements.push(system_event(
                self.db,
                (self.org_id, self.request_id, ACTOR),
                (AdminAction::OrganizationPlanChange, None, self.org_id),
                json!({"from": before.plan, "to": after.plan, "status": after.status}),
                guard,
            )?);
        }
        let agents = if billing_changed { self.agents().await? } else { Vec::new() };
        let mut disabled = Vec::new();
        if plan_changed {
            let org = OrgPlan {
                plan: after.plan,
                custom: row.custom_limits()?,
                status: after.status,
                grace_until_ms: after.grace_until_ms,
            };
            for agent_id in oakauth_core::plans::over_limit_agents(&agents, org.limits(self.now).agents) {
                statements.push(db::stmt(
                    self.db,
                    "UPDATE agents SET enabled = 0, updated_at = ?1
                      WHERE id = ?2 AND org_id = ?3 AND enabled = 1
                        AND EXISTS (SELECT 1 FROM stripe_events WHERE id = ?4 AND received_at = ?5)",
                    &[
                        Arg::Int(self.now),
                        Arg::from(&agent_id),
                        Arg::from(self.org_id),
                        Arg::from(&self.event.id),
                        Arg::Int(self.now),
                    ],
                )?);
                statements.push(system_event(
                    self.db,
                    (self.org_id, self.request_id, ACTOR),
                    (AdminAction::AgentDisable, Some(&agent_id), &agent_id),
                    json!({"enabled": false, "reason": "plan_limit", "plan": after.plan}),
                    guard,
                )?);
                disabled.push(agent_id);
            }
        }
        match db::batch(self.db, statements).await {
            Ok(results) => {
                let recorded =
                    results.first().and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0);
                if recorded == 0 {
                    return Ok(Committed::Moved);
                }
                Ok(Committed::Yes { agents: agents.into_iter().map(|a| a.id).collect(), disabled })
            }
            // The event id is the primary key: a conflict is either another delivery of the same
            // event, or a customer id another organization already has (an error of ours).
            Err(e) if e.code == ErrorCode::Conflict => {
                if seen(self.db, &self.event.id).await? {
                    Ok(Committed::Duplicate)
                } else {
                    Err(ApiError::internal(format!(
                        "Stripe event {}: organization {} cannot take customer {:?}, which another organization has",
                        self.event.id, self.org_id, after.customer_id
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn agents(&self) -> ApiResult<Vec<AgentSeat>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            created_at: i64,
            enabled: i64,
        }
        let rows: Vec<Row> =
            db::all(self.db, "SELECT id, created_at, enabled FROM agents WHERE org_id = ?1", &[Arg::from(self.org_id)])
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| AgentSeat { id: r.id, created_at: r.created_at, enabled: r.enabled == 1 })
            .collect())
    }
}
