//! Sign-in for people with OpenID Connect (authorization code with PKCE): `GET /v1/auth/login`
//! sends the browser to the identity provider, `GET /v1/auth/callback` takes it back, exchanges
//! the code, checks the ID token (`oakauth_core::oidc`), finds or creates the person (sign-up or
//! an invitation), and starts a session cookie. Also `GET /v1/auth/config` and `POST /v1/setup`.
//!
//! The provider's discovery document and keys are fetched on first use and kept per isolate for
//! [`METADATA_TTL_MS`]; a token under a key id the cached set lacks refetches the keys (at most
//! every [`JWKS_REFETCH_MS`]), so a provider's key rotation needs no restart.

use std::cell::RefCell;

use oakauth_core::accounts::{self, Role, Signup};
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::oidc::JwkSet;
use oakauth_core::oidc::{self, OidcError, ProviderMetadata};
use oakauth_core::time::format_ms;
use oakauth_core::wire::accounts::{
    AuthConfig, CreatedInvitation, Invitation, InvitationStatus, SessionKind, SetupRequest, SetupResult,
};
use oakauth_core::wire::{ErrorCode, Organization};
use serde::Deserialize;
use worker::{Env, Method, Request, RequestInit, Response};

use crate::admin::now_ms;
use crate::auth::hash_secret;
use crate::db::{self, Arg};
use crate::http::{json_response, query_param, read_json, ApiError, ApiResult};
use crate::people;

/// How long a provider's discovery document and keys are kept per isolate.
const METADATA_TTL_MS: i64 = 10 * 60_000;
/// The least time between two fetches of the provider's keys for an unknown key id.
const JWKS_REFETCH_MS: i64 = 30_000;
/// How long a call to the provider may take.
const PROVIDER_TIMEOUT_MS: u64 = 10_000;

/// The identity provider this deployment uses.
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub mfa_acr: Vec<String>,
}

/// A secret or variable, trimmed; `None` when unset or blank.
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The provider's configuration, or `None` when single sign-on is not set up (`OIDC_ISSUER` and
/// `OIDC_CLIENT_ID` both needed). A malformed issuer is a configuration error (500).
pub fn oidc_config(env: &Env) -> ApiResult<Option<OidcConfig>> {
    let (Some(issuer), Some(client_id)) = (setting(env, "OIDC_ISSUER"), setting(env, "OIDC_CLIENT_ID")) else {
        return Ok(None);
    };
    oidc::check_issuer(&issuer).map_err(ApiError::internal)?;
    let mfa_acr = setting(env, "OIDC_MFA_ACR")
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    Ok(Some(OidcConfig { issuer, client_id, client_secret: setting(env, "OIDC_CLIENT_SECRET"), mfa_acr }))
}

pub fn signup(env: &Env) -> ApiResult<Signup> {
    Signup::parse(setting(env, "SIGNUP").as_deref()).map_err(ApiError::internal)
}

pub fn config_answer(env: &Env) -> ApiResult<Response> {
    let config = oidc_config(env)?;
    Ok(json_response(
        200,
        &AuthConfig { sso: config.is_some(), issuer: config.map(|c| c.issuer), signup: signup(env)? },
    ))
}

fn not_configured() -> ApiError {
    ApiError::coded(ErrorCode::SsoNotConfigured, "single sign-on is not configured (OIDC_ISSUER, OIDC_CLIENT_ID)")
}

struct Cached {
    issuer: String,
    meta: ProviderMetadata,
    jwks: JwkSet,
    fetched_at: i64,
    jwks_fetched_at: i64,
}

thread_local! {
    static PROVIDER: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

async fn fetch_bytes(url: &str, init: Option<RequestInit>) -> Result<(u16, Vec<u8>), String> {
    let mut init = init.unwrap_or_default();
    init.with_redirect(worker::RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let mut resp = crate::http::fetch_with_timeout(request, PROVIDER_TIMEOUT_MS).await?;
    let status = resp.status_code();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > oidc::MAX_DOCUMENT_BYTES {
        return Err("the answer is too large".into());
    }
    Ok((status, body))
}

async fn fetch_jwks(meta: &ProviderMetadata) -> Result<JwkSet, String> {
    let (status, body) = fetch_bytes(&meta.jwks_uri, None).await?;
    if status != 200 {
        return Err(format!("jwks_uri answered HTTP {status}"));
    }
    oidc::parse_jwks(&body).map_err(|e| e.to_string())
}

/// The provider's metadata and keys, from this isolate's cache or freshly fetched.
async fn provider(config: &OidcConfig, refresh_keys: bool) -> Result<(ProviderMetadata, JwkSet), String> {
    let now = now_ms();
    let cached = PROVIDER.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|c| c.issuer == config.issuer && now - c.fetched_at < METADATA_TTL_MS)
            .map(|c| (c.meta.clone(), c.jwks.clone(), c.jwks_fetched_at))
    });
    if let Some((meta, jwks, jwks_at)) = cached {
        if !refresh_keys || now - jwks_at < JWKS_REFETCH_MS {
            return Ok((meta, jwks));
        }
        let jwks = fetch_jwks(&meta).await?;
        PROVIDER.with(|p| {
            if let Some(c) = p.borrow_mut().as_mut() {
                c.jwks = jwks.clone();
                c.jwks_fetched_at = now;
            }
        });
        return Ok((meta, jwks));
    }
    let (status, body) = fetch_bytes(&oidc::discovery_url(&config.issuer), None).await?;
    if status != 200 {
        return Err(format!("the discovery document answered HTTP {status}"));
    }
    let meta = oidc::parse_discovery(&body, &config.issuer).map_err(|e| e.to_string())?;
    let jwks = fetch_jwks(&meta).await?;
    PROVIDER.with(|p| {
        *p.borrow_mut() = Some(Cached {
            issuer: config.issuer.clone(),
            meta: meta.clone(),
            jwks: jwks.clone(),
            fetched_at: now,
            jwks_fetched_at: now,
        })
    });
    Ok((meta, jwks))
}

/// This service's own origin: `PUBLIC_URL`, or the request's.
fn own_origin(req: &Request, env: &Env) -> ApiResult<String> {
    match people::public_url(env) {
        Some(url) => Ok(url),
        None => Ok(req.url()?.origin().ascii_serialization()),
    }
}

fn redirect_uri(req: &Request, env: &Env) -> ApiResult<String> {
    Ok(format!("{}/v1/auth/callback", own_origin(req, env)?))
}

/// `return_to` must be a page on an allowed dashboard origin or on this service.
fn check_return_to(req: &Request, env: &Env, return_to: &str) -> ApiResult<String> {
    let bad = || ApiError::invalid_request("return_to must be a URL on an allowed dashboard origin (CORS_ORIGINS)");
    let url = worker::Url::parse(return_to).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return Err(bad());
    }
    let origin = url.origin().ascii_serialization();
    if origin == own_origin(req, env)? || people::origin_allowed(env, &origin) {
        Ok(url.to_string())
    } else {
        Err(bad())
    }
}

fn random(len: usize) -> ApiResult<String> {
    let mut s = String::with_capacity(len);
    oakauth_core::ids::push_random_base62(&mut s, len)?;
    Ok(s)
}

fn redirect(location: &str) -> ApiResult<Response> {
    let mut resp = Response::empty()?.with_status(302);
    resp.headers_mut().set("Location", location)?;
    Ok(resp)
}

/// `GET /v1/auth/login?return_to=…[&invitation=oaki_…]`.
pub async fn login(req: &Request, env: &Env) -> ApiResult<Response> {
    let config = oidc_config(env)?.ok_or_else(not_configured)?;
    let url = req.url()?;
    let return_to = query_param(&url, "return_to")?
        .ok_or_else(|| ApiError::invalid_request("return_to is required: the dashboard page to come back to"))?;
    let return_to = check_return_to(req, env, &return_to)?;
    let database = db::database(env)?;
    let secret = hash_secret(env)?;
    let (invitation_hash, login_hint) = match query_param(&url, "invitation")? {
        None => (None, None),
        Some(token) => {
            let inv = people::invitation_by_token(&database, env, &token)
                .await?
                .ok_or_else(|| ApiError::not_found("no such invitation"))?;
            (Some(keys::hash(&secret, &token)), Some(inv.email))
        }
    };
    let (meta, _) = provider(&config, false).await.map_err(|e| {
        worker::console_error!("identity provider unavailable: {e}");
        ApiError::internal("the identity provider could not be reached")
    })?;
    let (state, nonce, verifier) = (random(32)?, random(32)?, random(64)?);
    let now = now_ms();
    db::batch(
        &database,
        vec![
            db::stmt(&database, "DELETE FROM login_requests WHERE expires_at < ?1", &[Arg::Int(now)])?,
            db::stmt(
                &database,
                "INSERT INTO login_requests (state_hash, nonce, code_verifier, return_to, invitation_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    Arg::from(&keys::hash(&secret, &state)),
                    Arg::from(&nonce),
                    Arg::from(&verifier),
                    Arg::from(&return_to),
                    Arg::from(invitation_hash.as_deref()),
                    Arg::Int(now),
                    Arg::Int(now + accounts::LOGIN_TTL_MS),
                ],
            )?,
        ],
    )
    .await?;
    let redirect_uri = redirect_uri(req, env)?;
    let location = oidc::authorization_url(
        &meta,
        &oidc::AuthorizationRequest {
            client_id: &config.client_id,
            redirect_uri: &redirect_uri,
            state: &state,
            nonce: &nonce,
            code_verifier: &verifier,
            login_hint: login_hint.as_deref(),
        },
    )
    .map_err(ApiError::internal)?;
    redirect(&location)
}

/// Back to the dashboard with an error code in the fragment (never in a log or the query).
fn back_with_error(return_to: &str, code: &str) -> ApiResult<Response> {
    let base = return_to.split('#').next().unwrap_or(return_to);
    redirect(&format!("{base}#sign_in_error={code}"))
}

#[derive(Deserialize)]
struct LoginRow {
    nonce: String,
    code_verifier: String,
    return_to: String,
    invitation_hash: Option<String>,
    expires_at: i64,
}

#[derive(Deserialize)]
struct UserRow {
    id: String,
}

/// `GET /v1/auth/callback?code=…&state=…`.
pub async fn callback(req: &Request, env: &Env) -> ApiResult<Response> {
    let config = oidc_config(env)?.ok_or_else(not_configured)?;
    let url = req.url()?;
    let state = query_param(&url, "state")?.ok_or_else(|| ApiError::invalid_request("state is missing"))?;
    let database = db::database(env)?;
    let secret = hash_secret(env)?;
    // Single use: the pending sign-in is deleted as it is read.
    let login: Option<LoginRow> = db::first(
        &database,
        "DELETE FROM login_requests WHERE state_hash = ?1
         RETURNING nonce, code_verifier, return_to, invitation_hash, expires_at",
        &[Arg::from(&keys::hash(&secret, &state))],
    )
    .await?;
    let now = now_ms();
    let Some(login) = login.filter(|l| l.expires_at > now) else {
        return Err(ApiError::invalid_request("this sign-in has expired or was already used; start again"));
    };
    if query_param(&url, "error")?.is_some() {
        return back_with_error(&login.return_to, "provider_error");
    }
    let Some(code) = query_param(&url, "code")? else {
        return back_with_error(&login.return_to, "provider_error");
    };
    let identity = match exchange(req, env, &config, &code, &login).await {
        Ok(identity) => identity,
        Err(code) => return back_with_error(&login.return_to, code),
    };
    let Some(email) = identity.email.as_deref().and_then(|e| accounts::normalize_email(e).ok()) else {
        worker::console_error!("sign-in refused: the ID token carries no usable email claim");
        return back_with_error(&login.return_to, "id_token_invalid");
    };
    let name = accounts::display_name(identity.name.as_deref(), &email);
    let mfa = accounts::mfa_satisfied(&identity.amr, identity.acr.as_deref(), &config.mfa_acr);
    let invitation = match &login.invitation_hash {
        Some(hash) => people::invitation_by_hash(&database, hash).await?,
        None => None,
    };
    if let Some(inv) = &invitation {
        if let Err(refusal) = accounts::check_invitation(&inv.state(), &email, identity.email_verified, now) {
            return back_with_error(&login.return_to, refusal.code());
        }
    }
    let existing: Option<UserRow> = db::first(
        &database,
        "SELECT id FROM users WHERE issuer = ?1 AND subject = ?2",
        &[Arg::from(&config.issuer), Arg::from(&identity.sub)],
    )
    .await?;
    let signup = signup(env)?;
    if existing.is_none() && invitation.is_none() && signup != Signup::Open {
        return back_with_error(&login.return_to, "signup_closed");
    }
    // An organization of theirs (or the one inviting them) that requires a second factor refuses
    // a sign-in without one.
    if !mfa {
        #[derive(Deserialize)]
        struct N {
            n: i64,
        }
        let user_id = existing.as_ref().map(|u| u.id.as_str()).unwrap_or("");
        let invited_to = invitation.as_ref().map(|i| i.org_id.as_str()).unwrap_or("");
        let strict = db::first::<N>(
            &database,
            "SELECT COUNT(*) AS n FROM organizations
              WHERE require_mfa = 1 AND (id = ?2 OR id IN (SELECT org_id FROM memberships WHERE user_id = ?1))",
            &[Arg::from(user_id), Arg::from(invited_to)],
        )
        .await?
        .map(|n| n.n)
        .unwrap_or(0);
        if strict > 0 {
            return back_with_error(&login.return_to, "mfa_required");
        }
    }
    let user_id = match existing {
        Some(user) => {
            db::stmt(
                &database,
                "UPDATE users SET email = ?1, email_verified = ?2, name = ?3, last_sign_in_at = ?4 WHERE id = ?5",
                &[
                    Arg::from(&email),
                    Arg::from(identity.email_verified),
                    Arg::from(&name),
                    Arg::Int(now),
                    Arg::from(&user.id),
                ],
            )?
            .run()
            .await
            .map_err(ApiError::internal)?;
            user.id
        }
        None => {
            let personal = if invitation.is_none() { Some(crate::default_plan(env)?) } else { None };
            create_user(&database, &config.issuer, &identity, &email, &name, personal).await?
        }
    };
    if let Some(inv) = &invitation {
        if !people::join_by_invitation(&database, inv, &user_id, &email, &name).await? {
            return back_with_error(&login.return_to, "invitation_used");
        }
    }
    let (token, _) = people::create_session(&database, env, &user_id, SessionKind::Cookie, "dashboard", mfa).await?;
    let mut resp = redirect(&login.return_to)?;
    resp.headers_mut().set("Set-Cookie", &people::cookie_header(env, req, Some(&token)))?;
    Ok(resp)
}

/// The code exchanged at the token endpoint and the ID token verified; on failure, the code for
/// the dashboard (the detail goes to the log, never the token).
async fn exchange(
    req: &Request,
    env: &Env,
    config: &OidcConfig,
    code: &str,
    login: &LoginRow,
) -> Result<oidc::Identity, &'static str> {
    let (meta, jwks) = provider(config, false).await.map_err(|e| {
        worker::console_error!("identity provider unavailable: {e}");
        "provider_error"
    })?;
    let redirect_uri = redirect_uri(req, env).map_err(|_| "provider_error")?;
    let body = oidc::token_request_body(code, &redirect_uri, &login.code_verifier, &config.client_id);
    let headers = worker::Headers::new();
    let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
    let _ = headers.set("Accept", "application/json");
    if let Some(secret) = &config.client_secret {
        let _ = headers.set("Authorization", &oidc::client_secret_basic(&config.client_id, secret));
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(worker::wasm_bindgen::JsValue::from_str(&body)));
    let (status, answer) = fetch_bytes(&meta.token_endpoint, Some(init)).await.map_err(|e| {
        worker::console_error!("token endpoint unavailable: {e}");
        "provider_error"
    })?;
    if status != 200 {
        worker::console_error!("token endpoint answered HTTP {status}");
        return Err("provider_error");
    }
    let token = oidc::id_token_from_token_response(&answer).map_err(|_| "id_token_invalid")?;
    let expected = oidc::Expected {
        issuer: &config.issuer,
        client_id: &config.client_id,
        nonce: &login.nonce,
        now_s: now_ms() / 1000,
    };
    let verified = match oidc::verify_id_token(&token, &jwks, &expected) {
        Err(OidcError::UnknownKey) => {
            let (_, fresh) = provider(config, true).await.map_err(|_| "provider_error")?;
            oidc::verify_id_token(&token, &fresh, &expected)
        }
        other => other,
    };
    verified.map_err(|e| {
        worker::console_error!("ID token refused: {e}");
        "id_token_invalid"
    })
}

/// A new person; with `personal`, also their own organization, which they own.
async fn create_user(
    database: &worker::D1Database,
    issuer: &str,
    identity: &oidc::Identity,
    email: &str,
    name: &str,
    // Some(plan): the person gets a personal organization on that plan.
    personal: Option<oakauth_core::plans::PlanId>,
) -> ApiResult<String> {
    let id = oakauth_core::ids::new_id("usr")?;
    let now = now_ms();
    let mut statements = vec![db::stmt(
        database,
        "INSERT INTO users (id, issuer, subject, email, email_verified, name, created_at, last_sign_in_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        &[
            Arg::from(&id),
            Arg::from(issuer),
            Arg::from(&identity.sub),
            Arg::from(email),
            Arg::from(identity.email_verified),
            Arg::from(name),
            Arg::Int(now),
        ],
    )?];
    if let Some(plan) = personal {
        let org_id = oakauth_core::ids::new_id("org")?;
        let org_name: String = format!("{name}'s organization").chars().take(100).collect();
        statements.push(db::stmt(
            database,
            "INSERT INTO organizations (id, name, created_at, plan) VALUES (?1, ?2, ?3, ?4)",
            &[Arg::from(&org_id), Arg::from(&org_name), Arg::Int(now), Arg::from(plan.as_str())],
        )?);
        statements.push(db::stmt(
            database,
            "INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES (?1, ?2, 'owner', ?3, ?3)",
            &[Arg::from(&org_id), Arg::from(&id), Arg::Int(now)],
        )?);
    }
    db::batch(database, statements).await?;
    Ok(id)
}

/// Where invitation links point: `DASHBOARD_URL`, else the first dashboard origin, else this
/// service.
pub fn invitation_url(req: &Request, env: &Env, token: &str) -> ApiResult<String> {
    let base = setting(env, "DASHBOARD_URL")
        .or_else(|| {
            setting(env, "CORS_ORIGINS")
                .and_then(|v| v.split(',').map(str::trim).find(|o| !o.is_empty()).map(String::from))
        })
        .map(Ok)
        .unwrap_or_else(|| own_origin(req, env))?;
    Ok(format!("{}/#/invitations/{token}", base.trim_end_matches('/')))
}

/// Creates an invitation (its admin event and webhook event are the caller's). Returns the
/// invitation, its token (shown once) and its link.
pub async fn new_invitation(
    req: &Request,
    env: &Env,
    org_id: &str,
    email: &str,
    role: Role,
    invited_by: &str,
) -> ApiResult<(CreatedInvitation, worker::D1PreparedStatement)> {
    let database = db::database(env)?;
    let token = keys::generate(KeyKind::Invitation)?;
    let id = oakauth_core::ids::new_id("inv")?;
    let now = now_ms();
    let expires_at = now + accounts::INVITATION_TTL_MS;
    let statement = db::stmt(
        &database,
        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            Arg::from(&id),
            Arg::from(org_id),
            Arg::from(email),
            Arg::from(role.as_str()),
            Arg::from(&keys::hash(&hash_secret(env)?, &token.secret)),
            Arg::from(invited_by),
            Arg::Int(now),
            Arg::Int(expires_at),
        ],
    )?;
    let url = invitation_url(req, env, &token.secret)?;
    let invitation = Invitation {
        id,
        email: email.to_string(),
        role,
        status: InvitationStatus::Pending,
        invited_by: invited_by.to_string(),
        created_at: format_ms(now),
        expires_at: format_ms(expires_at),
        accepted_at: None,
    };
    Ok((CreatedInvitation { invitation, token: token.secret, url }, statement))
}

/// `POST /v1/setup` with `Authorization: Bearer <SETUP_TOKEN>`: the first organization and an
/// invitation for its owner, once (refused as soon as anyone has signed in).
pub async fn setup(mut req: Request, env: &Env) -> ApiResult<Response> {
    let Some(presented) = crate::http::bearer(&req) else {
        return Err(ApiError::unauthorized("POST /v1/setup needs Authorization: Bearer <SETUP_TOKEN>"));
    };
    let Some(expected) = setting(env, "SETUP_TOKEN") else {
        return Err(ApiError::not_found("no such route"));
    };
    if expected.len() < 16 || !keys::hashes_equal(&presented, &expected) {
        return Err(crate::auth::rejected(&req, env, &presented).await);
    }
    let body: SetupRequest = read_json(&mut req, 4 * 1024).await?;
    let email = accounts::normalize_email(&body.owner_email)?;
    let name = body.organization_name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request("organization_name must be 1 to 100 characters"));
    }
    let database = db::database(env)?;
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let users = db::first::<N>(&database, "SELECT COUNT(*) AS n FROM users", &[]).await?.map(|n| n.n).unwrap_or(0);
    if users > 0 {
        return Err(ApiError::coded(
            ErrorCode::AlreadySetUp,
            "already set up: people have signed in; invite more from the dashboard",
        ));
    }
    let org_id = oakauth_core::ids::new_id("org")?;
    let now = now_ms();
    let (created, insert) = new_invitation(&req, env, &org_id, &email, Role::Owner, "setup").await?;
    db::batch(
        &database,
        vec![
            db::stmt(
                &database,
                "INSERT INTO organizations (id, name, created_at, plan) VALUES (?1, ?2, ?3, ?4)",
                &[Arg::from(&org_id), Arg::from(name), Arg::Int(now), Arg::from(crate::default_plan(env)?.as_str())],
            )?,
            insert,
        ],
    )
    .await?;
    Ok(json_response(
        201,
        &SetupResult { organization: Organization { id: org_id, name: name.to_string() }, invitation: created },
    ))
}
