use std::time::Duration;

use crate::wire::plans::{PlanId, Quota, QuotaExceeded};
use crate::wire::{ApprovalTicket, Explanation, ReasonCode};

/// The one error type of this crate.
///
/// Every variant means "the action did not run": [`OakAuth::guard`](crate::OakAuth::guard) only runs
/// its action on a well-formed allow, so anything else (a deny, a timeout, a garbled answer) ends
/// up here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with a deny.
    #[error("denied {tool}:{scope} ({}): {message}{}", reason.as_str(), explained(message, explanation.as_deref()))]
    Denied {
        /// The tool that was asked for.
        tool: String,
        /// The scope that was asked for.
        scope: String,
        /// Why (never `allowed` or `reasoning_missing_soft`).
        reason: ReasonCode,
        /// The service's explanation, safe to show to a person or a model.
        message: String,
        /// The id of the audit-log row of this decision.
        decision_id: String,
        /// Which rule decided and which condition settled it, on `denied_by_rule`,
        /// `conditions_not_met` and `invalid_arguments`.
        explanation: Option<Box<Explanation>>,
    },

    /// A `require_approval` rule applies (`approval_required`): a person must approve this exact
    /// call first. Make the identical call again (same tool, scope and arguments) once it is
    /// approved; [`OakAuth::get_approval`](crate::OakAuth::get_approval) says where it stands.
    /// `approval` has its `id` (`apr_…`), `expires_at` and `poll_after_ms`.
    #[error("approval {} for {}:{} is pending until {}{}: an administrator must approve; make the identical call again once approved", approval.id, approval.tool, approval.scope, approval.expires_at, if *timed_out { " (stopped waiting)" } else { "" })]
    ApprovalPending {
        /// The approval, pending.
        approval: Box<ApprovalTicket>,
        /// True when [`ApprovalMode::Wait`](crate::ApprovalMode::Wait) ran out of time first.
        timed_out: bool,
        /// The service's explanation.
        message: String,
        /// The id of the audit-log row of the decision.
        decision_id: String,
    },

    /// A person denied the call's approval (`approval_denied`); their comment, if they left one,
    /// is `approval.comment`.
    #[error("approval {} for {}:{} was denied by an administrator{}", approval.id, approval.tool, approval.scope, approval.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default())]
    ApprovalDenied {
        /// The approval, denied.
        approval: Box<ApprovalTicket>,
        /// The service's explanation.
        message: String,
        /// The id of the audit-log row of the decision.
        decision_id: String,
    },

    /// The approval expired (`approval_expired`): nobody decided in time, or the approved call was
    /// not made before it expired. Not a denial: the call made again asks for a new approval.
    #[error("approval {} for {}:{} expired: nobody decided in time, or the approved call was not made in time (nobody denied it)", approval.id, approval.tool, approval.scope)]
    ApprovalExpired {
        /// The approval, expired.
        approval: Box<ApprovalTicket>,
        /// The service's explanation.
        message: String,
        /// The id of the audit-log row of the decision.
        decision_id: String,
    },

    /// The agent withdrew the approval (`approval_cancelled`).
    #[error("approval {} for {}:{} was cancelled", approval.id, approval.tool, approval.scope)]
    ApprovalCancelled {
        /// The approval, cancelled.
        approval: Box<ApprovalTicket>,
        /// The service's explanation.
        message: String,
        /// The id of the audit-log row of the decision.
        decision_id: String,
    },

    /// The approval was already used by an identical call (`approval_consumed`): an approval
    /// allows one call.
    #[error("approval {} for {}:{} was already used: an approval allows one call", approval.id, approval.tool, approval.scope)]
    ApprovalConsumed {
        /// The approval, used.
        approval: Box<ApprovalTicket>,
        /// The service's explanation.
        message: String,
        /// The id of the audit-log row of the decision.
        decision_id: String,
    },

    /// The request's `approval_id` names no approval of this agent, or one for another call
    /// (other arguments, or a rule changed since) (`approval_mismatch`).
    #[error("approval {} is not for this call to {tool}:{scope}: {message}", approval_id.as_deref().unwrap_or("?"))]
    ApprovalMismatch {
        /// The tool that was asked for.
        tool: String,
        /// The scope that was asked for.
        scope: String,
        /// The approval the request named.
        approval_id: Option<String>,
        /// The service's explanation.
        message: String,
        /// The id of the audit-log row of the decision.
        decision_id: String,
    },

    /// The organization has used its plan's validations for this calendar month (UTC): a deny with
    /// reason `quota_exceeded` (HTTP 429). Every call is denied until `quota.resets_at`; upgrading
    /// the plan lifts it at once.
    #[error("denied {tool}:{scope} (quota_exceeded): the organization has used {} of its {} validations this month; calls are denied until {}", quota.used, quota.limit, quota.resets_at)]
    QuotaExceeded {
        /// The tool that was asked for.
        tool: String,
        /// The scope that was asked for.
        scope: String,
        /// The monthly limit, its use and when it resets (`resets_at`, RFC 3339).
        quota: Box<QuotaExceeded>,
        /// From the `Retry-After` header: the time until the reset (zero when not sent).
        retry_after: Duration,
        /// The id of the audit-log row of this decision.
        decision_id: String,
    },

    /// One more agent, member (with open invitations) or webhook endpoint would pass the plan's
    /// limit (402 `plan_limit`). `quota`, `limit` and `plan` name the limit, its number and the
    /// plan in force, when the answer said.
    #[error("plan limit: {}", api.message)]
    PlanLimit {
        /// The error body.
        api: ApiError,
        /// Which limit.
        quota: Option<Quota>,
        /// The plan's number for it.
        limit: Option<u64>,
        /// The plan in force.
        plan: Option<PlanId>,
    },

    /// Too many requests: the agent's token bucket (on validate) or the service's limit is empty.
    #[error("rate limited; retry after {}s: {message}", retry_after.as_secs())]
    RateLimited {
        /// From the `Retry-After` header (zero when the service did not send one).
        retry_after: Duration,
        /// The service's explanation.
        message: String,
        /// Set when the answer was a decision (on validate).
        decision_id: Option<String>,
    },

    /// The key is missing, malformed, unknown, revoked or expired (401), or of the wrong kind for
    /// this endpoint (403).
    #[error("authentication failed ({status} {}): {}", api.code, api.message)]
    Auth {
        /// The HTTP status.
        status: u16,
        /// The error body.
        api: ApiError,
    },

    /// The request was refused as it stands: a bad field (400), a body too large (413), a wrong
    /// media type (415) or method (405).
    #[error("bad request ({status} {}): {}", api.code, api.message)]
    BadRequest {
        /// The HTTP status.
        status: u16,
        /// The error body.
        api: ApiError,
    },

    /// No such resource in the caller's organization (404).
    #[error("not found: {}", api.message)]
    NotFound {
        /// The error body.
        api: ApiError,
    },

    /// A name already in use, or a rule that already exists (409).
    #[error("conflict: {}", api.message)]
    Conflict {
        /// The error body.
        api: ApiError,
    },

    /// The service failed (5xx), after the retries.
    #[error("server error ({status}): {}", api.as_ref().map(|a| a.message.as_str()).unwrap_or("no error body"))]
    Server {
        /// The HTTP status.
        status: u16,
        /// The error body, when the answer had one.
        api: Option<ApiError>,
    },

    /// The service could not be reached, or the connection broke, after the retries.
    #[error("connection to OakAuth failed: {0}")]
    Connection(#[source] reqwest::Error),

    /// No complete answer within the configured timeout, after the retries.
    #[error("OakAuth did not answer within {0:?}")]
    Timeout(Duration),

    /// The answer was not what the API promises: not JSON, missing fields, or an inconsistent
    /// decision. Carries the status and the start of the body for debugging.
    #[error("unexpected answer from OakAuth (HTTP {status}): {detail}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// What was wrong with the answer.
        detail: String,
        /// The first 512 bytes of the body.
        body: String,
    },

    /// The service answered with a redirect (3xx). A decision or an admin answer must come from the
    /// configured base URL, so a redirect is never followed: the call failed and the guarded action
    /// did not run. Also returned when an [`http_client`](crate::Builder::http_client) that
    /// follows redirects brought an answer from another URL (then `status` is that answer's).
    #[error("OakAuth answered with a redirect (HTTP {status}) to {}; redirects are not followed", location.as_deref().unwrap_or("nowhere"))]
    Redirect {
        /// The HTTP status.
        status: u16,
        /// The `Location` of the redirect (or the URL that answered), when there was one.
        location: Option<String>,
    },

    /// The client was configured wrongly (for example a base URL that is not a URL, or a webhook
    /// secret shorter than 24 bytes).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The MCP proxy could not serve (feature `proxy`): the upstream MCP server or the
    /// downstream connection failed.
    #[error("MCP proxy: {0}")]
    Proxy(String),

    /// A received webhook is not authentic or not an OakAuth event (feature `webhooks`): a
    /// header is missing, the timestamp is stale, no signature matches, or the body is not
    /// `{type, timestamp, data}`. Answer it with a 4xx and do not act on it.
    #[error("webhook refused: {0}")]
    Webhook(String),

    /// A signed decision receipt was refused (`oakauth::receipts`, feature `receipts`): the call
    /// it came with must not run. [`Rejection::code`](crate::receipts::Rejection::code) is the
    /// stable reason (`signature`, `expired`, `arguments_mismatch`, `replayed`, …).
    #[error("receipt refused ({code}): {msg}", code = .0.code(), msg = .0)]
    Receipt(oakauth_core::receipt::Rejection),
}

/// The explanation's sentence after a deny's message, unless the message already says it.
fn explained(message: &str, explanation: Option<&Explanation>) -> String {
    match explanation {
        Some(e) if !e.message.is_empty() && !message.contains(&e.message) => format!(" ({})", e.message),
        _ => String::new(),
    }
}

/// The `{"error": {"code", "message"}}` body of a failed request, with the response's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// A stable code such as `invalid_request` or `not_found` (see `docs/openapi.yaml`).
    pub code: String,
    /// A sentence explaining the error.
    pub message: String,
    /// The `X-Request-Id` of the response, for support requests and the worker's logs.
    pub request_id: Option<String>,
}

impl Error {
    /// The HTTP status of the answer behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Denied { .. }
            | Error::ApprovalPending { .. }
            | Error::ApprovalDenied { .. }
            | Error::ApprovalExpired { .. }
            | Error::ApprovalCancelled { .. }
            | Error::ApprovalConsumed { .. }
            | Error::ApprovalMismatch { .. } => Some(200),
            Error::RateLimited { .. } | Error::QuotaExceeded { .. } => Some(429),
            Error::PlanLimit { .. } => Some(402),
            Error::Auth { status, .. } | Error::BadRequest { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(404),
            Error::Conflict { .. } => Some(409),
            Error::Server { status, .. } | Error::Decode { status, .. } | Error::Redirect { status, .. } => {
                Some(*status)
            }
            Error::Connection(_)
            | Error::Timeout(_)
            | Error::Config(_)
            | Error::Proxy(_)
            | Error::Webhook(_)
            | Error::Receipt(_) => None,
        }
    }

    /// The API's error code (`unauthorized`, `not_found`, …) or the decision's reason code
    /// (`scope_not_granted`, `rate_limited`, …), when the service sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Denied { reason, .. } => Some(reason.as_str()),
            Error::ApprovalPending { .. } => Some(ReasonCode::ApprovalRequired.as_str()),
            Error::ApprovalDenied { .. } => Some(ReasonCode::ApprovalDenied.as_str()),
            Error::ApprovalExpired { .. } => Some(ReasonCode::ApprovalExpired.as_str()),
            Error::ApprovalCancelled { .. } => Some(ReasonCode::ApprovalCancelled.as_str()),
            Error::ApprovalConsumed { .. } => Some(ReasonCode::ApprovalConsumed.as_str()),
            Error::ApprovalMismatch { .. } => Some(ReasonCode::ApprovalMismatch.as_str()),
            Error::RateLimited { .. } => Some("rate_limited"),
            Error::QuotaExceeded { .. } => Some(ReasonCode::QuotaExceeded.as_str()),
            Error::Auth { api, .. }
            | Error::PlanLimit { api, .. }
            | Error::BadRequest { api, .. }
            | Error::NotFound { api }
            | Error::Conflict { api } => Some(&api.code),
            Error::Server { api, .. } => api.as_ref().map(|a| a.code.as_str()),
            Error::Receipt(rejection) => Some(rejection.code()),
            _ => None,
        }
    }

    /// The approval behind an `Approval*` error (not a mismatch, which may name none).
    pub fn approval(&self) -> Option<&ApprovalTicket> {
        match self {
            Error::ApprovalPending { approval, .. }
            | Error::ApprovalDenied { approval, .. }
            | Error::ApprovalExpired { approval, .. }
            | Error::ApprovalCancelled { approval, .. }
            | Error::ApprovalConsumed { approval, .. } => Some(approval),
            _ => None,
        }
    }

    /// Whether a retry of the same request could succeed: connection failures, timeouts, 5xx, and
    /// the `unavailable` deny (the service could not reach its own state and failed closed). Not
    /// [`Error::ApprovalPending`]: that one waits for a person, not for the network.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Connection(_)
                | Error::Timeout(_)
                | Error::Server { .. }
                | Error::Denied { reason: ReasonCode::Unavailable, .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_unavailable_deny_is_transient() {
        let deny = |reason| Error::Denied {
            tool: "files".into(),
            scope: "read".into(),
            reason,
            message: String::new(),
            decision_id: "dec_x".into(),
            explanation: None,
        };
        assert!(deny(ReasonCode::Unavailable).is_transient());
        for reason in [
            ReasonCode::ScopeNotGranted,
            ReasonCode::UnknownTool,
            ReasonCode::AgentDisabled,
            ReasonCode::ReasoningRequired,
            ReasonCode::RateLimited,
        ] {
            assert!(!deny(reason).is_transient(), "{reason:?}");
        }
    }

    #[test]
    fn a_deny_says_why_the_rule_decided() {
        let explanation = Explanation {
            rule_id: Some("rul_1".into()),
            effect: Some(crate::wire::Effect::Allow),
            condition: None,
            message: "/amount is 900, not less than 500".into(),
        };
        let deny = |message: &str, explanation: Option<Explanation>| Error::Denied {
            tool: "payments".into(),
            scope: "send".into(),
            reason: ReasonCode::ConditionsNotMet,
            message: message.into(),
            decision_id: "dec_x".into(),
            explanation: explanation.map(Box::new),
        };
        assert_eq!(
            deny("No rule allows this call.", Some(explanation.clone())).to_string(),
            "denied payments:send (conditions_not_met): No rule allows this call. (/amount is 900, not less than 500)"
        );
        // Not said twice when the message already carries it, nor at all without one.
        assert_eq!(
            deny("Denied: /amount is 900, not less than 500", Some(explanation)).to_string(),
            "denied payments:send (conditions_not_met): Denied: /amount is 900, not less than 500"
        );
        assert_eq!(deny("No.", None).to_string(), "denied payments:send (conditions_not_met): No.");
    }
}
