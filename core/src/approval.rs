//! Approvals: a person's yes or no to one exact call, single-use, with an expiry.
//!
//! An approval is bound to the agent, the tool, the scope, the SHA-256 of the RFC 8785 (JCS)
//! canonical JSON of the call's arguments, the rule that asked for it and that rule's version.
//! Only the identical call can use it, once. Its states:
//!
//! ```text
//! pending ──approve──▶ approved ──use──▶ consumed
//!    │  └──deny────▶ denied
//!    ├──cancel───▶ cancelled
//!    └──(expires_at passes)──▶ expired      (also from approved, if never used)
//! ```
//!
//! Expiry is read from the clock when asked ([`Approval::status_at`]), so nothing has to run at
//! the boundary for an expired approval to be expired: at `expires_at` exactly it is.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::wire::{ApprovalTicket, ReasonCode};
use crate::Error;

/// How long an approval waits for a decision when its rule does not say.
pub const DEFAULT_EXPIRY_SECONDS: u32 = 15 * 60;
/// The longest a rule may let an approval wait.
pub const MAX_EXPIRY_SECONDS: u32 = 7 * 24 * 3600;
/// The shortest.
pub const MIN_EXPIRY_SECONDS: u32 = 60;
/// Longest comment on a decision, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// The SHA-256 (hex) of the RFC 8785 canonical JSON of a call's arguments; no arguments hash like
/// `{}`. Key order, insignificant whitespace and number spelling (`1.0` vs `1`, `1e2` vs `100`)
/// do not change it; any change of a value does.
pub fn arguments_digest(arguments: Option<&Map<String, Value>>) -> String {
    let empty = Map::new();
    let canonical =
        serde_json_canonicalizer::to_vec(arguments.unwrap_or(&empty)).expect("a JSON object always serializes");
    crate::keys::hex(&Sha256::digest(&canonical))
}

/// What an approval is for: the call, and the rule (and its version) that asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub agent_id: String,
    pub tool: String,
    pub scope: String,
    /// [`arguments_digest`] of the call's arguments.
    pub arguments_digest: String,
    pub rule_id: String,
    /// The rule's `updated_at` when it asked: a changed rule asks again.
    pub rule_version: i64,
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Expired,
    Cancelled,
    /// Approved and used by the identical call.
    Consumed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
            Status::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Status::Pending, Status::Approved, Status::Denied, Status::Expired, Status::Cancelled, Status::Consumed]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    /// Whether nothing can change it any more.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Pending | Status::Approved)
    }
}

/// One approval as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub binding: Binding,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// As last written; see [`Approval::status_at`] for the status at a given time.
    pub status: Status,
    /// Who decided (an admin key's prefix, later a user).
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    pub decided_ms: Option<i64>,
    /// The decision that used it.
    pub consumed_by: Option<String>,
}

/// Why a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It is no longer pending: decided, cancelled or expired (the status it has).
    AlreadyFinal(Status),
    /// Approved, and an approved approval can only be used or expire.
    AlreadyApproved,
}

/// Why a call could not use an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseRefusal {
    /// Nobody has decided yet.
    Pending,
    Denied,
    Expired,
    Cancelled,
    /// Already used once.
    Consumed,
    /// Another call: a different agent, tool, scope, arguments or rule version.
    Mismatch,
}

impl Approval {
    /// A new pending approval for `binding`, waiting `expiry_seconds` (bounded, see
    /// [`expiry_seconds`]).
    pub fn request(id: String, binding: Binding, now_ms: i64, expiry_seconds: u32) -> Approval {
        let seconds = expiry_seconds.clamp(MIN_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS) as i64;
        Approval {
            id,
            binding,
            created_ms: now_ms,
            expires_ms: now_ms + seconds * 1000,
            status: Status::Pending,
            decided_by: None,
            comment: None,
            decided_ms: None,
            consumed_by: None,
        }
    }

    /// The status at `now_ms`: pending or approved past `expires_ms` (inclusive) is expired.
    pub fn status_at(&self, now_ms: i64) -> Status {
        match self.status {
            Status::Pending | Status::Approved if now_ms >= self.expires_ms => Status::Expired,
            s => s,
        }
    }

    /// Records a person's decision (approve or deny) on a pending approval.
    pub fn decide(&mut self, approve: bool, by: &str, comment: Option<&str>, now_ms: i64) -> Result<(), Refusal> {
        match self.status_at(now_ms) {
            Status::Pending => {}
            Status::Approved => return Err(Refusal::AlreadyApproved),
            s => return Err(Refusal::AlreadyFinal(s)),
        }
        self.status = if approve { Status::Approved } else { Status::Denied };
        self.decided_by = Some(by.to_owned());
        self.comment = comment.map(str::to_owned);
        self.decided_ms = Some(now_ms);
        Ok(())
    }

    /// Withdraws a pending approval (the agent gave up, or the rule was deleted).
    pub fn cancel(&mut self, now_ms: i64) -> Result<(), Refusal> {
        match self.status_at(now_ms) {
            Status::Pending => {
                self.status = Status::Cancelled;
                Ok(())
            }
            Status::Approved => Err(Refusal::AlreadyApproved),
            s => Err(Refusal::AlreadyFinal(s)),
        }
    }

    /// Uses the approval for a call bound to `call`: only an approved, unexpired, unused approval
    /// for the identical call. On success it is consumed by `decision_id`; a refusal changes
    /// nothing. The caller runs this and stores the result atomically with the decision.
    pub fn consume(&mut self, call: &Binding, decision_id: &str, now_ms: i64) -> Result<(), UseRefusal> {
        if *call != self.binding {
            return Err(UseRefusal::Mismatch);
        }
        match self.status_at(now_ms) {
            Status::Approved => {
                self.status = Status::Consumed;
                self.consumed_by = Some(decision_id.to_owned());
                Ok(())
            }
            Status::Pending => Err(UseRefusal::Pending),
            Status::Denied => Err(UseRefusal::Denied),
            Status::Expired => Err(UseRefusal::Expired),
            Status::Cancelled => Err(UseRefusal::Cancelled),
            Status::Consumed => Err(UseRefusal::Consumed),
        }
    }
}

/// How long an agent should wait between polls of a pending approval.
pub const POLL_AFTER_MS: u64 = 2000;

/// What a call that needs approval does with the approval found for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It is approved for this call: consume it (atomically; if another call got there first,
    /// look again) and allow.
    Consume,
    /// Nothing governs this call any more: request a new approval.
    Request,
    /// Answer with this reason and the approval found (none for a mismatch without an approval).
    Answer(ReasonCode),
}

/// The rule for a call that a `require_approval` rule holds. `found` is the approval the call
/// named (`named`), or else the latest approval for the identical call. The latest approval for
/// a call governs it until it expires: pending answers `approval_required` (the same approval, no
/// duplicate), approved is consumed once, and denied, cancelled or consumed answer so until its
/// `expires_at`; after that, or when there is none, the call asks anew. A named approval always
/// answers for itself, so an agent that names an expired approval learns it expired.
pub fn step(found: Option<&Approval>, named: bool, call: &Binding, now_ms: i64) -> Step {
    let Some(approval) = found else {
        return if named { Step::Answer(ReasonCode::ApprovalMismatch) } else { Step::Request };
    };
    let mut probe = approval.clone();
    match probe.consume(call, "", now_ms) {
        Ok(()) => Step::Consume,
        Err(UseRefusal::Mismatch) => Step::Answer(ReasonCode::ApprovalMismatch),
        Err(UseRefusal::Pending) => Step::Answer(ReasonCode::ApprovalRequired),
        Err(_) if !named && now_ms >= approval.expires_ms => Step::Request,
        Err(refusal) => Step::Answer(refusal.reason()),
    }
}

impl UseRefusal {
    /// The reason code a call refused for this gets.
    pub fn reason(self) -> ReasonCode {
        match self {
            UseRefusal::Pending => ReasonCode::ApprovalRequired,
            UseRefusal::Denied => ReasonCode::ApprovalDenied,
            UseRefusal::Expired => ReasonCode::ApprovalExpired,
            UseRefusal::Cancelled => ReasonCode::ApprovalCancelled,
            UseRefusal::Consumed => ReasonCode::ApprovalConsumed,
            UseRefusal::Mismatch => ReasonCode::ApprovalMismatch,
        }
    }
}

impl Binding {
    /// The SHA-256 (hex) of everything the approval is bound to: the index by which the latest
    /// approval for an identical call is found.
    pub fn key(&self) -> String {
        let text = serde_json::to_vec(&(
            &self.agent_id,
            &self.tool,
            &self.scope,
            &self.arguments_digest,
            &self.rule_id,
            self.rule_version,
        ))
        .expect("strings and numbers serialize");
        crate::keys::hex(&Sha256::digest(&text))
    }
}

impl Approval {
    /// What the agent sees of it at `now_ms`.
    pub fn ticket(&self, now_ms: i64) -> ApprovalTicket {
        let status = self.status_at(now_ms);
        ApprovalTicket {
            id: self.id.clone(),
            status,
            tool: self.binding.tool.clone(),
            scope: self.binding.scope.clone(),
            expires_at: crate::time::format_ms(self.expires_ms),
            poll_after_ms: if status == Status::Pending { POLL_AFTER_MS } else { 0 },
            decided_at: self.decided_ms.map(crate::time::format_ms),
            comment: self.comment.clone(),
        }
    }
}

/// A rule's approval expiry, checked: `None` is the default (15 minutes).
pub fn expiry_seconds(requested: Option<u32>) -> Result<u32, Error> {
    match requested {
        None => Ok(DEFAULT_EXPIRY_SECONDS),
        Some(s) if (MIN_EXPIRY_SECONDS..=MAX_EXPIRY_SECONDS).contains(&s) => Ok(s),
        Some(_) => Err(Error::Invalid(format!(
            "approval_expiry_seconds must be {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS} (7 days)"
        ))),
    }
}

/// A decision's comment, checked.
pub fn check_comment(comment: &str) -> Result<(), Error> {
    if comment.chars().count() > MAX_COMMENT_CHARS || comment.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::Invalid(format!(
            "comment must be at most {MAX_COMMENT_CHARS} characters, without control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
