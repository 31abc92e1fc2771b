"""The OpenAI Agents SDK adapter beyond the contract: OakAuth approvals as the SDK's interruptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent as SdkAgent
from agents import Runner, function_tool

from oakauth.integrations.openai_agents import OakAuthGuard

from ._drivers import MAPPING
from ._models import ScriptedAgentsModel
from .conftest import Agent


def run_payment(agent: Agent, approve_in_oakauth: bool) -> tuple[list[dict[str, Any]], ScriptedAgentsModel, Any]:
    ran: list[dict[str, Any]] = []

    @function_tool
    def send_payment(to: str, amount: int) -> str:
        """Send a payment."""
        ran.append({"to": to, "amount": amount})
        return f"sent {amount} to {to}"

    async def main() -> tuple[ScriptedAgentsModel, Any]:
        async with agent.async_client() as oak:
            guard = OakAuthGuard(oak, MAPPING)
            model = ScriptedAgentsModel([("send_payment", {"to": "acme", "amount": 900})])
            sdk_agent = SdkAgent(name="payer", instructions="Pay.", model=model, tools=guard.protect([send_payment]))
            first = await Runner.run(sdk_agent, "pay acme")
            [item] = first.interruptions
            assert item.raw_item.name == "send_payment"
            assert ran == []
            [approval] = agent.approvals()
            assert approval["status"] == "pending" and approval["arguments"] == {"to": "acme", "amount": 900}
            if approve_in_oakauth:
                agent.decide(approval["id"], "approve")
            state = first.to_state()
            state.approve(item)
            second = await Runner.run(sdk_agent, state)
            return model, second

    model, result = asyncio.run(main())
    return ran, model, result


def test_an_oakauth_approval_interrupts_the_run_and_the_approved_call_runs(agent: Agent) -> None:
    ran, model, result = run_payment(agent, approve_in_oakauth=True)
    assert ran == [{"to": "acme", "amount": 900}]
    assert model.outputs_seen == ["sent 900 to acme"]
    assert result.final_output == "done"
    assert [e["reason"] for e in agent.logs()] == ["allowed", "approval_required"]


def test_approving_only_in_the_sdk_does_not_run_the_call(agent: Agent) -> None:
    ran, model, _ = run_payment(agent, approve_in_oakauth=False)
    assert ran == []
    [seen] = model.outputs_seen
    assert seen.startswith("OakAuth: approval requested (id apr_") and "The tool did not run." in seen


def test_protect_refuses_tools_it_cannot_check(agent: Agent) -> None:
    from agents import WebSearchTool

    with agent.client() as oak, pytest.raises(TypeError, match="not a FunctionTool"):
        OakAuthGuard(oak, MAPPING).protect([WebSearchTool()])


def test_reasoning_from_a_declared_parameter(agent: Agent) -> None:
    ran: list[tuple[str, str]] = []

    @function_tool
    def delete_file(path: str, reasoning: str) -> str:
        """Delete a file.

        Args:
            path: The file.
            reasoning: Why you need to delete it.
        """
        ran.append((path, reasoning))
        return f"deleted {path}"

    async def main() -> ScriptedAgentsModel:
        async with agent.async_client() as oak:
            guard = OakAuthGuard(oak, {"delete_file": "filesystem:delete"}, reasoning_argument="reasoning")
            model = ScriptedAgentsModel(
                [("delete_file", {"path": "old.log", "reasoning": "the user asked me to delete old.log"})]
            )
            sdk_agent = SdkAgent(name="files", model=model, tools=guard.protect([delete_file]))
            await Runner.run(sdk_agent, "delete old.log")
            return model

    model = asyncio.run(main())
    assert model.outputs_seen == ["deleted old.log"]
    assert ran == [("old.log", "the user asked me to delete old.log")]
    [entry] = agent.logs()
    assert (entry["reasoning"], entry["arguments"]) == ("the user asked me to delete old.log", {"path": "old.log"})
