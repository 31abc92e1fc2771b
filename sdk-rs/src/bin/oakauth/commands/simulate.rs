//! `oakauth simulate`: decide a call as the service would, with the agent's rules or draft ones,
//! and show every rule's part in the decision; `oakauth replay`: decide the agent's latest audited
//! calls again with draft rules and show those that would change. Nothing is logged or counted.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use oakauth::wire::{
    DraftRule, ReplayRequest, ReplayResponse, RuleOutcome, RuleTrace, SimulateRequest, SimulateResponse,
};
use oakauth::{Admin, ValidateRequest};
use serde_json::{Map, Value};

use super::conditions::{explanation_fields, result_text};
use super::{agent_filter, json_object, Failure, Outcome, EXIT_DENIED};
use crate::output::{fields, Out, Table};

#[derive(Args)]
pub struct SimulateArgs {
    /// Agent id or name.
    agent: String,
    /// The tool's name.
    #[arg(long)]
    tool: String,
    /// The scope.
    #[arg(long)]
    scope: String,
    /// Why the call is needed.
    #[arg(long)]
    reasoning: Option<String>,
    /// The tool call's arguments, a JSON object such as '{"amount": 900}'.
    #[arg(long, value_parser = json_object)]
    arguments: Option<Map<String, Value>>,
    /// The call's context, a JSON object.
    #[arg(long, value_parser = json_object)]
    context: Option<Map<String, Value>>,
    /// Decide with these draft rules instead of the agent's saved ones: a JSON array of rules such
    /// as [{"tool": "payments", "scope": "send", "conditions": [...]}] (fields: id, tool, scope,
    /// effect, require_reasoning, conditions, mode).
    #[arg(long, value_name = "FILE")]
    rules_file: Option<PathBuf>,
    /// The caller's IP address, for conditions on request:/client_ip.
    #[arg(long)]
    client_ip: Option<String>,
    /// The time of the call, RFC 3339 (default now), for conditions on request:/time and request:/weekday.
    #[arg(long)]
    at: Option<String>,
}

pub async fn run(admin: &Admin, out: &Out, args: SimulateArgs) -> Outcome {
    let rules = match &args.rules_file {
        Some(path) => Some(read_rules_file(path).map_err(Failure::Usage)?),
        None => None,
    };
    let mut request = ValidateRequest::new(args.tool, args.scope);
    request.reasoning = args.reasoning;
    request.context = args.context;
    request.arguments = args.arguments;
    let body = SimulateRequest {
        agent_id: agent_filter(admin, &args.agent).await?,
        request,
        rules,
        client_ip: args.client_ip,
        at: args.at,
    };
    let answer = admin.simulate(&body).await?;
    out.print(&answer, show);
    Ok(if answer.allowed && answer.reason.is_allow() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_DENIED) })
}

#[derive(Args)]
pub struct ReplayArgs {
    /// Agent id or name.
    agent: String,
    /// The draft rules to replay with (the format of `simulate --rules-file`).
    #[arg(long, value_name = "FILE")]
    rules_file: PathBuf,
    /// How many of the agent's latest audited calls to replay (1 to 1000, default 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    limit: Option<u32>,
}

pub async fn replay(admin: &Admin, out: &Out, args: ReplayArgs) -> Outcome {
    let rules = read_rules_file(&args.rules_file).map_err(Failure::Usage)?;
    let body = ReplayRequest { agent_id: agent_filter(admin, &args.agent).await?, rules, limit: args.limit };
    let answer = admin.replay(&body).await?;
    out.print(&answer, show_replay);
    Ok(ExitCode::SUCCESS)
}

fn show_replay(r: &ReplayResponse) -> String {
    let mut text = format!(
        "Replayed {} audited call{}; {} would be decided differently.\n",
        r.replayed,
        if r.replayed == 1 { "" } else { "s" },
        r.changed.len()
    );
    if r.changed.iter().any(|c| c.approximate) {
        text.push_str(
            "(~: the log kept those arguments redacted or cut, so the replay may differ from the real call)\n",
        );
    }
    if !r.changed.is_empty() {
        let mut t = Table::new(&["TIME", "DECISION", "TOOL:SCOPE", "BEFORE", "AFTER", "WHY"]);
        for c in &r.changed {
            let mark = if c.approximate { "~" } else { "" };
            t.row(vec![
                c.created_at.clone(),
                format!("{}{mark}", c.decision_id),
                format!("{}:{}", c.tool, c.scope),
                c.before.as_str().into(),
                c.after.as_str().into(),
                c.explanation.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| "-".into()),
            ]);
        }
        text.push('\n');
        text.push_str(&t.render());
    }
    text
}

/// The draft rules of `--rules-file`.
fn read_rules_file(path: &Path) -> Result<Vec<DraftRule>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--rules-file {}: {e}", path.display()))?;
    parse_rules(&text).map_err(|e| format!("--rules-file {}: {e}", path.display()))
}

fn parse_rules(text: &str) -> Result<Vec<DraftRule>, String> {
    serde_json::from_str(text).map_err(|e| format!("not a JSON array of draft rules: {e}"))
}

fn show(s: &SimulateResponse) -> String {
    let mut pairs = vec![
        ("result", if s.allowed && s.reason.is_allow() { "allowed" } else { "DENIED" }.to_owned()),
        ("reason", s.reason.as_str().into()),
        ("message", s.message.clone()),
    ];
    pairs.extend(s.explanation.iter().flat_map(explanation_fields));
    pairs.push(("reasoning required", s.reasoning_required.as_str().into()));
    pairs.push(("reasoning provided", s.reasoning_provided.to_string()));
    for shadow in &s.shadow {
        pairs.push(("shadow", format!("{} would {}", shadow.rule_id, shadow.would.as_str())));
    }
    let mut text = fields(&pairs);
    text.push('\n');
    if s.trace.is_empty() {
        text.push_str("No rule for this tool and scope.\n");
    } else {
        text.push_str(&trace_table(&s.trace));
    }
    text
}

fn outcome(o: RuleOutcome) -> &'static str {
    match o {
        RuleOutcome::Matched => "matched",
        RuleOutcome::NotMatched => "not matched",
        RuleOutcome::Error => "error",
    }
}

fn trace_table(trace: &[RuleTrace]) -> String {
    let mut t = Table::new(&["RULE", "EFFECT", "MODE", "OUTCOME", "CONDITION"]);
    for r in trace {
        t.row(vec![
            r.rule_id.clone(),
            r.effect.as_str().into(),
            r.mode.as_str().into(),
            outcome(r.outcome).into(),
            r.condition.as_ref().map(result_text).unwrap_or_else(|| "-".into()),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oakauth::wire::{
        ConditionResult, Effect, Explanation, Operator, ReasonCode, ReasoningPolicy, RuleMode, Source,
    };
    use serde_json::json;

    #[test]
    fn a_rules_file_is_an_array_of_draft_rules() {
        let rules = parse_rules(
            r#"[{"tool": "payments", "scope": "send",
                 "conditions": [{"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"}]},
                {"id": "no_big", "tool": "payments", "scope": "send", "effect": "deny", "mode": "shadow"}]"#,
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[1].effect, rules[1].mode), (Some(Effect::Deny), Some(RuleMode::Shadow)));
        assert!(parse_rules(r#"[{"tool": "t", "scope": "s", "agent_id": "x"}]"#)
            .unwrap_err()
            .contains("unknown field"));
        assert!(parse_rules(r#"{"tool": "t"}"#).is_err());
    }

    #[test]
    fn the_decision_its_explanation_and_the_trace_are_shown() {
        let tested = ConditionResult {
            path: "conditions[0]".into(),
            source: Source::Arguments,
            pointer: "/amount".into(),
            op: Operator::Lt,
            expected: json!(500),
            observed: Some(json!(900)),
            holds: false,
            error: None,
        };
        let answer = SimulateResponse {
            allowed: false,
            reason: ReasonCode::ConditionsNotMet,
            message: "No allow rule's conditions hold.".into(),
            reasoning_required: ReasoningPolicy::None,
            reasoning_provided: false,
            explanation: Some(Explanation {
                rule_id: Some("rul_1".into()),
                effect: Some(Effect::Allow),
                condition: Some(tested.clone()),
                message: "/amount is 900, not less than 500.".into(),
            }),
            shadow: vec![],
            trace: vec![RuleTrace {
                rule_id: "rul_1".into(),
                effect: Effect::Allow,
                mode: RuleMode::Enforce,
                outcome: RuleOutcome::NotMatched,
                condition: Some(tested),
            }],
        };
        let text = show(&answer);
        assert!(text.contains("result:") && text.contains("DENIED"), "{text}");
        assert!(text.contains("explanation:        /amount is 900, not less than 500."), "{text}");
        assert!(text.contains("rule:               rul_1 (allow)"), "{text}");
        assert!(
            text.contains("rul_1  allow   enforce  not matched  conditions[0]: /amount lt 500: saw 900, does not hold"),
            "{text}"
        );
    }
}
