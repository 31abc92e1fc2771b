//! `oakauth validate`: ask as an agent whether a call would be allowed.

use std::process::ExitCode;

use clap::Args;
use oakauth::{OakAuth, ValidateRequest};

use super::conditions::explanation_fields;
use super::{json_object, Outcome, EXIT_DENIED};
use crate::output::{fields, Out};

#[derive(Args)]
pub struct ValidateArgs {
    /// The tool name.
    tool: String,
    /// The scope.
    scope: String,
    /// Why the call is needed.
    #[arg(long)]
    reasoning: Option<String>,
    /// A JSON object recorded (with secrets redacted) in the log.
    #[arg(long, value_parser = json_object)]
    context: Option<serde_json::Map<String, serde_json::Value>>,
    /// The tool call's arguments, a JSON object such as '{"amount": 900}', for rules whose
    /// conditions test them (logged redacted).
    #[arg(long, value_parser = json_object)]
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
    /// Deprecated, visible to other users via `ps`: set OAKAUTH_API_KEY or type the key at the
    /// prompt instead. Agent key (`oak_…`).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
}

pub async fn run(oak: &OakAuth, out: &Out, args: ValidateArgs) -> Outcome {
    let mut request = ValidateRequest::new(args.tool, args.scope);
    request.reasoning = args.reasoning;
    request.context = args.context;
    request.arguments = args.arguments;
    let decision = oak.validate(&request).await?;
    out.print(&decision.response, |d| {
        let mut pairs = vec![
            ("result", if decision.is_allowed() { "allowed" } else { "DENIED" }.to_owned()),
            ("reason", d.reason.as_str().into()),
            ("message", d.message.clone()),
        ];
        pairs.extend(d.explanation.iter().flat_map(explanation_fields));
        if let Some(a) = &d.approval {
            pairs.push(("approval", format!("{} ({}, expires {})", a.id, a.status.as_str(), a.expires_at)));
            pairs.extend(a.comment.iter().map(|c| ("comment", c.clone())));
        }
        pairs.extend([
            ("decision", d.decision_id.clone()),
            ("reasoning required", d.reasoning_required.as_str().into()),
            ("reasoning provided", d.reasoning_provided.to_string()),
        ]);
        if let Some(rl) = &d.rate_limit {
            pairs.push(("rate limit", format!("{} of {} left, full in {}s", rl.remaining, rl.limit, rl.reset)));
        }
        pairs.extend(d.receipt.iter().map(|r| ("receipt", r.clone())));
        if let Some(ra) = decision.retry_after {
            pairs.push(("retry after", format!("{}s", ra.as_secs())));
        }
        fields(&pairs)
    });
    Ok(if decision.is_allowed() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_DENIED) })
}
