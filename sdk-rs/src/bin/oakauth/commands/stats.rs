//! `oakauth stats`: counts of allowed and denied decisions.

use std::process::ExitCode;

use clap::Args;
use oakauth::wire::Stats;
use oakauth::Admin;

use super::{when, Outcome};
use crate::output::{fields, Out, Table};

#[derive(Args)]
pub struct StatsArgs {
    /// Start (RFC 3339, a date, or an age such as 2h or 7d).
    #[arg(long, value_parser = when)]
    since: Option<String>,
    /// End, exclusive (same forms as --since).
    #[arg(long, value_parser = when)]
    until: Option<String>,
}

pub async fn run(admin: &Admin, out: &Out, args: StatsArgs) -> Outcome {
    let stats = admin.stats(args.since.as_deref(), args.until.as_deref()).await?;
    out.print(&stats, show_stats);
    Ok(ExitCode::SUCCESS)
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
    if !s.latency.is_empty() {
        let mut t = Table::new(&["DAY (UTC)", "DECISIONS", "P50 MS", "P95 MS", "P99 MS"]);
        for d in &s.latency {
            t.row(vec![
                d.day.clone(),
                d.decisions.to_string(),
                d.p50_ms.to_string(),
                d.p95_ms.to_string(),
                d.p99_ms.to_string(),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}
