//! `oakauth audit verify`: check the audit log's tamper-evident hash chains.

use std::process::ExitCode;

use clap::Subcommand;
use oakauth::Admin;

use super::{agent_filter, agent_names, Outcome};
use crate::output::{fields, Out, Table};

/// Exit status of `audit verify` when a chain is broken (0 is intact, 1 any error).
const EXIT_BROKEN: u8 = 4;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Verify each agent's hash chain (or one agent's) and print every break.
    /// Exits 0 when every chain is intact, 4 when any is broken, 1 on an error.
    Verify {
        /// Only this agent (id or name; the id of a deleted agent works too).
        #[arg(long)]
        agent: Option<String>,
    },
}

pub async fn run(admin: &Admin, out: &Out, cmd: AuditCmd) -> Outcome {
    let AuditCmd::Verify { agent } = cmd;
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
