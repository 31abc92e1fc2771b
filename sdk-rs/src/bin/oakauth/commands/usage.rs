//! `oakauth usage` and `oakauth plans`: the organization's plan and its use of each limit this
//! month, and the plans on offer.

use std::process::ExitCode;

use oakauth::wire::plans::{PlanId, PlanList, QuotaUsage, Usage};
use oakauth::Admin;

use super::Outcome;
use crate::output::{fields, Out, Table};

pub async fn usage(admin: &Admin, out: &Out) -> Outcome {
    let usage = admin.usage().await?;
    out.print(&usage, show_usage);
    Ok(ExitCode::SUCCESS)
}

pub async fn plans(admin: &Admin, out: &Out) -> Outcome {
    let plans = admin.plans().await?;
    out.print(&plans, show_plans);
    Ok(ExitCode::SUCCESS)
}

fn plan_name(plan: PlanId) -> &'static str {
    plan.plan().name
}

/// A limit, `unlimited` for none.
fn limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unlimited".into(), |n| n.to_string())
}

/// `used / limit` and the share of the limit used (rounded down), `-` when unlimited.
fn quota_cells(q: &QuotaUsage) -> [String; 2] {
    let share = match q.limit {
        None => "-".into(),
        Some(0) => "100%".into(),
        Some(n) => format!("{}%", q.used.saturating_mul(100) / n),
    };
    [format!("{} / {}", q.used, limit(q.limit)), share]
}

fn show_usage(u: &Usage) -> String {
    let mut plan = plan_name(u.plan).to_owned();
    if u.subscribed_plan != u.plan {
        plan.push_str(&format!(" (subscribed to {})", plan_name(u.subscribed_plan)));
    }
    let mut billing = u.billing_status.as_str().to_owned();
    if let Some(until) = &u.grace_until {
        billing.push_str(&format!(", grace until {until}"));
    }
    if !u.billing_enabled {
        billing.push_str(" (billing is not configured on this deployment)");
    }
    let mut out = fields(&[
        ("organization", u.organization_id.clone()),
        ("plan", plan),
        ("billing", billing),
        ("period", format!("{} to {} (UTC)", u.period.start, u.period.end)),
        ("resets", u.period.end.clone()),
    ]);
    let mut t = Table::new(&["QUOTA", "USED / LIMIT", "USE"]);
    let q = &u.quotas;
    for (name, quota) in [
        ("validations (this month)", &q.validations),
        ("agents", &q.agents),
        ("members (with invitations)", &q.members),
        ("webhook endpoints", &q.webhook_endpoints),
    ] {
        let [used, share] = quota_cells(quota);
        t.row(vec![name.into(), used, share]);
    }
    out.push('\n');
    out.push_str(&t.render());
    if !u.by_day.is_empty() {
        let mut t = Table::new(&["DAY (UTC)", "VALIDATIONS"]);
        for d in &u.by_day {
            t.row(vec![d.date.clone(), d.validations.to_string()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if !u.by_agent.is_empty() {
        let mut t = Table::new(&["AGENT", "NAME", "VALIDATIONS"]);
        for a in &u.by_agent {
            t.row(vec![
                a.agent_id.clone(),
                a.name.clone().unwrap_or_else(|| "(deleted)".into()),
                a.validations.to_string(),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

fn show_plans(list: &PlanList) -> String {
    let mut t =
        Table::new(&["PLAN", "NAME", "AGENTS", "MEMBERS", "VALIDATIONS/MONTH", "WEBHOOK ENDPOINTS", "SELF-SERVE"]);
    for p in &list.plans {
        let l = &p.limits;
        t.row(vec![
            p.id.as_str().into(),
            p.name.clone(),
            limit(l.agents.map(u64::from)),
            limit(l.members.map(u64::from)),
            limit(l.validations_per_month),
            limit(l.webhook_endpoints.map(u64::from)),
            if p.self_serve { "yes" } else { "no" }.into(),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oakauth::wire::plans::{AgentUsage, BillingStatus, DayUsage, Period, UsageQuotas};

    fn usage() -> Usage {
        let q = |used, limit| QuotaUsage { used, limit };
        Usage {
            organization_id: "org_1".into(),
            plan: PlanId::Free,
            subscribed_plan: PlanId::Pro,
            billing_status: BillingStatus::PastDue,
            grace_until: Some("2026-12-08T00:00:00Z".into()),
            billing_enabled: true,
            period: Period { start: "2026-12-01T00:00:00Z".into(), end: "2027-01-01T00:00:00Z".into() },
            quotas: UsageQuotas {
                validations: q(812, Some(1000)),
                agents: q(1, Some(1)),
                members: q(2, Some(3)),
                webhook_endpoints: q(4, None),
            },
            by_day: vec![DayUsage { date: "2026-12-01".into(), validations: 812 }],
            by_agent: vec![AgentUsage { agent_id: "agt_1".into(), name: None, validations: 812 }],
        }
    }

    #[test]
    fn usage_shows_each_quota_with_its_share_and_unlimited_for_none() {
        let text = show_usage(&usage());
        assert!(text.contains("Free (subscribed to Pro)"), "{text}");
        assert!(text.contains("past_due, grace until 2026-12-08T00:00:00Z"), "{text}");
        assert!(text.contains("812 / 1000"), "{text}");
        assert!(text.contains("81%"), "{text}");
        assert!(text.contains("1 / 1") && text.contains("100%"), "{text}");
        assert!(text.contains("2 / 3") && text.contains("66%"), "{text}");
        assert!(text.contains("4 / unlimited"), "{text}");
        assert!(text.contains("2026-12-01  812"), "{text}");
        assert!(text.contains("agt_1  (deleted)"), "{text}");
    }

    #[test]
    fn plans_are_a_table_with_unlimited_for_none() {
        let text = show_plans(&PlanList::published());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].starts_with("free") && lines[1].contains("1000") && lines[1].ends_with("yes"), "{text}");
        assert!(lines[2].starts_with("pro") && lines[2].contains("100000"), "{text}");
        assert!(lines[3].starts_with("enterprise") && lines[3].contains("unlimited") && lines[3].ends_with("no"));
    }
}
