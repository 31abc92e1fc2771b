//! One module per command, each with its arguments, its `run` and its output; here what they share:
//! the failure type, finding agents by id or name, and time bounds.

pub mod agents;
pub mod approvals;
pub mod audit;
pub mod billing;
pub mod conditions;
pub mod events;
pub mod logs;
pub mod mcp;
pub mod proxy;
pub mod rules;
pub mod simulate;
pub mod stats;
pub mod tools;
pub mod usage;
pub mod validate;
pub mod webhooks;
pub mod whoami;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::TryStreamExt;
use oakauth::wire::Agent;
use oakauth::{Admin, Error};

/// A failure of the command, printed as `error: …`.
pub enum Failure {
    /// Said in full; exit status 1.
    Message(String),
    /// The command line asks for something impossible; exit status 2, like clap's own errors.
    Usage(String),
    /// The service or the connection failed; `main` says which key and address were used.
    Api(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(e)
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Message(s)
    }
}

pub type Outcome = Result<ExitCode, Failure>;

/// An agent by id, or else by exact name.
pub async fn resolve_agent(admin: &Admin, agent: &str) -> Result<Agent, Failure> {
    match admin.get_agent(agent).await {
        Ok(a) => return Ok(a),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let all: Vec<Agent> = admin.agents().try_collect().await?;
    all.into_iter()
        .find(|a| a.name == agent)
        .ok_or_else(|| Failure::Message(format!("no agent with id or name {agent:?}")))
}

/// The agent id to filter logs, events or chains on: an agent's id or name, or any well-formed
/// agent id (`agt_` and 20 letters or digits), such as a deleted agent's, whose rows are kept.
pub async fn agent_filter(admin: &Admin, agent: &str) -> Result<String, Failure> {
    if oakauth_core::ids::is_id("agt", agent) {
        return Ok(agent.to_owned());
    }
    Ok(resolve_agent(admin, agent).await?.id)
}

/// `--limit` and `--cursor` of the commands that show one page of a long list, newest first.
#[derive(clap::Args)]
pub struct PageArgs {
    /// How many to show (1 to 200).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: u32,
    /// The next page: the `next_cursor` of the previous `--json` answer.
    #[arg(long)]
    pub cursor: Option<String>,
}

/// `--enable` and `--disable` of the `update` commands.
#[derive(clap::Args)]
pub struct Switch {
    /// Enable it.
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Disable it.
    #[arg(long)]
    disable: bool,
}

impl Switch {
    /// `Some(true)` for --enable, `Some(false)` for --disable, `None` for neither.
    pub fn enabled(&self) -> Option<bool> {
        self.enable.then_some(true).or(self.disable.then_some(false))
    }
}

/// Exit status of `validate` and `simulate` when the answer is a deny (0 is an allow, 1 any error).
pub const EXIT_DENIED: u8 = 3;

/// A JSON object given on the command line (`--context`, `--arguments`).
pub fn json_object(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(format!("not a JSON object such as '{{\"ticket\": 4411}}': {raw:?}")),
    }
}

/// Agent ids to names, for showing rows by name (a deleted agent keeps its id).
pub type AgentNames = HashMap<String, String>;

pub async fn agent_names(admin: &Admin) -> Result<AgentNames, Failure> {
    let agents: Vec<Agent> = admin.agents().try_collect().await?;
    Ok(agents.into_iter().map(|a| (a.id, a.name)).collect())
}

/// The forms `--since` and `--until` accept, for their help and their errors.
pub const TIME_FORMS: &str =
    "an RFC 3339 time (2026-11-22T08:00:00Z), a date (2026-11-22, midnight UTC) or an age (90s, 30m, 2h, 7d)";

/// A time bound (`--since`, `--until`) as RFC 3339: checked and passed through, or computed from
/// an age such as `90s`, `30m`, `2h`, `7d`.
pub fn when(s: &str) -> Result<String, String> {
    let bad = || format!("{s:?} is not a time; use {TIME_FORMS}");
    let seconds_per_unit = match s.chars().last() {
        Some('s') => Some(1),
        Some('m') => Some(60),
        Some('h') => Some(3600),
        Some('d') => Some(86_400),
        _ => None,
    };
    if let Some(per) = seconds_per_unit {
        // At most a century back.
        let n: i64 = s[..s.len() - 1].parse().ok().filter(|n| (0..=3_153_600_000 / per).contains(n)).ok_or_else(bad)?;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
        return Ok(oakauth_core::time::format_ms(now_ms - n * per * 1000));
    }
    oakauth_core::time::parse_rfc3339(s).map_err(|_| bad())?;
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_become_timestamps_and_timestamps_pass_through() {
        assert_eq!(when("2026-01-02T03:04:05Z").unwrap(), "2026-01-02T03:04:05Z");
        assert_eq!(when("2026-01-02").unwrap(), "2026-01-02");
        let ago = when("2h").unwrap();
        let ms = oakauth_core::time::parse_rfc3339(&ago).unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((now - 2 * 3_600_000 - ms).abs() < 5_000, "{ago}");
    }

    #[test]
    fn a_bad_time_names_every_accepted_form() {
        for bad in ["yesterday", "2h30", "xh", "", "2026-13-01", "-5m"] {
            let e = when(bad).unwrap_err();
            assert!(e.contains("RFC 3339") && e.contains("a date") && e.contains("7d"), "{bad:?}: {e}");
        }
    }
}
