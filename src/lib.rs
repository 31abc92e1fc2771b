//! The OakAuth worker: thin glue between workerd (HTTP, D1, Durable Objects) and `oakauth-core`.

mod admin;
mod agent_object;
mod approvals;
mod audit_rows;
mod auth;
mod billing;
mod db;
mod http;
mod objects;
mod observe;
mod people;
mod policy;
mod quota;
mod receipts;
mod registry;
mod signin;
mod throttle;
mod validate;
mod webhooks;

pub use agent_object::AgentBucket;
pub use quota::OrgQuota;
pub use registry::AuditRegistry;
pub use throttle::AuthThrottle;
pub use webhooks::WebhookDispatcher;

use http::{json_response, ApiError, ApiResult};
use oakauth_core::wire::Health;
use worker::{event, Context, Env, Method, Request, Response};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The audit Queue's consumer ([`audit_rows::consume`]).
#[event(queue)]
async fn queue(batch: worker::MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    audit_rows::consume(batch, &env).await;
    Ok(())
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let started_ms = worker::Date::now().as_millis() as i64;
    let request_id = oakauth_core::ids::new_id("req").unwrap_or_else(|_| "req_unavailable".to_string());
    let origin = req.headers().get("Origin").ok().flatten();
    arm_test_faults(&req, &env);
    let (method, path) = (req.inner().method(), req.path());
    let facts = observe::Facts::default();
    let ctx = std::rc::Rc::new(ctx);
    let (mut resp, error) = match route(req, &env, ctx.clone(), &request_id, started_ms, &facts).await {
        Ok(resp) => (resp, None),
        Err(e) => {
            let code = e.code;
            (e.into_response(), Some(code))
        }
    };
    finish_headers(&mut resp, &env, &request_id, origin.as_deref());
    let arrival = observe::Arrival { request_id: &request_id, method: &method, path: &path, started_ms };
    observe::finish(&env, &ctx, &facts, &arrival, resp.status_code(), error.map(|c| c.as_str()));
    Ok(resp)
}

async fn route(
    req: Request,
    env: &Env,
    ctx: std::rc::Rc<Context>,
    request_id: &str,
    started_ms: i64,
    facts: &observe::Facts,
) -> ApiResult<Response> {
    let path = req.path();
    // Methods outside this list (QUERY, PROPFIND, ...) must not be taken for GET: answer 405.
    let raw = req.inner().method();
    let method = if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(&raw.as_str()) {
        req.method()
    } else {
        Method::Report
    };
    if method == Method::Options {
        return Ok(http::empty_response(204));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["health"] => match method {
            Method::Get | Method::Head => {
                Ok(json_response(200, &Health { status: "ok".into(), version: VERSION.into() }))
            }
            _ => Err(ApiError::method_not_allowed(&["GET", "HEAD"])),
        },
        [".well-known", "jwks.json"] => match method {
            Method::Get | Method::Head => receipts::jwks(env),
            _ => Err(ApiError::method_not_allowed(&["GET", "HEAD"])),
        },
        ["v1", "validate"] => match method {
            Method::Post => validate::handle(req, env, request_id, started_ms, facts).await,
            _ => Err(ApiError::method_not_allowed(&["POST"])),
        },
        ["v1", "approvals", rest @ ..] => approvals::handle(req, method, env, rest).await,
        ["v1", "auth", rest @ ..] => people::handle(req, method, env, rest).await,
        ["v1", "plans"] => match method {
            Method::Get | Method::Head => Ok(json_response(200, &oakauth_core::wire::plans::PlanList::published())),
            _ => Err(ApiError::method_not_allowed(&["GET", "HEAD"])),
        },
        ["v1", "setup"] => match method {
            Method::Post => signin::setup(req, env).await,
            _ => Err(ApiError::method_not_allowed(&["POST"])),
        },
        ["v1", "billing", "stripe", "webhook"] => match method {
            Method::Post => billing::webhook(req, env, ctx, request_id).await,
            _ => Err(ApiError::method_not_allowed(&["POST"])),
        },
        ["v1", "admin", rest @ ..] => admin::handle(req, method, env, ctx, rest, request_id, facts).await,
        ["__test", "panic"] if test_routes_enabled(env) => panic!("deliberate panic from the test route"),
        ["__test", "throttle"] if test_routes_enabled(env) => {
            let address = http::query_param(&req.url()?, "address")?;
            throttle::stored(env, address.as_deref()).await
        }
        _ => Err(ApiError::not_found("no such route")),
    }
}

/// Whether Stripe billing is configured (its secret key is set); without it billing routes answer
/// 404 `billing_not_configured` and plans change only by the operator.
pub(crate) fn billing_configured(env: &Env) -> bool {
    signin::setting(env, "STRIPE_SECRET_KEY").is_some()
}

/// The plan of organizations created by sign-up and `/v1/setup`: `DEFAULT_PLAN`, `free` when
/// unset. A value that is not a plan fails those requests (closed) rather than guessing.
pub(crate) fn default_plan(env: &Env) -> ApiResult<oakauth_core::plans::PlanId> {
    match env.var("DEFAULT_PLAN").map(|v| v.to_string()).unwrap_or_default().trim() {
        "" => Ok(oakauth_core::plans::PlanId::Free),
        other => oakauth_core::plans::PlanId::parse(other)
            .map_err(|e| ApiError::internal(format!("DEFAULT_PLAN is misconfigured: {e}"))),
    }
}

/// `OAKAUTH_TEST_ROUTES=1` (set only by the test harness) enables routes that exist to prove
/// failure handling, such as a deliberate panic, and the faults of [`injected_fault`].
pub(crate) fn test_routes_enabled(env: &Env) -> bool {
    env.var("OAKAUTH_TEST_ROUTES").map(|v| v.to_string() == "1").unwrap_or(false)
}

thread_local! {
    static FAULTS_ARMED: std::cell::RefCell<std::collections::HashMap<String, u32>> = Default::default();
}

/// Faults a real server cannot produce on demand, for the tests only. With
/// `OAKAUTH_TEST_ROUTES=1`, a request header `X-OakAuth-Test-Fault: <name>=<n>` arms fault `name`
/// for its next `n` checks in this isolate. Never armed in production, where
/// `OAKAUTH_TEST_ROUTES` is unset.
fn arm_test_faults(req: &Request, env: &Env) {
    let Some(value) = req.headers().get("X-OakAuth-Test-Fault").ok().flatten() else {
        return;
    };
    if !test_routes_enabled(env) {
        return;
    }
    if let Some((name, n)) = value.split_once('=') {
        if let Ok(n) = n.trim().parse::<u32>() {
            FAULTS_ARMED.with(|f| f.borrow_mut().insert(name.trim().to_string(), n));
        }
    }
}

/// Whether armed fault `name` fires now (see [`arm_test_faults`]).
pub(crate) fn injected_fault(name: &str) -> bool {
    FAULTS_ARMED.with(|f| match f.borrow_mut().get_mut(name) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    })
}

fn finish_headers(resp: &mut Response, env: &Env, request_id: &str, origin: Option<&str>) {
    let h = resp.headers_mut();
    let _ = h.set("X-Request-Id", request_id);
    // Answers are private and current unless a route says otherwise (the public JWKS).
    if !h.has("Cache-Control").unwrap_or(false) {
        let _ = h.set("Cache-Control", "no-store");
    }
    let _ = h.set("X-Content-Type-Options", "nosniff");
    let _ = h.set("Referrer-Policy", "no-referrer");
    let _ = h.set("X-Frame-Options", "DENY");
    let _ = h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if let Some(origin) = origin {
        if cors_allows(env, origin) {
            let _ = h.set("Access-Control-Allow-Origin", origin);
            let _ = h.set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
            let _ = h
                .set("Access-Control-Allow-Headers", "Authorization, Content-Type, OakAuth-Organization, X-CSRF-Token");
            // The dashboard's session cookie goes with its requests (origins are an exact list).
            let _ = h.set("Access-Control-Allow-Credentials", "true");
            let _ = h.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
            let _ = h.set("Access-Control-Max-Age", "600");
        }
        let _ = h.append("Vary", "Origin");
    }
}

fn cors_allows(env: &Env, origin: &str) -> bool {
    let allowed = env.var("CORS_ORIGINS").map(|v| v.to_string()).unwrap_or_default();
    allowed.split(',').map(str::trim).any(|o| !o.is_empty() && o == origin)
}
