"""docs/integrations/*.md work as written: every python block of those pages is a file of
sdk-py/examples/integrations/ (verbatim), and each example runs against the real worker, as the
demo agent of scripts/dev.sh, and prints what the page shows."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ..conftest import Worker
from .conftest import Agent, admin

SDK = Path(__file__).resolve().parents[2]
ROOT = SDK.parent
EXAMPLES = SDK / "examples" / "integrations"
PAGES = {
    "langchain.md": ["langchain_agent.py"],
    "openai-agents.md": ["openai_agents_agent.py"],
    "crewai.md": ["crewai_crew.py"],
    "mcp-python.md": ["mcp_server.py", "mcp_client.py"],
}
BLOCK = re.compile(r"(?:<!-- example: (\S+) -->\n)?```python\n(.*?)```", re.S)
OUTPUT = re.compile(r"<!-- output: (\S+) -->\n```text\n(.*?)```", re.S)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_python_block_is_an_example_verbatim(page: str) -> None:
    text = (ROOT / "docs" / "integrations" / page).read_text(encoding="utf-8")
    shown = []
    for path, code in BLOCK.findall(text):
        assert path, f"a python block of {page} is not marked as an example:\n{code[:200]}"
        assert (ROOT / path).read_text(encoding="utf-8") == code, f"{page} shows another {path}"
        shown.append(Path(path).name)
    assert shown == PAGES[page]


def test_every_example_is_on_a_page() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == {name for names in PAGES.values() for name in names}


@pytest.fixture
def demo(worker: Worker) -> Agent:
    """The demo agent of scripts/dev.sh: filesystem read (no reasoning), write (soft), delete (hard)."""
    created = admin(
        worker,
        "POST",
        "/v1/admin/agents",
        json={"name": f"demo-{uuid.uuid4().hex[:12]}", "rate_limit": {"capacity": 100, "refill_per_second": 10}},
    )
    agent = Agent(worker, created["agent"]["id"], created["api_key"])
    path = f"/v1/admin/agents/{agent.id}"
    admin(
        worker,
        "POST",
        f"{path}/tools",
        json={"name": "filesystem", "scopes": ["read", "write", "delete"], "risk_level": "write"},
    )
    for scope, reasoning in (("read", "none"), ("write", "soft"), ("delete", "hard")):
        admin(
            worker, "POST", f"{path}/rules", json={"tool": "filesystem", "scope": scope, "require_reasoning": reasoning}
        )
    return agent


def promised(page: str, example: str) -> list[str]:
    """The output a page shows for an example (a ```text block after <!-- output: example -->)."""
    text = (ROOT / "docs" / "integrations" / page).read_text(encoding="utf-8")
    outputs = dict(OUTPUT.findall(text))
    assert example in outputs, f"{page} shows no output of {example}"
    return outputs[example].strip().splitlines()


@pytest.mark.parametrize(
    ("page", "example"),
    [
        ("langchain.md", "langchain_agent.py"),
        ("openai-agents.md", "openai_agents_agent.py"),
        ("crewai.md", "crewai_crew.py"),
        ("mcp-python.md", "mcp_client.py"),
    ],
)
def test_the_example_prints_what_the_page_shows(page: str, example: str, demo: Agent, tmp_path: Path) -> None:
    pytest.importorskip(
        {"langchain.md": "langchain", "openai-agents.md": "agents", "crewai.md": "crewai", "mcp-python.md": "mcp"}[page]
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        env=demo.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{example} failed:\n{done.stdout}\n{done.stderr}"
    lines = [line.rstrip() for line in done.stdout.strip().splitlines()]
    assert lines == promised(page, example)
    # What ran is what OakAuth allowed, with the arguments the model gave.
    logs = demo.logs()
    assert logs, "no decision reached OakAuth"
    calls = [entry for entry in logs if (entry["context"] or {}).get("mcp") != "tools/list"]
    assert calls and all(entry["arguments"] == {"path": "todo.txt"} for entry in calls)
