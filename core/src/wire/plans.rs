//! The plans, usage and billing types of the API (issue 20). See docs/plans.md and
//! docs/billing.md.

use serde::{Deserialize, Serialize};

pub use crate::plans::{BillingStatus, Limits, PlanId, Quota};

/// `GET /v1/plans`: every plan and its limits (null: unlimited), cheapest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanList {
    pub plans: Vec<PlanInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    pub id: PlanId,
    pub name: String,
    pub limits: Limits,
    /// Owners can subscribe through Stripe Checkout (when billing is configured).
    pub self_serve: bool,
}

impl PlanList {
    pub fn published() -> PlanList {
        PlanList {
            plans: crate::plans::PLANS
                .iter()
                .map(|p| PlanInfo { id: p.id, name: p.name.into(), limits: p.limits, self_serve: p.self_serve })
                .collect(),
        }
    }
}

/// One quota: how much is used of how much (`limit` null: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    pub used: u64,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageQuotas {
    pub validations: QuotaUsage,
    pub agents: QuotaUsage,
    pub members: QuotaUsage,
    pub webhook_endpoints: QuotaUsage,
}

/// The current calendar month (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// RFC 3339, the first instant of the month.
    pub start: String,
    /// RFC 3339, the first instant of the next month: when the validation quota resets.
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub validations: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUsage {
    pub agent_id: String,
    /// Null for an agent deleted since.
    pub name: Option<String>,
    pub validations: u64,
}

/// `GET /v1/admin/usage`: the organization's plan and its use of each limit this month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub organization_id: String,
    /// The plan in force (an unpaid plan past its grace period counts as `free`).
    pub plan: PlanId,
    /// The plan the organization subscribed to.
    pub subscribed_plan: PlanId,
    pub billing_status: BillingStatus,
    /// While `past_due`: RFC 3339, when the plan falls back to Free.
    pub grace_until: Option<String>,
    /// Whether Stripe billing is configured on this deployment.
    pub billing_enabled: bool,
    pub period: Period,
    pub quotas: UsageQuotas,
    /// Validations per UTC day of the period so far, oldest first, days without any omitted.
    pub by_day: Vec<DayUsage>,
    /// Validations per agent this period, most first.
    pub by_agent: Vec<AgentUsage>,
}

/// Set on a `quota_exceeded` decision: the organization's monthly validation quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaExceeded {
    pub limit: u64,
    pub used: u64,
    /// RFC 3339: the start of the next calendar month (UTC), when the quota resets.
    pub resets_at: String,
}

/// `POST /v1/admin/billing/checkout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The plan to subscribe to: only self-serve plans other than Free (`pro`).
    pub plan: PlanId,
}

/// A Stripe-hosted page to send the owner to (Checkout or the Customer Portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRedirect {
    pub url: String,
}
