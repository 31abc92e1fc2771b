//! The OakAuth worker: thin glue between workerd (HTTP, D1, Durable Objects) and `oakauth-core`.

mod admin;
mod agent_object;
mod auth;
mod db;
mod http;
mod throttle;
mod validate;

pub use agent_object::AgentBucket;
pub use throttle::AuthThrottle;

use http::{json_response, ApiError, ApiResult};
use oakauth_core::wire::Health;
use worker::{event, Context, Env, Method, Request, Response};

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started_ms = worker::Date::now().as_millis() as i64;
    let request_id = oakauth_core::ids::new_id("req").unwrap_or_else(|_| "req_unavailable".to_string());
    let origin = req.headers().get("Origin").ok().flatten();
    let mut resp = match route(req, &env, &request_id, started_ms).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    finish_headers(&mut resp, &env, &request_id, origin.as_deref());
    Ok(resp)
}

async fn route(req: Request, env: &Env, request_id: &str, started_ms: i64) -> ApiResult<Response> {
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
        ["v1", "validate"] => match method {
            Method::Post => validate::handle(req, env, request_id, started_ms).await,
            _ => Err(ApiError::method_not_allowed(&["POST"])),
        },
        ["v1", "admin", rest @ ..] => admin::handle(req, method, env, rest, request_id).await,
        ["__test", "panic"] if test_routes_enabled(env) => panic!("deliberate panic from the test route"),
        ["__test", "throttle"] if test_routes_enabled(env) => {
            let address = http::query_param(&req.url()?, "address")?;
            throttle::stored(env, address.as_deref()).await
        }
        _ => Err(ApiError::not_found("no such route")),
    }
}

/// `OAKAUTH_TEST_ROUTES=1` (set only by the test harness) enables routes that exist to prove
/// failure handling, such as a deliberate panic.
fn test_routes_enabled(env: &Env) -> bool {
    env.var("OAKAUTH_TEST_ROUTES").map(|v| v.to_string() == "1").unwrap_or(false)
}

fn finish_headers(resp: &mut Response, env: &Env, request_id: &str, origin: Option<&str>) {
    let h = resp.headers_mut();
    let _ = h.set("X-Request-Id", request_id);
    let _ = h.set("Cache-Control", "no-store");
    let _ = h.set("X-Content-Type-Options", "nosniff");
    let _ = h.set("Referrer-Policy", "no-referrer");
    let _ = h.set("X-Frame-Options", "DENY");
    let _ = h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if let Some(origin) = origin {
        if cors_allows(env, origin) {
            let _ = h.set("Access-Control-Allow-Origin", origin);
            let _ = h.set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
            let _ = h.set("Access-Control-Allow-Headers", "Authorization, Content-Type");
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
