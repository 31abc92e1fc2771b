//! `oakauth approvals`: the calls that wait for a person (and those decided before), and deciding
//! them.

use std::process::ExitCode;

use clap::Subcommand;
use oakauth::wire::{Approval, ApprovalDecision, ApprovalStatus, Decision};
use oakauth::{Admin, ApprovalQuery};

use super::{agent_filter, Outcome, PageArgs};
use crate::output::{clip, fields, Out};

#[derive(Subcommand)]
pub enum ApprovalsCmd {
    /// List approvals, newest first: each with its status, agent, call and arguments.
    List {
        /// Only approvals with this status (as of now: a pending approval past its expiry is expired).
        #[arg(long, value_enum)]
        status: Option<ApprovalStatus>,
        /// Only this agent's (id or name; the id of a deleted agent works too).
        #[arg(long)]
        agent: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one approval with the call it is for: arguments (redacted), reasoning, rule, who decided.
    Show {
        /// Approval id (apr_…).
        approval: String,
    },
    /// Approve a pending approval: the agent's identical call is then allowed, once.
    Approve {
        /// Approval id (apr_…).
        approval: String,
        /// A comment the agent sees (at most 1000 characters).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deny a pending approval: the agent's call is then denied (approval_denied), with the comment.
    Deny {
        /// Approval id (apr_…).
        approval: String,
        /// A comment the agent sees, such as why (at most 1000 characters).
        #[arg(long)]
        comment: Option<String>,
    },
}

pub async fn run(admin: &Admin, out: &Out, cmd: ApprovalsCmd) -> Outcome {
    match cmd {
        ApprovalsCmd::List { status, agent, page: PageArgs { limit, cursor } } => {
            let agent_id = match &agent {
                Some(a) => Some(agent_filter(admin, a).await?),
                None => None,
            };
            let query = ApprovalQuery { status, agent_id, limit: Some(limit), cursor };
            let page = admin.list_approvals(&query).await?;
            let headers = ["ID", "STATUS", "AGENT", "CALL", "ARGUMENTS", "REQUESTED", "EXPIRES"];
            out.page(&page, &page.approvals, page.next_cursor.is_some(), "approvals", &headers, |a| {
                vec![
                    a.id.clone(),
                    a.status.as_str().into(),
                    agent_name(a),
                    format!("{}:{}", a.tool, a.scope),
                    clip(&arguments(a), 60),
                    a.created_at.clone(),
                    a.expires_at.clone(),
                ]
            });
        }
        ApprovalsCmd::Show { approval } => {
            let approval = admin.get_approval(&approval).await?;
            out.print(&approval, show);
        }
        ApprovalsCmd::Approve { approval, comment } => {
            decide(admin, out, &approval, Decision::Approve, comment).await?
        }
        ApprovalsCmd::Deny { approval, comment } => decide(admin, out, &approval, Decision::Deny, comment).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn decide(
    admin: &Admin,
    out: &Out,
    approval: &str,
    decision: Decision,
    comment: Option<String>,
) -> Result<(), super::Failure> {
    let decided = admin.decide_approval(approval, &ApprovalDecision { decision, comment }).await?;
    out.print(&decided, show);
    Ok(())
}

/// The agent by name while it exists, else its id.
fn agent_name(a: &Approval) -> String {
    a.agent_name.clone().unwrap_or_else(|| a.agent_id.clone())
}

/// The call's (redacted) arguments as compact JSON, `-` when it had none.
fn arguments(a: &Approval) -> String {
    a.arguments.as_ref().map_or("-".into(), |args| serde_json::Value::Object(args.clone()).to_string())
}

fn show(a: &Approval) -> String {
    let mut pairs = vec![
        ("id", a.id.clone()),
        ("status", a.status.as_str().into()),
        ("agent", format!("{} ({})", agent_name(a), a.agent_id)),
        ("call", format!("{}:{}", a.tool, a.scope)),
        ("arguments", arguments(a)),
        ("arguments digest", a.arguments_digest.clone()),
        ("reasoning", a.reasoning.clone().unwrap_or_else(|| "-".into())),
        ("rule", format!("{} (version {})", a.rule_id, a.rule_version)),
        ("requested", format!("{} (decision {})", a.created_at, a.requested_by)),
        ("expires", a.expires_at.clone()),
    ];
    if let Some(at) = &a.decided_at {
        let by = a.decided_by.as_deref().map(|b| format!(" by {b}…")).unwrap_or_default();
        pairs.push(("decided", format!("{at}{by}")));
    }
    if let Some(comment) = &a.comment {
        pairs.push(("comment", comment.clone()));
    }
    if let Some(at) = &a.consumed_at {
        pairs.push(("used", format!("{at} (decision {})", a.consumed_by.as_deref().unwrap_or("-"))));
    }
    if a.status == ApprovalStatus::Pending {
        pairs.push((
            "next",
            format!("oakauth approvals approve {0}   or   oakauth approvals deny {0} --comment …", a.id),
        ));
    }
    fields(&pairs)
}
