//! `oakauth validate`: ask as an agent whether a call would be allowed.

use std::process::ExitCode;

use clap::Args;
use oakauth::{OakAuth, ValidateRequest};

use super::Outcome;
use crate::output::{fields, Out};

/// Exit status of `validate` when the answer is a deny (0 is an allow, 1 any error).
const EXIT_DENIED: u8 = 3;

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
    /// Deprecated, visible to other users via `ps`: set OAKAUTH_API_KEY or type the key at the
    /// prompt instead. Agent key (`oak_…`).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
}

pub async fn run(oak: &OakAuth, out: &Out, args: ValidateArgs) -> Outcome {
    let mut request = ValidateRequest::new(args.tool, args.scope);
    request.reasoning = args.reasoning;
    request.context = args.context;
    let decision = oak.validate(&request).await?;
    out.print(&decision.response, |d| {
        let mut pairs = vec![
            ("result", if decision.is_allowed() { "allowed" } else { "DENIED" }.to_owned()),
            ("reason", d.reason.as_str().into()),
            ("message", d.message.clone()),
            ("decision", d.decision_id.clone()),
            ("reasoning required", d.reasoning_required.as_str().into()),
            ("reasoning provided", d.reasoning_provided.to_string()),
        ];
        if let Some(rl) = &d.rate_limit {
            pairs.push(("rate limit", format!("{} of {} left, full in {}s", rl.remaining, rl.limit, rl.reset)));
        }
        if let Some(ra) = decision.retry_after {
            pairs.push(("retry after", format!("{}s", ra.as_secs())));
        }
        fields(&pairs)
    });
    Ok(if decision.is_allowed() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_DENIED) })
}

fn json_object(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(format!("not a JSON object such as '{{\"ticket\": 4411}}': {raw:?}")),
    }
}
