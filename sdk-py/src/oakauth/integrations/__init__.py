"""Framework adapters for OakAuth, each behind its own extra, and the tool mapping they share.

- :mod:`oakauth.integrations.langchain` (``pip install 'oakauth[langchain]'``): LangChain v1 agent middleware.
- :mod:`oakauth.integrations.openai_agents` (``'oakauth[openai-agents]'``): OpenAI Agents SDK tool guardrail.
- :mod:`oakauth.integrations.crewai` (``'oakauth[crewai]'``): CrewAI before-tool-call hook.
- :mod:`oakauth.integrations.mcp` (``'oakauth[mcp]'``): guarding a Python MCP server (FastMCP).

This package imports none of the frameworks; each adapter module does, and raises an ImportError
that names its extra when the framework is missing.
"""

from ._check import Verdict
from ._mapping import TargetSpec, ToolMapping, ToolTarget

__all__ = ["TargetSpec", "ToolMapping", "ToolTarget", "Verdict"]
