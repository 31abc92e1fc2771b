//! `oakauth`: the OakAuth admin command line, built on the Rust SDK's admin client.
//!
//! `main` parses the command line and dispatches; each command lives in `commands/` with its
//! arguments, its `run` and its output.

mod cli;
mod commands;
mod connect;
mod output;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use commands::{
    agents, approvals, audit, billing, events, logs, mcp, proxy, rules, simulate, stats, tools, usage, validate,
    webhooks, whoami, Failure, Outcome,
};
use output::Out;

/// Exit status of a command line that asks for something impossible (clap's own errors too).
const EXIT_USAGE: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Message(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Api(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Outcome {
    let out = Out::new(cli.json);
    // The proxy takes OakAuth's address and its key from its configuration file.
    let cli = match cli.command {
        Command::Proxy(proxy::ProxyArgs { action: None, run }) => return proxy::run(run).await,
        _ => cli,
    };
    let service = connect::Service::from_cli(&cli)?;
    if let Command::Validate(args) = cli.command {
        let (oak, key) = service.agent(args.api_key.clone())?;
        let result = validate::run(&oak, &out, args).await;
        return result.map_err(|f| explain(f, &service, &key));
    }
    if let Command::Mcp(args) = cli.command {
        // Errors of the service become tool results there; only a failure to start ends up here.
        return mcp::run(service, cli.admin_key, args).await;
    }
    let (admin, key) = service.admin(cli.admin_key)?;
    let result = match cli.command {
        Command::Agents(cmd) => agents::run(&admin, &out, cmd).await,
        Command::Tools(cmd) => tools::run(&admin, &out, cmd).await,
        Command::Rules(cmd) => rules::run(&admin, &out, cmd).await,
        Command::Approvals(cmd) => approvals::run(&admin, &out, cmd).await,
        Command::Webhooks(cmd) => webhooks::run(&admin, &out, cmd).await,
        Command::Logs(args) => logs::run(&admin, &out, args).await,
        Command::Events(args) => events::run(&admin, &out, args).await,
        Command::Audit(cmd) => audit::run(&admin, &out, cmd).await,
        Command::Stats(args) => stats::run(&admin, &out, args).await,
        Command::Simulate(args) => simulate::run(&admin, &out, args).await,
        Command::Replay(args) => simulate::replay(&admin, &out, args).await,
        Command::Whoami => whoami::run(&admin, &out).await,
        Command::Usage => usage::usage(&admin, &out).await,
        Command::Plans => usage::plans(&admin, &out).await,
        Command::Billing(cmd) => billing::run(&admin, &out, cmd).await,
        Command::Proxy(proxy::ProxyArgs { action: Some(proxy::ProxyCmd::Discover(args)), .. }) => {
            proxy::discover(&admin, &out, args, cli.allow_insecure_loopback).await
        }
        Command::Validate(_) | Command::Mcp(_) | Command::Proxy(_) => unreachable!("handled above"),
    };
    result.map_err(|f| explain(f, &service, &key))
}

fn explain(failure: Failure, service: &connect::Service, key: &connect::KeyOrigin) -> Failure {
    match failure {
        Failure::Api(e) => Failure::Message(service.explain(&e, key)),
        other => other,
    }
}
