//! The decision: may this agent use this tool with this scope, given its reasoning?
//!
//! Deny by default: only a rule that names the tool and scope can allow, and only an enabled agent
//! with tokens in its bucket gets as far as the rules. What the rules say is [`crate::policy`]'s.

use crate::policy::{Ask, Verdicts};
use crate::reasoning;
use crate::wire::{ApprovalTicket, Explanation, RateLimitState, ReasonCode, ReasoningPolicy, ValidateResponse};

/// What storage knows about the requested tool for this agent.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolLookup {
    /// No tool of that name is registered for the agent.
    Unknown,
    /// The tool exists; the rules for the requested scope decided this (see [`crate::policy::evaluate`]),
    /// or the arguments broke its input schema (`Deny(InvalidArguments)`).
    Known(Verdicts),
}

/// What the agent's token bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketOutcome {
    /// Not consulted (the agent is disabled).
    NotConsulted,
    Allowed,
    Limited,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub reason: ReasonCode,
    pub reasoning_required: ReasoningPolicy,
    pub reasoning_provided: bool,
    /// Why a rule (or the input schema) decided, when one did.
    pub explanation: Option<Explanation>,
    /// The rule that asks for approval (reason `approval_required` before approvals are looked up).
    pub ask: Option<Ask>,
    /// The approval the call needs or used, once looked up.
    pub approval: Option<ApprovalTicket>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.reason.is_allow()
    }

    /// The answer to the caller. `answered` is the decided reason, or `unavailable` when the
    /// decision's row could not be written as decided (fail closed).
    pub fn response(
        &self,
        answered: ReasonCode,
        request: (&str, &str),
        decision_id: String,
        retry_after: u64,
        rate_limit: Option<RateLimitState>,
    ) -> ValidateResponse {
        let (tool, scope) = request;
        // The explanation belongs to the decided reason; an allow answered `unavailable` has none.
        let explanation = if answered == self.reason { self.explanation.clone() } else { None };
        let approval = if answered == self.reason { self.approval.clone() } else { None };
        let mut message = message(answered, tool, scope, retry_after);
        if let Some(e) = &explanation {
            message = format!("{message}: {}", e.message);
        }
        ValidateResponse {
            allowed: answered.is_allow(),
            reason: answered,
            message,
            decision_id,
            reasoning_required: self.reasoning_required,
            reasoning_provided: self.reasoning_provided,
            rate_limit,
            explanation,
            approval,
            receipt: None,
            quota: None,
        }
    }
}

/// The answer when the agent's state could not be reached, so nothing was decided: a deny.
pub fn unavailable(tool: &str, scope: &str, decision_id: String, reasoning_text: Option<&str>) -> ValidateResponse {
    let nothing = Decision {
        reason: ReasonCode::Unavailable,
        reasoning_required: ReasoningPolicy::None,
        reasoning_provided: reasoning::provided(reasoning_text),
        explanation: None,
        ask: None,
        approval: None,
    };
    nothing.response(ReasonCode::Unavailable, (tool, scope), decision_id, 1, None)
}

/// The decision when the organization's monthly validation quota is used up: nothing else is
/// checked (the bucket is not taken from).
pub fn quota_exceeded(reasoning_text: Option<&str>) -> Decision {
    Decision {
        reason: ReasonCode::QuotaExceeded,
        reasoning_required: ReasoningPolicy::None,
        reasoning_provided: reasoning::provided(reasoning_text),
        explanation: None,
        ask: None,
        approval: None,
    }
}

/// Decides. Checks run in this order: agent enabled, rate limit, tool, arguments and rules, reasoning.
pub fn decide(
    agent_enabled: bool,
    bucket: BucketOutcome,
    tool: ToolLookup,
    explanation: Option<Explanation>,
    reasoning_text: Option<&str>,
) -> Decision {
    let reasoning_provided = reasoning::provided(reasoning_text);
    let policy = match &tool {
        ToolLookup::Known(Verdicts::Allow(policy)) => *policy,
        ToolLookup::Known(Verdicts::RequireApproval(ask)) => ask.reasoning,
        _ => ReasoningPolicy::None,
    };
    let mut ask = None;
    let reason = if !agent_enabled {
        ReasonCode::AgentDisabled
    } else if bucket != BucketOutcome::Allowed {
        // NotConsulted for an enabled agent would be a bug in the caller: fail closed.
        ReasonCode::RateLimited
    } else {
        match tool {
            ToolLookup::Unknown => ReasonCode::UnknownTool,
            // Only a deny reason can come from here; anything else would be a bug: fail closed.
            ToolLookup::Known(Verdicts::Deny(reason)) if !reason.is_allow() => reason,
            ToolLookup::Known(Verdicts::Deny(_)) => ReasonCode::ScopeNotGranted,
            ToolLookup::Known(Verdicts::Allow(ReasoningPolicy::None)) => ReasonCode::Allowed,
            ToolLookup::Known(Verdicts::Allow(ReasoningPolicy::Soft)) => {
                if reasoning_provided {
                    ReasonCode::Allowed
                } else {
                    ReasonCode::ReasoningMissingSoft
                }
            }
            ToolLookup::Known(Verdicts::Allow(ReasoningPolicy::Hard)) => {
                if reasoning_provided {
                    ReasonCode::Allowed
                } else {
                    ReasonCode::ReasoningRequired
                }
            }
            // A person is not asked about a call that lacks the reasoning its rule demands.
            ToolLookup::Known(Verdicts::RequireApproval(a)) => {
                if a.reasoning == ReasoningPolicy::Hard && !reasoning_provided {
                    ReasonCode::ReasoningRequired
                } else {
                    ask = Some(a);
                    ReasonCode::ApprovalRequired
                }
            }
        }
    };
    let explanation = match reason {
        ReasonCode::DeniedByRule
        | ReasonCode::ConditionsNotMet
        | ReasonCode::InvalidArguments
        | ReasonCode::ApprovalRequired => explanation,
        _ => None,
    };
    Decision { reason, reasoning_required: policy, reasoning_provided, explanation, ask, approval: None }
}

/// A sentence explaining a decision, fit to show to a model or a person.
pub fn message(reason: ReasonCode, tool: &str, scope: &str, retry_after: u64) -> String {
    match reason {
        ReasonCode::Allowed => format!("allowed: {tool}:{scope}"),
        ReasonCode::ReasoningMissingSoft => format!(
            "allowed: {tool}:{scope}, but reasoning is expected and was missing; explain why you need it next time"
        ),
        ReasonCode::AgentDisabled => "denied: this agent is disabled".to_string(),
        ReasonCode::UnknownTool => format!("denied: tool {tool} is not registered for this agent"),
        ReasonCode::ScopeNotGranted => format!("denied: no rule grants {tool}:{scope}"),
        ReasonCode::ReasoningRequired => format!(
            "denied: reasoning required for {tool}:{scope}; retry with a reasoning that explains why this action is needed"
        ),
        ReasonCode::RateLimited => format!("denied: rate limit reached; retry in {retry_after} s"),
        ReasonCode::Unavailable => {
            "denied: OakAuth could not reach this agent's state, so nothing was allowed; retry shortly".to_string()
        }
        ReasonCode::DeniedByRule => format!("denied: a rule denies {tool}:{scope}"),
        ReasonCode::ConditionsNotMet => format!("denied: no rule's conditions allow this call to {tool}:{scope}"),
        ReasonCode::InvalidArguments => format!("denied: the arguments do not fit the input schema of {tool}"),
        ReasonCode::ApprovalRequired => format!(
            "denied for now: approval required for {tool}:{scope}: an administrator must approve this exact call; \
             call again with the same arguments once approved"
        ),
        ReasonCode::ApprovalDenied => format!("denied: a person denied the approval of this call to {tool}:{scope}"),
        ReasonCode::ApprovalExpired => format!(
            "denied: the approval of this call to {tool}:{scope} expired before it was decided or used \
             (nobody denied it); calling again asks anew"
        ),
        ReasonCode::ApprovalCancelled => format!("denied: the approval of this call to {tool}:{scope} was cancelled"),
        ReasonCode::ApprovalConsumed => format!(
            "denied: the approval of this call to {tool}:{scope} was already used; an approval allows one call"
        ),
        ReasonCode::ApprovalMismatch => format!(
            "denied: the approval named is not for this call to {tool}:{scope} (another agent, tool, scope, \
             arguments or rule version)"
        ),
        ReasonCode::QuotaExceeded => format!(
            "denied: the organization has used its plan's validations for this month, so {tool}:{scope} \
             was not checked; the quota resets at the start of the next month (UTC, see quota.resets_at)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BucketOutcome::*;
    use ReasoningPolicy::*;

    fn known(p: ReasoningPolicy) -> ToolLookup {
        ToolLookup::Known(Verdicts::Allow(p))
    }

    fn decide(enabled: bool, bucket: BucketOutcome, tool: ToolLookup, reasoning: Option<&str>) -> Decision {
        super::decide(enabled, bucket, tool, Option::None, reasoning)
    }

    #[test]
    fn a_rule_without_reasoning_policy_allows() {
        let d = decide(true, Allowed, known(None), Option::None);
        assert_eq!(d.reason, ReasonCode::Allowed);
        assert!(d.allowed());
        assert!(!d.reasoning_provided);
    }

    #[test]
    fn none_policy_still_records_whether_reasoning_was_given() {
        let d = decide(true, Allowed, known(None), Some("listing files the user asked for"));
        assert_eq!(d.reason, ReasonCode::Allowed);
        assert!(d.reasoning_provided);
    }

    #[test]
    fn soft_allows_but_flags_missing_reasoning() {
        let d = decide(true, Allowed, known(Soft), Some("   "));
        assert_eq!(d.reason, ReasonCode::ReasoningMissingSoft);
        assert!(d.allowed());
        assert_eq!(d.reasoning_required, Soft);
        let d = decide(true, Allowed, known(Soft), Some("user asked to save the draft"));
        assert_eq!(d.reason, ReasonCode::Allowed);
    }

    #[test]
    fn hard_denies_without_real_reasoning() {
        for text in [Option::None, Some(""), Some(" \t"), Some("\u{200B}\u{200B}"), Some("...")] {
            let d = decide(true, Allowed, known(Hard), text);
            assert_eq!(d.reason, ReasonCode::ReasoningRequired, "{text:?}");
            assert!(!d.allowed());
        }
        let d = decide(true, Allowed, known(Hard), Some("deleting the build cache the user named"));
        assert_eq!(d.reason, ReasonCode::Allowed);
        assert_eq!(d.reasoning_required, Hard);
    }

    #[test]
    fn unknown_tool_is_denied() {
        let d = decide(true, Allowed, ToolLookup::Unknown, Some("please"));
        assert_eq!(d.reason, ReasonCode::UnknownTool);
        assert!(!d.allowed());
    }

    #[test]
    fn a_scope_without_a_rule_is_denied() {
        let d = decide(true, Allowed, ToolLookup::Known(Verdicts::Deny(ReasonCode::ScopeNotGranted)), Some("please"));
        assert_eq!(d.reason, ReasonCode::ScopeNotGranted);
        assert!(!d.allowed());
    }

    #[test]
    fn a_disabled_agent_is_denied_whatever_its_rules() {
        for bucket in [NotConsulted, Allowed, Limited] {
            let d = decide(false, bucket, known(None), Some("reason"));
            assert_eq!(d.reason, ReasonCode::AgentDisabled);
        }
    }

    #[test]
    fn an_empty_bucket_denies_before_rules_are_read() {
        let d = decide(true, Limited, known(None), Option::None);
        assert_eq!(d.reason, ReasonCode::RateLimited);
        assert!(!d.allowed());
    }

    #[test]
    fn an_enabled_agent_whose_bucket_was_skipped_is_denied() {
        let d = decide(true, NotConsulted, known(None), Option::None);
        assert!(!d.allowed());
    }

    #[test]
    fn every_reason_has_a_message_naming_the_call() {
        for code in ReasonCode::ALL {
            let m = message(code, "fs", "write", 3);
            assert!(m.starts_with(if code.is_allow() { "allowed" } else { "denied" }), "{m}");
        }
        assert!(message(ReasonCode::ReasoningRequired, "filesystem", "write", 0)
            .contains("reasoning required for filesystem:write"));
        assert!(message(ReasonCode::RateLimited, "a", "b", 7).contains("7 s"));
    }

    #[test]
    fn an_allow_answered_as_unavailable_is_a_deny_with_its_own_message() {
        let d = decide(true, Allowed, known(None), Some("pay the invoice"));
        let r = d.response(ReasonCode::Unavailable, ("payments", "send"), "dec_1".into(), 0, Option::None);
        assert!(!r.allowed);
        assert_eq!(r.reason, ReasonCode::Unavailable);
        assert!(r.message.contains("nothing was allowed"));
        let u = unavailable("payments", "send", "dec_2".into(), Some("  "));
        assert!(!u.allowed && !u.reasoning_provided && u.rate_limit.is_none());
    }

    #[test]
    fn a_rule_asking_for_approval_asks_only_with_the_reasoning_it_demands() {
        let ask = |reasoning| Ask { rule_id: "r1".into(), rule_version: 3, expiry_seconds: 900, reasoning };
        let lookup = |r| ToolLookup::Known(Verdicts::RequireApproval(ask(r)));
        let d = decide(true, Allowed, lookup(Hard), Option::None);
        assert_eq!((d.reason, d.ask.is_none()), (ReasonCode::ReasoningRequired, true));
        let d = decide(true, Allowed, lookup(Hard), Some("paying the invoice the user approved"));
        assert_eq!(d.reason, ReasonCode::ApprovalRequired);
        assert_eq!(d.ask, Some(ask(Hard)));
        assert!(!d.allowed());
        let d = decide(true, Allowed, lookup(Soft), Option::None);
        assert_eq!(d.reason, ReasonCode::ApprovalRequired);
        for code in ReasonCode::ALL.into_iter().filter(|c| c.as_str().starts_with("approval_")) {
            assert!(!code.is_allow(), "{code:?}");
            assert!(!message(code, "payments", "send", 0).is_empty());
        }
    }
}
