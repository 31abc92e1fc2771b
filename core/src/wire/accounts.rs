//! The people types of the API (issue 19): who is calling, sessions, members, invitations, admin
//! keys and the organization's settings. See docs/accounts.md.

use serde::{Deserialize, Serialize};

pub use crate::accounts::{Role, Signup};

/// Who acted: an admin key or a signed-in person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `key` or `user`.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The admin key's id (`adk_…`) or the user's id (`usr_…`).
    pub id: String,
    /// The key's name or the person's display name.
    pub name: String,
    /// The person's e-mail address; null for a key.
    pub email: Option<String>,
    /// The key's visible prefix; null for a person.
    pub key_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    Key,
    User,
    /// OakAuth itself (billing changing a plan, a downgrade disabling agents).
    System,
}

/// `GET /v1/auth/config`: whether people can sign in, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// Single sign-on is configured (`OIDC_ISSUER` and `OIDC_CLIENT_ID`).
    pub sso: bool,
    pub issuer: Option<String>,
    pub signup: Signup,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
}

/// One organization a person belongs to, with their role there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationMembership {
    pub id: String,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// The dashboard's HttpOnly cookie.
    Cookie,
    /// A bearer token (`oaks_…`), e.g. for the CLI.
    Bearer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub kind: SessionKind,
    pub name: String,
    pub created_at: String,
    pub last_seen_at: String,
    /// When it ends unless used again (idle or absolute expiry, whichever is first).
    pub expires_at: String,
    /// Signed in with a second factor (the ID token's `amr`/`acr`).
    pub mfa: bool,
    /// The session making this request.
    pub current: bool,
}

/// `GET /v1/auth/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: User,
    pub session: Session,
    /// Send as `X-CSRF-Token` on every write made with the session cookie.
    pub csrf_token: String,
    pub organizations: Vec<OrganizationMembership>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBearerSession {
    /// A label for the token (e.g. "laptop CLI"), at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST /v1/auth/tokens`: the token is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BearerSession {
    pub session: Session,
    /// `oaks_…`
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberList {
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub status: InvitationStatus,
    /// Who invited: a person's name or a key's name.
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationList {
    pub invitations: Vec<Invitation>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub email: String,
    pub role: Role,
}

/// `POST /v1/admin/invitations`: the link is shown once (and sent as `invitation.created`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    /// `oaki_…`, single use.
    pub token: String,
    /// The dashboard's page that accepts it.
    pub url: String,
}

/// `GET /v1/auth/invitations/{token}`: what the link offers, for the page that accepts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub organization: crate::wire::Organization,
    pub email: String,
    pub role: Role,
    pub status: InvitationStatus,
    pub expires_at: String,
}

/// `POST /v1/auth/invitations/{token}/accept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedInvitation {
    pub organization: OrganizationMembership,
}

/// An admin API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key_prefix: String,
    /// Who created it (a person's name, a key's name, or "bootstrap").
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminKeyList {
    pub keys: Vec<AdminKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdminKey {
    pub name: String,
    pub role: Role,
    /// Days until it stops working (1 to 365); null or absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::opt_whole_u32")]
    pub expires_in_days: Option<u32>,
}

/// `POST /v1/admin/keys`: the key is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedAdminKey {
    pub key: AdminKey,
    /// `oakadm_…`
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationSettings {
    pub id: String,
    pub name: String,
    /// Members must sign in with a second factor (the ID token's `amr`/`acr` is checked).
    pub require_mfa: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_mfa: Option<bool>,
}

/// `POST /v1/setup`: the first organization and its owner's invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub organization_name: String,
    pub owner_email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupResult {
    pub organization: crate::wire::Organization,
    pub invitation: CreatedInvitation,
}
