//! The MCP proxy behind `oakauth proxy` (feature `proxy`): OakAuth in front of any MCP server,
//! with no change to the server or to the host.
//!
//! The host talks to the proxy (over stdio, or Streamable HTTP where each client presents its own
//! agent key); the proxy talks to the real MCP server (a command over stdio, or a Streamable HTTP
//! URL), one upstream connection per downstream session. Each `tools/call` is validated with
//! OakAuth first, with the call's real arguments (the reasoning argument taken out and sent as the
//! reasoning); a deny, or any failure to get an allow (OakAuth unreachable, a timeout, a garbage
//! answer), is a tool result with `isError` and the upstream is not called. An allowed call
//! carries the decision's signed receipt to the upstream in `_meta["oakauth/receipt"]`.
//! Everything else (notifications, progress, cancellation, pagination, sampling, roots,
//! elicitation) passes through.
//!
//! The configuration ([`config::Config`]) maps MCP names to OakAuth tools and scopes; what it does
//! not map is denied. See `docs/proxy.md`.

pub mod config;
pub mod discover;
mod http;
mod session;

use std::sync::Arc;

use rmcp::ServiceExt;

pub use config::Config;
pub use http::serve_http;
pub use session::{Session, Settings, RECEIPT_META_KEY};
/// Stops [`serve_http`] when cancelled.
pub use tokio_util::sync::CancellationToken as Shutdown;

use crate::Error;

/// Serves one session on standard input and output until the client goes away, then stops the
/// upstream.
pub async fn serve_stdio(settings: Arc<Settings>) -> Result<(), Error> {
    let session = Session::new(settings);
    let running = session
        .clone()
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Proxy(format!("the MCP client did not initialize: {e}")))?;
    let quit = running.waiting().await;
    session.close().await;
    quit.map(drop).map_err(|e| Error::Proxy(e.to_string()))
}
