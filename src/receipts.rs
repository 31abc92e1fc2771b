//! Signed decision receipts (`docs/receipts.md`): every allowed decision carries a compact JWS a
//! tool server can check on its own, and `GET /.well-known/jwks.json` publishes the public keys.
//!
//! The keys are the worker secret `RECEIPT_KEYS` ([`oakauth_core::receipt::KeyRing`] explains
//! the format); parsed once per isolate and again only when the secret's text changes. Missing
//! or malformed keys fail closed: validate answers `unavailable` (nothing is allowed without a
//! receipt) and the JWKS route answers 500, both logging why without any key material.

use std::cell::RefCell;
use std::rc::Rc;

use oakauth_core::receipt::{Claims, KeyRing};
use serde_json::{Map, Value};
use worker::{Env, Request, Response};

use crate::http::{json_response, ApiError, ApiResult};

thread_local! {
    /// The text of `RECEIPT_KEYS` and the key ring parsed from it.
    static RING: RefCell<Option<(String, Rc<KeyRing>)>> = const { RefCell::new(None) };
}

/// This isolate's receipt keys.
pub fn key_ring(env: &Env) -> ApiResult<Rc<KeyRing>> {
    let text = env
        .secret("RECEIPT_KEYS")
        .map(|s| s.to_string())
        .or_else(|_| env.var("RECEIPT_KEYS").map(|v| v.to_string()))
        .map_err(|_| ApiError::internal("RECEIPT_KEYS is not configured (docs/receipts.md, \"Keys\")"))?;
    if let Some(ring) = RING.with(|r| r.borrow().as_ref().filter(|(t, _)| *t == text).map(|(_, ring)| ring.clone())) {
        return Ok(ring);
    }
    let ring = Rc::new(KeyRing::parse(&text).map_err(ApiError::internal)?);
    RING.with(|r| *r.borrow_mut() = Some((text, ring.clone())));
    Ok(ring)
}

/// The issuer receipts name: `RECEIPT_ISSUER` when set, else the origin the request was sent to.
pub fn issuer(req: &Request, env: &Env) -> ApiResult<String> {
    match env.var("RECEIPT_ISSUER").map(|v| v.to_string()) {
        Ok(configured) if !configured.is_empty() => Ok(configured.trim_end_matches('/').to_string()),
        _ => Ok(req.url()?.origin().ascii_serialization()),
    }
}

/// What an allowed call was, for its receipt.
pub struct Allowed<'a> {
    pub issuer: &'a str,
    pub org_id: &'a str,
    pub agent_id: &'a str,
    pub tool: &'a str,
    pub scope: &'a str,
    pub arguments: Option<&'a Map<String, Value>>,
    pub decision_id: &'a str,
}

/// The receipt of an allowed decision made at `now_ms`.
pub fn sign(ring: &KeyRing, call: &Allowed<'_>, now_ms: i64) -> ApiResult<String> {
    let claims = Claims::new(
        call.issuer,
        call.org_id,
        call.agent_id,
        (call.tool, call.scope),
        call.arguments,
        call.decision_id,
        now_ms,
    );
    ring.sign(&claims).map_err(ApiError::internal)
}

/// `GET /.well-known/jwks.json`: public, cacheable for five minutes (a rotation keeps the old key
/// published longer than that, `docs/receipts.md`).
pub fn jwks(env: &Env) -> ApiResult<Response> {
    let ring = key_ring(env)?;
    let mut resp = json_response(200, &ring.jwks());
    let _ = resp.headers_mut().set("Cache-Control", "public, max-age=300");
    Ok(resp)
}
