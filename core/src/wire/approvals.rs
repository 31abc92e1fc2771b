//! The approval types of the API: what an agent sees of its approval, what an admin sees and
//! sends.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::approval::Status as ApprovalStatus;

/// An approval as the agent that asked for it sees it (`approval` in a validate answer, and
/// `GET /v1/approvals/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalTicket {
    pub id: String,
    pub status: ApprovalStatus,
    pub tool: String,
    pub scope: String,
    pub expires_at: String,
    /// How long to wait before asking again (0 once the approval is final).
    pub poll_after_ms: u64,
    pub decided_at: Option<String>,
    /// The deciding person's comment.
    pub comment: Option<String>,
}

/// An approval as admins see it, with the call it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub agent_id: String,
    /// Null once the agent is deleted.
    pub agent_name: Option<String>,
    pub tool: String,
    pub scope: String,
    /// The call's arguments, redacted as in the audit log.
    pub arguments: Option<Map<String, Value>>,
    /// SHA-256 (hex) of the RFC 8785 canonical JSON of the call's full arguments.
    pub arguments_digest: String,
    pub reasoning: Option<String>,
    /// The rule that asked.
    pub rule_id: String,
    /// The rule's `updated_at` when it asked.
    pub rule_version: String,
    pub status: ApprovalStatus,
    pub created_at: String,
    pub expires_at: String,
    pub decided_at: Option<String>,
    /// The admin key prefix that decided.
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    pub consumed_at: Option<String>,
    /// The decision (audit-log id) that used it.
    pub consumed_by: Option<String>,
    /// The decision (audit-log id) that asked for it.
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalList {
    pub approvals: Vec<Approval>,
    pub next_cursor: Option<String>,
}

/// Approve or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Deny,
}

/// `POST /v1/admin/approvals/{id}/decision` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDecision {
    pub decision: Decision,
    /// Shown to the agent; at most 1000 characters, no control characters but newlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
