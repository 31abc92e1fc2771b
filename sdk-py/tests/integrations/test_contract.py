"""The contract every framework adapter keeps, run against each with the real framework, its agent
loop driven by a scripted model, and the real local worker."""

from __future__ import annotations

import pytest

from oakauth import OakAuth

from ._drivers import DRIVERS, Driver
from .conftest import Agent

pytestmark = pytest.mark.parametrize("driver", sorted(DRIVERS), indirect=True)


@pytest.fixture
def driver(request: pytest.FixtureRequest) -> Driver:
    name = request.param
    pytest.importorskip({"langchain": "langchain", "openai_agents": "agents", "crewai": "crewai", "mcp": "mcp"}[name])
    return DRIVERS[name]()


def run(driver: Driver, agent: Agent, calls: list[tuple[str, dict[str, object]]], client: OakAuth | None = None):  # type: ignore[no-untyped-def]
    with client or agent.client() as oak:
        return driver.run(agent.key, oak, calls)


def test_an_allowed_call_runs_and_its_arguments_reach_oakauth(driver: Driver, agent: Agent) -> None:
    out = run(driver, agent, [("read_file", {"path": "notes.txt"})])
    assert out.ran == [("read_file", {"path": "notes.txt"})]
    assert out.seen == ["contents of notes.txt"]
    [entry] = agent.logs()
    assert (entry["tool"], entry["scope"], entry["allowed"], entry["reason"]) == ("filesystem", "read", True, "allowed")
    assert entry["arguments"] == {"path": "notes.txt"}
    assert entry["context"]["mcp_tool" if driver.name == "mcp" else "framework_tool"] == "read_file"


def test_a_denied_call_does_not_run_and_the_model_sees_why(driver: Driver, agent: Agent) -> None:
    out = run(driver, agent, [("write_file", {"path": "a.txt", "text": "hi"}), ("read_file", {"path": "a.txt"})])
    assert out.ran == [("read_file", {"path": "a.txt"})]
    assert out.seen[0].startswith("OakAuth denied filesystem:write (scope_not_granted): ")
    assert out.seen[0].endswith("The tool did not run.")
    assert out.seen[1] == "contents of a.txt"
    denied = agent.logs(allowed="false")
    assert [(e["tool"], e["scope"], e["reason"], e["arguments"]) for e in denied] == [
        ("filesystem", "write", "scope_not_granted", {"path": "a.txt", "text": "hi"})
    ]


def test_reasoning_required_then_given_in_the_reasoning_argument(driver: Driver, agent: Agent) -> None:
    out = run(
        driver,
        agent,
        [
            ("delete_file", {"path": "old.log"}),
            ("delete_file", {"path": "old.log", "_reasoning": "the user asked to remove old.log to free space"}),
        ],
    )
    assert out.seen[0].startswith(
        "OakAuth denied filesystem:delete: reasoning required. Call the tool again with a `_reasoning` argument"
    )
    # The tool ran once, and never saw the reasoning argument.
    assert out.ran == [("delete_file", {"path": "old.log"})]
    assert out.seen[1] == "deleted old.log"
    entries = agent.logs()
    assert [(e["reason"], e["reasoning_provided"]) for e in entries] == [
        ("allowed", True),
        ("reasoning_required", False),
    ]
    assert entries[0]["reasoning"] == "the user asked to remove old.log to free space"
    assert entries[0]["arguments"] == {"path": "old.log"}


def test_an_unmapped_tool_is_refused_without_asking_oakauth(driver: Driver, agent: Agent) -> None:
    out = run(driver, agent, [("shell", {"command": "rm -rf /"})])
    assert out.ran == []
    assert out.seen == [
        "OakAuth denied shell: this tool is not in the agent's OakAuth tool mapping, so it is never allowed. "
        "The tool did not run."
    ]
    assert agent.logs() == []


def test_a_call_held_for_approval_does_not_run(driver: Driver, agent: Agent) -> None:
    out = run(driver, agent, [("send_payment", {"to": "acme", "amount": 900})])
    assert out.ran == []
    [approval] = agent.approvals()
    assert approval["status"] == "pending" and approval["arguments"] == {"to": "acme", "amount": 900}
    if driver.name in ("langchain", "openai_agents"):
        # The run stops for the person (LangGraph interrupt, Agents SDK interruption); resuming is
        # in these adapters' own tests.
        assert out.seen == []
    else:
        assert out.seen[0].startswith(
            f"OakAuth: approval requested (id {approval['id']}) for payments:send; an administrator must approve"
        )


def test_no_answer_from_oakauth_means_the_tool_does_not_run(driver: Driver, agent: Agent, unreachable_url: str) -> None:
    client = OakAuth(agent.key, base_url=unreachable_url, allow_insecure_loopback=True, timeout=2, retries=0)
    out = run(driver, agent, [("read_file", {"path": "notes.txt"})], client=client)
    assert out.ran == []
    assert out.seen[0].startswith("OakAuth could not check filesystem:read (")
    assert out.seen[0].endswith("so the tool did not run.")
