//! What each request leaves for operators, once its answer is ready (the pure parts are
//! [`oakauth_core::observe`] and [`oakauth_core::webhook::degraded`]):
//!
//! - one structured log line ([`oakauth_core::observe::RequestLog`], `console.log`);
//! - for a decision, one data point in the Workers Analytics Engine dataset bound as
//!   `AUDIT_ANALYTICS`, if the deployment binds one (no binding: nothing is written);
//! - for an `unavailable` decision, a report to the organization's webhook dispatcher, which
//!   sends `service.degraded` once the minute's reports reach the threshold
//!   ([`crate::webhooks::report_unavailable`]).
//!
//! The handlers fill in [`Facts`] as they learn them; nothing here delays the answer: the
//! report runs after it (`wait_until`).

use std::cell::RefCell;
use std::collections::HashMap;

use oakauth_core::observe::{self, Decision, DecisionPoint, RequestLog};
use oakauth_core::webhook::degraded;
use oakauth_core::wire::ReasonCode;
use serde::Deserialize;
use worker::{AnalyticsEngineDataPointBuilder, Context, Env};

use crate::db::{self, Arg};

/// The binding name of the optional Analytics Engine dataset (wrangler.toml).
pub const ANALYTICS_BINDING: &str = "AUDIT_ANALYTICS";

/// Entries of the per-isolate maps below; each is cleared when it reaches this size.
const MAP_MAX: usize = 10_000;

thread_local! {
    /// The organization of each agent this isolate has seen decided, to name the organization
    /// of an `unavailable` answer given when the agent's object could not be reached.
    static ORG_OF_AGENT: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    /// Per organization, the minute whose `service.degraded` its dispatcher has sent: further
    /// reports of that minute would change nothing, so this isolate stops sending them.
    static SENT_MINUTE: RefCell<HashMap<String, i64>> = RefCell::new(HashMap::new());
    /// Whether this deployment binds the Analytics Engine dataset: bindings do not change within
    /// an isolate, so an absent binding is looked up once, not once per decision.
    static ANALYTICS_BOUND: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

fn remember<V>(map: &'static std::thread::LocalKey<RefCell<HashMap<String, V>>>, key: &str, value: V) {
    map.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAP_MAX && !m.contains_key(key) {
            m.clear();
        }
        m.insert(key.to_string(), value);
    });
}

/// What the handler of one request learned about it, for its log line and data point.
#[derive(Default)]
pub struct Facts(RefCell<Known>);

#[derive(Default)]
struct Known {
    org_id: Option<String>,
    agent_id: Option<String>,
    decision: Option<Decided>,
}

struct Decided {
    decision_id: String,
    allowed: bool,
    reason: ReasonCode,
    tool: String,
    scope: String,
}

impl Facts {
    pub fn agent(&self, agent_id: &str) {
        self.0.borrow_mut().agent_id = Some(agent_id.to_string());
    }

    pub fn org(&self, org_id: &str) {
        self.0.borrow_mut().org_id = Some(org_id.to_string());
    }

    /// The validate answer's decision.
    pub fn decided(&self, response: &oakauth_core::wire::ValidateResponse, tool: &str, scope: &str) {
        self.0.borrow_mut().decision = Some(Decided {
            decision_id: response.decision_id.clone(),
            allowed: response.allowed,
            reason: response.reason,
            tool: tool.to_string(),
            scope: scope.to_string(),
        });
    }
}

/// The request as it arrived, for its log line.
pub struct Arrival<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub started_ms: i64,
}

/// Everything a finished request leaves behind: its log line, and for a decision its data point
/// and, if it was `unavailable`, its report (run after the answer).
pub fn finish(env: &Env, ctx: &Context, facts: &Facts, arrival: &Arrival<'_>, status: u16, error: Option<&str>) {
    let now = worker::Date::now().as_millis() as i64;
    let latency_ms = (now - arrival.started_ms).max(0);
    let known = facts.0.borrow();
    if let (Some(agent), Some(org)) = (&known.agent_id, &known.org_id) {
        // An agent's organization never changes: the map is written once per agent per isolate,
        // not on every request.
        if !ORG_OF_AGENT.with(|m| m.borrow().contains_key(agent.as_str())) {
            remember(&ORG_OF_AGENT, agent, org.clone());
        }
    }
    let decision = known.decision.as_ref();
    let line = RequestLog {
        event: "request",
        request_id: arrival.request_id,
        method: observe::method_name(arrival.method),
        route: observe::route_template(arrival.path),
        status,
        latency_ms,
        org_id: known.org_id.as_deref(),
        agent_id: known.agent_id.as_deref(),
        decision_id: decision.map(|d| d.decision_id.as_str()),
        allowed: decision.map(|d| d.allowed),
        reason: decision.map(|d| d.reason.as_str()),
        error,
    };
    worker::console_log!("{}", line.to_line());
    let Some(d) = decision else { return };
    write_point(
        env,
        &Decision {
            org_id: known.org_id.as_deref(),
            agent_id: known.agent_id.as_deref(),
            tool: &d.tool,
            scope: &d.scope,
            reason: d.reason.as_str(),
            allowed: d.allowed,
            latency_ms,
        },
    );
    if d.reason == ReasonCode::Unavailable {
        let (env, org, agent) = (env.clone(), known.org_id.clone(), known.agent_id.clone());
        ctx.wait_until(async move { report_unavailable(&env, org, agent, now).await });
    }
}

/// Writes the point if the deployment binds [`ANALYTICS_BINDING`]; otherwise does nothing.
/// Analytics never fails a request: a write the platform refuses is logged.
fn write_point(env: &Env, decision: &Decision<'_>) {
    if ANALYTICS_BOUND.with(|b| b.get()) == Some(false) {
        return;
    }
    let dataset = env.analytics_engine(ANALYTICS_BINDING);
    ANALYTICS_BOUND.with(|b| b.set(Some(dataset.is_ok())));
    let Ok(dataset) = dataset else {
        return;
    };
    let point = DecisionPoint::new(decision);
    let data = AnalyticsEngineDataPointBuilder::new()
        .indexes([point.index.as_str()])
        .blobs(point.blobs.iter().map(String::as_str))
        .doubles(point.doubles)
        .build();
    if let Err(e) = dataset.write_data_point(&data) {
        worker::console_error!("analytics data point not written: {e}");
    }
}

#[derive(Deserialize)]
struct OrgRow {
    org_id: String,
}

/// Counts one `unavailable` decision for its organization. When the agent's object failed the
/// worker knows the agent but not its organization: it is taken from what this isolate saw of
/// the agent before, else read from D1. A decision whose agent is unknown (the key lookup
/// itself failed) cannot be counted.
async fn report_unavailable(env: &Env, org: Option<String>, agent: Option<String>, at_ms: i64) {
    let org = match (org, agent) {
        (Some(org), _) => org,
        (None, Some(agent)) => match org_of_agent(env, &agent).await {
            Some(org) => org,
            None => return,
        },
        (None, None) => return,
    };
    let minute = degraded::minute_of(at_ms);
    if SENT_MINUTE.with(|m| m.borrow().get(&org) == Some(&minute)) {
        return;
    }
    match crate::webhooks::report_unavailable(env, &org, at_ms).await {
        Ok(true) => remember(&SENT_MINUTE, &org, minute),
        Ok(false) => {}
        Err(e) => worker::console_error!("unavailable decision of {org} not counted: {}", e.message),
    }
}

async fn org_of_agent(env: &Env, agent_id: &str) -> Option<String> {
    if let Some(org) = ORG_OF_AGENT.with(|m| m.borrow().get(agent_id).cloned()) {
        return Some(org);
    }
    let found = async {
        let database = db::database(env)?;
        db::first::<OrgRow>(&database, "SELECT org_id FROM agents WHERE id = ?1", &[Arg::from(agent_id)]).await
    }
    .await;
    match found {
        Ok(Some(row)) => {
            remember(&ORG_OF_AGENT, agent_id, row.org_id.clone());
            Some(row.org_id)
        }
        Ok(None) => None,
        Err(e) => {
            worker::console_error!("unavailable decision of agent {agent_id} not counted: {}", e.message);
            None
        }
    }
}
