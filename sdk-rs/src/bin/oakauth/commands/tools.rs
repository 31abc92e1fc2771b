//! `oakauth tools`: register and manage an agent's tools and their scopes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use futures_util::TryStreamExt;
use oakauth::wire::{CreateTool, RiskLevel, Tool, UpdateTool};
use oakauth::{Admin, Error};

use super::{resolve_agent, Failure, Outcome};
use crate::output::{clip, fields, Out};

#[derive(Subcommand)]
pub enum ToolsCmd {
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
        risk: RiskLevel,
        /// What the tool does.
        #[arg(long)]
        description: Option<String>,
        /// A JSON file with the JSON Schema of the tool's arguments (an MCP tool's inputSchema):
        /// calls whose arguments do not fit are denied, and rule conditions are checked against it.
        #[arg(long, value_name = "FILE")]
        input_schema: Option<PathBuf>,
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
        risk: Option<RiskLevel>,
        /// A JSON file with a new input schema.
        #[arg(long, value_name = "FILE", conflicts_with = "no_input_schema")]
        input_schema: Option<PathBuf>,
        /// Remove the input schema.
        #[arg(long)]
        no_input_schema: bool,
    },
    /// Delete a tool and its rules.
    Delete {
        /// Agent id or name.
        agent: String,
        /// Tool id or name.
        tool: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(admin: &Admin, out: &Out, cmd: ToolsCmd) -> Outcome {
    match cmd {
        ToolsCmd::List { agent } => {
            let agent = resolve_agent(admin, &agent).await?;
            let all: Vec<Tool> = admin.tools(&agent.id).try_collect().await?;
            let empty = format!("Agent {} has no tools yet.", agent.name);
            out.list(&all, &empty, &["ID", "NAME", "RISK", "SCOPES", "DESCRIPTION"], |tool| {
                let risk = tool.risk_level.as_str().into();
                vec![tool.id.clone(), tool.name.clone(), risk, tool.scopes.join(","), clip(&tool.description, 50)]
            });
        }
        ToolsCmd::Create { agent, name, scopes, risk, description, input_schema } => {
            let input_schema = input_schema.as_deref().map(read_schema).transpose()?;
            let agent = resolve_agent(admin, &agent).await?;
            let body = CreateTool { name, description, scopes, risk_level: risk, input_schema };
            let tool = admin.create_tool(&agent.id, &body).await?;
            out.print(&tool, show_tool);
        }
        ToolsCmd::Show { agent, tool } => {
            let agent = resolve_agent(admin, &agent).await?;
            let tool = resolve_tool(admin, &agent.id, &tool).await?;
            out.print(&tool, show_tool);
        }
        ToolsCmd::Update { agent, tool, name, description, scopes, risk, input_schema, no_input_schema } => {
            let input_schema = match (input_schema, no_input_schema) {
                (Some(path), _) => Some(Some(read_schema(&path)?)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let body = UpdateTool { name, description, scopes, risk_level: risk, input_schema };
            if body == UpdateTool::default() {
                return Err(Failure::Usage(
                    "nothing to change: pass --name, --description, --scopes, --risk, --input-schema or --no-input-schema"
                        .into(),
                ));
            }
            let agent = resolve_agent(admin, &agent).await?;
            let tool = resolve_tool(admin, &agent.id, &tool).await?;
            let updated = admin.update_tool(&agent.id, &tool.id, &body).await?;
            out.print(&updated, show_tool);
        }
        ToolsCmd::Delete { agent, tool, yes } => {
            let agent = resolve_agent(admin, &agent).await?;
            let tool = resolve_tool(admin, &agent.id, &tool).await?;
            if !yes {
                return Err(format!(
                    "this deletes tool {} ({}) of agent {} with its rules; run again with --yes to confirm",
                    tool.name, tool.id, agent.name
                )
                .into());
            }
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
        ("input schema", t.input_schema.as_ref().map_or_else(|| "-".into(), |s| s.to_string())),
        ("created", t.created_at.clone()),
        ("updated", t.updated_at.clone()),
    ])
}

/// A JSON Schema from a file (the service checks that it compiles).
fn read_schema(path: &Path) -> Result<serde_json::Value, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("--input-schema {}: {e}", path.display())))?;
    let schema: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("--input-schema {}: not JSON: {e}", path.display())))?;
    if !schema.is_object() {
        return Err(Failure::Usage(format!("--input-schema {}: a JSON Schema is an object", path.display())));
    }
    Ok(schema)
}

/// A tool by id, or else by name.
async fn resolve_tool(admin: &Admin, agent_id: &str, tool: &str) -> Result<Tool, Failure> {
    match admin.get_tool(agent_id, tool).await {
        Ok(t) => return Ok(t),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let all: Vec<Tool> = admin.tools(agent_id).try_collect().await?;
    all.into_iter()
        .find(|t| t.name == tool)
        .ok_or_else(|| Failure::Message(format!("no tool with id or name {tool:?}")))
}
