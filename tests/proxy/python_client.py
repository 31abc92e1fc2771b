"""Python's `mcp` client against `oakauth proxy` over stdio: an allowed and a denied call.

Usage: python_client.py OAKAUTH_BIN CONFIG READ_PATH WRITE_PATH -- UPSTREAM...
The agent key comes from OAKAUTH_API_KEY (passed on to the proxy). Prints one JSON object with
what the client saw; the node test (proxy.test.mjs) checks it and the disk.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    binary, config, read_path, write_path, sep, *upstream = sys.argv[1:]
    assert sep == "--", "usage: python_client.py OAKAUTH_BIN CONFIG READ_PATH WRITE_PATH -- UPSTREAM..."
    params = StdioServerParameters(
        command=binary,
        args=["proxy", "--config", config, "--", *upstream],
        env={**os.environ},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            allowed = await session.call_tool("read_text_file", {"path": read_path, "_reasoning": "python client"})
            denied = await session.call_tool("write_file", {"path": write_path, "content": "from python"})
            print(
                json.dumps(
                    {
                        "tools": [t.name for t in tools.tools],
                        "allowed": {"is_error": allowed.isError, "text": "".join(c.text for c in allowed.content if c.type == "text")},
                        "denied": {"is_error": denied.isError, "text": "".join(c.text for c in denied.content if c.type == "text")},
                    }
                )
            )


asyncio.run(main())
