"""Fixtures of the framework adapter tests: agents in the real local worker, and its audit log."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

import pytest

from oakauth import AsyncOakAuth, OakAuth

from ..conftest import Worker

_names = itertools.count()


def admin(worker: Worker, method: str, path: str, **kw: Any) -> Any:
    """An admin API call that must succeed; its JSON answer."""
    with worker.admin_http() as http:
        answer = http.request(method, path, **kw)
    assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


@dataclass
class Agent:
    """An agent in the test worker, with its key and the admin API to read its audit log."""

    worker: Worker
    id: str
    key: str

    def client(self, **kw: Any) -> OakAuth:
        return OakAuth(self.key, base_url=self.worker.base_url, allow_insecure_loopback=True, **kw)

    def async_client(self, **kw: Any) -> AsyncOakAuth:
        return AsyncOakAuth(self.key, base_url=self.worker.base_url, allow_insecure_loopback=True, **kw)

    def env(self) -> dict[str, str]:
        """The environment an example script needs to act as this agent."""
        return {
            **os.environ,
            "OAKAUTH_API_KEY": self.key,
            "OAKAUTH_BASE_URL": self.worker.base_url,
            "OAKAUTH_ALLOW_INSECURE_LOOPBACK": "1",
        }

    def logs(self, **filters: str) -> list[dict[str, Any]]:
        """The agent's audit-log entries, newest first."""
        answer = admin(self.worker, "GET", "/v1/admin/logs", params={"agent_id": self.id, "limit": "100", **filters})
        logs = answer["logs"]
        assert isinstance(logs, list)
        return logs

    def approvals(self) -> list[dict[str, Any]]:
        answer = admin(self.worker, "GET", "/v1/admin/approvals", params={"agent_id": self.id})
        approvals = answer["approvals"]
        assert isinstance(approvals, list)
        return approvals

    def decide(self, approval_id: str, decision: str = "approve", comment: str | None = None) -> None:
        admin(
            self.worker,
            "POST",
            f"/v1/admin/approvals/{approval_id}/decision",
            json={"decision": decision, "comment": comment},
        )


def make_agent(worker: Worker, capacity: int = 1000) -> Agent:
    """A fresh agent with the tools and rules every adapter test uses:

    - ``filesystem``: ``read`` allowed without reasoning, ``delete`` allowed only with (hard) reasoning,
      ``write`` granted by no rule (``scope_not_granted``);
    - ``payments:send``: held for a person's approval;
    - ``echo:call``: allowed.
    """
    created = admin(
        worker,
        "POST",
        "/v1/admin/agents",
        json={
            "name": f"py-adapters-{os.getpid()}-{next(_names)}",
            "rate_limit": {"capacity": capacity, "refill_per_second": 100},
        },
    )
    agent = Agent(worker, created["agent"]["id"], created["api_key"])
    post = lambda path, body: admin(worker, "POST", f"/v1/admin/agents/{agent.id}{path}", json=body)  # noqa: E731
    post("/tools", {"name": "filesystem", "scopes": ["read", "write", "delete"], "risk_level": "write"})
    post("/rules", {"tool": "filesystem", "scope": "read", "require_reasoning": "none"})
    post("/rules", {"tool": "filesystem", "scope": "delete", "require_reasoning": "hard"})
    post("/tools", {"name": "payments", "scopes": ["send"], "risk_level": "write"})
    post("/rules", {"tool": "payments", "scope": "send", "effect": "require_approval", "require_reasoning": "none"})
    post("/tools", {"name": "echo", "scopes": ["call"], "risk_level": "read"})
    post("/rules", {"tool": "echo", "scope": "call", "require_reasoning": "none"})
    return agent


@pytest.fixture
def agent(worker: Worker) -> Agent:
    return make_agent(worker)


@pytest.fixture
def unreachable_url() -> str:
    """A loopback URL where nothing listens: OakAuth cannot be reached there."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


__all__ = ["Agent", "admin", "make_agent"]

# CrewAI: no telemetry or tracing calls out of the test process.
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
# The OpenAI Agents SDK: no trace export (the scripted model talks to no provider).
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
