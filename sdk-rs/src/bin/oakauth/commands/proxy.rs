//! `oakauth proxy`: OakAuth in front of any MCP server (stdio or Streamable HTTP), and
//! `oakauth proxy discover`: register an MCP server's tools for an agent and write the proxy's
//! configuration. The proxy itself lives in the library (`oakauth::proxy`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use oakauth::proxy::config::{KeySource, Listen, ListenAuth, Upstream, DEFAULT_PATH};
use oakauth::proxy::{discover, Config, Settings};
use oakauth::wire::CreateRule;
use oakauth::{Admin, Error};

use super::{resolve_agent, Failure, Outcome};
use crate::output::Out;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProxyArgs {
    #[command(subcommand)]
    pub action: Option<ProxyCmd>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand)]
pub enum ProxyCmd {
    /// Connect to an MCP server, register its tools (and an allow rule each, with the reasoning
    /// policy of its risk level) for an agent, and write the proxy configuration that maps them.
    Discover(DiscoverArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The configuration file (TOML; see docs/proxy.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve Streamable HTTP on this address (host:port) instead of stdio; overrides [listen].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The upstream is this Streamable HTTP URL (instead of a command after `--`).
    #[arg(long, conflicts_with = "command")]
    url: Option<String>,
    /// Print each call's timings (validate, upstream, the proxy's own) to standard error.
    #[arg(long)]
    timings: bool,
    /// The upstream MCP server's command and arguments (overrides [upstream]).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Args)]
pub struct DiscoverArgs {
    /// Where to write the configuration.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The agent (id or name) to register the tools for.
    #[arg(long)]
    agent: String,
    /// Overwrite the configuration file if it exists.
    #[arg(long)]
    force: bool,
    /// The upstream is this Streamable HTTP URL (instead of a command after `--`).
    #[arg(long, conflicts_with = "command")]
    url: Option<String>,
    /// The upstream MCP server's command and arguments.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn upstream_of(command: Vec<String>, url: Option<String>) -> Option<Upstream> {
    if !command.is_empty() {
        Some(Upstream::Command(command))
    } else {
        url.map(Upstream::Url)
    }
}

/// `oakauth proxy`: serves until the client goes away (stdio) or until interrupted (HTTP).
pub async fn run(args: RunArgs) -> Outcome {
    let path = args.config.ok_or_else(|| Failure::Usage("oakauth proxy needs --config FILE".into()))?;
    let mut config = Config::load(&path).map_err(message)?;
    let upstream = upstream_of(args.command, args.url).or_else(|| config.upstream.clone()).ok_or_else(|| {
        Failure::Usage(
            "no upstream MCP server: give a command after `--`, --url, or [upstream] in the configuration".into(),
        )
    })?;
    if let Some(address) = args.listen {
        let listen = config.listen.get_or_insert(Listen {
            address: address.clone(),
            path: DEFAULT_PATH.into(),
            auth: ListenAuth::Bearer,
            allowed_hosts: None,
        });
        listen.address = address;
    }
    let http = config.listen.clone();
    // The proxy's own key: for stdio always (OAKAUTH_API_KEY unless [oakauth] names another
    // source), for HTTP only with auth = "config".
    let oak = match &http {
        Some(listen) if listen.auth == ListenAuth::Bearer => None,
        _ => {
            let source = config.oakauth.key.clone().unwrap_or_else(|| KeySource::Env("OAKAUTH_API_KEY".into()));
            let key = source.read().map_err(message)?;
            Some(Settings::client(&config, key).map_err(message)?)
        }
    };
    let settings = Arc::new(Settings { config, upstream, oak, timings: args.timings });
    match http {
        None => oakauth::proxy::serve_stdio(settings).await.map_err(message)?,
        Some(listen) => {
            let listener = tokio::net::TcpListener::bind(&listen.address)
                .await
                .map_err(|e| Failure::Message(format!("cannot listen on {}: {e}", listen.address)))?;
            let bound = listener.local_addr().map_err(|e| Failure::Message(e.to_string()))?;
            eprintln!("oakauth proxy: serving MCP on http://{bound}{}", listen.path);
            let shutdown = oakauth::proxy::Shutdown::new();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                stop.cancel();
            });
            oakauth::proxy::serve_http(settings, listener, shutdown).await.map_err(message)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn message(e: Error) -> Failure {
    Failure::Message(e.to_string())
}

/// `oakauth proxy discover`.
pub async fn discover(admin: &Admin, out: &Out, args: DiscoverArgs, allow_insecure_loopback: bool) -> Outcome {
    let upstream = upstream_of(args.command, args.url)
        .ok_or_else(|| Failure::Usage("discover needs the upstream: a command after `--`, or --url".into()))?;
    if args.config.exists() && !args.force {
        return Err(Failure::Message(format!("{} exists; pass --force to overwrite it", args.config.display())));
    }
    let agent = resolve_agent(admin, &args.agent).await?;
    let tools = discover::list_tools(&upstream).await.map_err(message)?;
    let mut mapped = Vec::new();
    let mut lines = Vec::new();
    for tool in &tools {
        let Some(create) = discover::oakauth_tool(tool) else {
            lines.push(format!("skipped   {:?}: not a valid OakAuth tool name (map it by hand)", tool.name));
            continue;
        };
        let risk = create.risk_level.as_str();
        match admin.create_tool(&agent.id, &create).await {
            Ok(_) => {}
            Err(Error::Conflict { .. }) => {
                lines.push(format!("exists    {} (left as it is)", create.name));
                mapped.push(create.name.clone());
                continue;
            }
            // A schema the service cannot use: register the tool without it.
            Err(Error::BadRequest { ref api, .. }) if create.input_schema.is_some() => {
                let bare = oakauth::wire::CreateTool { input_schema: None, ..create.clone() };
                admin.create_tool(&agent.id, &bare).await?;
                lines.push(format!("note      {}: input schema not kept ({})", create.name, api.message));
            }
            Err(e) => return Err(e.into()),
        }
        match admin.create_rule(&agent.id, &CreateRule::allow(create.name.clone(), discover::SCOPE)).await {
            Ok(rule) => lines.push(format!(
                "added     {} ({risk}; allow rule {}, reasoning {})",
                create.name,
                rule.id,
                rule.require_reasoning.as_str()
            )),
            Err(Error::Conflict { .. }) => lines.push(format!("added     {} ({risk}; a rule exists)", create.name)),
            Err(e) => return Err(e.into()),
        }
        mapped.push(create.name.clone());
    }
    let text = discover::config_text(admin.base_url(), allow_insecure_loopback, &upstream, &mapped);
    std::fs::write(&args.config, text)
        .map_err(|e| Failure::Message(format!("cannot write {}: {e}", args.config.display())))?;
    let summary = serde_json::json!({
        "agent": agent.id,
        "tools": mapped,
        "config": args.config.display().to_string(),
        "report": lines,
    });
    out.print(&summary, |_| {
        let mut text = lines.join("\n");
        text.push_str(&format!(
            "\n{} tool(s) mapped for agent {}; configuration written to {}\n",
            mapped.len(),
            agent.name,
            args.config.display()
        ));
        text
    });
    Ok(ExitCode::SUCCESS)
}
