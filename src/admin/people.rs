//! `/v1/admin/members`, `/v1/admin/invitations`, `/v1/admin/keys` and `/v1/admin/organization`:
//! the organization's people, its admin keys and its settings. Roles are checked before these run
//! (see `required_role` in the admin module); the rules on who may grant what are here.

use oakauth_core::accounts::{self, Role};
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::time::format_ms;
use oakauth_core::webhook::EventType;
use oakauth_core::wire::accounts::{
    AdminKey, AdminKeyList, CreatedAdminKey, Invitation, InvitationList, Member, MemberList, MemberUpdate, NewAdminKey,
    NewInvitation, OrganizationSettings, OrganizationUpdate,
};
use oakauth_core::wire::{AdminAction, ErrorCode};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{find_one, now_ms, page, Admin};
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, read_json, ApiError, ApiResult};

const BODY_LIMIT: usize = 4 * 1024;

#[derive(Deserialize)]
struct MemberRow {
    user_id: String,
    email: String,
    name: String,
    role: String,
    created_at: i64,
}

impl MemberRow {
    fn wire(self) -> ApiResult<Member> {
        Ok(Member {
            role: Role::parse(&self.role)?,
            user_id: self.user_id,
            email: self.email,
            name: self.name,
            joined_at: format_ms(self.created_at),
        })
    }
}

const MEMBER_SELECT: &str = "SELECT m.user_id, u.email, u.name, m.role, m.created_at
   FROM memberships m JOIN users u ON u.id = m.user_id";

pub async fn list_members(admin: &Admin) -> ApiResult<Response> {
    let rows: Vec<MemberRow> = db::all(
        &admin.db,
        &format!("{MEMBER_SELECT} WHERE m.org_id = ?1 ORDER BY m.created_at, m.user_id LIMIT 1000"),
        &[Arg::from(&admin.ctx.org_id)],
    )
    .await?;
    let members = rows.into_iter().map(MemberRow::wire).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &MemberList { members }))
}

async fn member(admin: &Admin, user_id: &str) -> ApiResult<MemberRow> {
    find_one(
        admin,
        ("usr", "member"),
        user_id,
        &format!("{MEMBER_SELECT} WHERE m.org_id = ?1 AND m.user_id = ?2"),
        &[Arg::from(&admin.ctx.org_id), Arg::from(user_id)],
    )
    .await
}

async fn owners(admin: &Admin) -> ApiResult<u64> {
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let n = db::first::<N>(
        &admin.db,
        "SELECT COUNT(*) AS n FROM memberships WHERE org_id = ?1 AND role = 'owner'",
        &[Arg::from(&admin.ctx.org_id)],
    )
    .await?
    .map(|n| n.n)
    .unwrap_or(0);
    Ok(n.max(0) as u64)
}

/// The condition that keeps an organization an owner when a statement runs (`?1` the org).
const STILL_AN_OWNER_AFTER: &str =
    "(SELECT COUNT(*) FROM memberships WHERE org_id = ?1 AND role = 'owner' AND user_id <> ?2) > 0";

pub async fn update_member(admin: &Admin, user_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: MemberUpdate = read_json(&mut req, BODY_LIMIT).await?;
    let current = member(admin, user_id).await?;
    let from = Role::parse(&current.role)?;
    if !accounts::keeps_an_owner(from, owners(admin).await?, Some(body.role)) {
        return Err(ApiError::coded(
            ErrorCode::LastOwner,
            "the organization\'s last owner cannot be demoted; make someone else owner first",
        ));
    }
    let now = now_ms();
    let demotes_owner = from == Role::Owner && body.role != Role::Owner;
    let guard = if demotes_owner { format!(" AND {STILL_AN_OWNER_AFTER}") } else { String::new() };
    let results = db::batch(
        &admin.db,
        vec![
            db::stmt(
                &admin.db,
                &format!("UPDATE memberships SET role = ?3, updated_at = ?4 WHERE org_id = ?1 AND user_id = ?2{guard}"),
                &[Arg::from(&admin.ctx.org_id), Arg::from(user_id), Arg::from(body.role.as_str()), Arg::Int(now)],
            )?,
            admin.event(
                AdminAction::MemberRoleChange,
                None,
                user_id,
                json!({ "email": current.email, "from": from.as_str(), "to": body.role.as_str() }),
            )?,
        ],
    )
    .await?;
    if changes(&results) == 0 {
        return Err(ApiError::coded(
            ErrorCode::LastOwner,
            "the organization\'s last owner cannot be demoted; make someone else owner first",
        ));
    }
    json_member(admin, user_id).await
}

async fn json_member(admin: &Admin, user_id: &str) -> ApiResult<Response> {
    Ok(json_response(200, &member(admin, user_id).await?.wire()?))
}

fn changes(results: &[worker::D1Result]) -> usize {
    results.first().and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0)
}

pub async fn remove_member(admin: &Admin, user_id: &str) -> ApiResult<Response> {
    let current = member(admin, user_id).await?;
    let role = Role::parse(&current.role)?;
    if !accounts::keeps_an_owner(role, owners(admin).await?, None) {
        return Err(ApiError::coded(
            ErrorCode::LastOwner,
            "the organization\'s last owner cannot be removed; make someone else owner first",
        ));
    }
    let guard = if role == Role::Owner { format!(" AND {STILL_AN_OWNER_AFTER}") } else { String::new() };
    let results = db::batch(
        &admin.db,
        vec![
            db::stmt(
                &admin.db,
                &format!("DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2{guard}"),
                &[Arg::from(&admin.ctx.org_id), Arg::from(user_id)],
            )?,
            // Removal ends their sessions at once (every session: a session is a person's).
            crate::people::end_sessions_statement(&admin.db, user_id)?,
            admin.event(
                AdminAction::MemberRemove,
                None,
                user_id,
                json!({ "email": current.email, "role": role.as_str() }),
            )?,
        ],
    )
    .await?;
    if changes(&results) == 0 {
        return Err(ApiError::coded(
            ErrorCode::LastOwner,
            "the organization\'s last owner cannot be removed; make someone else owner first",
        ));
    }
    Ok(empty_response(204))
}

pub async fn end_member_sessions(admin: &Admin, user_id: &str) -> ApiResult<Response> {
    let current = member(admin, user_id).await?;
    db::batch(
        &admin.db,
        vec![
            crate::people::end_sessions_statement(&admin.db, user_id)?,
            admin.event(AdminAction::MemberSessionsEnd, None, user_id, json!({ "email": current.email }))?,
        ],
    )
    .await?;
    Ok(empty_response(204))
}

#[derive(Deserialize)]
struct InvitationRow {
    seq: i64,
    id: String,
    email: String,
    role: String,
    invited_by: String,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl InvitationRow {
    fn wire(self, now: i64) -> ApiResult<Invitation> {
        Ok(Invitation {
            status: crate::people::invitation_status(self.accepted_at, self.revoked_at, self.expires_at, now),
            role: Role::parse(&self.role)?,
            id: self.id,
            email: self.email,
            invited_by: self.invited_by,
            created_at: format_ms(self.created_at),
            expires_at: format_ms(self.expires_at),
            accepted_at: self.accepted_at.map(format_ms),
        })
    }
}

pub async fn list_invitations(admin: &Admin, req: &Request) -> ApiResult<Response> {
    let (rows, next_cursor) = page(
        admin,
        req,
        "SELECT seq, id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
           FROM invitations WHERE org_id = ?1",
        "seq",
        vec![Arg::from(&admin.ctx.org_id)],
        |r: &InvitationRow| r.seq,
    )
    .await?;
    let now = now_ms();
    let invitations = rows.into_iter().map(|r| r.wire(now)).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &InvitationList { invitations, next_cursor }))
}

pub async fn create_invitation(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let body: NewInvitation = read_json(&mut req, BODY_LIMIT).await?;
    let email = accounts::normalize_email(&body.email)?;
    if !admin.ctx.role.may_grant(body.role) {
        return Err(ApiError::forbidden(format!(
            "a member with the {} role cannot invite someone as {}",
            admin.ctx.role.as_str(),
            body.role.as_str()
        )));
    }
    super::usage::check_room(admin, oakauth_core::plans::Quota::Members).await?;
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let already = db::first::<N>(
        &admin.db,
        "SELECT COUNT(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 AND u.email = ?2",
        &[Arg::from(&admin.ctx.org_id), Arg::from(&email)],
    )
    .await?
    .map(|n| n.n)
    .unwrap_or(0);
    if already > 0 {
        return Err(ApiError::conflict(format!("{email} is already a member; change their role instead")));
    }
    let (created, insert) =
        crate::signin::new_invitation(&req, &admin.env, &admin.ctx.org_id, &email, body.role, &admin.ctx.actor.name)
            .await?;
    let event = admin.event(
        AdminAction::InvitationCreate,
        None,
        &created.invitation.id,
        json!({ "email": email, "role": body.role.as_str() }),
    )?;
    db::batch(&admin.db, vec![insert, event]).await?;
    admin
        .notify(
            EventType::InvitationCreated,
            json!({
                "invitation_id": created.invitation.id,
                "email": email,
                "role": body.role.as_str(),
                "url": created.url,
                "expires_at": created.invitation.expires_at,
                "invited_by": admin.ctx.actor.name,
            }),
        )
        .await;
    Ok(json_response(201, &created))
}

pub async fn revoke_invitation(admin: &Admin, id: &str) -> ApiResult<Response> {
    let row: InvitationRow = find_one(
        admin,
        ("inv", "invitation"),
        id,
        "SELECT seq, id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
           FROM invitations WHERE org_id = ?1 AND id = ?2",
        &[Arg::from(&admin.ctx.org_id), Arg::from(id)],
    )
    .await?;
    if row.accepted_at.is_some() {
        return Err(ApiError::conflict("this invitation has already been used; remove the member instead"));
    }
    let now = now_ms();
    db::batch(
        &admin.db,
        vec![
            db::stmt(
                &admin.db,
                "UPDATE invitations SET revoked_at = ?1 WHERE org_id = ?2 AND id = ?3 AND revoked_at IS NULL",
                &[Arg::Int(now), Arg::from(&admin.ctx.org_id), Arg::from(id)],
            )?,
            admin.event(AdminAction::InvitationRevoke, None, id, json!({ "email": row.email }))?,
        ],
    )
    .await?;
    Ok(empty_response(204))
}

#[derive(Deserialize)]
struct KeyRow {
    id: String,
    name: String,
    role: String,
    key_prefix: String,
    created_by: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl KeyRow {
    fn wire(self) -> ApiResult<AdminKey> {
        Ok(AdminKey {
            role: Role::parse(&self.role)?,
            id: self.id,
            name: self.name,
            key_prefix: self.key_prefix,
            created_by: self.created_by,
            created_at: format_ms(self.created_at),
            expires_at: self.expires_at.map(format_ms),
            revoked_at: self.revoked_at.map(format_ms),
        })
    }
}

const KEY_SELECT: &str =
    "SELECT id, name, role, key_prefix, created_by, created_at, expires_at, revoked_at FROM admin_keys";

pub async fn list_keys(admin: &Admin) -> ApiResult<Response> {
    let rows: Vec<KeyRow> = db::all(
        &admin.db,
        &format!("{KEY_SELECT} WHERE org_id = ?1 ORDER BY created_at, id LIMIT 1000"),
        &[Arg::from(&admin.ctx.org_id)],
    )
    .await?;
    let keys = rows.into_iter().map(KeyRow::wire).collect::<ApiResult<Vec<_>>>()?;
    Ok(json_response(200, &AdminKeyList { keys }))
}

pub async fn create_key(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let body: NewAdminKey = read_json(&mut req, BODY_LIMIT).await?;
    let name = body.name.as_str();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request("name must be 1 to 100 characters, without control characters"));
    }
    if !admin.ctx.role.may_grant(body.role) {
        return Err(ApiError::forbidden(format!(
            "the {} role cannot create a key with the {} role",
            admin.ctx.role.as_str(),
            body.role.as_str()
        )));
    }
    let now = now_ms();
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days @ 1..=365) => Some(now + i64::from(days) * 86_400_000),
        Some(_) => return Err(ApiError::invalid_request("expires_in_days must be from 1 to 365")),
    };
    let key = keys::generate(KeyKind::Admin)?;
    let id = oakauth_core::ids::new_id("adk")?;
    let hash = keys::hash(&crate::auth::hash_secret(&admin.env)?, &key.secret);
    let created_by = admin.ctx.actor.name.clone();
    db::batch(
        &admin.db,
        vec![
            db::stmt(
                &admin.db,
                "INSERT INTO admin_keys (id, org_id, key_hash, key_prefix, name, role, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                &[
                    Arg::from(&id),
                    Arg::from(&admin.ctx.org_id),
                    Arg::from(&hash),
                    Arg::from(&key.prefix),
                    Arg::from(name),
                    Arg::from(body.role.as_str()),
                    Arg::from(&created_by),
                    Arg::Int(now),
                    Arg::from(expires_at),
                ],
            )?,
            admin.event(
                AdminAction::KeyCreate,
                None,
                &id,
                json!({ "name": name, "role": body.role.as_str(), "key_prefix": key.prefix, "expires_at": expires_at.map(format_ms) }),
            )?,
        ],
    )
    .await?;
    let created = AdminKey {
        id,
        name: name.to_string(),
        role: body.role,
        key_prefix: key.prefix.clone(),
        created_by,
        created_at: format_ms(now),
        expires_at: expires_at.map(format_ms),
        revoked_at: None,
    };
    Ok(json_response(201, &CreatedAdminKey { key: created, secret: key.secret }))
}

pub async fn revoke_key(admin: &Admin, id: &str) -> ApiResult<Response> {
    let row: KeyRow = find_one(
        admin,
        ("adk", "admin key"),
        id,
        &format!("{KEY_SELECT} WHERE org_id = ?1 AND id = ?2"),
        &[Arg::from(&admin.ctx.org_id), Arg::from(id)],
    )
    .await?;
    if row.revoked_at.is_none() {
        db::batch(
            &admin.db,
            vec![
                db::stmt(
                    &admin.db,
                    "UPDATE admin_keys SET revoked_at = ?1 WHERE org_id = ?2 AND id = ?3 AND revoked_at IS NULL",
                    &[Arg::Int(now_ms()), Arg::from(&admin.ctx.org_id), Arg::from(id)],
                )?,
                admin.event(
                    AdminAction::KeyRevoke,
                    None,
                    id,
                    json!({ "name": row.name, "key_prefix": row.key_prefix }),
                )?,
            ],
        )
        .await?;
    }
    Ok(empty_response(204))
}

#[derive(Deserialize)]
struct OrgRow {
    id: String,
    name: String,
    require_mfa: i64,
    created_at: i64,
}

async fn organization_settings(admin: &Admin) -> ApiResult<OrganizationSettings> {
    let row: OrgRow = db::first(
        &admin.db,
        "SELECT id, name, require_mfa, created_at FROM organizations WHERE id = ?1",
        &[Arg::from(&admin.ctx.org_id)],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("no such organization"))?;
    Ok(OrganizationSettings {
        id: row.id,
        name: row.name,
        require_mfa: row.require_mfa == 1,
        created_at: format_ms(row.created_at),
    })
}

pub async fn get_organization(admin: &Admin) -> ApiResult<Response> {
    Ok(json_response(200, &organization_settings(admin).await?))
}

pub async fn update_organization(admin: &Admin, mut req: Request) -> ApiResult<Response> {
    let body: OrganizationUpdate = read_json(&mut req, BODY_LIMIT).await?;
    let name = body.name.as_deref().map(str::trim);
    if let Some(name) = name {
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(ApiError::invalid_request("name must be 1 to 100 characters, without control characters"));
        }
    }
    // Turning MFA on from a session without a second factor would lock its author out.
    if body.require_mfa == Some(true) && admin.ctx.session.as_ref().is_some_and(|s| !s.mfa) {
        return Err(ApiError::conflict(
            "sign in with a second factor before requiring one, or you would lose access to this organization",
        ));
    }
    let mut detail = serde_json::Map::new();
    if let Some(name) = name {
        detail.insert("name".into(), json!(name));
    }
    if let Some(mfa) = body.require_mfa {
        detail.insert("require_mfa".into(), json!(mfa));
    }
    db::batch(
        &admin.db,
        vec![
            db::stmt(
                &admin.db,
                "UPDATE organizations SET name = COALESCE(?2, name), require_mfa = COALESCE(?3, require_mfa) WHERE id = ?1",
                &[
                    Arg::from(&admin.ctx.org_id),
                    Arg::from(name),
                    Arg::from(body.require_mfa.map(i64::from)),
                ],
            )?,
            admin.event(AdminAction::OrganizationUpdate, None, &admin.ctx.org_id, serde_json::Value::Object(detail))?,
        ],
    )
    .await?;
    Ok(json_response(200, &organization_settings(admin).await?))
}
