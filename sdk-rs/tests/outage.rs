//! Failing closed against the real worker when the service itself is in trouble: its database is
//! gone for a moment. A test binary of its own, so its outage cannot disturb other tests' calls.

#[path = "support/worker.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use oakauth::wire::{ReasoningPolicy, RiskLevel};
use oakauth::{Error, OakAuth, ReasonCode, ValidateRequest};
use support::{agent_with, worker};

async fn run_guarded(oak: &OakAuth) -> (Result<(), Error>, usize) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let result = oak
        .guard(ValidateRequest::new("files", "read"), async move {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .await;
    (result, runs.load(Ordering::SeqCst))
}

#[tokio::test]
async fn when_the_service_cannot_reach_its_database_guard_gets_a_transient_unavailable_deny() {
    let w = worker();
    let agent = agent_with(None, &[("files", RiskLevel::Read, &[("read", Some(ReasoningPolicy::None))])]).await;
    // The key has never been used, so finding its agent needs the table that is now gone.
    if w.d1("ALTER TABLE agent_keys RENAME TO agent_keys_away").is_none() {
        eprintln!("skipped: the server's local database is not reachable from this test");
        return;
    }
    let (result, runs) = run_guarded(&agent.oak).await;
    w.d1("ALTER TABLE agent_keys_away RENAME TO agent_keys").expect("restore agent_keys");

    assert_eq!(runs, 0, "the action ran during the outage");
    let Err(error @ Error::Denied { .. }) = &result else { panic!("{result:?}") };
    let Error::Denied { reason, decision_id, message, .. } = error else { unreachable!() };
    assert_eq!(*reason, ReasonCode::Unavailable);
    assert!(decision_id.starts_with("dec_"), "{decision_id}");
    assert!(message.contains("retry"), "{message}");
    assert_eq!(error.code(), Some("unavailable"));
    assert!(error.is_transient(), "an unavailable deny is worth retrying");

    let (result, runs) = run_guarded(&agent.oak).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(runs, 1, "the same call runs once the database is back");
}
