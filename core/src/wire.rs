//! The request and answer types of the OakAuth HTTP API, defined once.
//!
//! The worker serializes these; the Rust SDK deserializes them. `docs/openapi.yaml` describes the
//! same shapes for other languages, and the end-to-end tests check the worker's answers against it.
//! Request bodies reject unknown fields so a typo never silently means "use the default".

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::condition::{Condition, OnMissing, Operator, Source, Test};

pub mod accounts;
mod approvals;
pub mod plans;
mod webhooks;

pub use approvals::{Approval, ApprovalDecision, ApprovalList, ApprovalStatus, ApprovalTicket, Decision};
pub use webhooks::{
    CreateWebhook, Delivery, DeliveryList, DeliveryStatus, EventType, RotateWebhookSecret, UpdateWebhook, Webhook,
    WebhookList, WebhookWithSecret,
};

/// Reads a whole number that JSON may spell as `12` or `12.0` (both are integers to JSON Schema).
fn whole_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n) {
        Ok(n as u32)
    } else {
        Err(serde::de::Error::custom(format!("expected a whole number from 0 to {}, got {n}", u32::MAX)))
    }
}

fn opt_whole_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "whole_u32")] u32);
    Ok(Option::<W>::deserialize(d)?.map(|W(n)| n))
}

/// How much reasoning a rule demands before it allows a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ReasoningPolicy {
    /// Reasoning is recorded when given, never demanded.
    #[default]
    None,
    /// Allowed without reasoning, but the answer and the log flag it as missing.
    Soft,
    /// Denied unless real reasoning is given.
    Hard,
}

impl ReasoningPolicy {
    pub const ALL: [ReasoningPolicy; 3] = [ReasoningPolicy::None, ReasoningPolicy::Soft, ReasoningPolicy::Hard];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningPolicy::None => "none",
            ReasoningPolicy::Soft => "soft",
            ReasoningPolicy::Hard => "hard",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "soft" => Some(Self::Soft),
            "hard" => Some(Self::Hard),
            _ => None,
        }
    }
}

/// How dangerous a tool is. Picks the default reasoning policy of a new rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Read,
    Write,
    Destructive,
}

impl RiskLevel {
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Read, RiskLevel::Write, RiskLevel::Destructive];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Read => "read",
            RiskLevel::Write => "write",
            RiskLevel::Destructive => "destructive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "destructive" => Some(Self::Destructive),
            _ => None,
        }
    }

    /// The reasoning policy a rule gets when its creator does not choose one.
    pub fn default_policy(self) -> ReasoningPolicy {
        match self {
            RiskLevel::Read => ReasoningPolicy::None,
            RiskLevel::Write => ReasoningPolicy::Soft,
            RiskLevel::Destructive => ReasoningPolicy::Hard,
        }
    }
}

/// Why a decision came out the way it did. A closed set: clients may match on it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// A rule grants the scope and its reasoning policy is met.
    Allowed,
    /// Allowed by a `soft` rule, but no real reasoning was given.
    ReasoningMissingSoft,
    /// The agent is disabled.
    AgentDisabled,
    /// The tool is not registered for this agent.
    UnknownTool,
    /// The tool is known but no rule grants this scope.
    ScopeNotGranted,
    /// A `hard` rule grants the scope, but no real reasoning was given.
    ReasoningRequired,
    /// The agent's token bucket is empty.
    RateLimited,
    /// OakAuth could not reach the agent's state (its Durable Object or the database), so it could
    /// not decide or could not record the decision: denied, fail closed. Retry shortly.
    Unavailable,
    /// An enforced deny rule matched, or a rule's condition could not be evaluated (see `explanation`).
    DeniedByRule,
    /// Allow rules exist for the tool and scope, but none of their conditions hold (see `explanation`).
    ConditionsNotMet,
    /// The call's `arguments` do not conform to the tool's `input_schema` (see `explanation`).
    InvalidArguments,
    /// A `require_approval` rule applies: a person must approve this exact call (see `approval`).
    ApprovalRequired,
    /// A person denied this call's approval.
    ApprovalDenied,
    /// Nobody decided in time, or the approved call was not made in time. Not a person's denial.
    ApprovalExpired,
    /// The agent withdrew the approval.
    ApprovalCancelled,
    /// The approval was already used by an identical call.
    ApprovalConsumed,
    /// `approval_id` names no approval of this agent, or one for another call.
    ApprovalMismatch,
    /// The organization used its plan's validations for this calendar month (UTC): HTTP 429,
    /// `Retry-After` until the reset, and `quota` says the limit, the use and when it resets.
    QuotaExceeded,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 18] = [
        ReasonCode::Allowed,
        ReasonCode::ReasoningMissingSoft,
        ReasonCode::AgentDisabled,
        ReasonCode::UnknownTool,
        ReasonCode::ScopeNotGranted,
        ReasonCode::ReasoningRequired,
        ReasonCode::RateLimited,
        ReasonCode::Unavailable,
        ReasonCode::DeniedByRule,
        ReasonCode::ConditionsNotMet,
        ReasonCode::InvalidArguments,
        ReasonCode::ApprovalRequired,
        ReasonCode::ApprovalDenied,
        ReasonCode::ApprovalExpired,
        ReasonCode::ApprovalCancelled,
        ReasonCode::ApprovalConsumed,
        ReasonCode::ApprovalMismatch,
        ReasonCode::QuotaExceeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Allowed => "allowed",
            ReasonCode::ReasoningMissingSoft => "reasoning_missing_soft",
            ReasonCode::AgentDisabled => "agent_disabled",
            ReasonCode::UnknownTool => "unknown_tool",
            ReasonCode::ScopeNotGranted => "scope_not_granted",
            ReasonCode::ReasoningRequired => "reasoning_required",
            ReasonCode::RateLimited => "rate_limited",
            ReasonCode::Unavailable => "unavailable",
            ReasonCode::DeniedByRule => "denied_by_rule",
            ReasonCode::ConditionsNotMet => "conditions_not_met",
            ReasonCode::InvalidArguments => "invalid_arguments",
            ReasonCode::ApprovalRequired => "approval_required",
            ReasonCode::ApprovalDenied => "approval_denied",
            ReasonCode::ApprovalExpired => "approval_expired",
            ReasonCode::ApprovalCancelled => "approval_cancelled",
            ReasonCode::ApprovalConsumed => "approval_consumed",
            ReasonCode::ApprovalMismatch => "approval_mismatch",
            ReasonCode::QuotaExceeded => "quota_exceeded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether a decision with this reason lets the action run.
    pub fn is_allow(self) -> bool {
        matches!(self, ReasonCode::Allowed | ReasonCode::ReasoningMissingSoft)
    }
}

/// `POST /v1/validate` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    pub tool: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Map<String, Value>>,
    /// The tool call's arguments, which rule conditions may test (stored redacted, long strings
    /// truncated with their SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Map<String, Value>>,
    /// The approval this call means to use; without it, the latest approval for the identical
    /// call is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// `false`: a call that needs a new approval answers `approval_required` without asking
    /// anyone (no approval is created). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_approval: Option<bool>,
}

impl ValidateRequest {
    /// A request for `tool` with `scope`, without reasoning, context or arguments.
    pub fn new(tool: impl Into<String>, scope: impl Into<String>) -> Self {
        ValidateRequest {
            tool: tool.into(),
            scope: scope.into(),
            reasoning: None,
            context: None,
            arguments: None,
            approval_id: None,
            request_approval: None,
        }
    }

    /// Names the approval this call means to use.
    pub fn with_approval(mut self, approval_id: impl Into<String>) -> Self {
        self.approval_id = Some(approval_id.into());
        self
    }

    /// Sets the tool call's arguments, for rules whose conditions test them.
    pub fn with_arguments(mut self, arguments: Map<String, Value>) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// Sets why the agent needs this call.
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning = Some(reasoning.into());
        self
    }

    /// Sets free-form details recorded (with secrets redacted) in the audit log.
    pub fn with_context(mut self, context: Map<String, Value>) -> Self {
        self.context = Some(context);
        self
    }
}

/// The agent's token bucket after this request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimitState {
    /// Bucket capacity (the burst size).
    pub limit: u32,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset: u64,
}

/// `POST /v1/validate` answer (HTTP 200, or 429 when `reason` is `rate_limited`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateResponse {
    pub allowed: bool,
    pub reason: ReasonCode,
    /// A human-readable sentence explaining `reason`, safe to show to a model or a person.
    pub message: String,
    pub decision_id: String,
    /// The reasoning policy of the rule that matched (`none` when no rule matched).
    pub reasoning_required: ReasoningPolicy,
    /// Whether real reasoning was given (see `docs/reasoning.md`).
    pub reasoning_provided: bool,
    /// Null when the bucket was not consulted (a disabled agent).
    pub rate_limit: Option<RateLimitState>,
    /// Why a rule decided: set on `denied_by_rule`, `conditions_not_met` and `invalid_arguments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// The approval this call needs or used: set on the `approval_*` reasons and on an allow that
    /// used an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalTicket>,
    /// On an allowed decision: a signed receipt (compact JWS, EdDSA) a tool server can verify
    /// before it runs the call (`docs/receipts.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Set on `quota_exceeded`: the monthly validation quota, its use and when it resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<plans::QuotaExceeded>,
}

/// The `code` of an error body: what went wrong, one per HTTP status the API answers with.
/// A closed set: clients may match on it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not the expected JSON shape.
    InvalidJson,
    /// A field or parameter breaks a documented bound, or is unknown.
    InvalidRequest,
    /// Missing, malformed, unknown, revoked or expired key.
    Unauthorized,
    /// A key of the wrong kind for this route.
    Forbidden,
    /// No such route, or no such resource in the caller's organization.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// A name already in use, or a rule that already exists.
    Conflict,
    /// The body is over the endpoint's limit.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// Too many requests.
    RateLimited,
    /// The service failed; nothing was allowed.
    InternalError,
    /// A person in several organizations did not name one in `OakAuth-Organization`.
    OrganizationRequired,
    /// A cookie-authenticated write without the session's `X-CSRF-Token`, or from an origin that
    /// is not allowed.
    CsrfFailed,
    /// The organization's last owner cannot be removed or demoted.
    LastOwner,
    /// The invitation was accepted already.
    InvitationUsed,
    /// The invitation has expired.
    InvitationExpired,
    /// The invitation was revoked.
    InvitationRevoked,
    /// The signed-in person's e-mail address is not the invited one.
    InvitationWrongAccount,
    /// `POST /v1/setup` after a person has signed in.
    AlreadySetUp,
    /// Sign-in for people is not configured (`OIDC_ISSUER`, `OIDC_CLIENT_ID`).
    SsoNotConfigured,
    /// Adding one more would pass the plan's limit (agents, members, webhook endpoints); the
    /// body names the limit (`quota`, `limit`, `plan`).
    PlanLimit,
    /// Stripe billing is not configured on this deployment.
    BillingNotConfigured,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::InternalError,
        ErrorCode::OrganizationRequired,
        ErrorCode::CsrfFailed,
        ErrorCode::LastOwner,
        ErrorCode::InvitationUsed,
        ErrorCode::InvitationExpired,
        ErrorCode::InvitationRevoked,
        ErrorCode::InvitationWrongAccount,
        ErrorCode::AlreadySetUp,
        ErrorCode::SsoNotConfigured,
        ErrorCode::PlanLimit,
        ErrorCode::BillingNotConfigured,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::OrganizationRequired => "organization_required",
            ErrorCode::CsrfFailed => "csrf_failed",
            ErrorCode::LastOwner => "last_owner",
            ErrorCode::InvitationUsed => "invitation_used",
            ErrorCode::InvitationExpired => "invitation_expired",
            ErrorCode::InvitationRevoked => "invitation_revoked",
            ErrorCode::InvitationWrongAccount => "invitation_wrong_account",
            ErrorCode::AlreadySetUp => "already_set_up",
            ErrorCode::SsoNotConfigured => "sso_not_configured",
            ErrorCode::PlanLimit => "plan_limit",
            ErrorCode::BillingNotConfigured => "billing_not_configured",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The HTTP status of an answer with this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidJson | ErrorCode::InvalidRequest | ErrorCode::OrganizationRequired => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden | ErrorCode::CsrfFailed | ErrorCode::InvitationWrongAccount => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::LastOwner | ErrorCode::InvitationUsed | ErrorCode::AlreadySetUp => 409,
            ErrorCode::InvitationExpired | ErrorCode::InvitationRevoked => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::SsoNotConfigured | ErrorCode::BillingNotConfigured => 404,
            ErrorCode::PlanLimit => 402,
        }
    }
}

/// The error body of every non-2xx answer except a rate-limited decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// One of [`ErrorCode`]'s names.
    pub code: String,
    pub message: String,
    /// On `plan_limit`: which limit, its number, and the plan in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<plans::Quota>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<plans::PlanId>,
}

/// `GET /health` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// An agent's rate limit: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Tokens the bucket holds when full (the burst), 1..=100000.
    #[serde(deserialize_with = "whole_u32")]
    pub capacity: u32,
    /// Tokens added per second, > 0 and <= 100000.
    pub refill_per_second: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig { capacity: 60, refill_per_second: 1.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
}

/// `GET /v1/admin/me` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub organization: Organization,
    /// The admin key's visible prefix; null when a person signed in.
    pub key_prefix: Option<String>,
    /// What the caller may do here.
    pub role: accounts::Role,
    pub actor: accounts::Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// The visible start of the current key, for telling keys apart.
    pub key_prefix: String,
    pub rate_limit: RateLimitConfig,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
}

/// Answer to creating an agent or rotating its key. `api_key` is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentWithKey {
    pub agent: Agent,
    pub api_key: String,
    /// When the previous key stops working (rotation only; null on create or when revoked at once).
    #[serde(default)]
    pub previous_key_expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// Seconds the previous key keeps working, 0..=604800 (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_whole_u32")]
    pub overlap_seconds: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentList {
    pub agents: Vec<Agent>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub id: String,
    pub agent_id: String,
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub risk_level: RiskLevel,
    /// The JSON Schema of the tool's arguments (an MCP tool's `inputSchema`), or null.
    #[serde(default)]
    pub input_schema: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub risk_level: RiskLevel,
    /// The JSON Schema of the tool's arguments: calls whose `arguments` do not conform are denied
    /// (`invalid_arguments`), and rule conditions are checked against it when saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaces the scope list; rules for scopes no longer listed are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<RiskLevel>,
    /// A new input schema; JSON `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub input_schema: Option<Option<Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolList {
    pub tools: Vec<Tool>,
    pub next_cursor: Option<String>,
}

/// Whether a rule allows or denies when its conditions hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Effect {
    #[default]
    Allow,
    Deny,
    /// Ask a person: the call is held until an admin approves or denies it.
    RequireApproval,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::RequireApproval => "require_approval",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Effect::Allow, Effect::Deny, Effect::RequireApproval].into_iter().find(|e| e.as_str() == s)
    }
}

/// Whether a rule decides (`enforce`) or is only evaluated and logged (`shadow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RuleMode {
    #[default]
    Enforce,
    Shadow,
}

impl RuleMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleMode::Enforce => "enforce",
            RuleMode::Shadow => "shadow",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RuleMode::Enforce, RuleMode::Shadow].into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub agent_id: String,
    pub tool_id: String,
    /// The tool's name.
    pub tool: String,
    pub scope: String,
    pub effect: Effect,
    /// For allow rules: the reasoning the call must carry (`none` for deny rules).
    pub require_reasoning: ReasoningPolicy,
    /// All must hold for the rule to apply; empty: it always applies.
    pub conditions: Vec<Condition>,
    pub mode: RuleMode,
    pub description: String,
    /// `require_approval` rules: how long an approval waits (null for other rules).
    #[serde(default)]
    pub approval_expiry_seconds: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRule {
    /// The tool's name (it must be registered for the agent).
    pub tool: String,
    /// One of the tool's scopes.
    pub scope: String,
    /// Default `allow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// Allow rules only. Defaults from the tool's risk level: read → none, write → soft,
    /// destructive → hard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reasoning: Option<ReasoningPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Default `enforce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RuleMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `require_approval` rules only: 60 seconds to 7 days, default 900.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_whole_u32")]
    pub approval_expiry_seconds: Option<u32>,
}

impl CreateRule {
    /// An allow rule for `tool` and `scope` with the tool's default reasoning policy.
    pub fn allow(tool: impl Into<String>, scope: impl Into<String>) -> Self {
        CreateRule {
            tool: tool.into(),
            scope: scope.into(),
            effect: None,
            require_reasoning: None,
            conditions: None,
            mode: None,
            description: None,
            approval_expiry_seconds: None,
        }
    }
}

/// Changes to a rule; unset fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reasoning: Option<ReasoningPolicy>,
    /// Replaces the conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RuleMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_whole_u32")]
    pub approval_expiry_seconds: Option<u32>,
}

/// How one test of a condition came out: what it compared, what it saw (redacted), and whether
/// it held or could not be evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    /// Where the test is in the rule, such as `conditions[1].any_of[0]`.
    pub path: String,
    pub source: Source,
    pub pointer: String,
    pub op: Operator,
    pub expected: Value,
    /// The value found (redacted, long strings truncated); null when it was missing.
    pub observed: Option<Value>,
    pub holds: bool,
    /// Why the test could not be evaluated (a missing value with `on_missing: deny`, a type
    /// mismatch); the rule then denies.
    pub error: Option<String>,
}

/// Why a rule decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The deciding rule (null for `invalid_arguments`).
    pub rule_id: Option<String>,
    pub effect: Option<Effect>,
    /// The test that decided: the one that held (a deny rule), failed (an allow rule whose
    /// conditions do not hold) or could not be evaluated.
    pub condition: Option<ConditionResult>,
    /// The same in one sentence.
    pub message: String,
}

/// What a rule in `shadow` mode would have done, had it been enforced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowResult {
    pub rule_id: String,
    pub would: Effect,
}

/// How one rule came out for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// Its conditions hold: an allow rule allows, a deny rule denies.
    Matched,
    /// Its conditions do not hold (or a missing value with `on_missing: skip`): it does not apply.
    NotMatched,
    /// A condition could not be evaluated: the rule denies.
    Error,
}

/// One rule's part in a simulated decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    pub rule_id: String,
    pub effect: Effect,
    pub mode: RuleMode,
    pub outcome: RuleOutcome,
    /// The test that settled the outcome, when there are conditions.
    pub condition: Option<ConditionResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleList {
    pub rules: Vec<Rule>,
    pub next_cursor: Option<String>,
}

/// One audit-log row: one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub decision_id: String,
    pub request_id: String,
    pub agent_id: String,
    pub tool: String,
    pub scope: String,
    pub allowed: bool,
    pub reason: ReasonCode,
    pub reasoning: Option<String>,
    pub reasoning_required: ReasoningPolicy,
    pub reasoning_provided: bool,
    /// The caller's context with secrets replaced by `[REDACTED]`.
    pub context: Option<Map<String, Value>>,
    /// The tool call's arguments, redacted like `context`; a string longer than 256 characters is
    /// cut, marked with `…`, and followed by its SHA-256 (`[sha256:…]`).
    #[serde(default)]
    pub arguments: Option<Map<String, Value>>,
    /// Why a rule decided (see [`ValidateResponse::explanation`]).
    #[serde(default)]
    pub explanation: Option<Explanation>,
    /// What rules in shadow mode would have done.
    #[serde(default)]
    pub shadow: Vec<ShadowResult>,
    pub latency_ms: u32,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogList {
    pub logs: Vec<LogEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCount {
    pub tool: String,
    pub total: u64,
    pub denied: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCount {
    pub agent_id: String,
    /// Null when the agent has since been deleted.
    pub name: Option<String>,
    pub total: u64,
    pub allowed: u64,
    pub denied: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub start: String,
    pub allowed: u64,
    pub denied: u64,
}

/// `GET /v1/admin/stats` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub since: String,
    pub until: String,
    pub total: u64,
    pub allowed: u64,
    pub denied: u64,
    pub denials_by_reason: std::collections::BTreeMap<String, u64>,
    pub top_tools: Vec<ToolCount>,
    pub agents: Vec<AgentCount>,
    /// Allowed and denied counts per bucket of `bucket_seconds`, oldest first.
    pub bucket_seconds: u64,
    pub timeline: Vec<TimelinePoint>,
    /// Decision latency percentiles per UTC day of the range that has decisions, oldest first.
    /// Absent from answers of servers older than this field.
    #[serde(default)]
    pub latency: Vec<LatencyDay>,
}

/// Decision latency percentiles of one UTC day, over the decisions of the stats range that fell
/// on that day (nearest rank: the `p`-th percentile of `n` values is the value at rank
/// `ceil(p * n / 100)` in ascending order, a value that occurred).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyDay {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Decisions counted.
    pub decisions: u64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub p99_ms: u64,
}

/// What an admin did: the `action` of an [`AdminEvent`]. A closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AdminAction {
    #[serde(rename = "agent.create")]
    AgentCreate,
    #[serde(rename = "agent.update")]
    AgentUpdate,
    #[serde(rename = "agent.enable")]
    AgentEnable,
    #[serde(rename = "agent.disable")]
    AgentDisable,
    #[serde(rename = "agent.rotate_key")]
    AgentRotateKey,
    #[serde(rename = "agent.delete")]
    AgentDelete,
    #[serde(rename = "tool.create")]
    ToolCreate,
    #[serde(rename = "tool.update")]
    ToolUpdate,
    #[serde(rename = "tool.delete")]
    ToolDelete,
    #[serde(rename = "rule.create")]
    RuleCreate,
    #[serde(rename = "rule.update")]
    RuleUpdate,
    #[serde(rename = "rule.delete")]
    RuleDelete,
    /// A rule turned from `shadow` to `enforce` or back (detail: `{"from": …, "to": …}`).
    #[serde(rename = "rule.mode_change")]
    RuleModeChange,
    #[serde(rename = "approval.approve")]
    ApprovalApprove,
    #[serde(rename = "approval.deny")]
    ApprovalDeny,
    #[serde(rename = "webhook.create")]
    WebhookCreate,
    #[serde(rename = "webhook.update")]
    WebhookUpdate,
    #[serde(rename = "webhook.delete")]
    WebhookDelete,
    #[serde(rename = "webhook.rotate_secret")]
    WebhookRotateSecret,
    #[serde(rename = "webhook.redeliver")]
    WebhookRedeliver,
    #[serde(rename = "member.role_change")]
    MemberRoleChange,
    #[serde(rename = "member.remove")]
    MemberRemove,
    #[serde(rename = "member.sessions_end")]
    MemberSessionsEnd,
    #[serde(rename = "member.join")]
    MemberJoin,
    #[serde(rename = "invitation.create")]
    InvitationCreate,
    #[serde(rename = "invitation.revoke")]
    InvitationRevoke,
    #[serde(rename = "key.create")]
    KeyCreate,
    #[serde(rename = "key.revoke")]
    KeyRevoke,
    #[serde(rename = "organization.update")]
    OrganizationUpdate,
    /// The organization's plan or billing status changed (detail: `{"from", "to", "status"}`).
    #[serde(rename = "organization.plan_change")]
    OrganizationPlanChange,
}

impl AdminAction {
    pub const ALL: [AdminAction; 30] = [
        AdminAction::AgentCreate,
        AdminAction::AgentUpdate,
        AdminAction::AgentEnable,
        AdminAction::AgentDisable,
        AdminAction::AgentRotateKey,
        AdminAction::AgentDelete,
        AdminAction::ToolCreate,
        AdminAction::ToolUpdate,
        AdminAction::ToolDelete,
        AdminAction::RuleCreate,
        AdminAction::RuleUpdate,
        AdminAction::RuleDelete,
        AdminAction::RuleModeChange,
        AdminAction::ApprovalApprove,
        AdminAction::ApprovalDeny,
        AdminAction::WebhookCreate,
        AdminAction::WebhookUpdate,
        AdminAction::WebhookDelete,
        AdminAction::WebhookRotateSecret,
        AdminAction::WebhookRedeliver,
        AdminAction::MemberRoleChange,
        AdminAction::MemberRemove,
        AdminAction::MemberSessionsEnd,
        AdminAction::MemberJoin,
        AdminAction::InvitationCreate,
        AdminAction::InvitationRevoke,
        AdminAction::KeyCreate,
        AdminAction::KeyRevoke,
        AdminAction::OrganizationUpdate,
        AdminAction::OrganizationPlanChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::AgentCreate => "agent.create",
            AdminAction::AgentUpdate => "agent.update",
            AdminAction::AgentEnable => "agent.enable",
            AdminAction::AgentDisable => "agent.disable",
            AdminAction::AgentRotateKey => "agent.rotate_key",
            AdminAction::AgentDelete => "agent.delete",
            AdminAction::ToolCreate => "tool.create",
            AdminAction::ToolUpdate => "tool.update",
            AdminAction::ToolDelete => "tool.delete",
            AdminAction::RuleCreate => "rule.create",
            AdminAction::RuleUpdate => "rule.update",
            AdminAction::RuleDelete => "rule.delete",
            AdminAction::RuleModeChange => "rule.mode_change",
            AdminAction::ApprovalApprove => "approval.approve",
            AdminAction::ApprovalDeny => "approval.deny",
            AdminAction::WebhookCreate => "webhook.create",
            AdminAction::WebhookUpdate => "webhook.update",
            AdminAction::WebhookDelete => "webhook.delete",
            AdminAction::WebhookRotateSecret => "webhook.rotate_secret",
            AdminAction::WebhookRedeliver => "webhook.redeliver",
            AdminAction::MemberRoleChange => "member.role_change",
            AdminAction::MemberRemove => "member.remove",
            AdminAction::MemberSessionsEnd => "member.sessions_end",
            AdminAction::MemberJoin => "member.join",
            AdminAction::InvitationCreate => "invitation.create",
            AdminAction::InvitationRevoke => "invitation.revoke",
            AdminAction::KeyCreate => "key.create",
            AdminAction::KeyRevoke => "key.revoke",
            AdminAction::OrganizationUpdate => "organization.update",
            AdminAction::OrganizationPlanChange => "organization.plan_change",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One admin action: who did what to which resource, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminEvent {
    pub id: String,
    pub request_id: String,
    /// Who acted, for display: a person's e-mail address or an admin key's visible prefix.
    pub actor: String,
    /// `key` or `user`.
    pub actor_type: accounts::ActorKind,
    /// The key's id (`adk_…`) or the person's id (`usr_…`); null for events recorded before
    /// people could sign in.
    pub actor_id: Option<String>,
    /// The person's display name or the key's name.
    pub actor_name: Option<String>,
    /// One of [`AdminAction`]'s names (`agent.create`, `tool.delete`, …).
    pub action: String,
    pub agent_id: Option<String>,
    pub target_id: String,
    /// The fields that were set. Never contains a key.
    pub detail: Value,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminEventList {
    pub events: Vec<AdminEvent>,
    pub next_cursor: Option<String>,
}

/// The result of verifying one agent's audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainVerification {
    pub agent_id: String,
    pub ok: bool,
    pub rows_checked: u64,
    /// The chain head's sequence number, as held by the agent's Durable Object.
    pub head_seq: i64,
    /// The first break, when `ok` is false.
    pub broken: Option<crate::audit::BrokenLink>,
    /// Every break found, in chain order (at most 100), including rows the database already
    /// held with other content when the agent's object wrote them (integrity alarms).
    pub breaks: Vec<crate::audit::BrokenLink>,
    /// Breaks found beyond those listed.
    pub breaks_omitted: u64,
}

/// `GET /v1/admin/audit/verify` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Whether every chain on this page verified.
    pub ok: bool,
    pub agents: Vec<ChainVerification>,
    /// More agents remain to be verified: pass this as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip_through_their_names() {
        for code in ReasonCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ReasonCode::parse("maybe"), None);
    }

    #[test]
    fn error_codes_and_admin_actions_round_trip_through_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        for action in AdminAction::ALL {
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
            assert_eq!(AdminAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(ErrorCode::parse("teapot"), None);
        assert_eq!(AdminAction::parse("agent.explode"), None);
    }

    #[test]
    fn error_codes_map_to_client_or_server_statuses() {
        for code in ErrorCode::ALL {
            let status = code.http_status();
            assert!((400..600).contains(&status), "{code:?} -> {status}");
            assert_eq!(status >= 500, code == ErrorCode::InternalError);
        }
    }

    #[test]
    fn numbers_in_context_are_stored_exactly_as_sent() {
        // Found by the validate_request fuzz target: without exact float parsing, the last digit
        // of such a number changed between what the agent sent and what the audit row stored.
        for text in [
            r#"{"tool":"t","scope":"s","context":{"pd":{"list":[55554.777555555555554]}}}"#,
            r#"{"tool":"t","scope":"s","context":{"x":14420.757777777779,"y":1e-300,"z":-0.1}}"#,
        ] {
            let req: ValidateRequest = serde_json::from_str(text).unwrap();
            let again: ValidateRequest = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
            assert_eq!(again, req);
        }
    }

    #[test]
    fn only_allowed_and_soft_missing_let_the_action_run() {
        let allows: Vec<_> = ReasonCode::ALL.into_iter().filter(|c| c.is_allow()).collect();
        assert_eq!(allows, vec![ReasonCode::Allowed, ReasonCode::ReasoningMissingSoft]);
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let rl: RateLimitConfig = serde_json::from_str(r#"{"capacity":10.0,"refill_per_second":1}"#).unwrap();
        assert_eq!(rl.capacity, 10);
        assert!(serde_json::from_str::<RateLimitConfig>(r#"{"capacity":10.5,"refill_per_second":1}"#).is_err());
        assert!(serde_json::from_str::<RateLimitConfig>(r#"{"capacity":-1,"refill_per_second":1}"#).is_err());
        let r: RotateKey = serde_json::from_str(r#"{"overlap_seconds":3729.0}"#).unwrap();
        assert_eq!(r.overlap_seconds, Some(3729));
        assert_eq!(serde_json::from_str::<RotateKey>("{}").unwrap().overlap_seconds, None);
        assert_eq!(serde_json::from_str::<RotateKey>(r#"{"overlap_seconds":null}"#).unwrap().overlap_seconds, None);
    }

    #[test]
    fn validate_request_rejects_unknown_fields() {
        let err = serde_json::from_str::<ValidateRequest>(r#"{"tool":"a","scope":"b","allowed":true}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"));
    }

    #[test]
    fn create_agent_cannot_set_server_managed_fields() {
        for field in ["id", "key_hash", "organization_id", "created_at", "key_prefix"] {
            let body = format!(r#"{{"name":"a","{field}":"x"}}"#);
            assert!(serde_json::from_str::<CreateAgent>(&body).is_err(), "{field} accepted");
        }
    }
}

/// A rule that is not saved: for `simulate` and `replay`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftRule {
    /// An id to name it by in the answer (default `draft_<n>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub tool: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reasoning: Option<ReasoningPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RuleMode>,
}

/// `POST /v1/admin/simulate` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub agent_id: String,
    /// The call, as the agent would send it to `/v1/validate`.
    pub request: ValidateRequest,
    /// Rules to decide with instead of the agent's saved ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<DraftRule>>,
    /// The caller's address for `request` conditions on `/client_ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The time of the call, RFC 3339 (default now), for `/time` and `/weekday`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// `POST /v1/admin/simulate` answer: the decision and every rule's part in it. Nothing is
/// counted against the rate limit and nothing is written to the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulateResponse {
    pub allowed: bool,
    pub reason: ReasonCode,
    pub message: String,
    pub reasoning_required: ReasoningPolicy,
    pub reasoning_provided: bool,
    pub explanation: Option<Explanation>,
    pub shadow: Vec<ShadowResult>,
    /// Each rule for the call's tool and scope, in id order.
    pub trace: Vec<RuleTrace>,
}

/// `POST /v1/admin/simulate/replay` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub agent_id: String,
    /// The draft rule set, in place of the agent's saved rules.
    pub rules: Vec<DraftRule>,
    /// How many of the agent's latest audited calls to replay (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_whole_u32")]
    pub limit: Option<u32>,
}

/// One replayed call whose decision would change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayChange {
    pub decision_id: String,
    pub created_at: String,
    pub tool: String,
    pub scope: String,
    pub before: ReasonCode,
    pub after: ReasonCode,
    pub allowed_before: bool,
    pub allowed_after: bool,
    pub explanation: Option<Explanation>,
    /// The stored arguments were cut or redacted, so the replay may differ from the real call.
    pub approximate: bool,
}

/// `POST /v1/admin/simulate/replay` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayResponse {
    /// How many audited calls were replayed.
    pub replayed: u32,
    pub changed: Vec<ReplayChange>,
}

/// `Option<Option<T>>` for a field where absent means "leave it" and `null` means "remove it".
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
