"""Starts mcp_server.py over stdio with the mcp package's client and calls its tools."""

import asyncio
import os
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import TextContent

SERVER = StdioServerParameters(
    command=sys.executable, args=[str(Path(__file__).with_name("mcp_server.py"))], env=dict(os.environ)
)


async def main() -> None:
    async with stdio_client(SERVER) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print("tools:", ", ".join(t.name for t in tools.tools))
        calls = [
            ("read_file", {"path": "todo.txt"}),
            ("delete_file", {"path": "todo.txt"}),
            ("delete_file", {"path": "todo.txt", "_reasoning": "The user asked me to delete it."}),
        ]
        for name, args in calls:
            result = await session.call_tool(name, args)
            [content] = result.content
            assert isinstance(content, TextContent)
            print(f"{name}:", "[isError]" if result.isError else "[ok]", content.text)


asyncio.run(main())
