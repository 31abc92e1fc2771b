//! `oakauth`: the OakAuth admin command line, built on the Rust SDK's admin client.

mod table;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures_util::TryStreamExt;
use oakauth::wire::{
    Agent, AgentWithKey, CreateAgent, CreateRule, CreateTool, LogEntry, RateLimitConfig, ReasoningPolicy, RiskLevel,
    RotateKey, Rule, Stats, Tool, UpdateAgent, UpdateRule, UpdateTool,
};
use oakauth::{Admin, Error, EventQuery, LogQuery, OakAuth, ReasonCode, ValidateRequest};
use serde::Serialize;
use table::{clip, fields, Table};

/// Exit status of `validate` when the answer is a deny (0 is an allow, 1 any error).
const EXIT_DENIED: u8 = 3;
/// Exit status of `audit verify` when a chain is broken (0 is intact, 1 any error).
const EXIT_BROKEN: u8 = 4;

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
    about = "Manage OakAuth agents, tools and rules; read the audit log.",
    after_help = KEYS_HELP
)]
struct Cli {
    /// Base URL of the OakAuth service, such as https://oakauth.example.com (required).
    #[arg(long, global = true, env = "OAKAUTH_BASE_URL")]
    base_url: Option<String>,
    /// Allow a plain http:// base URL to a loopback host (127.0.0.0/8, ::1, localhost), such as
    /// the local service of scripts/dev.sh. http:// to any other host is always refused.
    #[arg(long, global = true, env = "OAKAUTH_ALLOW_INSECURE_LOOPBACK", value_parser = BoolishValueParser::new())]
    allow_insecure_loopback: bool,
    /// Deprecated, visible to other users via `ps`: set OAKAUTH_ADMIN_KEY or type the key at the
    /// prompt instead. Admin key (`oakadm_…`).
    #[arg(long, global = true, value_name = "KEY")]
    admin_key: Option<String>,
    /// Print JSON instead of tables (log entries as one JSON object per line).
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for each answer.
    #[arg(long, global = true, default_value_t = 10)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, list, change and delete agents; rotate their keys.
    #[command(subcommand)]
    Agents(AgentsCmd),
    /// Register and manage an agent's tools and their scopes.
    #[command(subcommand)]
    Tools(ToolsCmd),
    /// Grant scopes to an agent, with a reasoning requirement.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Read the audit log, newest first; `--follow` keeps printing new decisions.
    Logs(LogsArgs),
    /// What admins did to agents, keys, tools and rules (who, what, when), newest first.
    Events {
        /// Only events about this agent (id or name; the id of a deleted agent works too).
        #[arg(long)]
        agent: Option<String>,
        /// How many events to show (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Check the audit log's tamper-evident hash chains.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Counts of allowed and denied decisions (default: today, UTC).
    Stats {
        /// Start (RFC 3339, a date, or an age such as 2h or 7d).
        #[arg(long)]
        since: Option<String>,
        /// End, exclusive (same forms as --since).
        #[arg(long)]
        until: Option<String>,
    },
    /// Ask OakAuth as an agent whether a call would be allowed (it is logged like any other).
    /// Exits 0 when allowed, 3 when denied, 1 on an error.
    Validate {
        /// The tool name.
        tool: String,
        /// The scope.
        scope: String,
        /// Why the call is needed.
        #[arg(long)]
        reasoning: Option<String>,
        /// A JSON object recorded (with secrets redacted) in the log.
        #[arg(long)]
        context: Option<String>,
        /// Deprecated, visible to other users via `ps`: set OAKAUTH_API_KEY or type the key at the
        /// prompt instead. Agent key (`oak_…`).
        #[arg(long, value_name = "KEY")]
        api_key: Option<String>,
    },
    /// Show the organization of the admin key.
    Whoami,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify each agent's hash chain (or one agent's) and print every break.
    /// Exits 0 when every chain is intact, 4 when any is broken, 1 on an error.
    Verify {
        /// Only this agent (id or name; the id of a deleted agent works too).
        #[arg(long)]
        agent: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgentsCmd {
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
        /// Enable the agent.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable the agent.
        #[arg(long)]
        disable: bool,
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
struct LimitArgs {
    /// Rate limit: bucket size (burst).
    #[arg(long)]
    capacity: Option<u32>,
    /// Rate limit: tokens added per second.
    #[arg(long)]
    refill: Option<f64>,
}

#[derive(Subcommand)]
enum ToolsCmd {
    /// List an agent's tools.
    List {
        /// Agent id or name.
        agent: String,
    },
    /// Register a tool for an agent.
    Create {
        /// Agent id or name.
        agent: String,
        /// The tool's name, as agents send it.
        name: String,
        /// Its scopes, comma-separated (e.g. read,write).
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// How dangerous it is; sets the default reasoning policy of new rules.
        #[arg(long, value_enum)]
        risk: Risk,
        /// What the tool does.
        #[arg(long)]
        description: Option<String>,
    },
    /// Show one tool (by id or name).
    Show {
        /// Agent id or name.
        agent: String,
        /// Tool id or name.
        tool: String,
    },
    /// Change a tool. New --scopes replace the list, deleting rules of scopes no longer listed.
    Update {
        /// Agent id or name.
        agent: String,
        /// Tool id or name.
        tool: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// The new scope list, comma-separated.
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// A new risk level.
        #[arg(long, value_enum)]
        risk: Option<Risk>,
    },
    /// Delete a tool and its rules.
    Delete {
        /// Agent id or name.
        agent: String,
        /// Tool id or name.
        tool: String,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
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
        reasoning: Option<Reasoning>,
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
        reasoning: Reasoning,
    },
    /// Delete a rule: the scope is denied from the next request on.
    Delete {
        /// Agent id or name.
        agent: String,
        /// Rule id.
        rule: String,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct LogsArgs {
    #[command(subcommand)]
    show: Option<LogsCmd>,
    /// Only this agent (id or name).
    #[arg(long)]
    agent: Option<String>,
    /// Only this tool (by name).
    #[arg(long)]
    tool: Option<String>,
    /// Only this scope.
    #[arg(long)]
    scope: Option<String>,
    /// Only allowed decisions.
    #[arg(long, conflicts_with = "denied")]
    allowed: bool,
    /// Only denied decisions.
    #[arg(long)]
    denied: bool,
    /// Only this reason (e.g. reasoning_required).
    #[arg(long, value_parser = parse_reason)]
    reason: Option<ReasonCode>,
    /// Start (RFC 3339, a date, or an age such as 30m, 2h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// End, exclusive (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// How many entries to show (1 to 200).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Keep running and print new decisions as they are logged.
    #[arg(long, short)]
    follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
}

#[derive(Subcommand)]
enum LogsCmd {
    /// Show one decision's full record.
    Show {
        /// The decision id (`dec_…`).
        decision_id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Risk {
    Read,
    Write,
    Destructive,
}

impl From<Risk> for RiskLevel {
    fn from(r: Risk) -> Self {
        match r {
            Risk::Read => RiskLevel::Read,
            Risk::Write => RiskLevel::Write,
            Risk::Destructive => RiskLevel::Destructive,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Reasoning {
    None,
    Soft,
    Hard,
}

impl From<Reasoning> for ReasoningPolicy {
    fn from(r: Reasoning) -> Self {
        match r {
            Reasoning::None => ReasoningPolicy::None,
            Reasoning::Soft => ReasoningPolicy::Soft,
            Reasoning::Hard => ReasoningPolicy::Hard,
        }
    }
}

fn parse_reason(s: &str) -> Result<ReasonCode, String> {
    ReasonCode::parse(s).ok_or_else(|| {
        let all: Vec<_> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        format!("unknown reason; one of {}", all.join(", "))
    })
}

/// A failure of the command, printed as `error: …`.
struct Failure(String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

type Outcome = Result<ExitCode, Failure>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Outcome {
    let timeout = Duration::from_secs(cli.timeout.max(1));
    let out = Out { json: cli.json };
    let base_url = cli.base_url.filter(|u| !u.is_empty()).ok_or_else(|| {
        "no base URL: pass --base-url or set OAKAUTH_BASE_URL (such as https://oakauth.example.com)".to_owned()
    })?;
    let insecure = cli.allow_insecure_loopback;
    // The SDK names its own setting; say how to give it here.
    let config = |e: Error| match e {
        Error::Config(m) if m.contains("allow_insecure_loopback") => {
            Failure(format!("{m}; for oakauth: --allow-insecure-loopback or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1"))
        }
        other => Failure::from(other),
    };
    if let Command::Validate { tool, scope, reasoning, context, api_key } = cli.command {
        let key = secret(api_key, "--api-key", "OAKAUTH_API_KEY", "agent key (oak_…)")?;
        let oak = OakAuth::builder(key).base_url(&base_url).allow_insecure_loopback(insecure).timeout(timeout);
        return validate(&oak.build().map_err(config)?, &out, tool, scope, reasoning, context).await;
    }
    let key = secret(cli.admin_key, "--admin-key", "OAKAUTH_ADMIN_KEY", "admin key (oakadm_…)")?;
    let admin = Admin::builder(key).base_url(&base_url).allow_insecure_loopback(insecure).timeout(timeout);
    let admin = admin.build().map_err(config)?;
    match cli.command {
        Command::Agents(cmd) => agents(&admin, &out, cmd).await,
        Command::Tools(cmd) => tools(&admin, &out, cmd).await,
        Command::Rules(cmd) => rules(&admin, &out, cmd).await,
        Command::Logs(args) => logs(&admin, &out, args).await,
        Command::Events { agent, limit } => events(&admin, &out, agent, limit).await,
        Command::Audit(AuditCmd::Verify { agent }) => verify_audit(&admin, &out, agent).await,
        Command::Stats { since, until } => {
            let (since, until) = (since.map(when).transpose()?, until.map(when).transpose()?);
            let stats = admin.stats(since.as_deref(), until.as_deref()).await?;
            out.print(&stats, show_stats);
            Ok(ExitCode::SUCCESS)
        }
        Command::Whoami => {
            let me = admin.me().await?;
            out.print(&me, |me| {
                fields(&[
                    ("organization", format!("{} ({})", me.organization.name, me.organization.id)),
                    ("admin key", format!("{}…", me.key_prefix)),
                    ("base URL", admin.base_url().to_owned()),
                ])
            });
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { .. } => unreachable!("handled above"),
    }
}

/// A key: from its (deprecated) flag with a warning, else from the environment, else typed at a
/// prompt without echo when standard input is a terminal.
fn secret(flag: Option<String>, flag_name: &str, env: &str, what: &str) -> Result<String, Failure> {
    if let Some(key) = flag {
        eprintln!(
            "warning: {flag_name} is deprecated: other users of this machine can read it (ps, /proc) and it stays \
             in your shell history; set {env} or type the key at the prompt instead"
        );
        return Ok(key);
    }
    if let Some(key) = std::env::var(env).ok().filter(|k| !k.is_empty()) {
        return Ok(key);
    }
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("OakAuth {what}: "))
            .map_err(|e| format!("could not read the {what}: {e}"))?;
        let typed = typed.trim();
        if !typed.is_empty() {
            return Ok(typed.to_owned());
        }
    }
    Err(Failure(format!("no {what}: set {env} (or run oakauth in a terminal to be asked for it)")))
}

struct Out {
    json: bool,
}

impl Out {
    /// Prints `value` as pretty JSON, or as `human` renders it.
    fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).expect("wire types serialize"));
        } else {
            print!("{}", human(value));
        }
    }

    fn done(&self, what: String) {
        if self.json {
            println!("{}", serde_json::json!({ "ok": true }));
        } else {
            println!("{what}");
        }
    }
}

// Agents

async fn agents(admin: &Admin, out: &Out, cmd: AgentsCmd) -> Outcome {
    match cmd {
        AgentsCmd::List => {
            let all: Vec<Agent> = admin.agents().try_collect().await?;
            out.print(&all, |all| {
                let mut t = Table::new(&["ID", "NAME", "STATUS", "KEY", "RATE LIMIT", "CREATED"]);
                for a in all {
                    t.row(vec![
                        a.id.clone(),
                        a.name.clone(),
                        status(a.enabled).into(),
                        format!("{}…", a.key_prefix),
                        rate(&a.rate_limit),
                        a.created_at.clone(),
                    ]);
                }
                if all.is_empty() {
                    "No agents yet. Create one with: oakauth agents create NAME\n".into()
                } else {
                    t.render()
                }
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
        AgentsCmd::Update { agent, name, enable, disable, limit } => {
            let current = resolve_agent(admin, &agent).await?;
            let rate_limit = match (limit.capacity, limit.refill) {
                (None, None) => None,
                (c, r) => Some(RateLimitConfig {
                    capacity: c.unwrap_or(current.rate_limit.capacity),
                    refill_per_second: r.unwrap_or(current.rate_limit.refill_per_second),
                }),
            };
            let enabled = if enable {
                Some(true)
            } else if disable {
                Some(false)
            } else {
                None
            };
            let body = UpdateAgent { name, enabled, rate_limit };
            if body == UpdateAgent::default() {
                return Err("nothing to change: pass --name, --enable, --disable, --capacity or --refill"
                    .to_owned()
                    .into());
            }
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

/// An agent by id, or else by exact name.
async fn resolve_agent(admin: &Admin, agent: &str) -> Result<Agent, Failure> {
    match admin.get_agent(agent).await {
        Ok(a) => return Ok(a),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let all: Vec<Agent> = admin.agents().try_collect().await?;
    all.into_iter().find(|a| a.name == agent).ok_or_else(|| Failure(format!("no agent with id or name {agent:?}")))
}

// Tools

async fn tools(admin: &Admin, out: &Out, cmd: ToolsCmd) -> Outcome {
    match cmd {
        ToolsCmd::List { agent } => {
            let agent = resolve_agent(admin, &agent).await?;
            let all: Vec<Tool> = admin.tools(&agent.id).try_collect().await?;
            out.print(&all, |all| {
                if all.is_empty() {
                    return format!("Agent {} has no tools yet.\n", agent.name);
                }
                let mut t = Table::new(&["ID", "NAME", "RISK", "SCOPES", "DESCRIPTION"]);
                for tool in all {
                    t.row(vec![
                        tool.id.clone(),
                        tool.name.clone(),
                        tool.risk_level.as_str().into(),
                        tool.scopes.join(","),
                        clip(&tool.description, 50),
                    ]);
                }
                t.render()
            });
        }
        ToolsCmd::Create { agent, name, scopes, risk, description } => {
            let agent = resolve_agent(admin, &agent).await?;
            let body = CreateTool { name, description, scopes, risk_level: risk.into() };
            let tool = admin.create_tool(&agent.id, &body).await?;
            out.print(&tool, show_tool);
        }
        ToolsCmd::Show { agent, tool } => {
            let agent = resolve_agent(admin, &agent).await?;
            let tool = resolve_tool(admin, &agent.id, &tool).await?;
            out.print(&tool, show_tool);
        }
        ToolsCmd::Update { agent, tool, name, description, scopes, risk } => {
            let agent = resolve_agent(admin, &agent).await?;
            let tool = resolve_tool(admin, &agent.id, &tool).await?;
            let body = UpdateTool { name, description, scopes, risk_level: risk.map(Into::into) };
            if body == UpdateTool::default() {
                return Err("nothing to change: pass --name, --description, --scopes or --risk".to_owned().into());
            }
            let updated = admin.update_tool(&agent.id, &tool.id, &body).await?;
            out.print(&updated, show_tool);
        }
        ToolsCmd::Delete { agent, tool } => {
            let agent = resolve_agent(admin, &agent).await?;
            let tool = resolve_tool(admin, &agent.id, &tool).await?;
            admin.delete_tool(&agent.id, &tool.id).await?;
            out.done(format!("Deleted tool {} ({}) and its rules.", tool.name, tool.id));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_tool(t: &Tool) -> String {
    fields(&[
        ("id", t.id.clone()),
        ("agent", t.agent_id.clone()),
        ("name", t.name.clone()),
        ("risk", t.risk_level.as_str().into()),
        ("scopes", t.scopes.join(", ")),
        ("description", t.description.clone()),
        ("created", t.created_at.clone()),
        ("updated", t.updated_at.clone()),
    ])
}

/// A tool by id, or else by name.
async fn resolve_tool(admin: &Admin, agent_id: &str, tool: &str) -> Result<Tool, Failure> {
    match admin.get_tool(agent_id, tool).await {
        Ok(t) => return Ok(t),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let all: Vec<Tool> = admin.tools(agent_id).try_collect().await?;
    all.into_iter().find(|t| t.name == tool).ok_or_else(|| Failure(format!("no tool with id or name {tool:?}")))
}

// Rules

async fn rules(admin: &Admin, out: &Out, cmd: RulesCmd) -> Outcome {
    match cmd {
        RulesCmd::List { agent } => {
            let agent = resolve_agent(admin, &agent).await?;
            let all: Vec<Rule> = admin.rules(&agent.id).try_collect().await?;
            out.print(&all, |all| {
                if all.is_empty() {
                    return format!("Agent {} has no rules yet: every call is denied.\n", agent.name);
                }
                let mut t = Table::new(&["ID", "TOOL", "SCOPE", "REASONING"]);
                for r in all {
                    t.row(vec![r.id.clone(), r.tool.clone(), r.scope.clone(), r.require_reasoning.as_str().into()]);
                }
                t.render()
            });
        }
        RulesCmd::Create { agent, tool, scope, reasoning } => {
            let agent = resolve_agent(admin, &agent).await?;
            let body = CreateRule { tool, scope, require_reasoning: reasoning.map(Into::into) };
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
            let body = UpdateRule { require_reasoning: reasoning.into() };
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

// Logs

async fn logs(admin: &Admin, out: &Out, args: LogsArgs) -> Outcome {
    if let Some(LogsCmd::Show { decision_id }) = args.show {
        let entry = admin.get_log(&decision_id).await?;
        out.print(&entry, show_log);
        return Ok(ExitCode::SUCCESS);
    }
    if !(1..=200).contains(&args.limit) {
        return Err("--limit must be between 1 and 200".to_owned().into());
    }
    let agent_id = match &args.agent {
        Some(a) => Some(resolve_agent(admin, a).await?.id),
        None => None,
    };
    let mut query = LogQuery {
        agent_id,
        tool: args.tool,
        scope: args.scope,
        allowed: if args.allowed {
            Some(true)
        } else if args.denied {
            Some(false)
        } else {
            None
        },
        reason: args.reason,
        since: args.since.map(when).transpose()?,
        until: args.until.map(when).transpose()?,
        limit: Some(args.limit),
        cursor: None,
    };
    let first = admin.list_logs(&query).await?.logs;
    if !args.follow {
        if out.json {
            for e in &first {
                println!("{}", serde_json::to_string(e).expect("wire types serialize"));
            }
        } else if first.is_empty() {
            println!("No decisions match.");
        } else {
            let names = agent_names(admin).await?;
            print!("{}", log_table(first.iter(), &names));
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Following: oldest first, like `tail -f`. Each poll asks for everything since the newest
    // entry seen (inclusive, so entries of the same millisecond are not missed) and drops the
    // ones already printed, which can only be those of that newest millisecond.
    let interval = Duration::from_secs_f64(args.interval.clamp(0.2, 3600.0));
    let mut seen: HashSet<String> = HashSet::new();
    let mut newest = query.since.clone();
    let mut batch = first;
    let mut header = !out.json;
    let mut names = if out.json { AgentNames::new() } else { agent_names(admin).await? };
    loop {
        if !out.json && batch.iter().any(|e| !names.contains_key(&e.agent_id)) {
            // A new agent since the names were read; a failure here only costs the names.
            if let Ok(fresh) = agent_names(admin).await {
                names = fresh;
            }
        }
        batch.retain(|e| !seen.contains(&e.decision_id));
        batch.reverse();
        if header && !batch.is_empty() {
            print!("{}", log_header());
            header = false;
        }
        for e in &batch {
            if out.json {
                println!("{}", serde_json::to_string(e).expect("wire types serialize"));
            } else {
                print!("{}", log_row(e, &names));
            }
            if newest.as_deref().is_none_or(|n| e.created_at.as_str() > n) {
                newest = Some(e.created_at.clone());
                seen.clear();
            }
            if newest.as_deref() == Some(e.created_at.as_str()) {
                seen.insert(e.decision_id.clone());
            }
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        tokio::time::sleep(interval).await;
        query.since = newest.clone();
        query.limit = Some(200);
        batch = match admin.logs(query.clone()).try_collect().await {
            Ok(b) => b,
            Err(e) if e.is_transient() => {
                eprintln!("warning: {e}; retrying");
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
    }
}

// Admin events and audit verification

/// The agent id to filter on: an agent's id or name, or the id of a deleted agent (which the
/// service still knows from its events and log rows).
async fn agent_filter(admin: &Admin, agent: &str) -> Result<String, Failure> {
    match resolve_agent(admin, agent).await {
        Ok(a) => Ok(a.id),
        Err(_) if agent.starts_with("agt_") => Ok(agent.to_owned()),
        Err(e) => Err(e),
    }
}

async fn events(admin: &Admin, out: &Out, agent: Option<String>, limit: u32) -> Outcome {
    if !(1..=200).contains(&limit) {
        return Err("--limit must be between 1 and 200".to_owned().into());
    }
    let agent_id = match &agent {
        Some(a) => Some(agent_filter(admin, a).await?),
        None => None,
    };
    let page = admin.list_events(&EventQuery { agent_id, limit: Some(limit), cursor: None }).await?;
    if out.json {
        out.print(&page.events, |_| String::new());
        return Ok(ExitCode::SUCCESS);
    }
    if page.events.is_empty() {
        println!("No admin events match.");
        return Ok(ExitCode::SUCCESS);
    }
    let names = agent_names(admin).await?;
    let mut t = Table::new(&["TIME", "ACTOR", "ACTION", "AGENT", "TARGET", "DETAIL"]);
    for e in &page.events {
        t.row(vec![
            e.created_at.clone(),
            format!("{}…", e.actor),
            e.action.clone(),
            e.agent_id
                .as_ref()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                .unwrap_or_else(|| "-".into()),
            e.target_id.clone(),
            event_detail(&e.detail),
        ]);
    }
    print!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

/// An event's detail (the fields that were set) on one line: `name=support-bot enabled=true`.
fn event_detail(detail: &serde_json::Value) -> String {
    let text = match detail {
        serde_json::Value::Object(map) if map.is_empty() => return "-".into(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::Null => return "-".into(),
        other => other.to_string(),
    };
    clip(&text, 80)
}

async fn verify_audit(admin: &Admin, out: &Out, agent: Option<String>) -> Outcome {
    let agent_id = match &agent {
        Some(a) => Some(agent_filter(admin, a).await?),
        None => None,
    };
    let report = admin.verify_audit(agent_id.as_deref()).await?;
    let code = if report.ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_BROKEN) };
    if out.json {
        out.print(&report, |_| String::new());
        return Ok(code);
    }
    if report.agents.is_empty() {
        println!("No agents: nothing to verify.");
        return Ok(code);
    }
    let names = agent_names(admin).await?;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| "(deleted)".into());
    let paren = |id: &str| names.get(id).cloned().unwrap_or_else(|| "deleted".into());
    let mut t = Table::new(&["AGENT", "NAME", "CHAIN", "ROWS CHECKED", "HEAD"]);
    for a in &report.agents {
        t.row(vec![
            a.agent_id.clone(),
            name(&a.agent_id),
            if a.ok { "intact" } else { "BROKEN" }.into(),
            a.rows_checked.to_string(),
            a.head_seq.to_string(),
        ]);
    }
    print!("{}", t.render());
    for a in report.agents.iter().filter(|a| !a.breaks.is_empty()) {
        let more =
            if a.breaks_omitted > 0 { format!(", and {} more not listed", a.breaks_omitted) } else { String::new() };
        println!("\nBreaks in the chain of {} ({}){more}:", a.agent_id, paren(&a.agent_id));
        for b in &a.breaks {
            print!(
                "{}",
                fields(&[
                    ("seq", b.chain_seq.to_string()),
                    ("decision", b.decision_id.clone().unwrap_or_else(|| "- (no row at this place)".into())),
                    ("problem", b.problem.clone()),
                ])
            );
        }
    }
    let n = report.agents.len();
    let agents = if n == 1 { "agent" } else { "agents" };
    if report.ok {
        println!("\nEvery chain is intact ({n} {agents}).");
    } else {
        println!("\nBroken chains: {} of {n} {agents}.", report.agents.iter().filter(|a| !a.ok).count());
    }
    Ok(code)
}

fn log_columns() -> Table {
    Table::new(&["TIME", "DECISION", "AGENT", "TOOL:SCOPE", "RESULT", "REASON", "REASONING"])
}

/// Agent ids to names, for showing log entries (a deleted agent keeps its id).
type AgentNames = std::collections::HashMap<String, String>;

async fn agent_names(admin: &Admin) -> Result<AgentNames, Failure> {
    let agents: Vec<Agent> = admin.agents().try_collect().await?;
    Ok(agents.into_iter().map(|a| (a.id, a.name)).collect())
}

fn log_cells(e: &LogEntry, names: &AgentNames) -> Vec<String> {
    vec![
        e.created_at.clone(),
        e.decision_id.clone(),
        names.get(&e.agent_id).cloned().unwrap_or_else(|| e.agent_id.clone()),
        format!("{}:{}", e.tool, e.scope),
        if e.allowed { "allowed" } else { "DENIED" }.into(),
        e.reason.as_str().into(),
        e.reasoning.as_deref().map(|r| clip(r, 60)).unwrap_or_else(|| "-".into()),
    ]
}

fn log_table<'a>(entries: impl Iterator<Item = &'a LogEntry>, names: &AgentNames) -> String {
    let mut t = log_columns();
    for e in entries {
        t.row(log_cells(e, names));
    }
    t.render()
}

/// Column widths for `--follow`, where rows are printed before later ones are known: wide enough
/// for timestamps, ids and reason codes; longer names push their row's later columns right.
const FOLLOW_WIDTHS: [usize; 6] = [24, 24, 20, 28, 7, 22];

/// The header line for `--follow`.
fn log_header() -> String {
    let cells = ["TIME", "DECISION", "AGENT", "TOOL:SCOPE", "RESULT", "REASON", "REASONING"].map(str::to_owned);
    table::fixed(&cells, &FOLLOW_WIDTHS)
}

/// One entry as a line for `--follow`.
fn log_row(e: &LogEntry, names: &AgentNames) -> String {
    table::fixed(&log_cells(e, names), &FOLLOW_WIDTHS)
}

fn show_log(e: &LogEntry) -> String {
    fields(&[
        ("decision", e.decision_id.clone()),
        ("request", e.request_id.clone()),
        ("time", e.created_at.clone()),
        ("agent", e.agent_id.clone()),
        ("tool", e.tool.clone()),
        ("scope", e.scope.clone()),
        ("result", if e.allowed { "allowed" } else { "denied" }.into()),
        ("reason", e.reason.as_str().into()),
        ("reasoning required", e.reasoning_required.as_str().into()),
        ("reasoning provided", e.reasoning_provided.to_string()),
        ("reasoning", e.reasoning.clone().unwrap_or_else(|| "-".into())),
        (
            "context",
            e.context.as_ref().map(|c| serde_json::Value::Object(c.clone()).to_string()).unwrap_or_else(|| "-".into()),
        ),
        ("latency", format!("{} ms", e.latency_ms)),
    ])
}

fn show_stats(s: &Stats) -> String {
    let mut out = fields(&[
        ("from", s.since.clone()),
        ("until", s.until.clone()),
        ("decisions", s.total.to_string()),
        ("allowed", s.allowed.to_string()),
        ("denied", s.denied.to_string()),
    ]);
    if !s.denials_by_reason.is_empty() {
        let mut t = Table::new(&["DENIAL REASON", "COUNT"]);
        for (reason, count) in &s.denials_by_reason {
            t.row(vec![reason.clone(), count.to_string()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if !s.top_tools.is_empty() {
        let mut t = Table::new(&["TOOL", "DECISIONS", "DENIED"]);
        for tool in &s.top_tools {
            t.row(vec![tool.tool.clone(), tool.total.to_string(), tool.denied.to_string()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if !s.agents.is_empty() {
        let mut t = Table::new(&["AGENT", "NAME", "DECISIONS", "ALLOWED", "DENIED"]);
        for a in &s.agents {
            t.row(vec![
                a.agent_id.clone(),
                a.name.clone().unwrap_or_else(|| "(deleted)".into()),
                a.total.to_string(),
                a.allowed.to_string(),
                a.denied.to_string(),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

// Validate

async fn validate(
    oak: &OakAuth,
    out: &Out,
    tool: String,
    scope: String,
    reasoning: Option<String>,
    context: Option<String>,
) -> Outcome {
    let mut request = ValidateRequest::new(tool, scope);
    request.reasoning = reasoning;
    if let Some(raw) = context {
        match serde_json::from_str(&raw) {
            Ok(serde_json::Value::Object(map)) => request.context = Some(map),
            _ => return Err(format!("--context must be a JSON object, got {raw:?}").into()),
        }
    }
    let decision = oak.validate(&request).await?;
    out.print(&decision.response, |d| {
        let mut pairs = vec![
            ("result", if decision.is_allowed() { "allowed" } else { "DENIED" }.to_owned()),
            ("reason", d.reason.as_str().into()),
            ("message", d.message.clone()),
            ("decision", d.decision_id.clone()),
            ("reasoning required", d.reasoning_required.as_str().into()),
            ("reasoning provided", d.reasoning_provided.to_string()),
        ];
        if let Some(rl) = &d.rate_limit {
            pairs.push(("rate limit", format!("{} of {} left, full in {}s", rl.remaining, rl.limit, rl.reset)));
        }
        if let Some(ra) = decision.retry_after {
            pairs.push(("retry after", format!("{}s", ra.as_secs())));
        }
        fields(&pairs)
    });
    Ok(if decision.is_allowed() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_DENIED) })
}

/// A time bound as RFC 3339: passed through, or computed from an age such as `90s`, `30m`, `2h`, `7d`.
fn when(s: String) -> Result<String, Failure> {
    let Some(unit) = s.chars().last() else {
        return Err(Failure("empty time".into()));
    };
    let seconds_per_unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Ok(s),
    };
    let Ok(n) = s[..s.len() - 1].parse::<i64>() else {
        return Ok(s);
    };
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
    Ok(oakauth_core::time::format_ms(now_ms - n * seconds_per_unit * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_become_timestamps_and_timestamps_pass_through() {
        assert_eq!(when("2026-01-02T03:04:05Z".into()).ok().unwrap(), "2026-01-02T03:04:05Z");
        let ago = when("2h".into()).ok().unwrap();
        let ms = oakauth_core::time::parse_rfc3339(&ago).unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((now - 2 * 3_600_000 - ms).abs() < 5_000, "{ago}");
    }

    #[test]
    fn event_details_are_one_line_of_fields() {
        let detail = serde_json::json!({"name": "bot", "enabled": false, "rate_limit": {"capacity": 9}});
        assert_eq!(event_detail(&detail), r#"enabled=false name=bot rate_limit={"capacity":9}"#);
        assert_eq!(event_detail(&serde_json::json!({})), "-");
        assert_eq!(event_detail(&serde_json::Value::Null), "-");
        assert_eq!(event_detail(&serde_json::json!({"description": "x".repeat(200)})).chars().count(), 80);
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
