//! The organization's registry of audit chains: one Durable Object per organization that lists
//! every agent that has ever written a decision row.
//!
//! The chain verifier must not trust D1 to say which chains exist: deleting an agent's rows (and
//! the agent) in D1 would make its chain vanish from verification. Each agent's object registers
//! its agent here before its first decision, and the verifier checks every agent listed here as
//! well as every agent D1 knows.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State};

use crate::http::{json_response, ApiError, ApiResult};

const AGENT_PREFIX: &str = "agent:";

#[derive(Serialize, Deserialize)]
struct Register {
    agent_id: String,
}

#[derive(Serialize, Deserialize)]
struct ListCall {
    after: Option<String>,
    limit: u32,
}

/// A page of registered agent ids, in id order.
#[derive(Serialize, Deserialize)]
pub struct AgentPage {
    pub agent_ids: Vec<String>,
}

async fn call<B: Serialize, T: serde::de::DeserializeOwned>(
    env: &Env,
    org_id: &str,
    path: &str,
    body: &B,
) -> ApiResult<T> {
    crate::objects::call(env, "AUDIT_REGISTRY", &format!("org:{org_id}"), path, body).await
}

/// Records that `agent_id` has an audit chain in `org_id`.
pub async fn register(env: &Env, org_id: &str, agent_id: &str) -> ApiResult<()> {
    call::<_, serde_json::Value>(env, org_id, "/register", &Register { agent_id: agent_id.to_string() })
        .await
        .map(|_| ())
}

/// Whether `agent_id` is registered in `org_id`.
pub async fn contains(env: &Env, org_id: &str, agent_id: &str) -> ApiResult<bool> {
    call(env, org_id, "/has", &Register { agent_id: agent_id.to_string() }).await
}

/// Up to `limit` registered agent ids after `after`, in id order.
pub async fn agents(env: &Env, org_id: &str, after: Option<&str>, limit: u32) -> ApiResult<Vec<String>> {
    let page: AgentPage = call(env, org_id, "/list", &ListCall { after: after.map(str::to_string), limit }).await?;
    Ok(page.agent_ids)
}

#[durable_object]
pub struct AuditRegistry {
    state: State,
}

impl DurableObject for AuditRegistry {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let outcome: ApiResult<Response> = async {
            let storage = self.state.storage();
            match (req.method(), req.path().as_str()) {
                (Method::Post, "/register") => {
                    let body: Register = req.json().await.map_err(ApiError::internal)?;
                    storage.put(&format!("{AGENT_PREFIX}{}", body.agent_id), true).await.map_err(ApiError::internal)?;
                    Ok(json_response(200, &serde_json::json!({})))
                }
                (Method::Post, "/has") => {
                    let body: Register = req.json().await.map_err(ApiError::internal)?;
                    let found: Option<bool> =
                        storage.get(&format!("{AGENT_PREFIX}{}", body.agent_id)).await.map_err(ApiError::internal)?;
                    Ok(json_response(200, &found.unwrap_or(false)))
                }
                (Method::Post, "/list") => {
                    let body: ListCall = req.json().await.map_err(ApiError::internal)?;
                    let mut options = worker::ListOptions::new().prefix(AGENT_PREFIX).limit(body.limit as usize + 1);
                    let start;
                    if let Some(after) = &body.after {
                        start = format!("{AGENT_PREFIX}{after}");
                        options = options.start(&start);
                    }
                    let map = storage.list_with_options(options).await.map_err(ApiError::internal)?;
                    let mut agent_ids = Vec::new();
                    for key in map.keys() {
                        let key =
                            key.map_err(|e| ApiError::internal(format!("{e:?}")))?.as_string().unwrap_or_default();
                        let id = key.trim_start_matches(AGENT_PREFIX).to_string();
                        // `start` is inclusive; the page begins after it.
                        if Some(&id) != body.after.as_ref() && agent_ids.len() < body.limit as usize {
                            agent_ids.push(id);
                        }
                    }
                    Ok(json_response(200, &AgentPage { agent_ids }))
                }
                _ => Err(ApiError::not_found("unknown audit-registry route")),
            }
        }
        .await;
        Ok(outcome.unwrap_or_else(ApiError::into_response))
    }
}
