//! The command line: global options and the list of commands. Each command's own arguments live
//! with it in `commands/`.

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};

use crate::commands::{
    agents, approvals, audit, billing, events, logs, mcp, proxy, rules, simulate, stats, tools, validate, webhooks,
};

/// Printed after `--help`: where keys and the service address come from.
const KEYS_HELP: &str = "\
Keys: the admin key (oakadm_…) is read from OAKAUTH_ADMIN_KEY, or asked for at a prompt that does \
not echo it when standard input is a terminal; the agent key (oak_…) of `validate` likewise from \
OAKAUTH_API_KEY or a prompt. Prefer these: --admin-key and --api-key still work but are deprecated, \
since a key on the command line is visible to other users of this machine (ps, /proc) and stays in \
your shell history.

Service: --base-url or OAKAUTH_BASE_URL is required (there is no default). It must be https://; \
plain http:// is accepted only to a loopback host (127.0.0.0/8, ::1, localhost), and only with \
--allow-insecure-loopback or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1.";

#[derive(Parser)]
#[command(
    name = "oakauth",
    version,
    about = "Manage OakAuth agents, tools and rules; decide approvals; manage webhooks; read the audit log.",
    after_help = KEYS_HELP
)]
pub struct Cli {
    /// Base URL of the OakAuth service, such as https://oakauth.example.com (required).
    #[arg(long, global = true, env = "OAKAUTH_BASE_URL")]
    pub base_url: Option<String>,
    /// Allow a plain http:// base URL to a loopback host (127.0.0.0/8, ::1, localhost), such as
    /// the local service of scripts/dev.sh. http:// to any other host is always refused.
    #[arg(long, global = true, env = "OAKAUTH_ALLOW_INSECURE_LOOPBACK", value_parser = BoolishValueParser::new())]
    pub allow_insecure_loopback: bool,
    /// Deprecated, visible to other users via `ps`: set OAKAUTH_ADMIN_KEY or type the key at the
    /// prompt instead. Admin key (`oakadm_…`).
    #[arg(long, global = true, value_name = "KEY")]
    pub admin_key: Option<String>,
    /// Print JSON instead of tables: a page of logs, events, approvals or deliveries with its
    /// `next_cursor`; with `logs --follow`, one JSON object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for each answer.
    #[arg(long, global = true, default_value_t = 10)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create, list, change and delete agents; rotate their keys.
    #[command(subcommand)]
    Agents(agents::AgentsCmd),
    /// Register and manage an agent's tools and their scopes.
    #[command(subcommand)]
    Tools(tools::ToolsCmd),
    /// Allow, deny or require approval for an agent's tool scopes, with reasoning requirements,
    /// conditions on the call's arguments, and shadow mode.
    #[command(subcommand)]
    Rules(rules::RulesCmd),
    /// The calls that wait for a person's approval (and those decided before): list, show,
    /// approve, deny.
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCmd),
    /// Register endpoints for signed event webhooks; rotate their secrets; read their delivery logs.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCmd),
    /// Read the audit log, newest first; `--follow` keeps printing new decisions.
    Logs(logs::LogsArgs),
    /// What admins did to agents, keys, tools and rules (who, what, when), newest first.
    Events(events::EventsArgs),
    /// Check the audit log's tamper-evident hash chains.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Counts of allowed and denied decisions (default: today, UTC).
    Stats(stats::StatsArgs),
    /// Ask OakAuth as an agent whether a call would be allowed (it is logged like any other).
    /// Exits 0 when allowed, 3 when denied, 1 on an error.
    Validate(validate::ValidateArgs),
    /// Decide a call as the service would, with the agent's rules or draft ones (--rules-file),
    /// and show each rule's part; nothing is logged. Exits 0 when allowed, 3 when denied, 1 on an error.
    Simulate(simulate::SimulateArgs),
    /// Decide the agent's latest audited calls again with draft rules (--rules-file) and show
    /// the calls whose decision would change; nothing is logged.
    Replay(simulate::ReplayArgs),
    /// Show the organization of the admin key.
    Whoami,
    /// The organization's plan and this month's use of each limit (validations, agents, members,
    /// webhook endpoints), by day and by agent.
    Usage,
    /// The plans and their limits.
    Plans,
    /// Subscribe with Stripe Checkout, or manage the subscription in the Customer Portal (owners).
    #[command(subcommand)]
    Billing(billing::BillingCmd),
    /// Serve the admin API as MCP tools over stdio, for an AI assistant (an MCP host such as
    /// Claude Desktop runs `oakauth mcp`). The admin key comes from OAKAUTH_ADMIN_KEY (never a
    /// prompt); without one it does not start. See docs/mcp-admin.md.
    Mcp(mcp::McpArgs),
    /// Put OakAuth in front of an MCP server: `oakauth proxy --config oakauth-proxy.toml -- <command>`
    /// (stdio, or Streamable HTTP with --listen); `oakauth proxy discover` registers an MCP
    /// server's tools and writes the configuration. See docs/proxy.md.
    Proxy(proxy::ProxyArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
