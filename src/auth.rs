//! Who is calling: admin keys for `/v1/admin/…`, agent keys for `/v1/validate`.
//!
//! A key is checked for shape and checksum before any storage is read, then — unless this isolate
//! has seen it valid — charged to the client's failed-authentication throttle
//! ([`crate::throttle`]), and only then looked up by its keyed hash. Every failure answers the
//! same 401, whatever the key looked like, or 429 once the client or the key's prefix failed too
//! often.

use std::cell::RefCell;
use std::collections::HashSet;

use oakauth_core::keys::{self, KeyKind};
use serde::Deserialize;
use worker::{Env, Request};

use crate::db::{self, Arg};
use crate::http::{bearer, ApiError, ApiResult};

const UNAUTHORIZED: &str = "missing or invalid API key";
/// Admin key hashes remembered per isolate; the set is cleared when it reaches this size.
const ADMIN_SEEN_MAX: usize = 1_000;

thread_local! {
    /// Hashes of admin keys this isolate has seen valid. Such a key skips the throttle check (an
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
        Err(_) => Err(ApiError::unauthorized(UNAUTHORIZED)),
    }
}

/// The organization an admin key acts for.
#[derive(Debug, Clone, Deserialize)]
pub struct AdminContext {
    pub org_id: String,
    pub org_name: String,
    pub key_prefix: String,
}

pub async fn admin(req: &Request, env: &Env) -> ApiResult<AdminContext> {
    let key = presented_key(req, KeyKind::Admin)?;
    let hash = keys::hash(&hash_secret(env)?, &key);
    let database = db::database(env)?;
    #[derive(Deserialize)]
    struct Row {
        org_id: String,
        org_name: String,
        key_prefix: String,
        key_hash: String,
    }
    let lookup = async {
        let row: Option<Row> = db::first(
            &database,
            "SELECT k.org_id, o.name AS org_name, k.key_prefix, k.key_hash
               FROM admin_keys k JOIN organizations o ON o.id = k.org_id
              WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
            &[Arg::from(&hash)],
        )
        .await?;
        Ok(row.filter(|r| keys::hashes_equal(&r.key_hash, &hash)))
    };
    let seen = ADMIN_SEEN.with(|s| s.borrow().contains(&hash));
    let row = if seen {
        match lookup.await? {
            Some(row) => row,
            None => {
                ADMIN_SEEN.with(|s| s.borrow_mut().remove(&hash));
                return Err(rejected(req, env, &key).await);
            }
        }
    } else {
        crate::throttle::guarded(req, env, &key, unauthorized(), lookup).await?
    };
    ADMIN_SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= ADMIN_SEEN_MAX {
            s.clear();
        }
        s.insert(hash.clone());
    });
    Ok(AdminContext { org_id: row.org_id, org_name: row.org_name, key_prefix: row.key_prefix })
}

/// The answer to a known key that is no longer valid: 401, or 429 with `Retry-After` once the
/// client or the key's prefix failed too often (see [`crate::throttle::failed`]).
pub async fn rejected(req: &Request, env: &Env, key: &str) -> ApiError {
    crate::throttle::failed(req, env, key, unauthorized()).await
}
