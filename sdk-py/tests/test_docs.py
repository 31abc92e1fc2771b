"""docs/python-sdk.md's examples work as written: every python block of the page is one of
sdk-py/examples/ (verbatim), and each example runs against the real worker with the output it promises."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from oakauth import ApprovalPending, OakAuth, OakAuthAdmin

from .conftest import SeededAgent, Worker

SDK = Path(__file__).resolve().parents[1]
ROOT = SDK.parent
PAGE = ROOT / "docs" / "python-sdk.md"
EXAMPLES = SDK / "examples"
BLOCK = re.compile(r"(?:<!-- example: (\S+) -->\n)?```python\n(.*?)```", re.S)

Seed = Callable[..., SeededAgent]


def test_every_python_block_of_the_page_is_an_example_verbatim() -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert blocks, "docs/python-sdk.md has no python blocks"
    shown = set()
    for path, code in blocks:
        assert path, f"a python block of docs/python-sdk.md is not marked as an example:\n{code[:200]}"
        assert (ROOT / path).read_text(encoding="utf-8") == code, f"docs/python-sdk.md shows another {path}"
        shown.add(Path(path).name)
    assert shown == {p.name for p in EXAMPLES.glob("*.py")}, "an example is not on the page (or the reverse)"


def env(worker: Worker, agent: SeededAgent | None = None, **extra: str) -> dict[str, str]:
    values = {
        **os.environ,
        "OAKAUTH_BASE_URL": worker.base_url,
        "OAKAUTH_ALLOW_INSECURE_LOOPBACK": "1",
        "OAKAUTH_ADMIN_KEY": worker.admin_key,
        **extra,
    }
    if agent is not None:
        values["OAKAUTH_API_KEY"] = agent.key
    return values


def run(name: str, environment: dict[str, str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], env=environment, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip().splitlines()


def test_quickstart(worker: Worker, seed: Seed, tmp_path: Path) -> None:
    agent = seed(
        tools={"filesystem": ["read", "write"]},
        rules=[{"tool": "filesystem", "scope": "read", "require_reasoning": "none"}],
    )
    (tmp_path / "a.txt").write_text("a")
    out = run("quickstart.py", env(worker, agent), tmp_path)
    assert out[0] == "allowed: 1 files"
    assert re.fullmatch(r"denied: scope_not_granted \(decision dec_\w+\)", out[1])
    assert out[2].startswith("OakAuth denied filesystem:write (scope_not_granted)")
    assert out[3].startswith("False scope_not_granted OakAuth denied filesystem:write")
    assert not (tmp_path / "notes.txt").exists()


def test_guarded(worker: Worker, seed: Seed, tmp_path: Path) -> None:
    rule = {
        "tool": "payments",
        "scope": "refund",
        "require_reasoning": "none",
        "conditions": [{"pointer": "/amount", "op": "lte", "value": 100, "on_missing": "deny"}],
    }
    agent = seed(tools={"payments": ["refund"]}, rules=[rule])
    out = run("guarded.py", env(worker, agent), tmp_path)
    assert out[0] == "refunded 40 on o-17"
    assert out[1].startswith("refused: conditions_not_met: ")


def test_async_guard(worker: Worker, seed: Seed, tmp_path: Path) -> None:
    agent = seed(
        tools={"filesystem": ["read", "write"]},
        rules=[{"tool": "filesystem", "scope": "read", "require_reasoning": "none"}],
    )
    out = run("async_guard.py", env(worker, agent), tmp_path)
    assert out == ["allowed: report contents", "[('allowed', True), ('scope_not_granted', False)]"]


def test_approvals(worker: Worker, seed: Seed, tmp_path: Path) -> None:
    agent = seed(
        tools={"payments": ["send"]}, rules=[{"tool": "payments", "scope": "send", "effect": "require_approval"}]
    )
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "approvals.py")],
        env=env(worker, agent),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    match = re.fullmatch(r"waiting for approval (apr_\w+) \(expires .+\)", first)
    assert match, first
    with OakAuthAdmin(worker.admin_key, base_url=worker.base_url, allow_insecure_loopback=True) as admin:
        admin.decide_approval(match.group(1), {"decision": "approve"})
    rest, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert rest.strip() == "sent 900 to ana"


def test_receipts(worker: Worker, seed: Seed, tmp_path: Path) -> None:
    agent = seed(
        tools={"payments": ["refund"]}, rules=[{"tool": "payments", "scope": "refund", "require_reasoning": "none"}]
    )
    out = run("receipts.py", env(worker, agent), tmp_path)
    assert re.fullmatch(rf"verified: decision dec_\w+ for agent {agent.id}", out[0])
    assert out[1] == "refused: replayed"


def test_webhooks(worker: Worker, seed: Seed, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with OakAuthAdmin(worker.admin_key, base_url=worker.base_url, allow_insecure_loopback=True) as admin:
        hook = admin.create_webhook({"url": f"http://127.0.0.1:{port}/hooks", "event_types": ["approval.requested"]})
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "webhooks.py")],
            env=env(worker, OAKAUTH_WEBHOOK_SECRET=hook.secret, PORT=str(port)),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == f"listening on http://127.0.0.1:{port}"
            agent = seed(
                tools={"payments": ["send"]},
                rules=[{"tool": "payments", "scope": "send", "effect": "require_approval"}],
            )
            oak = OakAuth(agent.key, base_url=worker.base_url, allow_insecure_loopback=True)
            with oak, pytest.raises(ApprovalPending):
                oak.guard("payments", "send", lambda: None, arguments={"amount": 1})
            out, err = process.communicate(timeout=90)
        finally:
            process.kill()
            admin.delete_webhook(hook.id)
    assert process.returncode == 0, err
    assert re.fullmatch(r"approval\.requested: apr_\w+", out.strip()), out


def test_admin(worker: Worker, tmp_path: Path) -> None:
    out = run("admin.py", env(worker), tmp_path)
    assert re.fullmatch(r"agent agt_\w+, key oak_\w+…", out[0]), out[0]
    assert out[1:] == ["filesystem write scope_not_granted", "filesystem read allowed"]
