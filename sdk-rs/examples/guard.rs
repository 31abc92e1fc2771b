//! Guarded calls against the demo agent that `scripts/dev.sh` creates (tool `filesystem`, scopes
//! read: no reasoning needed, write: soft, delete: hard).
//!
//!     export OAKAUTH_API_KEY=$(cat .oakauth/agent-key)
//!     export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//!     cargo run -p oakauth --example guard

use oakauth::{Error, OakAuth, ValidateRequest};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let key = std::env::var("OAKAUTH_API_KEY").expect("set OAKAUTH_API_KEY to an agent key (oak_…)");
    // The base URL comes from OAKAUTH_BASE_URL (there is no default). Plain http is accepted only
    // to a loopback host with OAKAUTH_ALLOW_INSECURE_LOOPBACK=1, as for the local service above.
    let oak = OakAuth::new(key)?;

    // Allowed: the rule for read needs no reasoning. The action runs and its output comes back.
    let files =
        oak.guard(ValidateRequest::new("filesystem", "read"), async { vec!["notes.txt", "report.csv"] }).await?;
    println!("read allowed, files: {files:?}");

    // Denied: delete has a hard reasoning rule. The action never runs.
    match oak.guard(ValidateRequest::new("filesystem", "delete"), async { println!("deleting!") }).await {
        Err(Error::Denied { reason, message, decision_id, .. }) => {
            println!("delete denied ({}): {message} [decision {decision_id}]", reason.as_str())
        }
        other => println!("unexpected: {other:?}"),
    }

    // Allowed once the agent says why; the reasoning is stored in the audit log.
    let request = ValidateRequest::new("filesystem", "delete").with_reasoning("the user asked to remove report.csv");
    oak.guard(request, async { println!("delete allowed: removing report.csv") }).await?;
    Ok(())
}
