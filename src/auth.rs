//! Who is calling: admin keys and people's sessions for `/v1/admin/…` ([`crate::people`]), agent
//! keys for `/v1/validate`.
//!
//! A key is checked for shape and checksum before any storage is read, then — unless this isolate
//! has seen it valid — charged to the client's failed-authentication throttle
//! ([`crate::throttle`]), and only then looked up by its keyed hash. Every failure answers the
//! same 401, whatever the key looked like, or 429 once the client or the key's prefix failed too
//! often.

use std::cell::RefCell;
use std::collections::HashSet;

use oakauth_core::accounts::Role;
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::wire::accounts::{Actor, ActorKind};
use serde::Deserialize;
use worker::{Env, Request};

use crate::db::{self, Arg};
use crate::http::{bearer, ApiError, ApiResult};

const UNAUTHORIZED: &str = "missing or invalid API key";
/// Admin key hashes remembered per isolate; the set is cleared when it reaches this size.
const ADMIN_SEEN_MAX: usize = 1_000;

thread_local! {
    /// Hashes of admin keys and session tokens this isolate has seen valid. Such a key skips the throttle check (an
    /// admin keeps working from a throttled network), never the lookup: revocation still applies
    /// on the next request.
    static ADMIN_SEEN: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// The answer to a key that matches nothing, before any throttling.
pub fn unauthorized() -> ApiError {
    ApiError::unauthorized(UNAUTHORIZED)
}

/// The server secret keys are hashed under. Missing configuration fails closed.
pub fn hash_secret(env: &Env) -> ApiResult<Vec<u8>> {
    let value = env
        .secret("KEY_HASH_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("KEY_HASH_SECRET").map(|v| v.to_string()))
        .map_err(|_| ApiError::internal("KEY_HASH_SECRET is not configured"))?;
    if value.len() < 16 {
        return Err(ApiError::internal("KEY_HASH_SECRET must be at least 16 characters"));
    }
    Ok(value.into_bytes())
}

/// The presented key if it is well-formed and of `kind`; no storage is touched.
pub fn presented_key(req: &Request, kind: KeyKind) -> ApiResult<String> {
    let key = bearer(req).ok_or_else(|| ApiError::unauthorized(UNAUTHORIZED))?;
    match keys::parse(&key) {
        Ok(k) if k == kind => Ok(key),
        Ok(KeyKind::Agent) => Err(ApiError::forbidden("agent keys cannot call admin endpoints; use an admin key")),
        Ok(KeyKind::Admin) => Err(ApiError::forbidden(
            "admin keys cannot call agent endpoints (/v1/validate, /v1/approvals); use an agent key",
        )),
        Ok(KeyKind::Session) if kind == KeyKind::Agent => Err(ApiError::forbidden(
            "session tokens cannot call agent endpoints (/v1/validate, /v1/approvals); use an agent key",
        )),
        Ok(KeyKind::Session | KeyKind::Invitation) | Err(_) => Err(ApiError::unauthorized(UNAUTHORIZED)),
    }
}

/// Who is calling an admin route, for which organization, with which role.
#[derive(Debug, Clone)]
pub struct AdminContext {
    pub org_id: String,
    pub org_name: String,
    pub role: Role,
    pub actor: Actor,
    /// The person's session, when a person (not a key) is calling.
    pub session: Option<crate::people::SessionRef>,
}

impl AdminContext {
    /// Who acted, in one word, for `admin_events.actor` and `approvals.decided_by`: the admin
    /// key's visible prefix, or the person's e-mail address.
    pub fn actor_label(&self) -> &str {
        match (&self.actor.key_prefix, &self.actor.email) {
            (Some(prefix), _) => prefix,
            (None, Some(email)) => email,
            (None, None) => &self.actor.id,
        }
    }

    /// The person's session, when it came as the cookie (its writes need the CSRF check).
    pub fn cookie_session(&self) -> Option<&crate::people::SessionRef> {
        self.session.as_ref().filter(|s| s.via_cookie)
    }
}

/// The caller of an admin route: an admin key (`Authorization: Bearer oakadm_…`), or a person's
/// session (`Authorization: Bearer oaks_…` or the `oak_session` cookie) in the organization the
/// `OakAuth-Organization` header names.
pub async fn admin(req: &Request, env: &Env) -> ApiResult<AdminContext> {
    crate::people::check_header_bounds(req)?;
    if bearer(req).is_none() {
        if let Some(token) = crate::people::session_cookie(req) {
            return crate::people::admin_context(req, env, &token, true).await;
        }
    }
    let key = bearer(req).ok_or_else(|| ApiError::unauthorized(UNAUTHORIZED))?;
    if keys::parse(&key) == Ok(KeyKind::Session) {
        return crate::people::admin_context(req, env, &key, false).await;
    }
    let key = presented_key(req, KeyKind::Admin)?;
    let hash = keys::hash(&hash_secret(env)?, &key);
    let database = db::database(env)?;
    #[derive(Deserialize)]
    struct Row {
        id: String,
        org_id: String,
        org_name: String,
        key_prefix: String,
        key_hash: String,
        name: String,
        role: String,
    }
    let now = crate::admin::now_ms();
    let lookup = async {
        // A slow database, so that calls overlap for certain (tests of concurrent first calls).
        if crate::injected_fault("slow_key_lookup") {
            worker::Delay::from(std::time::Duration::from_millis(300)).await;
        }
        let row: Option<Row> = db::first(
            &database,
            "SELECT k.id, k.org_id, o.name AS org_name, k.key_prefix, k.key_hash, k.name, k.role
               FROM admin_keys k JOIN organizations o ON o.id = k.org_id
              WHERE k.key_hash = ?1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2)",
            &[Arg::from(&hash), Arg::Int(now)],
        )
        .await?;
        Ok(row.filter(|r| keys::hashes_equal(&r.key_hash, &hash)))
    };
    let row = seen_or_guarded(req, env, &key, &hash, lookup).await?;
    // A key acts in its own organization only: naming another one is refused, never ignored.
    if let Some(named) = req.headers().get(crate::people::ORGANIZATION_HEADER).ok().flatten() {
        if named.trim() != row.org_id {
            return Err(ApiError::forbidden(
                "this admin key belongs to another organization than OakAuth-Organization names",
            ));
        }
    }
    // A role that is not one of the three never becomes one: the key is refused.
    let role =
        Role::parse(&row.role).map_err(|_| ApiError::internal(format!("admin key {} has no valid role", row.id)))?;
    Ok(AdminContext {
        org_id: row.org_id,
        org_name: row.org_name,
        role,
        actor: Actor {
            kind: ActorKind::Key,
            id: row.id,
            name: row.name,
            email: None,
            key_prefix: Some(row.key_prefix),
        },
        session: None,
    })
}

/// Looks a presented secret up: straight away when this isolate saw it valid before, else
/// through the failed-authentication throttle. A miss answers 401 (or 429).
pub async fn seen_or_guarded<T>(
    req: &Request,
    env: &Env,
    secret: &str,
    hash: &str,
    lookup: impl std::future::Future<Output = ApiResult<Option<T>>>,
) -> ApiResult<T> {
    let seen = || ADMIN_SEEN.with(|s| s.borrow().contains(hash));
    // One guarded lookup of a secret at a time (see `throttle::turn`): concurrent first calls wait
    // for the first, then look up as a secret seen valid (without holding the turn).
    let turn = if seen() { None } else { Some(crate::throttle::turn(hash).await) };
    let found = if seen() {
        drop(turn);
        match lookup.await? {
            Some(row) => row,
            None => {
                ADMIN_SEEN.with(|s| s.borrow_mut().remove(hash));
                return Err(rejected(req, env, secret).await);
            }
        }
    } else {
        crate::throttle::guarded(req, env, secret, unauthorized(), lookup).await?
    };
    ADMIN_SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= ADMIN_SEEN_MAX {
            s.clear();
        }
        s.insert(hash.to_string());
    });
    Ok(found)
}

/// The answer to a known key that is no longer valid: 401, or 429 with `Retry-After` once the
/// client or the key's prefix failed too often (see [`crate::throttle::failed`]).
pub async fn rejected(req: &Request, env: &Env, key: &str) -> ApiError {
    crate::throttle::failed(req, env, key, unauthorized()).await
}
