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
use commands::{agents, audit, events, logs, rules, stats, tools, validate, whoami, Failure, Outcome};
use output::Out;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Outcome {
    let out = Out { json: cli.json };
    let service = connect::Service::from_cli(&cli)?;
    if let Command::Validate(args) = cli.command {
        let oak = service.agent(args.api_key.clone())?;
        return validate::run(&oak, &out, args).await;
    }
    let admin = service.admin(cli.admin_key)?;
    match cli.command {
        Command::Agents(cmd) => agents::run(&admin, &out, cmd).await,
        Command::Tools(cmd) => tools::run(&admin, &out, cmd).await,
        Command::Rules(cmd) => rules::run(&admin, &out, cmd).await,
        Command::Logs(args) => logs::run(&admin, &out, args).await,
        Command::Events(args) => events::run(&admin, &out, args).await,
        Command::Audit(cmd) => audit::run(&admin, &out, cmd).await,
        Command::Stats(args) => stats::run(&admin, &out, args).await,
        Command::Whoami => whoami::run(&admin, &out).await,
        Command::Validate(_) => unreachable!("handled above"),
    }
}
