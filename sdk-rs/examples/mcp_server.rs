//! An MCP server (stdio) whose tools are checked by OakAuth before they run. With the demo agent of
//! `scripts/dev.sh`, `read_file` maps to filesystem:read and `delete_file` to filesystem:delete
//! (hard reasoning: the model must pass `_reasoning`).
//!
//!     export OAKAUTH_API_KEY=$(cat .oakauth/agent-key)
//!     export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//!     cargo run -p oakauth --features rmcp --example mcp_server
//!
//! Then point an MCP client at that command (it speaks JSON-RPC on stdin and stdout).

use oakauth::{mcp::McpGuard, OakAuth};
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams};
use rmcp::service::RequestContext;
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct FilePath {
    /// The file's path.
    path: String,
}

#[derive(Clone)]
struct Files {
    tool_router: ToolRouter<Self>,
    guard: McpGuard,
}

#[tool_router]
impl Files {
    #[tool(description = "Read a text file")]
    async fn read_file(&self, Parameters(p): Parameters<FilePath>) -> String {
        std::fs::read_to_string(&p.path).unwrap_or_else(|e| format!("cannot read {}: {e}", p.path))
    }

    #[tool(description = "Delete a file")]
    async fn delete_file(&self, Parameters(p): Parameters<FilePath>) -> String {
        match std::fs::remove_file(&p.path) {
            Ok(()) => format!("deleted {}", p.path),
            Err(e) => format!("cannot delete {}: {e}", p.path),
        }
    }
}

#[tool_handler(name = "oakauth-files-example")]
impl ServerHandler for Files {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.guard.call_tool(&self.tool_router, self, request, context).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(self.guard.list_tools(&self.tool_router).await)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let oak = OakAuth::new(std::env::var("OAKAUTH_API_KEY")?)?;
    let guard =
        McpGuard::new(oak).map_tool("read_file", "filesystem", "read").map_tool("delete_file", "filesystem", "delete");
    let server = Files { tool_router: Files::tool_router(), guard };
    server.serve((tokio::io::stdin(), tokio::io::stdout())).await?.waiting().await?;
    Ok(())
}
