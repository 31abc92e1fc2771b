"""The CrewAI adapter beyond the contract: inside a running event loop (crewAI #7235), per-role checks,
and installing and removing the hooks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("crewai")

from crewai import Agent as CrewAgent
from crewai import Crew, Task
from crewai.hooks import get_after_tool_call_hooks, get_before_tool_call_hooks
from crewai.tools import tool

from oakauth.integrations.crewai import OakAuthCrewHooks

from ._drivers import MAPPING
from ._models import ScriptedCrewLLM
from .conftest import Agent


def crew(calls: list[tuple[str, dict[str, Any]]], ran: list[str], role: str = "clerk") -> tuple[Crew, ScriptedCrewLLM]:
    @tool("read_file")
    def read_file(path: str) -> str:
        """Read a file."""
        ran.append(f"read {path}")
        return f"contents of {path}"

    @tool("write_file")
    def write_file(path: str, text: str) -> str:
        """Write a file."""
        ran.append(f"write {path}")
        return f"wrote {path}"

    llm = ScriptedCrewLLM(calls)
    worker = CrewAgent(
        role=role, goal="Use the tools", backstory="Careful.", llm=llm, tools=[read_file, write_file], max_iter=5
    )
    return Crew(agents=[worker], tasks=[Task(description="Work.", expected_output="done", agent=worker)]), llm


CALLS = [("write_file", {"path": "a", "text": "x"}), ("read_file", {"path": "a"})]


def test_inside_a_running_event_loop(agent: Agent) -> None:
    # kickoff_async runs the crew, and so the hooks, while the caller's event loop runs (CrewAI itself
    # refuses a synchronous kickoff() there). The hook's sync client never touches the loop.
    ran: list[str] = []
    the_crew, llm = crew(CALLS, ran)

    async def main() -> None:
        asyncio.get_running_loop()  # there is one
        with agent.client() as oak, OakAuthCrewHooks(oak, MAPPING):
            await the_crew.kickoff_async()

    asyncio.run(main())
    assert ran == ["read a"]
    assert llm.observations[0].startswith("OakAuth denied filesystem:write (scope_not_granted)")
    assert llm.observations[1] == "contents of a"
    assert [(e["scope"], e["allowed"]) for e in agent.logs()] == [("read", True), ("write", False)]


def test_agent_roles_limit_the_check(agent: Agent) -> None:
    ran: list[str] = []
    the_crew, _ = crew([("write_file", {"path": "a", "text": "x"})], ran, role="unchecked")
    with agent.client() as oak, OakAuthCrewHooks(oak, MAPPING, agent_roles={"clerk"}):
        the_crew.kickoff()
    assert ran == ["write a"]
    assert agent.logs() == []


def test_install_and_uninstall(agent: Agent) -> None:
    before, after = len(get_before_tool_call_hooks()), len(get_after_tool_call_hooks())
    with agent.client() as oak:
        hooks = OakAuthCrewHooks(oak, MAPPING).install().install()  # installing twice registers once
        assert (len(get_before_tool_call_hooks()), len(get_after_tool_call_hooks())) == (before + 1, after + 1)
        hooks.uninstall()
    assert (len(get_before_tool_call_hooks()), len(get_after_tool_call_hooks())) == (before, after)
    with pytest.raises(TypeError, match="OakAuth client"):
        OakAuthCrewHooks(agent.async_client(), MAPPING)  # type: ignore[arg-type]
