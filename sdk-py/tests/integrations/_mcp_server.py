"""A FastMCP stdio server with the contract tests' tools, wrapped with oakauth.integrations.mcp.

Run by the tests as a subprocess. It appends each tool that really ran, with its arguments, to the
JSON-lines file named by RAN_RECORD; SERVER_OPTIONS (JSON) are passed to with_oakauth."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _drivers, the tests' shared mapping

from _drivers import MAPPING
from mcp.server.fastmcp import FastMCP

from oakauth.integrations.mcp import with_oakauth

record = Path(os.environ["RAN_RECORD"])
options: dict[str, Any] = json.loads(os.environ.get("SERVER_OPTIONS") or "{}")
server = FastMCP("contract-tools")


def ran(name: str, args: dict[str, Any]) -> None:
    with record.open("a") as f:
        f.write(json.dumps([name, args]) + "\n")


@server.tool()
def read_file(path: str) -> str:
    """Read a file."""
    ran("read_file", {"path": path})
    return f"contents of {path}"


@server.tool()
def write_file(path: str, text: str) -> str:
    """Write a file."""
    ran("write_file", {"path": path, "text": text})
    return f"wrote {path}"


with_oakauth(server, tool_mapping=options.pop("tool_mapping", MAPPING), **options)


# Registered after wrapping: covered alike.
@server.tool()
def delete_file(path: str) -> str:
    """Delete a file."""
    ran("delete_file", {"path": path})
    return f"deleted {path}"


@server.tool()
def send_payment(to: str, amount: int) -> str:
    """Send a payment."""
    ran("send_payment", {"to": to, "amount": amount})
    return f"sent {amount} to {to}"


@server.tool()
def shell(command: str) -> str:
    """Run a shell command."""
    ran("shell", {"command": command})
    return f"ran {command}"


@server.tool()
def echo(text: str) -> str:
    """Echo the text (not in the tests' mapping; the identity mapping checks it as echo:call)."""
    ran("echo", {"text": text})
    return text


if __name__ == "__main__":
    server.run("stdio")
