//! People's sessions: the `oak_session` cookie or a bearer `oaks_…` token, looked up in D1 on
//! every request (so revocation applies on the next one), the organization a person acts in and
//! their role there, CSRF checks on cookie writes, and the `/v1/auth/…` routes other than the
//! sign-in itself ([`crate::signin`]). The rules (expiry, roles, CSRF tokens, invitations) are
//! `oakauth_core::accounts`'.

use oakauth_core::accounts::{self, Role, SessionState, SessionTimes};
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::time::format_ms;
use oakauth_core::wire::accounts::{
    AcceptedInvitation, Actor, ActorKind, BearerSession, InvitationPreview, InvitationStatus, NewBearerSession,
    OrganizationMembership, Session, SessionInfo, SessionKind, SessionList, User,
};
use oakauth_core::wire::{ErrorCode, Organization};
use serde::Deserialize;
use worker::{D1Database, Env, Method, Request, Response};

use crate::admin::now_ms;
use crate::auth::{hash_secret, AdminContext};
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, read_optional_json, ApiError, ApiResult};

/// Bounds of the people headers (docs/openapi.yaml): an organization id, a CSRF token.
const MAX_ORGANIZATION_HEADER: usize = 64;
const MAX_CSRF_HEADER: usize = 128;

/// Refuses an `OakAuth-Organization` or `X-CSRF-Token` header past its documented length. (An
/// organization a caller does not belong to, whatever its shape, is refused later with 403.)
pub fn check_header_bounds(req: &Request) -> ApiResult<()> {
    if let Some(org) = req.headers().get(ORGANIZATION_HEADER).ok().flatten() {
        if org.len() > MAX_ORGANIZATION_HEADER {
            return Err(ApiError::invalid_request(format!("{ORGANIZATION_HEADER} must be an organization id (org_…)")));
        }
    }
    if let Some(csrf) = req.headers().get(CSRF_HEADER).ok().flatten() {
        // Too long to be one of ours: refused like a wrong token.
        if csrf.len() > MAX_CSRF_HEADER {
            return Err(ApiError::coded(
                ErrorCode::CsrfFailed,
                format!("{CSRF_HEADER} is not a token this API issued"),
            ));
        }
    }
    Ok(())
}

/// The session cookie's name.
pub const COOKIE: &str = "oak_session";
/// The header that names the organization a person acts in.
pub const ORGANIZATION_HEADER: &str = "OakAuth-Organization";
/// The header that carries the session's CSRF token on cookie writes.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
const BODY_LIMIT: usize = 4 * 1024;

/// A person's live session, as found for this request.
#[derive(Debug, Clone)]
pub struct SessionRef {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub kind: SessionKind,
    pub label: String,
    pub mfa: bool,
    pub times: SessionTimes,
    /// It came as the cookie (writes need the CSRF token).
    pub via_cookie: bool,
}

impl SessionRef {
    pub fn wire(&self, current: bool) -> Session {
        Session {
            id: self.id.clone(),
            kind: self.kind,
            name: self.label.clone(),
            created_at: format_ms(self.times.created_at),
            last_seen_at: format_ms(self.times.last_seen_at),
            expires_at: format_ms(self.times.ends_at()),
            mfa: self.mfa,
            current,
        }
    }
}

/// The `oak_session` cookie's value, if the request has one that looks like a session token.
pub fn session_cookie(req: &Request) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    header
        .split(';')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| keys::parse(v) == Ok(KeyKind::Session))
}

/// The session token of a request: a bearer `oaks_…`, or else the cookie. `(token, via_cookie)`.
fn presented(req: &Request) -> ApiResult<(String, bool)> {
    if let Some(token) = crate::http::bearer(req) {
        return match keys::parse(&token) {
            Ok(KeyKind::Session) => Ok((token, false)),
            _ => Err(ApiError::unauthorized("this route needs a person's session (sign in), not an API key")),
        };
    }
    session_cookie(req).map(|t| (t, true)).ok_or_else(|| ApiError::unauthorized("not signed in"))
}

#[derive(Deserialize)]
struct SessionRow {
    id: String,
    user_id: String,
    token_hash: String,
    kind: String,
    name: String,
    mfa: i64,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    email: String,
    user_name: String,
}

const SESSION_SELECT: &str =
    "SELECT s.id, s.user_id, s.token_hash, s.kind, s.name, s.mfa, s.created_at, s.last_seen_at,
        s.expires_at, s.revoked_at, u.email, u.name AS user_name
   FROM sessions s JOIN users u ON u.id = s.user_id";

impl SessionRow {
    fn into_ref(self, via_cookie: bool) -> SessionRef {
        SessionRef {
            id: self.id,
            user_id: self.user_id,
            email: self.email,
            name: self.user_name,
            kind: if self.kind == "bearer" { SessionKind::Bearer } else { SessionKind::Cookie },
            label: self.name,
            mfa: self.mfa == 1,
            times: SessionTimes {
                created_at: self.created_at,
                last_seen_at: self.last_seen_at,
                expires_at: self.expires_at,
                revoked_at: self.revoked_at,
            },
            via_cookie,
        }
    }
}

/// The live session a token names, or 401. Its last use is written at most once a minute.
pub async fn session(req: &Request, env: &Env, token: &str, via_cookie: bool) -> ApiResult<SessionRef> {
    let hash = keys::hash(&hash_secret(env)?, token);
    let database = db::database(env)?;
    let now = now_ms();
    let lookup = async {
        let row: Option<SessionRow> =
            db::first(&database, &format!("{SESSION_SELECT} WHERE s.token_hash = ?1"), &[Arg::from(&hash)]).await?;
        Ok(row.filter(|r| keys::hashes_equal(&r.token_hash, &hash)).filter(|r| {
            let times = SessionTimes {
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                revoked_at: r.revoked_at,
            };
            matches!(times.state(now), SessionState::Live { .. })
        }))
    };
    let row = crate::auth::seen_or_guarded(req, env, token, &hash, lookup).await?;
    let mut session = row.into_ref(via_cookie);
    if let SessionState::Live { touch: true } = session.times.state(now) {
        db::stmt(
            &database,
            "UPDATE sessions SET last_seen_at = ?1 WHERE id = ?2",
            &[Arg::Int(now), Arg::from(&session.id)],
        )?
        .run()
        .await
        .map_err(ApiError::internal)?;
        session.times.last_seen_at = now;
    }
    Ok(session)
}

#[derive(Deserialize)]
struct MembershipRow {
    org_id: String,
    org_name: String,
    role: String,
    require_mfa: i64,
}

/// A person's memberships, oldest first.
async fn memberships(database: &D1Database, user_id: &str) -> ApiResult<Vec<MembershipRow>> {
    db::all(
        database,
        "SELECT m.org_id, o.name AS org_name, m.role, o.require_mfa
           FROM memberships m JOIN organizations o ON o.id = m.org_id
          WHERE m.user_id = ?1 ORDER BY m.created_at, m.org_id LIMIT 100",
        &[Arg::from(user_id)],
    )
    .await
}

/// The admin context of a person's session: the organization the `OakAuth-Organization` header
/// names (or their only one), their role there, and the organization's MFA rule.
pub async fn admin_context(req: &Request, env: &Env, token: &str, via_cookie: bool) -> ApiResult<AdminContext> {
    let session = session(req, env, token, via_cookie).await?;
    let database = db::database(env)?;
    let named = req.headers().get(ORGANIZATION_HEADER).ok().flatten().map(|h| h.trim().to_string());
    let all = memberships(&database, &session.user_id).await?;
    let membership = match named {
        Some(org) => all
            .into_iter()
            .find(|m| m.org_id == org)
            .ok_or_else(|| ApiError::forbidden("you are not a member of this organization"))?,
        None => {
            let mut all = all.into_iter();
            match (all.next(), all.next()) {
                (Some(only), None) => only,
                (None, _) => return Err(ApiError::forbidden("you are not a member of any organization")),
                (Some(_), Some(_)) => {
                    return Err(ApiError::coded(
                        ErrorCode::OrganizationRequired,
                        format!("you belong to several organizations; name one with the {ORGANIZATION_HEADER} header"),
                    ))
                }
            }
        }
    };
    if membership.require_mfa == 1 && !session.mfa {
        return Err(ApiError::forbidden(
            "this organization requires multi-factor sign-in; sign in again with a second factor",
        ));
    }
    let role = Role::parse(&membership.role).map_err(|_| ApiError::internal("membership without a valid role"))?;
    Ok(AdminContext {
        org_id: membership.org_id,
        org_name: membership.org_name,
        role,
        actor: Actor {
            kind: ActorKind::User,
            id: session.user_id.clone(),
            name: session.name.clone(),
            email: Some(session.email.clone()),
            key_prefix: None,
        },
        session: Some(session),
    })
}

/// Whether `origin` is one of the dashboard origins (`CORS_ORIGINS`) or this service's own
/// (`PUBLIC_URL`).
pub fn origin_allowed(env: &Env, origin: &str) -> bool {
    let listed = env.var("CORS_ORIGINS").map(|v| v.to_string()).unwrap_or_default();
    listed.split(',').map(str::trim).any(|o| !o.is_empty() && o == origin)
        || public_url(env).is_some_and(|p| p.trim_end_matches('/') == origin)
}

/// `PUBLIC_URL`, when configured.
pub fn public_url(env: &Env) -> Option<String> {
    env.var("PUBLIC_URL").ok().map(|v| v.to_string().trim().trim_end_matches('/').to_string()).filter(|v| !v.is_empty())
}

/// A cookie-authenticated write needs the session's CSRF token in `X-CSRF-Token`, and, when the
/// browser says where the request comes from, an allowed origin.
pub fn check_csrf(req: &Request, env: &Env, session: &SessionRef) -> ApiResult<()> {
    if !session.via_cookie {
        return Ok(());
    }
    let refused = |why: &str| ApiError::coded(ErrorCode::CsrfFailed, format!("cross-site request refused: {why}"));
    if let Some(origin) = req.headers().get("Origin").ok().flatten() {
        let own = req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        if origin != own && !origin_allowed(env, &origin) {
            return Err(refused("the Origin is not an allowed dashboard origin"));
        }
    }
    let presented = req.headers().get(CSRF_HEADER).ok().flatten();
    if !accounts::csrf_matches(&hash_secret(env)?, &session.id, presented.as_deref()) {
        return Err(refused("a write made with the session cookie needs the X-CSRF-Token from GET /v1/auth/session"));
    }
    Ok(())
}

/// Whether `method` changes something (and so needs the CSRF check with a cookie).
pub fn is_write(method: &Method) -> bool {
    !matches!(method, Method::Get | Method::Head | Method::Options)
}

/// The `Set-Cookie` value that stores `token` (or, with `None`, removes the cookie).
pub fn cookie_header(env: &Env, req: &Request, token: Option<&str>) -> String {
    let url = req.url().map(|u| u.to_string()).unwrap_or_default();
    // Browsers refuse Secure cookies over plain http except on loopback hosts; local development
    // runs there, so the attribute is left out only for http on a loopback host.
    let secure = !oakauth_core::oidc::is_loopback_http(&url);
    let same_site = match env.var("SESSION_COOKIE_SAMESITE").map(|v| v.to_string().to_ascii_lowercase()) {
        Ok(v) if v == "none" => "None",
        Ok(v) if v == "strict" => "Strict",
        _ => "Lax",
    };
    let (value, max_age) = match token {
        Some(t) => (t, accounts::SESSION_ABSOLUTE_MS / 1000),
        None => ("", 0),
    };
    let mut cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}");
    if secure || same_site == "None" {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Starts a session for a person: stores its hash, returns the token (shown once).
pub async fn create_session(
    database: &D1Database,
    env: &Env,
    user_id: &str,
    kind: SessionKind,
    name: &str,
    mfa: bool,
) -> ApiResult<(String, SessionRef)> {
    let token = keys::generate(KeyKind::Session)?;
    let id = oakauth_core::ids::new_id("ses")?;
    let now = now_ms();
    let times = SessionTimes::starting(now);
    let kind_text = match kind {
        SessionKind::Cookie => "cookie",
        SessionKind::Bearer => "bearer",
    };
    db::stmt(
        database,
        "INSERT INTO sessions (id, user_id, token_hash, kind, name, mfa, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
        &[
            Arg::from(&id),
            Arg::from(user_id),
            Arg::from(&keys::hash(&hash_secret(env)?, &token.secret)),
            Arg::from(kind_text),
            Arg::from(name),
            Arg::from(mfa),
            Arg::Int(now),
            Arg::Int(times.expires_at),
        ],
    )?
    .run()
    .await
    .map_err(ApiError::internal)?;
    #[derive(Deserialize)]
    struct U {
        email: String,
        name: String,
    }
    let user: U = db::first(database, "SELECT email, name FROM users WHERE id = ?1", &[Arg::from(user_id)])
        .await?
        .ok_or_else(|| ApiError::internal("session for a missing user"))?;
    let session = SessionRef {
        id,
        user_id: user_id.to_string(),
        email: user.email,
        name: user.name,
        kind,
        label: name.to_string(),
        mfa,
        times,
        via_cookie: kind == SessionKind::Cookie,
    };
    Ok((token.secret, session))
}

/// Ends every session of a person (member removal, an owner ending them). Returns how many.
pub fn end_sessions_statement(database: &D1Database, user_id: &str) -> ApiResult<worker::D1PreparedStatement> {
    db::stmt(
        database,
        "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
        &[Arg::Int(now_ms()), Arg::from(user_id)],
    )
}

/// Serves `/v1/auth/…` (after `/v1/auth/`) and `/v1/setup`.
pub async fn handle(req: Request, method: Method, env: &Env, segments: &[&str]) -> ApiResult<Response> {
    use Method::{Delete, Get, Post};
    match (&method, segments) {
        (Get, ["config"]) => crate::signin::config_answer(env),
        (Get, ["login"]) => crate::signin::login(&req, env).await,
        (Get, ["callback"]) => crate::signin::callback(&req, env).await,
        (Get, ["session"]) => current(&req, env).await,
        (Post, ["logout"]) => logout(&req, env).await,
        (Get, ["sessions"]) => list_sessions(&req, env).await,
        (Delete, ["sessions", id]) => revoke_session(&req, env, id).await,
        (Post, ["tokens"]) => create_token(req, env).await,
        (Get, ["invitations", token]) => preview_invitation(env, token).await,
        (Post, ["invitations", token, "accept"]) => accept_invitation(&req, env, token).await,
        _ => {
            let allow: Vec<&str> = match segments {
                ["config"] | ["login"] | ["callback"] | ["session"] | ["sessions"] => vec!["GET"],
                ["logout"] | ["tokens"] | ["invitations", _, "accept"] => vec!["POST"],
                ["sessions", _] => vec!["DELETE"],
                ["invitations", _] => vec!["GET"],
                _ => vec![],
            };
            Err(if allow.is_empty() {
                ApiError::not_found("no such route")
            } else {
                ApiError::method_not_allowed(&allow)
            })
        }
    }
}

/// The signed-in person of a `/v1/auth/…` request; writes with the cookie pass the CSRF check.
async fn signed_in(req: &Request, env: &Env) -> ApiResult<SessionRef> {
    check_header_bounds(req)?;
    let (token, via_cookie) = presented(req)?;
    let session = session(req, env, &token, via_cookie).await?;
    if is_write(&req.method()) {
        check_csrf(req, env, &session)?;
    }
    Ok(session)
}

async fn current(req: &Request, env: &Env) -> ApiResult<Response> {
    let session = signed_in(req, env).await?;
    let database = db::database(env)?;
    let organizations = memberships(&database, &session.user_id)
        .await?
        .into_iter()
        .filter_map(|m| {
            Role::parse(&m.role).ok().map(|role| OrganizationMembership { id: m.org_id, name: m.org_name, role })
        })
        .collect();
    let info = SessionInfo {
        user: User { id: session.user_id.clone(), email: session.email.clone(), name: session.name.clone() },
        session: session.wire(true),
        csrf_token: accounts::csrf_token(&hash_secret(env)?, &session.id),
        organizations,
    };
    Ok(json_response(200, &info))
}

async fn logout(req: &Request, env: &Env) -> ApiResult<Response> {
    let session = signed_in(req, env).await?;
    let database = db::database(env)?;
    db::stmt(
        &database,
        "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        &[Arg::Int(now_ms()), Arg::from(&session.id)],
    )?
    .run()
    .await
    .map_err(ApiError::internal)?;
    let mut resp = empty_response(204);
    let _ = resp.headers_mut().set("Set-Cookie", &cookie_header(env, req, None));
    Ok(resp)
}

async fn list_sessions(req: &Request, env: &Env) -> ApiResult<Response> {
    let me = signed_in(req, env).await?;
    let database = db::database(env)?;
    let now = now_ms();
    let rows: Vec<SessionRow> = db::all(
        &database,
        &format!(
            "{SESSION_SELECT} WHERE s.user_id = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
              ORDER BY s.seq DESC LIMIT {}",
            accounts::MAX_SESSIONS_LISTED
        ),
        &[Arg::from(&me.user_id), Arg::Int(now)],
    )
    .await?;
    let sessions = rows
        .into_iter()
        .map(|r| r.into_ref(false))
        .filter(|s| matches!(s.times.state(now), SessionState::Live { .. }))
        .map(|s| {
            let current = s.id == me.id;
            s.wire(current)
        })
        .collect();
    Ok(json_response(200, &SessionList { sessions }))
}

async fn revoke_session(req: &Request, env: &Env, id: &str) -> ApiResult<Response> {
    let me = signed_in(req, env).await?;
    if !oakauth_core::ids::is_id("ses", id) {
        return Err(ApiError::not_found("no such session"));
    }
    let database = db::database(env)?;
    let result = db::stmt(
        &database,
        "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
        &[Arg::Int(now_ms()), Arg::from(id), Arg::from(&me.user_id)],
    )?
    .run()
    .await
    .map_err(ApiError::internal)?;
    let changed = result.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
    if changed == 0 {
        return Err(ApiError::not_found("no such session"));
    }
    let mut resp = empty_response(204);
    if id == me.id && me.via_cookie {
        let _ = resp.headers_mut().set("Set-Cookie", &cookie_header(env, req, None));
    }
    Ok(resp)
}

async fn create_token(mut req: Request, env: &Env) -> ApiResult<Response> {
    let me = signed_in(&req, env).await?;
    let body: NewBearerSession = read_optional_json(&mut req, BODY_LIMIT).await?;
    let name = body.name.unwrap_or_default();
    if name.chars().count() > accounts::MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request("name must be at most 100 characters, without control characters"));
    }
    let database = db::database(env)?;
    let (token, session) = create_session(&database, env, &me.user_id, SessionKind::Bearer, &name, me.mfa).await?;
    Ok(json_response(201, &BearerSession { session: session.wire(false), token }))
}

#[derive(Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl InvitationRow {
    pub fn state(&self) -> accounts::InvitationState<'_> {
        accounts::InvitationState {
            email: &self.email,
            expires_at: self.expires_at,
            accepted_at: self.accepted_at,
            revoked_at: self.revoked_at,
        }
    }

    pub fn status(&self, now: i64) -> InvitationStatus {
        invitation_status(self.accepted_at, self.revoked_at, self.expires_at, now)
    }
}

pub fn invitation_status(
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: i64,
    now: i64,
) -> InvitationStatus {
    if accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if revoked_at.is_some() {
        InvitationStatus::Revoked
    } else if now >= expires_at {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

/// The invitation a link's token names (by its hash), if the token is well-formed and known.
pub async fn invitation_by_token(database: &D1Database, env: &Env, token: &str) -> ApiResult<Option<InvitationRow>> {
    if keys::parse(token) != Ok(KeyKind::Invitation) {
        return Ok(None);
    }
    let hash = keys::hash(&hash_secret(env)?, token);
    invitation_by_hash(database, &hash).await
}

pub async fn invitation_by_hash(database: &D1Database, hash: &str) -> ApiResult<Option<InvitationRow>> {
    let row: Option<InvitationRow> = db::first(
        database,
        "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.role, i.token_hash, i.expires_at, i.accepted_at, i.revoked_at
           FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = ?1",
        &[Arg::from(hash)],
    )
    .await?;
    Ok(row.filter(|r| keys::hashes_equal(&r.token_hash, hash)))
}

async fn preview_invitation(env: &Env, token: &str) -> ApiResult<Response> {
    let database = db::database(env)?;
    let inv =
        invitation_by_token(&database, env, token).await?.ok_or_else(|| ApiError::not_found("no such invitation"))?;
    let role = Role::parse(&inv.role)?;
    Ok(json_response(
        200,
        &InvitationPreview {
            organization: Organization { id: inv.org_id.clone(), name: inv.org_name.clone() },
            email: inv.email.clone(),
            role,
            status: inv.status(now_ms()),
            expires_at: format_ms(inv.expires_at),
        },
    ))
}

/// The answer to an invitation that cannot be accepted.
pub fn refusal_error(refusal: accounts::InvitationRefusal) -> ApiError {
    use accounts::InvitationRefusal::*;
    let code = match refusal {
        WrongAccount | UnverifiedEmail => ErrorCode::InvitationWrongAccount,
        Used => ErrorCode::InvitationUsed,
        Revoked => ErrorCode::InvitationRevoked,
        Expired => ErrorCode::InvitationExpired,
    };
    ApiError::coded(code, refusal.message())
}

/// Makes `user` a member by `inv` (atomically: the invitation is marked used only if it still
/// was unused, and the membership and its admin event are written only then). Returns false if
/// another acceptance won.
pub async fn join_by_invitation(
    database: &D1Database,
    inv: &InvitationRow,
    user_id: &str,
    email: &str,
    name: &str,
) -> ApiResult<bool> {
    let now = now_ms();
    let role = Role::parse(&inv.role)?;
    let event_id = oakauth_core::ids::new_id("evt")?;
    let request_id = oakauth_core::ids::new_id("req")?;
    let detail = serde_json::json!({ "invitation_id": inv.id, "role": role.as_str(), "email": email }).to_string();
    let claimed = "SELECT 1 FROM invitations WHERE id = ?1 AND accepted_by = ?2 AND accepted_at = ?3";
    let results = db::batch(
        database,
        vec![
            db::stmt(
                database,
                "UPDATE invitations SET accepted_at = ?1, accepted_by = ?2
                  WHERE id = ?3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?1",
                &[Arg::Int(now), Arg::from(user_id), Arg::from(&inv.id)],
            )?,
            // A membership the person already has keeps the higher of the two roles.
            db::stmt(
                database,
                &format!(
                    "INSERT INTO memberships (org_id, user_id, role, created_at, updated_at)
                     SELECT ?4, ?2, ?5, ?3, ?3 WHERE EXISTS ({claimed})
                     ON CONFLICT (org_id, user_id) DO UPDATE SET
                       role = CASE WHEN excluded.role = 'owner' OR memberships.role = 'owner' THEN 'owner'
                                   WHEN excluded.role = 'admin' OR memberships.role = 'admin' THEN 'admin'
                                   ELSE 'viewer' END,
                       updated_at = excluded.updated_at"
                ),
                &[Arg::from(&inv.id), Arg::from(user_id), Arg::Int(now), Arg::from(&inv.org_id), Arg::from(role.as_str())],
            )?,
            db::stmt(
                database,
                &format!(
                    "INSERT INTO admin_events (id, org_id, request_id, actor, action, agent_id, target_id, detail, created_at,
                                               actor_type, actor_id, actor_name)
                     SELECT ?4, ?5, ?6, ?7, 'member.join', NULL, ?2, ?8, ?3, 'user', ?2, ?9 WHERE EXISTS ({claimed})"
                ),
                &[
                    Arg::from(&inv.id),
                    Arg::from(user_id),
                    Arg::Int(now),
                    Arg::from(&event_id),
                    Arg::from(&inv.org_id),
                    Arg::from(&request_id),
                    Arg::from(email),
                    Arg::from(&detail),
                    Arg::from(name),
                ],
            )?,
        ],
    )
    .await?;
    let changed = results.first().and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0);
    Ok(changed > 0)
}

async fn accept_invitation(req: &Request, env: &Env, token: &str) -> ApiResult<Response> {
    let me = signed_in(req, env).await?;
    let database = db::database(env)?;
    let inv =
        invitation_by_token(&database, env, token).await?.ok_or_else(|| ApiError::not_found("no such invitation"))?;
    #[derive(Deserialize)]
    struct U {
        email_verified: i64,
    }
    let verified =
        db::first::<U>(&database, "SELECT email_verified FROM users WHERE id = ?1", &[Arg::from(&me.user_id)])
            .await?
            .is_some_and(|u| u.email_verified == 1);
    accounts::check_invitation(&inv.state(), &me.email, verified, now_ms()).map_err(refusal_error)?;
    if !join_by_invitation(&database, &inv, &me.user_id, &me.email, &me.name).await? {
        return Err(refusal_error(accounts::InvitationRefusal::Used));
    }
    let role = Role::parse(&inv.role)?;
    #[derive(Deserialize)]
    struct M {
        role: String,
    }
    let now_role = db::first::<M>(
        &database,
        "SELECT role FROM memberships WHERE org_id = ?1 AND user_id = ?2",
        &[Arg::from(&inv.org_id), Arg::from(&me.user_id)],
    )
    .await?
    .and_then(|m| Role::parse(&m.role).ok())
    .unwrap_or(role);
    Ok(json_response(
        200,
        &AcceptedInvitation {
            organization: OrganizationMembership { id: inv.org_id.clone(), name: inv.org_name.clone(), role: now_role },
        },
    ))
}
