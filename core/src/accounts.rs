//! People: roles, sessions, invitations, sign-up and multi-factor rules. Pure arithmetic and
//! checks; the worker stores users, memberships, sessions and invitations in D1 and calls these.
//!
//! - **Roles** are ordered: a `viewer` reads, an `admin` also changes agents, tools, rules,
//!   approvals and webhooks, an `owner` also manages members, invitations, admin keys and the
//!   organization. A role is always explicit: text that is not one of the three is refused, never
//!   read as a default ([`Role::parse`]).
//! - **Sessions** end [`SESSION_IDLE_MS`] after their last use or [`SESSION_ABSOLUTE_MS`] after they
//!   began, whichever comes first; revoking one takes effect on the next request (the worker reads
//!   the session's row on every request). Last use is written at most every [`TOUCH_EVERY_MS`].
//! - **CSRF**: a cookie-authenticated write must carry `X-CSRF-Token`, an HMAC of the session's id
//!   under the server's secret ([`csrf_token`]), which a page of another origin cannot read.
//! - **Invitations** are single-use, expire after [`INVITATION_TTL_MS`], and are accepted only by a
//!   signed-in person whose verified e-mail address is the invited one ([`check_invitation`]).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Error;

/// A session unused this long ends (12 hours).
pub const SESSION_IDLE_MS: i64 = 12 * 3_600_000;
/// A session ends this long after sign-in, used or not (7 days).
pub const SESSION_ABSOLUTE_MS: i64 = 7 * 86_400_000;
/// A session's last use is written at most this often.
pub const TOUCH_EVERY_MS: i64 = 60_000;
/// An invitation link works this long (7 days).
pub const INVITATION_TTL_MS: i64 = 7 * 86_400_000;
/// A sign-in started at the identity provider must come back within this (10 minutes).
pub const LOGIN_TTL_MS: i64 = 10 * 60_000;
/// The longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest display name kept (longer names from a provider are cut, on a character boundary).
pub const MAX_NAME_LEN: usize = 100;
/// Sessions listed per person at most.
pub const MAX_SESSIONS_LISTED: usize = 100;

/// What a member may do in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Exactly `viewer`, `admin` or `owner`; anything else (empty, other case, unknown) is an
    /// error, never a default.
    pub fn parse(s: &str) -> Result<Role, Error> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            _ => Err(Error::Invalid("role must be one of viewer, admin, owner".into())),
        }
    }

    /// Whether this role includes `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }

    /// Whether a member with this role may give `target` to someone (an invitation, a role
    /// change, an admin key): owners any role, admins at most admin, viewers none.
    pub fn may_grant(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => target <= Role::Admin,
            Role::Viewer => false,
        }
    }
}

/// Whether a first sign-in without an invitation creates a personal organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signup {
    Open,
    InviteOnly,
}

impl Signup {
    /// The `SIGNUP` setting: `open` or `invite_only`; unset means `invite_only` (closed is the
    /// safe default); anything else is a configuration error.
    pub fn parse(value: Option<&str>) -> Result<Signup, Error> {
        match value.map(str::trim) {
            None | Some("") | Some("invite_only") => Ok(Signup::InviteOnly),
            Some("open") => Ok(Signup::Open),
            Some(_) => Err(Error::Invalid("SIGNUP must be open or invite_only".into())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Signup::Open => "open",
            Signup::InviteOnly => "invite_only",
        }
    }
}

/// Where a session stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live {
        /// Its last use should be written now (it is older than [`TOUCH_EVERY_MS`]).
        touch: bool,
    },
    Idle,
    Expired,
    Revoked,
}

/// A stored session's times (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl SessionTimes {
    /// A session that begins at `now`.
    pub fn starting(now: i64) -> SessionTimes {
        SessionTimes { created_at: now, last_seen_at: now, expires_at: now + SESSION_ABSOLUTE_MS, revoked_at: None }
    }

    pub fn state(&self, now: i64) -> SessionState {
        if self.revoked_at.is_some() {
            SessionState::Revoked
        } else if now >= self.expires_at {
            SessionState::Expired
        } else if now >= self.last_seen_at + SESSION_IDLE_MS {
            SessionState::Idle
        } else {
            SessionState::Live { touch: now >= self.last_seen_at + TOUCH_EVERY_MS }
        }
    }

    /// When the session ends if it is not used again.
    pub fn ends_at(&self) -> i64 {
        self.expires_at.min(self.last_seen_at + SESSION_IDLE_MS)
    }
}

/// The CSRF token of a session: HMAC-SHA256(server secret, "csrf:" + session id), hex.
pub fn csrf_token(server_secret: &[u8], session_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(server_secret).expect("HMAC takes any key length");
    mac.update(b"csrf:");
    mac.update(session_id.as_bytes());
    crate::keys::hex(&mac.finalize().into_bytes())
}

/// Whether `presented` is the session's CSRF token (constant time).
pub fn csrf_matches(server_secret: &[u8], session_id: &str, presented: Option<&str>) -> bool {
    match presented {
        Some(p) => crate::keys::hashes_equal(&csrf_token(server_secret, session_id), p.trim()),
        None => false,
    }
}

/// An e-mail address as stored and compared: trimmed, lower-case, `local@domain` with a dot-free
/// or dotted domain, no spaces or control characters, at most [`MAX_EMAIL_LEN`] bytes.
pub fn normalize_email(raw: &str) -> Result<String, Error> {
    let email = raw.trim().to_lowercase();
    let bad = || Error::Invalid("email must be an e-mail address (local@domain)".into());
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:\\[]".contains(c))
    {
        return Err(bad());
    }
    Ok(email)
}

/// A display name as kept: trimmed, control characters removed, at most [`MAX_NAME_LEN`] bytes;
/// empty becomes the e-mail address's local part.
pub fn display_name(name: Option<&str>, email: &str) -> String {
    let cleaned: String = name.unwrap_or("").chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    let name = if cleaned.is_empty() { email.split('@').next().unwrap_or(email) } else { cleaned };
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// A stored invitation's state (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationState<'a> {
    pub email: &'a str,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Why an invitation cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationRefusal {
    Used,
    Revoked,
    Expired,
    /// The signed-in person's verified address is not the invited one.
    WrongAccount,
    /// The provider did not say the signed-in person's address is verified.
    UnverifiedEmail,
}

impl InvitationRefusal {
    pub fn code(self) -> &'static str {
        match self {
            InvitationRefusal::Used => "invitation_used",
            InvitationRefusal::Revoked => "invitation_revoked",
            InvitationRefusal::Expired => "invitation_expired",
            InvitationRefusal::WrongAccount => "invitation_wrong_account",
            InvitationRefusal::UnverifiedEmail => "invitation_wrong_account",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            InvitationRefusal::Used => "this invitation has already been used",
            InvitationRefusal::Revoked => "this invitation was withdrawn",
            InvitationRefusal::Expired => "this invitation has expired; ask for a new one",
            InvitationRefusal::WrongAccount => {
                "this invitation is for another e-mail address; sign in with the invited account"
            }
            InvitationRefusal::UnverifiedEmail => {
                "your identity provider did not confirm your e-mail address, so the invitation cannot be matched to you"
            }
        }
    }
}

/// Whether the person signed in as `email` (verified or not) may accept `invitation` at `now`.
pub fn check_invitation(
    invitation: &InvitationState<'_>,
    email: &str,
    email_verified: bool,
    now: i64,
) -> Result<(), InvitationRefusal> {
    if invitation.accepted_at.is_some() {
        return Err(InvitationRefusal::Used);
    }
    if invitation.revoked_at.is_some() {
        return Err(InvitationRefusal::Revoked);
    }
    if now >= invitation.expires_at {
        return Err(InvitationRefusal::Expired);
    }
    if !email_verified {
        return Err(InvitationRefusal::UnverifiedEmail);
    }
    if !crate::keys::hashes_equal(&invitation.email.to_lowercase(), &email.to_lowercase()) {
        return Err(InvitationRefusal::WrongAccount);
    }
    Ok(())
}

/// Authentication methods (RFC 8176 `amr` values) that are, or include, a second factor.
const SECOND_FACTORS: [&str; 10] = ["mfa", "otp", "hwk", "sms", "tel", "sc", "fpt", "face", "iris", "vbm"];

/// Whether an ID token's `amr` (RFC 8176) or `acr` shows multi-factor authentication: `amr` holds
/// `mfa` or a second-factor method, or `acr` is one of `mfa_acr_values` (the `OIDC_MFA_ACR`
/// setting, for providers that say it with `acr`). A missing claim is no proof.
pub fn mfa_satisfied(amr: &[String], acr: Option<&str>, mfa_acr_values: &[String]) -> bool {
    amr.iter().any(|m| SECOND_FACTORS.contains(&m.as_str()))
        || acr.is_some_and(|acr| mfa_acr_values.iter().any(|v| !v.is_empty() && v == acr))
}

/// Whether removing or demoting a member with `role` leaves the organization an owner, given the
/// number of owners it has now.
pub fn keeps_an_owner(role: Role, owners: u64, new_role: Option<Role>) -> bool {
    role != Role::Owner || owners > 1 || new_role == Some(Role::Owner)
}

#[cfg(test)]
mod tests;
