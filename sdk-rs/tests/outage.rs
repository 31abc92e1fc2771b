//! Failing closed against the real worker when the service itself is in trouble: its database is
//! gone for a moment. A test binary of its own, so its outage cannot disturb other tests' calls.

#[path = "support/worker.rs"]
mod support;

use oakauth::wire::{ReasoningPolicy, RiskLevel};
use oakauth::{Error, ReasonCode, ValidateRequest};
use support::{agent_with, run_guarded, worker};

#[tokio::test]
async fn when_the_service_cannot_reach_its_database_guard_gets_a_transient_unavailable_deny() {
    let w = worker();
    let agent = agent_with(None, &[("files", RiskLevel::Read, &[("read", Some(ReasoningPolicy::None))])]).await;
    // The key has never been used, so finding its agent needs the table that is now gone.
    if w.d1("ALTER TABLE agent_keys RENAME TO agent_keys_away").is_none() {
        eprintln!("skipped: the server's local database is not reachable from this test");
        return;
    }
    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("files", "read")).await;
    w.d1("ALTER TABLE agent_keys_away RENAME TO agent_keys").expect("restore agent_keys");

    assert_eq!(runs, 0, "the action ran during the outage");
    let Err(error) = &result else { panic!("{result:?}") };
    let Error::Denied { reason, decision_id, message, .. } = error else { panic!("{error:?}") };
    assert_eq!(*reason, ReasonCode::Unavailable);
    assert!(decision_id.starts_with("dec_"), "{decision_id}");
    assert!(message.contains("retry"), "{message}");
    assert_eq!(error.code(), Some("unavailable"));
    assert!(error.is_transient(), "an unavailable deny is worth retrying");

    let (result, runs) = run_guarded(&agent.oak, ValidateRequest::new("files", "read")).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(runs, 1, "the same call runs once the database is back");
}
