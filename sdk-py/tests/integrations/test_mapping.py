"""ToolMapping, and importing each adapter without its framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oakauth.integrations import ToolMapping, ToolTarget


def test_exact_names_win_over_patterns_and_the_first_pattern_wins() -> None:
    mapping = ToolMapping(
        {
            "github_*": "github:write",
            "github_get_*": ("github", "read"),
            "github_get_secret": ToolTarget("vault", "read"),
            "*_file": "{name}:call",
        }
    )
    assert mapping.resolve("github_get_secret") == ToolTarget("vault", "read")
    assert mapping.resolve("github_get_issue") == ToolTarget("github", "write")  # first pattern in order
    assert mapping.resolve("read_file") == ToolTarget("read_file", "call")  # {name} in a pattern's tool
    assert mapping.resolve("send_email") is None
    assert "read_file" in mapping and "send_email" not in mapping


def test_unmapped_is_refused_with_a_clear_message() -> None:
    mapping = ToolMapping({"read_file": "filesystem:read"})
    assert mapping.resolve("shell") is None
    assert ToolMapping.unmapped_message("shell") == (
        "OakAuth denied shell: this tool is not in the agent's OakAuth tool mapping, so it is never allowed. "
        "The tool did not run."
    )


def test_matching_is_case_sensitive_and_bounded() -> None:
    mapping = ToolMapping({"read_*": "filesystem:read"})
    assert mapping.resolve("READ_FILE") is None
    assert mapping.resolve("read_" + "x" * 300) is None
    assert mapping.resolve("") is None


def test_identity_mapping() -> None:
    assert ToolMapping.identity().resolve("echo") == ToolTarget("echo", "call")
    assert ToolMapping.identity("run").resolve("deploy") == ToolTarget("deploy", "run")


@pytest.mark.parametrize(
    "entries",
    [
        {"read_file": "filesystem"},  # no scope
        {"read_file": "filesystem:"},
        {"read_file": ":read"},
        {"read_file": ("filesystem",)},
        {"read_file": 42},
        {"": "a:b"},
        {"read_file": "{name}:call"},  # {name} only in patterns
        {"x" * 300: "a:b"},
    ],
)
def test_bad_entries_are_refused(entries: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"ToolMapping|ToolTarget"):
        ToolMapping(entries)  # type: ignore[arg-type]


def test_repeated_exact_names_are_refused() -> None:
    with pytest.raises(ValueError, match="mapped twice"):
        ToolMapping([("a", "t:s"), ("a", "t:r")])


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("langchain", "langchain", "langchain"),
        ("openai_agents", "agents", "openai-agents"),
        ("crewai", "crewai", "crewai"),
        ("mcp", "mcp", "mcp"),
    ],
)
def test_an_adapter_without_its_framework_names_the_extra(module: str, blocked: str, extra: str) -> None:
    # A fresh interpreter in which the framework cannot be imported (as if not installed).
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == {blocked!r} or name.startswith({blocked!r} + "."):
            raise ImportError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Block())
import oakauth.integrations  # the package itself imports no framework
try:
    import oakauth.integrations.{module}
except ImportError as err:
    print(err)
else:
    print("imported")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"pip install 'oakauth[{extra}]'" in out
    assert out.startswith(f"oakauth.integrations.{module} needs ")
