use super::*;

fn org(plan: PlanId) -> OrgPlan {
    OrgPlan { plan, custom: None, status: BillingStatus::None, grace_until_ms: None }
}

#[test]
fn every_plan_id_round_trips_and_unknown_ones_are_refused() {
    for id in PlanId::ALL {
        assert_eq!(PlanId::parse(id.as_str()), Ok(id));
        assert_eq!(id.plan().id, id);
        assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
    }
    assert!(PlanId::parse("gold").is_err());
    assert!(PlanId::parse("Free").is_err(), "ids are lower-case");
}

#[test]
fn the_product_plan_numbers_are_the_ones_enforced() {
    let free = PlanId::Free.plan().limits;
    assert_eq!((free.agents, free.validations_per_month), (Some(1), Some(1_000)));
    let pro = PlanId::Pro.plan().limits;
    assert_eq!((pro.agents, pro.validations_per_month), (Some(10), Some(100_000)));
    assert_eq!(PlanId::Enterprise.plan().limits, Limits::UNLIMITED);
}

#[test]
fn a_limit_is_reached_at_exactly_its_number() {
    let free = org(PlanId::Free);
    assert_eq!(check_add(&free, Quota::Agents, 0, 0), Ok(()));
    let refused = check_add(&free, Quota::Agents, 1, 0).unwrap_err();
    assert_eq!(refused, PlanLimit { quota: Quota::Agents, plan: PlanId::Free, limit: 1 });
    assert_eq!(refused.message(), "the Free plan allows 1 agent; upgrade to Pro for more");
    assert_eq!(check_add(&free, Quota::WebhookEndpoints, 0, 0), Ok(()));
    assert!(check_add(&free, Quota::WebhookEndpoints, 1, 0).is_err());
    assert_eq!(check_add(&free, Quota::Members, 2, 0), Ok(()));
    assert!(check_add(&free, Quota::Members, 3, 0).unwrap_err().message().contains("3 members"));
    assert_eq!(check_add(&org(PlanId::Enterprise), Quota::Agents, 1_000_000, 0), Ok(()));
}

#[test]
fn enterprise_limits_are_the_organizations_own_and_other_plans_ignore_them() {
    let custom = Limits { agents: Some(50), ..Limits::UNLIMITED };
    let ent = OrgPlan { custom: Some(custom), ..org(PlanId::Enterprise) };
    assert_eq!(ent.limits(0).agents, Some(50));
    assert!(check_add(&ent, Quota::Agents, 50, 0).unwrap_err().message().contains("the Enterprise plan allows 50"));
    let pro = OrgPlan { custom: Some(custom), ..org(PlanId::Pro) };
    assert_eq!(pro.limits(0).agents, Some(10));
}

#[test]
fn an_organization_row_parses_or_is_refused() {
    let row = OrgPlan::from_row("enterprise", Some(r#"{"agents":5}"#), "past_due", Some(9)).unwrap();
    assert_eq!(row.limits(0).agents, Some(5));
    assert_eq!((row.status, row.grace_until_ms), (BillingStatus::PastDue, Some(9)));
    assert!(OrgPlan::from_row("gold", None, "none", None).is_err());
    assert!(OrgPlan::from_row("free", Some("{"), "none", None).is_err(), "a broken row never means unlimited");
    assert!(OrgPlan::from_row("free", None, "late", None).is_err());
}

#[test]
fn an_unpaid_plan_counts_as_free_only_after_the_grace_period() {
    let late = OrgPlan { status: BillingStatus::PastDue, grace_until_ms: Some(1_000), ..org(PlanId::Pro) };
    assert_eq!(late.effective(999), PlanId::Pro);
    assert_eq!(late.effective(1_000), PlanId::Free);
    assert_eq!(late.limits(1_000).agents, Some(1));
    let paid = OrgPlan { status: BillingStatus::Active, grace_until_ms: Some(1_000), ..org(PlanId::Pro) };
    assert_eq!(paid.effective(5_000), PlanId::Pro, "a paid plan has no grace period to run out");
}

#[test]
fn a_downgrade_disables_the_newest_enabled_agents_first() {
    let seat = |id: &str, created_at, enabled| AgentSeat { id: id.into(), created_at, enabled };
    let agents = [
        seat("agt_c", 30, true),
        seat("agt_a", 10, true),
        seat("agt_d", 40, false),
        seat("agt_b", 20, true),
        seat("agt_e", 20, true),
    ];
    assert_eq!(over_limit_agents(&agents, Some(1)), ["agt_c", "agt_e", "agt_b"]);
    assert_eq!(over_limit_agents(&agents, Some(3)), ["agt_c"]);
    assert_eq!(over_limit_agents(&agents, Some(4)), Vec::<String>::new());
    assert_eq!(over_limit_agents(&agents, None), Vec::<String>::new());
    assert_eq!(over_limit_agents(&agents, Some(0)).len(), 4, "a disabled agent is left as it is");
}
