//! `/v1/admin/webhooks…`: the organization's endpoints, their secrets and their delivery log.

use oakauth_core::ids;
use oakauth_core::limits;
use oakauth_core::time::format_ms;
use oakauth_core::webhook::{self, sealed, EventType, Secret};
use oakauth_core::wire::{
    AdminAction, CreateWebhook, Delivery, DeliveryList, DeliveryStatus, RotateWebhookSecret, UpdateWebhook, Webhook,
    WebhookList, WebhookWithSecret,
};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{cursor_param, next_cursor, now_ms, page, Admin};
use crate::auth::hash_secret;
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, query_param, read_json, read_optional_json, ApiError, ApiResult};

/// How long a rotated-out secret keeps signing when the request does not say.
const DEFAULT_OVERLAP_SECONDS: u32 = 24 * 3600;
const MAX_OVERLAP_SECONDS: u32 = 7 * 24 * 3600;
/// Most endpoints per organization.
const MAX_ENDPOINTS: i64 = 20;

#[derive(Deserialize)]
struct Row {
    seq: i64,
    id: String,
    url: String,
    event_types: String,
    enabled: i64,
    disabled_reason: Option<String>,
    description: String,
    previous_secret_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "seq, id, url, event_types, enabled, disabled_reason, description, previous_secret_until, \
                       created_at, updated_at";

impl Row {
    fn wire(&self, now: i64) -> ApiResult<Webhook> {
        Ok(Webhook {
            id: self.id.clone(),
            url: self.url.clone(),
            event_types: serde_json::from_str(&self.event_types).map_err(ApiError::internal)?,
            enabled: self.enabled == 1,
            disabled_reason: self.disabled_reason.clone(),
            description: self.description.clone(),
            secret_rotating_until: self.previous_secret_until.filter(|u| *u > now).map(format_ms),
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
        })
    }
}

async fn find(admin: &Admin, id: &str) -> ApiResult<Row> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND org_id = ?2");
    super::find_one(admin, ("whk", "webhook endpoint"), id, &sql, &[Arg::from(id), Arg::from(&admin.ctx.org_id)]).await
}

fn check_url(admin: &Admin, url: &str) -> ApiResult<String> {
    let checked = webhook::check_url(url, crate::webhooks::allow_loopback(&admin.env))?;
    Ok(checked.to_string())
}

fn event_types_json(types: &[EventType]) -> ApiResult<String> {
    if types.is_empty() {
        return Err(ApiError::invalid_request("event_types must name at least one event type"));
    }
    let mut unique: Vec<EventType> = Vec::new();
    for t in types {
        if unique.contains(t) {
            return Err(ApiError::invalid_request(format!("event_types names {} twice", t.as_str())));
        }
        unique.push(*t);
    }
    serde_json::to_string(&unique).map_err(ApiError::internal)
}

pub async fn list(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let select = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE org_id = ?1");
    let (rows, next) = page(admin, req, &select, "seq", vec![Arg::from(&admin.ctx.org_id)], |r: &Row| r.seq).await?;
    let now = now_ms();
    let webhooks = rows.iter().map(|r| r.wire(now)).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &WebhookList { webhooks, next_cursor: next }))
}

pub async fn get(admin: &Admin, id: &str) -> ApiResult<Response> {
    Ok(json_response(200, &find(admin, id).await?.wire(now_ms())?))
}

pub async fn create(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let body: CreateWebhook = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    body.description.as_deref().map_or(Ok(()), limits::check_description)?;
    let url = check_url(admin, &body.url)?;
    let types = event_types_json(&body.event_types)?;
    super::usage::check_room(admin, oakauth_core::plans::Quota::WebhookEndpoints).await?;
    let secret = Secret::generate()?;
    let sealed = sealed::seal(&hash_secret(&admin.env)?, &secret)?;
    let id = ids::new_id("whk")?;
    let now = now_ms();
    let insert = db::stmt(
        &admin.db,
        // The count is checked inside the statement: a NULL url aborts the batch past the limit.
        "INSERT INTO webhook_endpoints (id, org_id, url, event_types, enabled, description, secret, created_at,
                                        updated_at)
         VALUES (?1, ?2, CASE WHEN (SELECT COUNT(*) FROM webhook_endpoints WHERE org_id = ?2) < ?9 THEN ?3 END,
                 ?4, ?5, ?6, ?7, ?8, ?8)",
        &[
            Arg::from(&id),
            Arg::from(&admin.ctx.org_id),
            Arg::from(&url),
            Arg::from(&types),
            Arg::from(body.enabled.unwrap_or(true)),
            Arg::from(body.description.as_deref().unwrap_or("")),
            Arg::from(&sealed),
            Arg::Int(now),
            Arg::Int(MAX_ENDPOINTS),
        ],
    )?;
    let event = admin.event(
        AdminAction::WebhookCreate,
        None,
        &id,
        json!({"url": url, "event_types": body.event_types, "enabled": body.enabled.unwrap_or(true)}),
    )?;
    db::batch(&admin.db, vec![insert, event]).await.map_err(|e| {
        if e.status >= 500 {
            e
        } else {
            ApiError::conflict(format!("an organization has at most {MAX_ENDPOINTS} webhook endpoints"))
        }
    })?;
    let webhook = find(admin, &id).await?.wire(now)?;
    Ok(json_response(201, &WebhookWithSecret { webhook, secret: secret.expose() }))
}

pub async fn update(admin: &Admin, id: &str, mut req: Request) -> ApiResult<Response> {
    let body: UpdateWebhook = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    body.description.as_deref().map_or(Ok(()), limits::check_description)?;
    find(admin, id).await?;
    let url = body.url.as_deref().map(|u| check_url(admin, u)).transpose()?;
    let types = body.event_types.as_deref().map(event_types_json).transpose()?;
    let update = db::stmt(
        &admin.db,
        // Enabling clears why it was disabled.
        "UPDATE webhook_endpoints SET url = COALESCE(?1, url), event_types = COALESCE(?2, event_types),
                enabled = COALESCE(?3, enabled), description = COALESCE(?4, description),
                disabled_reason = CASE WHEN ?3 = 1 THEN NULL ELSE disabled_reason END, updated_at = ?5
          WHERE id = ?6 AND org_id = ?7",
        &[
            Arg::from(url.as_deref()),
            Arg::from(types.as_deref()),
            body.enabled.map(Arg::from).unwrap_or(Arg::Null),
            Arg::from(body.description.as_deref()),
            Arg::Int(now_ms()),
            Arg::from(id),
            Arg::from(&admin.ctx.org_id),
        ],
    )?;
    let event = admin.event(AdminAction::WebhookUpdate, None, id, serde_json::to_value(&body).unwrap_or_default())?;
    db::batch(&admin.db, vec![update, event]).await?;
    if body.enabled == Some(true) {
        // Deliveries that waited while it was disabled are due now.
        crate::webhooks::kick(&admin.env, &admin.ctx.org_id).await;
    }
    get(admin, id).await
}

pub async fn delete(admin: &Admin, id: &str) -> ApiResult<Response> {
    let row = find(admin, id).await?;
    let statements = vec![
        db::stmt(
            &admin.db,
            "DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND org_id = ?2",
            &[Arg::from(id), Arg::from(&admin.ctx.org_id)],
        )?,
        db::stmt(
            &admin.db,
            "DELETE FROM webhook_endpoints WHERE id = ?1 AND org_id = ?2",
            &[Arg::from(id), Arg::from(&admin.ctx.org_id)],
        )?,
        admin.event(AdminAction::WebhookDelete, None, id, json!({"url": row.url}))?,
    ];
    db::batch(&admin.db, statements).await?;
    Ok(empty_response(204))
}

pub async fn rotate_secret(admin: &Admin, id: &str, mut req: Request) -> ApiResult<Response> {
    let body: RotateWebhookSecret = read_optional_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
    if overlap > MAX_OVERLAP_SECONDS {
        return Err(ApiError::invalid_request(format!("overlap_seconds must be 0 to {MAX_OVERLAP_SECONDS} (7 days)")));
    }
    find(admin, id).await?;
    let secret = Secret::generate()?;
    let sealed = sealed::seal(&hash_secret(&admin.env)?, &secret)?;
    let now = now_ms();
    let until = (overlap > 0).then_some(now + overlap as i64 * 1000);
    let update = db::stmt(
        &admin.db,
        "UPDATE webhook_endpoints SET previous_secret = CASE WHEN ?2 IS NULL THEN NULL ELSE secret END,
                previous_secret_until = ?2, secret = ?1, updated_at = ?3
          WHERE id = ?4 AND org_id = ?5",
        &[
            Arg::from(&sealed),
            until.map(Arg::Int).unwrap_or(Arg::Null),
            Arg::Int(now),
            Arg::from(id),
            Arg::from(&admin.ctx.org_id),
        ],
    )?;
    let event = admin.event(AdminAction::WebhookRotateSecret, None, id, json!({"overlap_seconds": overlap}))?;
    db::batch(&admin.db, vec![update, event]).await?;
    let webhook = find(admin, id).await?.wire(now)?;
    Ok(json_response(200, &WebhookWithSecret { webhook, secret: secret.expose() }))
}

#[derive(Deserialize)]
struct DeliveryRow {
    seq: i64,
    id: String,
    webhook_id: String,
    event_type: String,
    payload: String,
    status: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "seq, id, webhook_id, event_type, payload, status, attempts, next_attempt_at, \
                                last_status_code, last_error, created_at, delivered_at";

impl DeliveryRow {
    fn wire(&self) -> ApiResult<Delivery> {
        Ok(Delivery {
            id: self.id.clone(),
            webhook_id: self.webhook_id.clone(),
            event_type: EventType::parse(&self.event_type)
                .ok_or_else(|| ApiError::internal(format!("unknown event type {:?}", self.event_type)))?,
            status: DeliveryStatus::parse(&self.status).unwrap_or(DeliveryStatus::Failed),
            attempts: self.attempts.clamp(0, u32::MAX as i64) as u32,
            next_attempt_at: self.next_attempt_at.filter(|_| self.status == "pending").map(format_ms),
            last_status_code: self.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: self.last_error.clone(),
            created_at: format_ms(self.created_at),
            delivered_at: self.delivered_at.map(format_ms),
            payload: serde_json::from_str(&self.payload).map_err(ApiError::internal)?,
        })
    }
}

/// The endpoint's delivery log, newest first.
pub async fn deliveries(admin: &Admin, id: &str, req: &Request) -> ApiResult<Response> {
    find(admin, id).await?;
    let url = req.url()?;
    let limit = limits::page_size(query_param(&url, "limit")?.as_deref())?;
    let before = cursor_param(&url)?.unwrap_or(i64::MAX);
    let status = match query_param(&url, "status")? {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(&s)
                .ok_or_else(|| ApiError::invalid_request("status must be pending, delivered or failed"))?,
        ),
    };
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
          WHERE webhook_id = ?1 AND org_id = ?2 AND seq < ?3 AND (?4 IS NULL OR status = ?4)
          ORDER BY seq DESC LIMIT ?5"
    );
    let rows: Vec<DeliveryRow> = db::all(
        &admin.db,
        &sql,
        &[
            Arg::from(id),
            Arg::from(&admin.ctx.org_id),
            Arg::Int(before),
            Arg::from(status.map(DeliveryStatus::as_str)),
            Arg::Int(limit as i64 + 1),
        ],
    )
    .await?;
    let (rows, next) = next_cursor(rows, limit, |r| r.seq);
    let deliveries = rows.iter().map(DeliveryRow::wire).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &DeliveryList { deliveries, next_cursor: next }))
}

/// Queues a message again with a fresh series of attempts, and sends it now.
pub async fn redeliver(admin: &Admin, id: &str, delivery_id: &str) -> ApiResult<Response> {
    let endpoint = find(admin, id).await?;
    if endpoint.enabled != 1 {
        return Err(ApiError::conflict("the endpoint is disabled; enable it before redelivering"));
    }
    let missing = || ApiError::not_found("no such delivery");
    if !ids::is_id("msg", delivery_id) {
        return Err(missing());
    }
    let now = now_ms();
    let update = db::stmt(
        &admin.db,
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?3
          WHERE webhook_id = ?1 AND id = ?2 AND org_id = ?4",
        &[Arg::from(id), Arg::from(delivery_id), Arg::Int(now), Arg::from(&admin.ctx.org_id)],
    )?;
    let event = admin.event_if(
        AdminAction::WebhookRedeliver,
        None,
        delivery_id,
        json!({"webhook_id": id}),
        ("SELECT 1 FROM webhook_deliveries WHERE id = ?10 AND next_attempt_at = ?11 AND ?12 = ?12", delivery_id, now),
    )?;
    db::batch(&admin.db, vec![update, event]).await?;
    let sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1 AND id = ?2 AND org_id = ?3");
    let row: DeliveryRow =
        db::first(&admin.db, &sql, &[Arg::from(id), Arg::from(delivery_id), Arg::from(&admin.ctx.org_id)])
            .await?
            .ok_or_else(missing)?;
    crate::webhooks::kick(&admin.env, &admin.ctx.org_id).await;
    Ok(json_response(200, &row.wire()?))
}
