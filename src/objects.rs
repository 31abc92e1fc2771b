//! Calling a Durable Object from the worker: one POST with a JSON body, a JSON answer. Any
//! failure (unreachable object, non-200 answer, unreadable body) is an error, which callers
//! turn into a deny.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit};

use crate::http::{ApiError, ApiResult};

/// Calls `path` on the object named `name` of the namespace bound as `binding`.
pub async fn call<B: Serialize, T: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    path: &str,
    body: &B,
) -> ApiResult<T> {
    let stub = env.durable_object(binding)?.id_from_name(name)?.get_stub()?;
    let body = serde_json::to_string(body).map_err(ApiError::internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    let req = Request::new_with_init(&format!("https://durable-object{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(ApiError::internal(format!("{binding} object answered {}: {text}", resp.status_code())));
    }
    resp.json::<T>().await.map_err(ApiError::internal)
}
