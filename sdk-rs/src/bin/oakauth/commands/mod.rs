//! One module per command, each with its arguments, its `run` and its output; here what they share:
//! the failure type, finding agents by id or name, and time bounds.

pub mod agents;
pub mod audit;
pub mod events;
pub mod logs;
pub mod rules;
pub mod stats;
pub mod tools;
pub mod validate;
pub mod whoami;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::TryStreamExt;
use oakauth::wire::Agent;
use oakauth::{Admin, Error};

/// A failure of the command, printed as `error: …`.
pub struct Failure(pub String);

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

pub type Outcome = Result<ExitCode, Failure>;

/// An agent by id, or else by exact name.
pub async fn resolve_agent(admin: &Admin, agent: &str) -> Result<Agent, Failure> {
    match admin.get_agent(agent).await {
        Ok(a) => return Ok(a),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let all: Vec<Agent> = admin.agents().try_collect().await?;
    all.into_iter().find(|a| a.name == agent).ok_or_else(|| Failure(format!("no agent with id or name {agent:?}")))
}

/// The agent id to filter on: an agent's id or name, or the id of a deleted agent (which the
/// service still knows from its events and log rows).
pub async fn agent_filter(admin: &Admin, agent: &str) -> Result<String, Failure> {
    match resolve_agent(admin, agent).await {
        Ok(a) => Ok(a.id),
        Err(_) if agent.starts_with("agt_") => Ok(agent.to_owned()),
        Err(e) => Err(e),
    }
}

/// Agent ids to names, for showing rows by name (a deleted agent keeps its id).
pub type AgentNames = HashMap<String, String>;

pub async fn agent_names(admin: &Admin) -> Result<AgentNames, Failure> {
    let agents: Vec<Agent> = admin.agents().try_collect().await?;
    Ok(agents.into_iter().map(|a| (a.id, a.name)).collect())
}

/// A time bound as RFC 3339: passed through, or computed from an age such as `90s`, `30m`, `2h`, `7d`.
pub fn when(s: String) -> Result<String, Failure> {
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
}
