"""One real agent loop per framework, driven by a scripted model (no network), for the contract tests.

Every driver runs the same five framework tools (``read_file``, ``write_file``, ``delete_file``,
``send_payment``, and ``shell``, which the mapping leaves out) behind its adapter, with
:data:`MAPPING`. ``run(key, client, calls)`` makes the scripted model ask for each call in turn (one tool call per
turn, then a final answer) and returns which tools really ran, with what, and the tool results the
model was given back.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oakauth import AsyncOakAuth, OakAuth
from oakauth.integrations import ToolMapping

MAPPING = ToolMapping(
    {
        "read_file": "filesystem:read",
        "write_file": "filesystem:write",
        "delete_file": "filesystem:delete",
        "send_*": "payments:send",
    }
)
Call = tuple[str, dict[str, Any]]
HERE = Path(__file__).resolve().parent


@dataclass
class Run:
    ran: list[Call] = field(default_factory=list)
    """The tools that ran, with the arguments they got."""
    seen: list[str] = field(default_factory=list)
    """The tool results the model was given back, in order."""


class Driver:
    name = ""

    def run(self, key: str, client: OakAuth | AsyncOakAuth, calls: list[Call]) -> Run:
        raise NotImplementedError


def _impls(ran: list[Call]) -> dict[str, Callable[..., str]]:
    def read_file(path: str) -> str:
        """Read file."""
        ran.append(("read_file", {"path": path}))
        return f"contents of {path}"

    def write_file(path: str, text: str) -> str:
        """Write file."""
        ran.append(("write_file", {"path": path, "text": text}))
        return f"wrote {path}"

    def delete_file(path: str) -> str:
        """Delete file."""
        ran.append(("delete_file", {"path": path}))
        return f"deleted {path}"

    def send_payment(to: str, amount: int) -> str:
        """Send payment."""
        ran.append(("send_payment", {"to": to, "amount": amount}))
        return f"sent {amount} to {to}"

    def shell(command: str) -> str:
        """Shell."""
        ran.append(("shell", {"command": command}))
        return f"ran {command}"

    return {f.__name__: f for f in (read_file, write_file, delete_file, send_payment, shell)}


# ---------------------------------------------------------------- LangChain


class LangChainDriver(Driver):
    name = "langchain"

    def __init__(self, use_async: bool = False) -> None:
        self.use_async = use_async

    def run(self, key: str, client: OakAuth | AsyncOakAuth, calls: list[Call]) -> Run:
        from langchain.agents import create_agent
        from langchain_core.messages import AIMessage, ToolMessage
        from langchain_core.tools import StructuredTool

        from oakauth.integrations.langchain import OakAuthMiddleware

        from ._models import ScriptedChatModel

        out = Run()
        tools = [StructuredTool.from_function(f, description=f"{n} tool") for n, f in _impls(out.ran).items()]
        script = [
            AIMessage(content="", tool_calls=[{"name": n, "args": a, "id": f"call_{i}"}])
            for i, (n, a) in enumerate(calls)
        ]
        model = ScriptedChatModel(responses=[*script, AIMessage(content="done")])
        agent = create_agent(
            model, tools=tools, middleware=[OakAuthMiddleware(client, MAPPING, reasoning_from_message=False)]
        )
        request = {"messages": [{"role": "user", "content": "go"}]}
        if self.use_async:
            asyncio.run(agent.ainvoke(request))
        else:
            agent.invoke(request)
        out.seen = [str(m.content) for m in model.last_input if isinstance(m, ToolMessage)]
        return out


# ---------------------------------------------------------------- OpenAI Agents SDK


class OpenAIAgentsDriver(Driver):
    name = "openai_agents"

    def run(self, key: str, client: OakAuth | AsyncOakAuth, calls: list[Call]) -> Run:
        from agents import Agent, Runner, function_tool

        from oakauth.integrations.openai_agents import OakAuthGuard

        from ._models import ScriptedAgentsModel

        out = Run()
        impls = _impls(out.ran)
        guard = OakAuthGuard(client, MAPPING)
        tools = guard.protect([function_tool(f) for f in impls.values()])
        model = ScriptedAgentsModel(calls)
        agent = Agent(name="assistant", instructions="Use the tools.", model=model, tools=tools)
        asyncio.run(Runner.run(agent, "go"))
        out.seen = model.outputs_seen
        return out


# ---------------------------------------------------------------- CrewAI


class CrewAIDriver(Driver):
    name = "crewai"

    def run(self, key: str, client: OakAuth | AsyncOakAuth, calls: list[Call]) -> Run:
        from crewai import Agent, Crew, Task
        from crewai.tools import tool

        from oakauth.integrations.crewai import OakAuthCrewHooks

        from ._models import ScriptedCrewLLM

        assert isinstance(client, OakAuth)
        out = Run()
        tools = [tool(name)(f) for name, f in _impls(out.ran).items()]
        llm = ScriptedCrewLLM(calls)
        worker = Agent(
            role="clerk",
            goal="Use the tools",
            backstory="A careful clerk.",
            llm=llm,
            tools=tools,
            max_iter=len(calls) + 3,
        )
        task = Task(description="Do the work.", expected_output="done", agent=worker)
        crew = Crew(agents=[worker], tasks=[task])
        with OakAuthCrewHooks(client, MAPPING):
            crew.kickoff()
        out.seen = llm.observations
        return out


# ---------------------------------------------------------------- MCP (stdio)


class MCPDriver(Driver):
    """A real MCP client (the ``mcp`` package's, over stdio) calling a wrapped FastMCP server process."""

    name = "mcp"

    def __init__(self, **server_options: Any) -> None:
        self.server_options = server_options

    def run(self, key: str, client: OakAuth | AsyncOakAuth, calls: list[Call]) -> Run:
        return asyncio.run(self.arun(key, client, calls))

    async def arun(self, key: str, client: OakAuth | AsyncOakAuth, calls: list[Call]) -> Run:
        out = Run()
        with tempfile.TemporaryDirectory() as tmp:
            record = Path(tmp) / "ran.jsonl"
            async with mcp_session(key, client.base_url, record, self.server_options) as session:
                for name, args in calls:
                    result = await session.call_tool(name, args)
                    out.seen.append("".join(getattr(c, "text", "") for c in result.content))
            out.ran = ran_record(record)
        return out


@asynccontextmanager
async def mcp_session(key: str, base_url: str, record: Path, options: dict[str, Any]) -> AsyncIterator[Any]:
    """A real MCP client session (stdio) with _mcp_server.py, which acts as the agent of ``key``."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=[str(HERE / "_mcp_server.py")],
        env={
            **os.environ,
            "OAKAUTH_API_KEY": key,
            "OAKAUTH_BASE_URL": base_url,
            "OAKAUTH_ALLOW_INSECURE_LOOPBACK": "1",
            "RAN_RECORD": str(record),
            "SERVER_OPTIONS": json.dumps(options),
        },
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def ran_record(record: Path) -> list[Call]:
    """The tools the server ran, with their arguments."""
    if not record.exists():
        return []
    return [(name, args) for name, args in (json.loads(line) for line in record.read_text().splitlines())]


DRIVERS: dict[str, Callable[[], Driver]] = {
    "langchain": LangChainDriver,
    "openai_agents": OpenAIAgentsDriver,
    "crewai": CrewAIDriver,
    "mcp": MCPDriver,
}
