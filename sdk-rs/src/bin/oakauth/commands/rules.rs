//! `oakauth rules`: what an agent may do with its tools: allow or deny rules per tool and scope,
//! with a reasoning requirement, conditions on the call's arguments, and a mode.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use oakauth::wire::{Condition, CreateRule, Effect, OnMissing, ReasoningPolicy, Rule, RuleMode, UpdateRule};
use oakauth::Admin;

use super::conditions::{compact, compact_all, parse_when, read_conditions_file};
use super::{resolve_agent, Failure, Outcome};
use crate::output::{clip, fields, Out};

#[derive(Subcommand)]
pub enum RulesCmd {
    /// List an agent's rules.
    List {
        /// Agent id or name.
        agent: String,
    },
    /// Add a rule for one of an agent's tools and scopes: an allow (the default) or a deny, with
    /// optional conditions. A tool and scope may have several rules; an enforced deny rule whose
    /// conditions hold wins, else an allow rule whose conditions hold allows.
    Create {
        /// Agent id or name.
        agent: String,
        /// The tool's name.
        tool: String,
        /// One of the tool's scopes.
        scope: String,
        #[command(flatten)]
        fields: RuleFields,
    },
    /// Show one rule.
    Show {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
    },
    /// Change a rule; what is not given stays as it is (conditions are replaced as a whole).
    Update {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
        #[command(flatten)]
        fields: RuleFields,
        /// Remove all the rule's conditions: it then always applies.
        #[arg(long, conflicts_with_all = ["when", "conditions_file"])]
        clear_conditions: bool,
    },
    /// Delete a rule: from the next request on, the scope is decided by the rules left.
    Delete {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
    },
}

/// The fields of a rule that `create` sets and `update` changes.
#[derive(Args)]
pub struct RuleFields {
    /// allow, deny or require_approval (a person must approve each matching call; create: allow).
    #[arg(long, value_parser = effect_parser())]
    effect: Option<Effect>,
    /// require_approval rules: how long an approval waits for a decision, 60 to 604800 seconds
    /// (the service's default: 900).
    #[arg(long, value_name = "SECONDS")]
    approval_expiry_seconds: Option<u32>,
    /// Reasoning requirement of an allow rule (create: from the tool's risk: read none, write soft,
    /// destructive hard).
    #[arg(long, value_enum)]
    reasoning: Option<ReasoningPolicy>,
    /// enforce (it decides) or shadow (only evaluated and logged, to see what it would do; create: enforce).
    #[arg(long, value_enum)]
    mode: Option<RuleMode>,
    /// What the rule is for.
    #[arg(long)]
    description: Option<String>,
    /// A condition, repeatable (all must hold): '<pointer> <op> <value>', such as '/amount lt 500'
    /// or '/to host_in ["*.example.com"]'. The pointer is into the call's arguments (context:/… and
    /// request:/client_ip, request:/time, request:/weekday for the others); the value is JSON, or
    /// else a string. A missing value makes the rule deny, unless --when-skip-missing.
    #[arg(long, value_name = "CONDITION", value_parser = parse_when)]
    when: Vec<Condition>,
    /// With --when: a value the pointer does not find makes the rule not apply, instead of deny.
    #[arg(long, requires = "when")]
    when_skip_missing: bool,
    /// A JSON array of conditions as the API takes them (all_of, any_of, not, time_zone, …); with
    /// --when, these come first.
    #[arg(long, value_name = "FILE")]
    conditions_file: Option<PathBuf>,
}

impl RuleFields {
    /// The conditions given (`None` when neither --when nor --conditions-file is).
    fn conditions(&self) -> Result<Option<Vec<Condition>>, Failure> {
        if self.when.is_empty() && self.conditions_file.is_none() {
            return Ok(None);
        }
        let mut all = match &self.conditions_file {
            Some(path) => read_conditions_file(path).map_err(Failure::Usage)?,
            None => Vec::new(),
        };
        all.extend(self.when.iter().cloned().map(|mut c| {
            if let (Condition::Test(t), true) = (&mut c, self.when_skip_missing) {
                t.on_missing = OnMissing::Skip;
            }
            c
        }));
        Ok(Some(all))
    }
}

pub async fn run(admin: &Admin, out: &Out, cmd: RulesCmd) -> Outcome {
    match cmd {
        RulesCmd::List { agent } => {
            let agent = resolve_agent(admin, &agent).await?;
            let all: Vec<Rule> = admin.rules(&agent.id).try_collect().await?;
            let empty = format!("Agent {} has no rules yet: every call is denied.", agent.name);
            let headers = ["ID", "TOOL", "SCOPE", "EFFECT", "MODE", "REASONING", "CONDITIONS"];
            out.list(&all, &empty, &headers, |r| {
                vec![
                    r.id.clone(),
                    r.tool.clone(),
                    r.scope.clone(),
                    r.effect.as_str().into(),
                    r.mode.as_str().into(),
                    r.require_reasoning.as_str().into(),
                    clip(&compact_all(&r.conditions), 80),
                ]
            });
        }
        RulesCmd::Create { agent, tool, scope, fields } => {
            let conditions = fields.conditions()?;
            let agent = resolve_agent(admin, &agent).await?;
            let body = CreateRule {
                effect: fields.effect,
                require_reasoning: fields.reasoning,
                conditions,
                mode: fields.mode,
                description: fields.description,
                approval_expiry_seconds: fields.approval_expiry_seconds,
                ..CreateRule::allow(tool, scope)
            };
            let rule = admin.create_rule(&agent.id, &body).await?;
            out.print(&rule, show_rule);
        }
        RulesCmd::Show { agent, rule } => {
            let agent = resolve_agent(admin, &agent).await?;
            let rule = admin.get_rule(&agent.id, &rule).await?;
            out.print(&rule, show_rule);
        }
        RulesCmd::Update { agent, rule, fields, clear_conditions } => {
            let conditions = if clear_conditions { Some(Vec::new()) } else { fields.conditions()? };
            let body = UpdateRule {
                effect: fields.effect,
                require_reasoning: fields.reasoning,
                conditions,
                mode: fields.mode,
                description: fields.description,
                approval_expiry_seconds: fields.approval_expiry_seconds,
            };
            if body == UpdateRule::default() {
                return Err(Failure::Usage(
                    "nothing to change: pass --effect, --reasoning, --mode, --description, --approval-expiry-seconds, \
                     --when, --conditions-file or --clear-conditions"
                        .into(),
                ));
            }
            let agent = resolve_agent(admin, &agent).await?;
            let rule = admin.update_rule(&agent.id, &rule, &body).await?;
            out.print(&rule, show_rule);
        }
        RulesCmd::Delete { agent, rule } => {
            let agent = resolve_agent(admin, &agent).await?;
            admin.delete_rule(&agent.id, &rule).await?;
            out.done(format!("Deleted rule {rule}."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--effect`: the API's own names (`require_approval`); `require-approval` is accepted too.
fn effect_parser() -> impl clap::builder::TypedValueParser<Value = Effect> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let names = [
        PossibleValue::new(Effect::Allow.as_str()),
        PossibleValue::new(Effect::Deny.as_str()),
        PossibleValue::new(Effect::RequireApproval.as_str()).alias("require-approval"),
    ];
    PossibleValuesParser::new(names).map(|name| {
        Effect::parse(&name.replace('-', "_")).unwrap_or_else(|| unreachable!("one of the possible values"))
    })
}

fn show_rule(r: &Rule) -> String {
    let keys: Vec<String> = (0..r.conditions.len()).map(|i| format!("conditions[{i}]")).collect();
    let mut pairs = vec![
        ("id", r.id.clone()),
        ("agent", r.agent_id.clone()),
        ("tool", format!("{} ({})", r.tool, r.tool_id)),
        ("scope", r.scope.clone()),
        ("effect", r.effect.as_str().into()),
        ("mode", r.mode.as_str().into()),
        ("reasoning", r.require_reasoning.as_str().into()),
    ];
    if r.effect == Effect::RequireApproval {
        let expiry = r.approval_expiry_seconds.map_or("900 s (the default)".into(), |s| format!("{s} s"));
        pairs.push(("approval expiry", expiry));
    }
    if r.conditions.is_empty() {
        pairs.push(("conditions", "none (the rule always applies)".into()));
    }
    pairs.extend(keys.iter().map(String::as_str).zip(r.conditions.iter().map(compact)));
    if !r.description.is_empty() {
        pairs.push(("description", r.description.clone()));
    }
    pairs.push(("created", r.created_at.clone()));
    pairs.push(("updated", r.updated_at.clone()));
    fields(&pairs)
}
