//! `oakauth proxy discover`: what an upstream MCP server offers, as OakAuth tools and rules and as
//! a proxy configuration that maps each MCP tool to its OakAuth tool.

use rmcp::model::Tool;
use rmcp::ServiceExt;
use serde_json::Value;

use super::config::Upstream;
use crate::wire::{CreateTool, RiskLevel};
use crate::Error;

/// The scope each discovered tool is registered with, and mapped to.
pub const SCOPE: &str = "call";

/// Lists the upstream's tools (every page).
pub async fn list_tools(upstream: &Upstream) -> Result<Vec<Tool>, Error> {
    let failed = |what: &str, e: &dyn std::fmt::Display| Error::Proxy(format!("the upstream MCP server {what}: {e}"));
    let running = match upstream {
        Upstream::Command(argv) => {
            let mut command = tokio::process::Command::new(&argv[0]);
            command.args(&argv[1..]);
            let transport = rmcp::transport::TokioChildProcess::new(command)
                .map_err(|e| failed(&format!("({}) did not start", argv[0]), &e))?;
            ().serve(transport).await.map_err(|e| failed("did not initialize", &e))?
        }
        Upstream::Url(url) => {
            super::session::ensure_tls_provider();
            let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url.clone());
            ().serve(transport).await.map_err(|e| failed(&format!("at {url} did not initialize"), &e))?
        }
    };
    let tools = running.peer().list_all_tools().await.map_err(|e| failed("did not list its tools", &e));
    let _ = running.cancel().await;
    tools
}

/// The risk level of an MCP tool from its annotations: `readOnlyHint` → read, `destructiveHint`
/// → destructive, anything else → write. (MCP's own default for `destructiveHint` is true, but a
/// tool that says nothing is registered as `write`; raise it by hand if it deletes things.)
pub fn risk_level(tool: &Tool) -> RiskLevel {
    let hints = tool.annotations.as_ref();
    if hints.and_then(|a| a.read_only_hint) == Some(true) {
        RiskLevel::Read
    } else if hints.and_then(|a| a.destructive_hint) == Some(true) {
        RiskLevel::Destructive
    } else {
        RiskLevel::Write
    }
}

/// The OakAuth tool for an MCP tool: its name, description (cut to the service's limit), input
/// schema, the scope [`SCOPE`] and its risk level. `None` when the MCP name is not a valid
/// OakAuth tool name.
pub fn oakauth_tool(tool: &Tool) -> Option<CreateTool> {
    oakauth_core::limits::check_name("tool", &tool.name).ok()?;
    let description = tool
        .description
        .as_deref()
        .map(|d| d.chars().take(oakauth_core::limits::MAX_DESCRIPTION_LEN).collect::<String>().trim().to_owned());
    Some(CreateTool {
        name: tool.name.to_string(),
        description: description.filter(|d| !d.is_empty()),
        scopes: vec![SCOPE.to_owned()],
        risk_level: risk_level(tool),
        input_schema: Some(Value::Object((*tool.input_schema).clone())),
    })
}

/// The configuration file for `tools` (MCP names that are also their OakAuth tool names), with
/// the agent key read from `OAKAUTH_API_KEY`.
pub fn config_text(base_url: &str, allow_insecure_loopback: bool, upstream: &Upstream, tools: &[String]) -> String {
    let q = |s: &str| Value::String(s.to_owned()).to_string();
    let mut out = String::from(
        "# Written by `oakauth proxy discover`. Reference: docs/proxy.md.\n\
         # Unmapped tools are refused; so is everything when OakAuth cannot be reached.\n\
         default = \"deny\"\nhide_denied = false\nreasoning_argument = \"_reasoning\"\n\n[oakauth]\n",
    );
    out.push_str(&format!("base_url = {}\nkey_env = \"OAKAUTH_API_KEY\"\n", q(base_url)));
    if allow_insecure_loopback {
        out.push_str("allow_insecure_loopback = true\n");
    }
    out.push_str("\n[upstream]\n");
    match upstream {
        Upstream::Command(argv) => {
            let items: Vec<String> = argv.iter().map(|a| q(a)).collect();
            out.push_str(&format!("command = [{}]\n", items.join(", ")));
        }
        Upstream::Url(url) => out.push_str(&format!("url = {}\n", q(url))),
    }
    for name in tools {
        out.push_str(&format!("\n[[tools]]\nmatch = {}\ntool = {}\nscope = {}\n", q(name), q(name), q(SCOPE)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ToolAnnotations;
    use std::sync::Arc;

    fn tool(name: &str, read_only: Option<bool>, destructive: Option<bool>) -> Tool {
        let mut t = Tool::new(name.to_owned(), "does things", Arc::new(serde_json::Map::new()));
        let mut a = ToolAnnotations::default();
        a.read_only_hint = read_only;
        a.destructive_hint = destructive;
        t.annotations = Some(a);
        t
    }

    #[test]
    fn annotations_give_the_risk_level() {
        assert_eq!(risk_level(&tool("read_file", Some(true), None)), RiskLevel::Read);
        assert_eq!(risk_level(&tool("delete", Some(false), Some(true))), RiskLevel::Destructive);
        assert_eq!(risk_level(&tool("write", Some(false), Some(false))), RiskLevel::Write);
        let mut bare = tool("bare", None, None);
        bare.annotations = None;
        assert_eq!(risk_level(&bare), RiskLevel::Write);
    }

    #[test]
    fn the_written_configuration_parses_and_maps_every_tool() {
        let upstream = Upstream::Command(vec![
            "npx".into(),
            "-y".into(),
            "@modelcontextprotocol/server-filesystem".into(),
            "/tmp/a \"b\"".into(),
        ]);
        let text = config_text("http://127.0.0.1:8787", true, &upstream, &["read_file".into(), "write_file".into()]);
        let c = crate::proxy::Config::parse(&text).unwrap();
        assert_eq!(c.upstream, Some(upstream));
        assert_eq!(c.tools.target("write_file").unwrap().tool, "write_file");
        assert_eq!(c.tools.target("write_file").unwrap().scope, "call");
        assert!(c.tools.target("move_file").is_none());
        assert!(c.oakauth.allow_insecure_loopback);
    }

    #[test]
    fn names_oakauth_cannot_hold_are_left_out() {
        assert!(oakauth_tool(&tool("read file", None, None)).is_none());
        let t = oakauth_tool(&tool("read_file", Some(true), None)).unwrap();
        assert_eq!(
            (t.name.as_str(), t.risk_level, t.scopes.clone()),
            ("read_file", RiskLevel::Read, vec!["call".to_owned()])
        );
    }
}
