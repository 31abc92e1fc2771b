"""A FastMCP server whose every tool call OakAuth checks first (docs/integrations/mcp-python.md)."""

from mcp.server.fastmcp import FastMCP

from oakauth.integrations.mcp import with_oakauth

files = {"todo.txt": "buy milk"}
server = FastMCP("scratch-files")


@server.tool()
def read_file(path: str) -> str:
    """Read a file."""
    return files[path]


@server.tool()
def delete_file(path: str) -> str:
    """Delete a file."""
    del files[path]
    return f"deleted {path}"


with_oakauth(  # OAKAUTH_API_KEY, OAKAUTH_BASE_URL from the environment
    server,
    tool_mapping={"read_file": "filesystem:read", "delete_file": "filesystem:delete"},
    hide_denied_tools=True,
)

if __name__ == "__main__":
    server.run("stdio")
