//! Plans and their limits (issue 20): the constants the worker enforces are the ones
//! `GET /v1/plans` serves and `docs/plans.md` shows (the contract test checks the page against
//! [`PLANS`]).
//!
//! A limit of `None` means unlimited. Enterprise organizations have no limits unless their own
//! limits are set (`organizations.custom_limits`, by the operator).

use serde::{Deserialize, Serialize};

use crate::Error;

/// A plan's id, as stored in `organizations.plan` and sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PlanId {
    Free,
    Pro,
    Enterprise,
}

impl PlanId {
    pub const ALL: [PlanId; 3] = [PlanId::Free, PlanId::Pro, PlanId::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanId::Free => "free",
            PlanId::Pro => "pro",
            PlanId::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Result<PlanId, Error> {
        PlanId::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::Invalid(format!("unknown plan {s:?} (free, pro or enterprise)")))
    }

    pub fn plan(self) -> &'static Plan {
        PLANS.iter().find(|p| p.id == self).expect("every plan id has a plan")
    }
}

/// What a plan allows; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Limits {
    /// Agents (enabled or disabled; deleted agents do not count).
    pub agents: Option<u32>,
    /// Members plus open invitations (seats).
    pub members: Option<u32>,
    /// Validate calls per calendar month (UTC), allowed or denied; `quota_exceeded` answers do not count.
    pub validations_per_month: Option<u64>,
    /// Webhook endpoints.
    pub webhook_endpoints: Option<u32>,
}

impl Limits {
    pub const UNLIMITED: Limits =
        Limits { agents: None, members: None, validations_per_month: None, webhook_endpoints: None };

    /// The limit on `quota`.
    pub fn get(&self, quota: Quota) -> Option<u64> {
        match quota {
            Quota::Agents => self.agents.map(u64::from),
            Quota::Members => self.members.map(u64::from),
            Quota::Validations => self.validations_per_month,
            Quota::WebhookEndpoints => self.webhook_endpoints.map(u64::from),
        }
    }
}

/// One plan as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub id: PlanId,
    pub name: &'static str,
    pub limits: Limits,
    /// Whether owners can buy it through Stripe Checkout (Enterprise is arranged with us).
    pub self_serve: bool,
}

/// Every plan, cheapest first.
pub const PLANS: [Plan; 3] = [
    Plan {
        id: PlanId::Free,
        name: "Free",
        limits: Limits {
            agents: Some(1),
            members: Some(3),
            validations_per_month: Some(1_000),
            webhook_endpoints: Some(1),
        },
        self_serve: true,
    },
    Plan {
        id: PlanId::Pro,
        name: "Pro",
        limits: Limits {
            agents: Some(10),
            members: Some(20),
            validations_per_month: Some(100_000),
            webhook_endpoints: Some(10),
        },
        self_serve: true,
    },
    Plan { id: PlanId::Enterprise, name: "Enterprise", limits: Limits::UNLIMITED, self_serve: false },
];

/// A counted quantity with a plan limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    Agents,
    Members,
    Validations,
    WebhookEndpoints,
}

impl Quota {
    pub const ALL: [Quota; 4] = [Quota::Validations, Quota::Agents, Quota::Members, Quota::WebhookEndpoints];

    pub fn as_str(self) -> &'static str {
        match self {
            Quota::Agents => "agents",
            Quota::Members => "members",
            Quota::Validations => "validations",
            Quota::WebhookEndpoints => "webhook_endpoints",
        }
    }

    fn noun(self, n: u64) -> &'static str {
        match (self, n) {
            (Quota::Agents, 1) => "agent",
            (Quota::Agents, _) => "agents",
            (Quota::Members, 1) => "member (with open invitations)",
            (Quota::Members, _) => "members (with open invitations)",
            (Quota::Validations, 1) => "validation a month",
            (Quota::Validations, _) => "validations a month",
            (Quota::WebhookEndpoints, 1) => "webhook endpoint",
            (Quota::WebhookEndpoints, _) => "webhook endpoints",
        }
    }
}

/// The organization's billing status, as Stripe last told it (`none` without billing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BillingStatus {
    #[default]
    None,
    Active,
    PastDue,
    Canceled,
}

impl BillingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingStatus::None => "none",
            BillingStatus::Active => "active",
            BillingStatus::PastDue => "past_due",
            BillingStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Result<BillingStatus, Error> {
        [BillingStatus::None, BillingStatus::Active, BillingStatus::PastDue, BillingStatus::Canceled]
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| Error::Invalid(format!("unknown billing status {s:?}")))
    }
}

/// What an organization row says about its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPlan {
    pub plan: PlanId,
    /// Enterprise limits set for this organization (ignored on other plans).
    pub custom: Option<Limits>,
    pub status: BillingStatus,
    /// While `past_due`: the end of the grace period, after which the plan counts as Free.
    pub grace_until_ms: Option<i64>,
}

impl OrgPlan {
    /// The plan as an `organizations` row stores it (`plan`, `custom_limits` JSON,
    /// `billing_status`, `grace_until`). A row that does not parse is an error, never "unlimited".
    pub fn from_row(
        plan: &str,
        custom_limits: Option<&str>,
        status: &str,
        grace_until_ms: Option<i64>,
    ) -> Result<OrgPlan, Error> {
        let custom = match custom_limits {
            Some(json) => Some(
                serde_json::from_str(json).map_err(|e| Error::Invalid(format!("custom_limits is not valid: {e}")))?,
            ),
            None => None,
        };
        Ok(OrgPlan { plan: PlanId::parse(plan)?, custom, status: BillingStatus::parse(status)?, grace_until_ms })
    }

    /// The plan in force at `now_ms`: a payment that failed and stayed unpaid past the grace
    /// period counts as Free (nothing is deleted; see [`over_limit_agents`]).
    pub fn effective(&self, now_ms: i64) -> PlanId {
        match (self.status, self.grace_until_ms) {
            (BillingStatus::PastDue, Some(until)) if now_ms >= until => PlanId::Free,
            _ => self.plan,
        }
    }

    /// The limits in force at `now_ms`.
    pub fn limits(&self, now_ms: i64) -> Limits {
        match self.effective(now_ms) {
            PlanId::Enterprise => self.custom.unwrap_or(Limits::UNLIMITED),
            other => other.plan().limits,
        }
    }
}

/// Adding one more of `quota` would pass the plan's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLimit {
    pub quota: Quota,
    pub plan: PlanId,
    pub limit: u64,
}

impl PlanLimit {
    /// The sentence of the 402 answer: which limit, and what to do.
    pub fn message(&self) -> String {
        let upgrade = match self.plan {
            PlanId::Free => "; upgrade to Pro for more",
            PlanId::Pro => "; contact us about Enterprise for more",
            PlanId::Enterprise => "; ask the operator to raise the organization's limits",
        };
        format!("the {} plan allows {} {}{upgrade}", self.plan.plan().name, self.limit, self.quota.noun(self.limit))
    }
}

/// Whether one more of `quota` fits when `current` exist already.
pub fn check_add(org: &OrgPlan, quota: Quota, current: u64, now_ms: i64) -> Result<(), PlanLimit> {
    match org.limits(now_ms).get(quota) {
        Some(limit) if current >= limit => Err(PlanLimit { quota, plan: org.effective(now_ms), limit }),
        _ => Ok(()),
    }
}

/// An agent as the downgrade sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSeat {
    pub id: String,
    pub created_at: i64,
    pub enabled: bool,
}

/// The agents to disable so that at most `limit` stay enabled: the newest enabled ones first
/// (by creation time, then id). Nothing is deleted, and disabled agents stay as they are.
pub fn over_limit_agents(agents: &[AgentSeat], limit: Option<u32>) -> Vec<String> {
    let Some(limit) = limit else { return Vec::new() };
    let mut enabled: Vec<&AgentSeat> = agents.iter().filter(|a| a.enabled).collect();
    // Oldest first: the first `limit` keep running.
    enabled.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut over: Vec<String> = enabled.iter().skip(limit as usize).map(|a| a.id.clone()).collect();
    over.reverse();
    over
}

#[cfg(test)]
mod tests;
