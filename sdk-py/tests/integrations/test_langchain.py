"""The LangChain adapter beyond the contract: approvals as LangGraph interrupts, the async path, the
BaseTool wrapper, and reasoning from the model's message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("langchain")

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from oakauth.integrations.langchain import OakAuthMiddleware, guard_tool

from ._drivers import MAPPING
from ._models import ScriptedChatModel
from .conftest import Agent


def payment_agent(agent: Agent, ran: list[dict[str, Any]], **middleware: Any) -> Any:
    def send_payment(to: str, amount: int) -> str:
        """Send a payment."""
        ran.append({"to": to, "amount": amount})
        return f"sent {amount} to {to}"

    model = ScriptedChatModel(
        responses=[
            AIMessage(
                content="", tool_calls=[{"name": "send_payment", "args": {"to": "acme", "amount": 900}, "id": "c1"}]
            ),
            AIMessage(content="done"),
        ]
    )
    return create_agent(
        model,
        tools=[StructuredTool.from_function(send_payment)],
        middleware=[OakAuthMiddleware(agent.client(), MAPPING, **middleware)],
        checkpointer=InMemorySaver(),
    )


def test_an_approval_interrupts_the_graph_and_the_approved_call_runs_on_resume(agent: Agent) -> None:
    ran: list[dict[str, Any]] = []
    graph = payment_agent(agent, ran)
    config = {"configurable": {"thread_id": "pay-1"}}
    state = graph.invoke({"messages": [{"role": "user", "content": "pay acme"}]}, config)
    [pending] = state["__interrupt__"]
    [approval] = agent.approvals()
    assert pending.value["type"] == "oakauth_approval"
    assert pending.value["approval_id"] == approval["id"]
    assert (pending.value["tool"], pending.value["scope"]) == ("payments", "send")
    assert ran == []

    agent.decide(approval["id"], "approve")
    state = graph.invoke(Command(resume="approved"), config)
    assert ran == [{"to": "acme", "amount": 900}]
    [result] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert (result.content, result.status) == ("sent 900 to acme", "success")
    assert agent.logs()[0]["reason"] == "allowed"


def test_resuming_before_anyone_approved_does_not_run_the_tool(agent: Agent) -> None:
    ran: list[dict[str, Any]] = []
    graph = payment_agent(agent, ran)
    config = {"configurable": {"thread_id": "pay-2"}}
    graph.invoke({"messages": [{"role": "user", "content": "pay acme"}]}, config)
    state = graph.invoke(Command(resume="go on"), config)
    assert ran == []
    [result] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert result.status == "error"
    assert str(result.content).startswith("OakAuth: approval requested (id apr_")
    assert len(agent.approvals()) == 1  # the retry named the same approval, it did not ask anew


def test_approvals_refuse_gives_the_model_the_approval_sentence(agent: Agent) -> None:
    ran: list[dict[str, Any]] = []
    graph = payment_agent(agent, ran, approvals="refuse")
    state = graph.invoke({"messages": [{"role": "user", "content": "pay"}]}, {"configurable": {"thread_id": "pay-3"}})
    assert "__interrupt__" not in state
    [result] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert result.status == "error" and ran == []
    assert "an administrator must approve; call this tool again with the same arguments once approved" in str(
        result.content
    )


def test_the_async_path_with_an_async_client(agent: Agent) -> None:
    ran: list[str] = []

    async def read_file(path: str) -> str:
        """Read a file."""
        ran.append(path)
        return f"contents of {path}"

    model = ScriptedChatModel(
        responses=[
            AIMessage(content="", tool_calls=[{"name": "read_file", "args": {"path": "a"}, "id": "c1"}]),
            AIMessage(content="", tool_calls=[{"name": "write_file", "args": {"path": "a"}, "id": "c2"}]),
            AIMessage(content="done"),
        ]
    )

    async def main() -> list[ToolMessage]:
        async with agent.async_client() as oak:
            tools = [
                StructuredTool.from_function(coroutine=read_file),
                StructuredTool.from_function(coroutine=read_file, name="write_file"),
            ]
            graph = create_agent(model, tools=tools, middleware=[OakAuthMiddleware(oak, MAPPING)])
            state = await graph.ainvoke({"messages": [{"role": "user", "content": "go"}]})
        return [m for m in state["messages"] if isinstance(m, ToolMessage)]

    read, write = asyncio.run(main())
    assert ran == ["a"]
    assert (read.content, read.status) == ("contents of a", "success")
    assert write.status == "error" and str(write.content).startswith(
        "OakAuth denied filesystem:write (scope_not_granted)"
    )


def test_reasoning_comes_from_the_models_message_when_there_is_no_reasoning_argument(agent: Agent) -> None:
    ran: list[str] = []

    def delete_file(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return f"deleted {path}"

    model = ScriptedChatModel(
        responses=[
            AIMessage(
                content="The user asked me to remove the stale lock file so the build can run.",
                tool_calls=[{"name": "delete_file", "args": {"path": "build.lock"}, "id": "c1"}],
            ),
            AIMessage(content="done"),
        ]
    )
    with agent.client() as oak:
        graph = create_agent(
            model, tools=[StructuredTool.from_function(delete_file)], middleware=[OakAuthMiddleware(oak, MAPPING)]
        )
        graph.invoke({"messages": [{"role": "user", "content": "clean up"}]})
    assert ran == ["build.lock"]
    [entry] = agent.logs()
    assert entry["reasoning"] == "The user asked me to remove the stale lock file so the build can run."


def test_guard_tool_wraps_one_tool(agent: Agent) -> None:
    ran: list[str] = []

    def delete_file(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return f"deleted {path}"

    with agent.client() as oak:
        guarded = guard_tool(StructuredTool.from_function(delete_file), oak, MAPPING)
        assert guarded.name == "delete_file" and guarded.args == StructuredTool.from_function(delete_file).args
        # As agents call tools: a tool call in, a ToolMessage out.
        refused = guarded.invoke({"type": "tool_call", "name": "delete_file", "args": {"path": "x"}, "id": "c1"})
        assert isinstance(refused, ToolMessage) and refused.status == "error"
        assert str(refused.content).startswith("OakAuth denied filesystem:delete: reasoning required.")
        done = guarded.invoke(
            {
                "type": "tool_call",
                "name": "delete_file",
                "args": {"path": "x", "_reasoning": "the user asked to delete x"},
                "id": "c2",
            }
        )
        assert isinstance(done, ToolMessage) and done.content == "deleted x" and done.tool_call_id == "c2"
        # Called with plain arguments, a refusal raises.
        from langchain_core.tools import ToolException

        with pytest.raises(ToolException, match="reasoning required"):
            guarded.invoke({"path": "y"})
    assert ran == ["x"]
    assert [e["arguments"] for e in agent.logs()] == [{"path": "y"}, {"path": "x"}, {"path": "x"}]


def test_a_sync_agent_with_an_async_client_is_a_loud_error_and_nothing_runs(agent: Agent) -> None:
    ran: list[str] = []

    def read_file(path: str) -> str:
        """Read a file."""
        ran.append(path)
        return path

    model = ScriptedChatModel(
        responses=[
            AIMessage(content="", tool_calls=[{"name": "read_file", "args": {"path": "a"}, "id": "c1"}]),
            AIMessage("x"),
        ]
    )
    graph = create_agent(
        model,
        tools=[StructuredTool.from_function(read_file)],
        middleware=[OakAuthMiddleware(agent.async_client(), MAPPING)],
    )
    with pytest.raises(TypeError, match="AsyncOakAuth"):
        graph.invoke({"messages": [{"role": "user", "content": "go"}]})
    assert ran == []
