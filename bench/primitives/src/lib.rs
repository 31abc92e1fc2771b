//! The platform's own limits, for the benchmark: the least a Rust worker built like OakAuth's can
//! do per request on each step of a validate call.
//!
//! - `GET /none`: answers at once (no work; compare with OakAuth's `/health`).
//! - `GET /rt`: one round trip to a Durable Object that does no I/O.
//! - `GET /rt_write`: one round trip to a Durable Object that makes one storage write (a counter,
//!   awaited, so the answer leaves after the write is durable) before answering.
//! - `GET /rt_write_many`: the same, but the object is named by the request's bearer token
//!   (`Authorization: Bearer <name>`), so a load generator that cycles through names spreads the
//!   calls over many objects, as 1,000 agents would.
//!
//! `/rt` and `/rt_write` use one object with a fixed name, like one agent. The object class is
//! SQLite-backed (`new_sqlite_classes`), like OakAuth's.

use std::cell::Cell;

use worker::{durable_object, event, Context, DurableObject, Env, Request, Response, Result, State};

const BINDING: &str = "PRIMITIVE";
const ONE: &str = "one";
/// Object names from the bearer token are bounded (and anything else is refused).
const MAX_NAME: usize = 64;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match path.as_str() {
        "/none" => Response::ok("ok"),
        "/rt" => hop(&env, ONE, "/rt").await,
        "/rt_write" => hop(&env, ONE, "/write").await,
        "/rt_write_many" => match object_name(&req)? {
            Some(name) => hop(&env, &name, "/write").await,
            None => Response::error("bad name", 400),
        },
        _ => Response::error("not found", 404),
    }
}

/// The object name carried as `Authorization: Bearer <name>`: 1 to 64 ASCII letters, digits,
/// `-` or `_`.
fn object_name(req: &Request) -> Result<Option<String>> {
    let Some(value) = req.headers().get("Authorization")? else { return Ok(None) };
    let Some(name) = value.strip_prefix("Bearer ") else { return Ok(None) };
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    Ok(ok.then(|| name.to_string()))
}

async fn hop(env: &Env, name: &str, path: &str) -> Result<Response> {
    let stub = env.durable_object(BINDING)?.id_from_name(name)?.get_stub()?;
    let mut resp = stub.fetch_with_str(&format!("https://primitive{path}")).await?;
    if resp.status_code() != 200 {
        return Response::error("object failed", 500);
    }
    Response::ok(resp.text().await?)
}

#[durable_object]
pub struct Primitive {
    state: State,
    /// The counter the write route stores; incremented before the write, so concurrent calls
    /// each write a different value.
    count: Cell<u64>,
}

impl DurableObject for Primitive {
    fn new(state: State, _env: Env) -> Self {
        Self { state, count: Cell::new(0) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/rt" => Response::ok("ok"),
            "/write" => {
                let n = self.count.get() + 1;
                self.count.set(n);
                self.state.storage().put("count", n).await?;
                Response::ok("ok")
            }
            _ => Response::error("not found", 404),
        }
    }
}
