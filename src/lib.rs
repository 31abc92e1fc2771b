use worker::*;

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("hello")
}

#[durable_object]
pub struct AgentBucket {
    state: State,
}

impl DurableObject for AgentBucket {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }
    async fn fetch(&self, _req: Request) -> Result<Response> {
        let _ = &self.state;
        Response::ok("bucket")
    }
}
