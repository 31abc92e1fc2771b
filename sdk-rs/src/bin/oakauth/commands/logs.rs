//! `oakauth logs`: the audit log, newest first; `--follow` keeps printing new decisions.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use oakauth::wire::{Effect, LogEntry};
use oakauth::{Admin, LogQuery, ReasonCode};

use super::conditions::explanation_fields;
use super::{agent_filter, agent_names, when, AgentNames, Outcome};
use crate::output::{clip, fields, fixed, Out, Table};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogsArgs {
    #[command(subcommand)]
    show: Option<LogsCmd>,
    /// Only this agent (id or name; the id of a deleted agent works too).
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
    /// Only decisions that a rule in shadow mode would have denied: what enforcing it would change.
    #[arg(long)]
    shadow_deny: bool,
    /// Start (RFC 3339, a date, or an age such as 30m, 2h, 7d).
    #[arg(long, value_parser = when)]
    since: Option<String>,
    /// End, exclusive (same forms as --since).
    #[arg(long, value_parser = when)]
    until: Option<String>,
    /// How many entries to show (1 to 200).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// The next page: the `next_cursor` of the previous `--json` answer.
    #[arg(long, conflicts_with = "follow")]
    cursor: Option<String>,
    /// Print the newest --limit matching decisions, oldest first, then keep running and print
    /// new ones as they are logged.
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

fn parse_reason(s: &str) -> Result<ReasonCode, String> {
    ReasonCode::parse(s).ok_or_else(|| {
        let all: Vec<_> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        format!("unknown reason; one of {}", all.join(", "))
    })
}

pub async fn run(admin: &Admin, out: &Out, args: LogsArgs) -> Outcome {
    if let Some(LogsCmd::Show { decision_id }) = args.show {
        let entry = admin.get_log(&decision_id).await?;
        out.print(&entry, show_log);
        return Ok(ExitCode::SUCCESS);
    }
    let agent_id = match &args.agent {
        Some(a) => Some(agent_filter(admin, a).await?),
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
        shadow: args.shadow_deny.then_some(Effect::Deny),
        since: args.since,
        until: args.until,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    let page = admin.list_logs(&query).await?;
    if !args.follow {
        if out.json {
            out.print(&page, |_| String::new());
        } else if page.logs.is_empty() {
            println!("No decisions match.");
        } else {
            let names = agent_names(admin).await?;
            print!("{}", log_table(page.logs.iter(), &names));
            if page.next_cursor.is_some() {
                eprintln!("(more decisions match: --json shows next_cursor, --cursor shows the next page)");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let first = page.logs;
    eprintln!(
        "Following the audit log: first the {} newest matching decisions already logged ({} here), oldest \
         first, then each new one as it is logged, every {}s. Ctrl-C stops.",
        args.limit,
        first.len(),
        args.interval
    );

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
                out.json_line(e);
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

/// Reasoning as given, but never blank: an agent that sent only spaces shows as having done so.
fn reasoning(text: &str) -> String {
    if text.is_empty() {
        "(empty)".into()
    } else if text.trim().is_empty() {
        "(whitespace only)".into()
    } else {
        text.to_owned()
    }
}

const LOG_HEADERS: [&str; 8] = ["TIME", "DECISION", "AGENT", "TOOL:SCOPE", "RESULT", "REASON", "REASONING", "WHY"];

fn log_columns() -> Table {
    Table::new(&LOG_HEADERS)
}

/// Why a rule decided (a deny's explanation), and what shadow rules would have denied.
fn why(e: &LogEntry) -> String {
    let mut parts = Vec::new();
    if let Some(x) = e.explanation.as_ref().filter(|_| !e.allowed) {
        parts.push(x.message.clone());
    }
    let shadow: Vec<&str> = e.shadow.iter().filter(|s| s.would == Effect::Deny).map(|s| s.rule_id.as_str()).collect();
    if !shadow.is_empty() {
        parts.push(format!("shadow deny: {}", shadow.join(", ")));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        clip(&parts.join("; "), 80)
    }
}

fn log_cells(e: &LogEntry, names: &AgentNames) -> Vec<String> {
    vec![
        e.created_at.clone(),
        e.decision_id.clone(),
        names.get(&e.agent_id).cloned().unwrap_or_else(|| e.agent_id.clone()),
        format!("{}:{}", e.tool, e.scope),
        if e.allowed { "allowed" } else { "DENIED" }.into(),
        e.reason.as_str().into(),
        e.reasoning.as_deref().map(|r| clip(&reasoning(r), 60)).unwrap_or_else(|| "-".into()),
        why(e),
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
const FOLLOW_WIDTHS: [usize; 7] = [24, 24, 20, 28, 7, 22, 30];

/// The header line for `--follow`.
fn log_header() -> String {
    fixed(&LOG_HEADERS.map(str::to_owned), &FOLLOW_WIDTHS)
}

/// One entry as a line for `--follow`.
fn log_row(e: &LogEntry, names: &AgentNames) -> String {
    fixed(&log_cells(e, names), &FOLLOW_WIDTHS)
}

fn show_log(e: &LogEntry) -> String {
    let object = |m: &Option<serde_json::Map<String, serde_json::Value>>| {
        m.as_ref().map(|c| serde_json::Value::Object(c.clone()).to_string()).unwrap_or_else(|| "-".into())
    };
    let mut pairs = vec![
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
        ("reasoning", e.reasoning.as_deref().map(reasoning).unwrap_or_else(|| "-".into())),
        ("context", object(&e.context)),
        ("arguments", object(&e.arguments)),
    ];
    pairs.extend(e.explanation.iter().flat_map(explanation_fields));
    for s in &e.shadow {
        pairs.push(("shadow", format!("{} would {}", s.rule_id, s.would.as_str())));
    }
    pairs.push(("latency", format!("{} ms", e.latency_ms)));
    fields(&pairs)
}
