//! `oakauth agents`: create, list, change and delete agents; rotate their keys.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use oakauth::wire::{Agent, AgentWithKey, CreateAgent, RateLimitConfig, RotateKey, UpdateAgent};
use oakauth::Admin;

use super::{resolve_agent, Failure, Outcome, Switch};
use crate::output::{fields, Out};

#[derive(Subcommand)]
pub enum AgentsCmd {
    /// List all agents.
    List,
    /// Create an agent and print its key (shown this once).
    Create {
        /// A name, unique in the organization.
        name: String,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        limit: LimitArgs,
    },
    /// Show one agent.
    Show {
        /// Agent id or name.
        agent: String,
    },
    /// Rename, enable or disable an agent, or change its rate limit.
    Update {
        /// Agent id or name.
        agent: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        switch: Switch,
        #[command(flatten)]
        limit: LimitArgs,
    },
    /// Disable an agent: its next request is denied.
    Disable {
        /// Agent id or name.
        agent: String,
    },
    /// Enable a disabled agent.
    Enable {
        /// Agent id or name.
        agent: String,
    },
    /// Issue a new key (shown this once); the old one keeps working for --overlap seconds.
    RotateKey {
        /// Agent id or name.
        agent: String,
        /// Seconds the previous key keeps working (default 300; 0 revokes it at once).
        #[arg(long)]
        overlap: Option<u32>,
    },
    /// Delete an agent with its keys, tools and rules (its log rows are kept).
    Delete {
        /// Agent id or name.
        agent: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
pub struct LimitArgs {
    /// Rate limit: bucket size (burst).
    #[arg(long)]
    capacity: Option<u32>,
    /// Rate limit: tokens added per second.
    #[arg(long)]
    refill: Option<f64>,
}

pub async fn run(admin: &Admin, out: &Out, cmd: AgentsCmd) -> Outcome {
    match cmd {
        AgentsCmd::List => {
            let all: Vec<Agent> = admin.agents().try_collect().await?;
            let empty = "No agents yet. Create one with: oakauth agents create NAME";
            out.list(&all, empty, &["ID", "NAME", "STATUS", "KEY", "RATE LIMIT", "CREATED"], |a| {
                let key = format!("{}…", a.key_prefix);
                vec![
                    a.id.clone(),
                    a.name.clone(),
                    status(a.enabled).into(),
                    key,
                    rate(&a.rate_limit),
                    a.created_at.clone(),
                ]
            });
        }
        AgentsCmd::Create { name, disabled, limit } => {
            let rate_limit = match (limit.capacity, limit.refill) {
                (None, None) => None,
                (c, r) => {
                    let d = RateLimitConfig::default();
                    Some(RateLimitConfig {
                        capacity: c.unwrap_or(d.capacity),
                        refill_per_second: r.unwrap_or(d.refill_per_second),
                    })
                }
            };
            let body = CreateAgent { name, enabled: disabled.then_some(false), rate_limit };
            let created = admin.create_agent(&body).await?;
            print_key(out, &created);
        }
        AgentsCmd::Show { agent } => {
            let agent = resolve_agent(admin, &agent).await?;
            out.print(&agent, show_agent);
        }
        AgentsCmd::Update { agent, name, switch, limit } => {
            let enabled = switch.enabled();
            if name.is_none() && enabled.is_none() && limit.capacity.is_none() && limit.refill.is_none() {
                return Err(Failure::Usage(
                    "nothing to change: pass --name, --enable, --disable, --capacity or --refill".into(),
                ));
            }
            let current = resolve_agent(admin, &agent).await?;
            let rate_limit = match (limit.capacity, limit.refill) {
                (None, None) => None,
                (c, r) => Some(RateLimitConfig {
                    capacity: c.unwrap_or(current.rate_limit.capacity),
                    refill_per_second: r.unwrap_or(current.rate_limit.refill_per_second),
                }),
            };
            let body = UpdateAgent { name, enabled, rate_limit };
            let updated = admin.update_agent(&current.id, &body).await?;
            out.print(&updated, show_agent);
        }
        AgentsCmd::Disable { agent } => set_enabled(admin, out, &agent, false).await?,
        AgentsCmd::Enable { agent } => set_enabled(admin, out, &agent, true).await?,
        AgentsCmd::RotateKey { agent, overlap } => {
            let current = resolve_agent(admin, &agent).await?;
            let rotated = admin.rotate_key(&current.id, &RotateKey { overlap_seconds: overlap }).await?;
            print_key(out, &rotated);
        }
        AgentsCmd::Delete { agent, yes } => {
            let current = resolve_agent(admin, &agent).await?;
            if !yes {
                return Err(format!(
                    "this deletes agent {} ({}) with its keys, tools and rules; run again with --yes to confirm",
                    current.name, current.id
                )
                .into());
            }
            admin.delete_agent(&current.id).await?;
            out.done(format!("Deleted agent {} ({}).", current.name, current.id));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_enabled(admin: &Admin, out: &Out, agent: &str, enabled: bool) -> Result<(), Failure> {
    let current = resolve_agent(admin, agent).await?;
    let body = UpdateAgent { enabled: Some(enabled), ..Default::default() };
    let updated = admin.update_agent(&current.id, &body).await?;
    out.print(&updated, show_agent);
    Ok(())
}

fn print_key(out: &Out, with_key: &AgentWithKey) {
    out.print(with_key, |k| {
        let mut pairs = vec![
            ("agent", format!("{} ({})", k.agent.name, k.agent.id)),
            ("status", status(k.agent.enabled).into()),
            ("rate limit", rate(&k.agent.rate_limit)),
            ("api key", k.api_key.clone()),
        ];
        if let Some(expires) = &k.previous_key_expires_at {
            pairs.push(("previous key works until", expires.clone()));
        }
        fields(&pairs)
    });
    eprintln!("warning: store this API key now; OakAuth shows it only once.");
}

fn show_agent(a: &Agent) -> String {
    fields(&[
        ("id", a.id.clone()),
        ("name", a.name.clone()),
        ("status", status(a.enabled).into()),
        ("key prefix", format!("{}…", a.key_prefix)),
        ("rate limit", rate(&a.rate_limit)),
        ("created", a.created_at.clone()),
        ("updated", a.updated_at.clone()),
    ])
}

fn status(enabled: bool) -> &'static str {
    if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

fn rate(r: &RateLimitConfig) -> String {
    format!("{} burst, {}/s", r.capacity, r.refill_per_second)
}
