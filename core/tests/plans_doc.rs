//! docs/plans.md's table of plans is the one the worker enforces (core/src/plans.rs).

use oakauth_core::plans::PLANS;

fn cell(n: Option<u64>) -> String {
    match n {
        None => "unlimited".into(),
        Some(n) => {
            // 100000 → 100,000
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        }
    }
}

#[test]
fn the_plans_table_in_the_docs_is_the_enforced_one() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/plans.md")).unwrap();
    let start = doc.find("<!-- plans-table").expect("the table's start marker");
    let end = doc.find("<!-- /plans-table -->").expect("the table's end marker");
    let rows: Vec<&str> = doc[start..end].lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Plan")).collect();
    let expected: Vec<String> = PLANS
        .iter()
        .map(|p| {
            let l = p.limits;
            format!(
                "| {} | {} | {} | {} | {} |",
                p.name,
                cell(l.agents.map(u64::from)),
                cell(l.members.map(u64::from)),
                cell(l.validations_per_month),
                cell(l.webhook_endpoints.map(u64::from))
            )
        })
        .collect();
    assert_eq!(rows, expected, "docs/plans.md's table differs from core/src/plans.rs");
}
