"""The MCP adapter beyond the contract, driven by the mcp package's own client over stdio: the
advertised reasoning argument, hiding denied tools, approvals, and the default (identity) mapping."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from oakauth.integrations.mcp import REASONING_DESCRIPTION

from ._drivers import mcp_session, ran_record
from .conftest import Agent


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def session_run(agent: Agent, options: dict[str, Any], body: Any) -> tuple[Any, list[Any]]:
    async def main() -> Any:
        with tempfile.TemporaryDirectory() as tmp:
            record = Path(tmp) / "ran.jsonl"
            async with mcp_session(agent.key, agent.worker.base_url, record, options) as session:
                out = await body(session)
            return out, ran_record(record)

    return asyncio.run(main())  # type: ignore[no-any-return]


def test_every_tool_advertises_the_reasoning_argument(agent: Agent) -> None:
    async def body(session: Any) -> Any:
        return (await session.list_tools()).tools

    tools, _ = session_run(agent, {}, body)
    assert {t.name for t in tools} == {"read_file", "write_file", "delete_file", "send_payment", "shell", "echo"}
    for t in tools:
        assert t.inputSchema["properties"]["_reasoning"] == {"type": "string", "description": REASONING_DESCRIPTION}
        assert "_reasoning" not in t.inputSchema.get("required", [])
    assert agent.logs() == []  # listing without hide_denied_tools asks OakAuth nothing


def test_hide_denied_tools(agent: Agent) -> None:
    async def body(session: Any) -> Any:
        listed = {t.name for t in (await session.list_tools()).tools}
        hidden = await session.call_tool("write_file", {"path": "a", "text": "x"})
        unmapped = await session.call_tool("shell", {"command": "ls"})
        missing = await session.call_tool("no_such_tool", {})
        return listed, hidden, unmapped, missing

    (listed, hidden, unmapped, missing), ran = session_run(agent, {"hide_denied_tools": True}, body)
    # write_file: scope not granted; shell and echo: not in the mapping. delete_file needs reasoning
    # and send_payment an approval: the model can still use them, so they stay.
    assert listed == {"read_file", "delete_file", "send_payment"}
    assert ran == []
    # A hidden tool answers exactly like a tool the server does not have.
    assert missing.isError and text(missing) == "Unknown tool: no_such_tool"
    assert hidden.isError and text(hidden) == "Unknown tool: write_file"
    assert unmapped.isError and text(unmapped) == "Unknown tool: shell"
    listing = agent.logs(tool="filesystem", scope="write")
    assert [e["context"] for e in listing] == [{"mcp_tool": "write_file"}, {"mcp": "tools/list"}]
    # A listing never asks for an approval.
    assert agent.approvals() == []


def test_an_approved_call_runs_on_the_identical_retry(agent: Agent) -> None:
    async def body(session: Any) -> Any:
        first = await session.call_tool("send_payment", {"to": "acme", "amount": 900})
        [approval] = agent.approvals()
        agent.decide(approval["id"], "approve")
        second = await session.call_tool(
            "send_payment", {"to": "acme", "amount": 900, "_reasoning": "invoice 42 is due"}
        )
        return approval, first, second

    (approval, first, second), ran = session_run(agent, {}, body)
    assert first.isError
    assert text(first).startswith(
        f"OakAuth: approval requested (id {approval['id']}) for payments:send; an administrator must approve;"
    )
    assert not second.isError and text(second) == "sent 900 to acme"
    assert ran == [("send_payment", {"to": "acme", "amount": 900})]


def test_a_reasoning_argument_that_is_not_a_string_is_refused(agent: Agent) -> None:
    async def body(session: Any) -> Any:
        return await session.call_tool("read_file", {"path": "a", "_reasoning": 42})

    result, ran = session_run(agent, {}, body)
    assert result.isError and ran == []
    assert (
        text(result)
        == "The `_reasoning` argument must be a string that says why you need this call; the tool did not run."
    )


def test_without_a_mapping_each_tool_is_checked_as_its_own_name(agent: Agent) -> None:
    async def body(session: Any) -> Any:
        return await session.call_tool("echo", {"text": "hi"}), await session.call_tool("read_file", {"path": "a"})

    (echo, read), ran = session_run(agent, {"tool_mapping": None}, body)
    assert not echo.isError and text(echo) == "hi"
    assert read.isError and text(read).startswith("OakAuth denied read_file:call (unknown_tool): ")
    assert ran == [("echo", {"text": "hi"})]
