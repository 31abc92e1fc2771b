//! `oakauth rules`: grant scopes to an agent, with a reasoning requirement.

use std::process::ExitCode;

use clap::Subcommand;
use futures_util::TryStreamExt;
use oakauth::wire::{CreateRule, ReasoningPolicy, Rule, UpdateRule};
use oakauth::Admin;

use super::{resolve_agent, Outcome};
use crate::output::{fields, Out};

#[derive(Subcommand)]
pub enum RulesCmd {
    /// List an agent's rules.
    List {
        /// Agent id or name.
        agent: String,
    },
    /// Grant an agent a scope of one of its tools.
    Create {
        /// Agent id or name.
        agent: String,
        /// The tool's name.
        tool: String,
        /// One of the tool's scopes.
        scope: String,
        /// Reasoning requirement (default from the tool's risk: read none, write soft, destructive hard).
        #[arg(long, value_enum)]
        reasoning: Option<ReasoningPolicy>,
    },
    /// Show one rule.
    Show {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
    },
    /// Change a rule's reasoning requirement.
    Update {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
        /// The new reasoning requirement.
        #[arg(long, value_enum)]
        reasoning: ReasoningPolicy,
    },
    /// Delete a rule: the scope is denied from the next request on.
    Delete {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
    },
}

pub async fn run(admin: &Admin, out: &Out, cmd: RulesCmd) -> Outcome {
    match cmd {
        RulesCmd::List { agent } => {
            let agent = resolve_agent(admin, &agent).await?;
            let all: Vec<Rule> = admin.rules(&agent.id).try_collect().await?;
            let empty = format!("Agent {} has no rules yet: every call is denied.", agent.name);
            out.list(&all, &empty, &["ID", "TOOL", "SCOPE", "REASONING"], |r| {
                vec![r.id.clone(), r.tool.clone(), r.scope.clone(), r.require_reasoning.as_str().into()]
            });
        }
        RulesCmd::Create { agent, tool, scope, reasoning } => {
            let agent = resolve_agent(admin, &agent).await?;
            let body = CreateRule { require_reasoning: reasoning, ..CreateRule::allow(tool, scope) };
            let rule = admin.create_rule(&agent.id, &body).await?;
            out.print(&rule, show_rule);
        }
        RulesCmd::Show { agent, rule } => {
            let agent = resolve_agent(admin, &agent).await?;
            let rule = admin.get_rule(&agent.id, &rule).await?;
            out.print(&rule, show_rule);
        }
        RulesCmd::Update { agent, rule, reasoning } => {
            let agent = resolve_agent(admin, &agent).await?;
            let body = UpdateRule { require_reasoning: Some(reasoning), ..Default::default() };
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

fn show_rule(r: &Rule) -> String {
    fields(&[
        ("id", r.id.clone()),
        ("agent", r.agent_id.clone()),
        ("tool", format!("{} ({})", r.tool, r.tool_id)),
        ("scope", r.scope.clone()),
        ("reasoning", r.require_reasoning.as_str().into()),
        ("created", r.created_at.clone()),
        ("updated", r.updated_at.clone()),
    ])
}
