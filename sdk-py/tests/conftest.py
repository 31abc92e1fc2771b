"""Shared fixtures: the real OakAuth worker in local workerd, and a way to seed agents in it.

The worker is started once per test session with the repository's harness, `node tests/support/serve.mjs`
(it prints the server's details as one JSON line and stops when its standard input closes). Tests that
need it take the ``worker`` fixture; tests that only use ``httpx.MockTransport`` never start it.

``seed`` creates an agent with tools and rules through the admin API and returns its id and key::

    def test_something(seed, worker):
        agent = seed(tools={"filesystem": ["read"]}, rules=[{"tool": "filesystem", "scope": "read"}])
        oak = OakAuth(agent.key, base_url=worker.base_url, allow_insecure_loopback=True)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: How long the worker may take to start (migrations and wrangler's start are slow on a loaded machine).
START_TIMEOUT = float(os.environ.get("OAKAUTH_TEST_WORKER_START_TIMEOUT", "300"))


@dataclass(frozen=True)
class Worker:
    base_url: str
    admin_key: str
    other_admin_key: str
    organization_id: str
    other_organization_id: str

    def admin_http(self, key: str | None = None) -> httpx.Client:
        """A plain httpx client with an admin key (for seeding; the SDK's admin client is tested apart)."""
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {key or self.admin_key}"}, timeout=30
        )


@dataclass(frozen=True)
class SeededAgent:
    id: str
    key: str
    name: str


@pytest.fixture(scope="session")
def worker() -> Iterator[Worker]:
    """The real worker, started once for the session and stopped (its state deleted) at the end."""
    process = subprocess.Popen(
        ["node", "tests/support/serve.mjs"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = _first_line(process, START_TIMEOUT)
        details = json.loads(line)
        yield Worker(
            base_url=details["base_url"],
            admin_key=details["admin_key"],
            other_admin_key=details["other_admin_key"],
            organization_id=details["organization_id"],
            other_organization_id=details["other_organization_id"],
        )
    finally:
        _stop(process)


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            err = (
                process.stderr.read().decode(errors="replace")[-2000:]
                if process.poll() is not None and process.stderr
                else ""
            )
            raise RuntimeError(f"the test worker did not start within {timeout:g} s: {err}")
        ready, _, _ = select.select([process.stdout], [], [], min(remaining, 1.0))
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                continue
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def seed(worker: Worker) -> Iterator[Callable[..., SeededAgent]]:
    """``seed(tools={name: [scopes]}, rules=[CreateRule bodies], rate_limit=None, input_schemas=None)``:
    a new agent in the worker's first organization, with those tools and rules."""
    http = worker.admin_http()

    def create(
        *,
        tools: Mapping[str, Sequence[str]] | None = None,
        rules: Sequence[Mapping[str, Any]] = (),
        rate_limit: Mapping[str, Any] | None = None,
        input_schemas: Mapping[str, Mapping[str, Any]] | None = None,
        name: str | None = None,
    ) -> SeededAgent:
        agent_name = name or f"py-{uuid.uuid4().hex[:12]}"
        body: dict[str, Any] = {"name": agent_name}
        if rate_limit is not None:
            body["rate_limit"] = dict(rate_limit)
        created = _ok(http.post("/v1/admin/agents", json=body))
        agent_id = created["agent"]["id"]
        for tool, scopes in (tools or {}).items():
            tool_body: dict[str, Any] = {"name": tool, "scopes": list(scopes), "risk_level": "write"}
            if input_schemas and tool in input_schemas:
                tool_body["input_schema"] = dict(input_schemas[tool])
            _ok(http.post(f"/v1/admin/agents/{agent_id}/tools", json=tool_body))
        for rule in rules:
            _ok(http.post(f"/v1/admin/agents/{agent_id}/rules", json=dict(rule)))
        return SeededAgent(id=agent_id, key=created["api_key"], name=agent_name)

    yield create
    http.close()


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"seeding failed: {response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json()
