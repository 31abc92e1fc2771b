//! `oakauth events`: what admins did to agents, keys, tools and rules, newest first.

use std::process::ExitCode;

use clap::Args;
use oakauth::{Admin, EventQuery};

use super::{agent_filter, agent_names, AgentNames, Outcome, PageArgs};
use crate::output::{clip, Out};

#[derive(Args)]
pub struct EventsArgs {
    /// Only events about this agent (id or name; the id of a deleted agent works too).
    #[arg(long)]
    agent: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

pub async fn run(admin: &Admin, out: &Out, args: EventsArgs) -> Outcome {
    let EventsArgs { agent, page: PageArgs { limit, cursor } } = args;
    let agent_id = match &agent {
        Some(a) => Some(agent_filter(admin, a).await?),
        None => None,
    };
    let page = admin.list_events(&EventQuery { agent_id, limit: Some(limit), cursor }).await?;
    let names = if out.json || page.events.is_empty() { AgentNames::new() } else { agent_names(admin).await? };
    let headers = ["TIME", "ACTOR", "ACTION", "AGENT", "TARGET", "DETAIL"];
    out.page(&page, &page.events, page.next_cursor.is_some(), "admin events", &headers, |e| {
        vec![
            e.created_at.clone(),
            format!("{}…", e.actor),
            e.action.clone(),
            e.agent_id
                .as_ref()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                .unwrap_or_else(|| "-".into()),
            e.target_id.clone(),
            event_detail(&e.detail),
        ]
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_details_are_one_line_of_fields() {
        let detail = serde_json::json!({"name": "bot", "enabled": false, "rate_limit": {"capacity": 9}});
        assert_eq!(event_detail(&detail), r#"enabled=false name=bot rate_limit={"capacity":9}"#);
        assert_eq!(event_detail(&serde_json::json!({})), "-");
        assert_eq!(event_detail(&serde_json::Value::Null), "-");
        assert_eq!(event_detail(&serde_json::json!({"description": "x".repeat(200)})).chars().count(), 80);
    }
}
