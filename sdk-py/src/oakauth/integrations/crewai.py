"""OakAuth for CrewAI (``pip install 'oakauth[crewai]'``).

:class:`OakAuthCrewHooks` registers CrewAI tool-call hooks (``crewai.hooks``): a before-tool-call hook
that validates every tool call, with its arguments, and blocks the call unless OakAuth allows it,
and an after-tool-call hook that puts OakAuth's sentence (why, and what to do) in place of CrewAI's
generic "Tool execution blocked by hook" as the result the agent's model sees.

CrewAI's hooks are synchronous and may run inside a running event loop (``kickoff_async``, flows):
the hook uses the synchronous :class:`~oakauth.OakAuth` client, which never starts or touches an
event loop (crewAI issue #7235 is a crash from doing so).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ._check import Checker, split_reasoning
from ._extra import missing_extra
from ._mapping import TargetSpec, ToolMapping, as_mapping

try:
    from crewai.hooks import (
        ToolCallHookContext,
        register_after_tool_call_hook,
        register_before_tool_call_hook,
        unregister_after_tool_call_hook,
        unregister_before_tool_call_hook,
    )
except ImportError as err:  # pragma: no cover - exercised by the packaging test
    raise missing_extra("crewai", "CrewAI (crewai)", "crewai", err) from err

from ..client import OakAuth

__all__ = ["OakAuthCrewHooks"]

#: Refusals waiting for their after-hook; bounded so that blocked calls whose after-hook never runs cannot pile up.
_PENDING_MAX = 1_024


class OakAuthCrewHooks:
    """Validates every CrewAI tool call with OakAuth; install with :meth:`install` (or ``with``).

    ``tool_mapping`` maps each CrewAI tool name (as CrewAI sanitizes it: lower case, ``_`` for
    spaces) to the OakAuth tool and scope it is checked as; a tool it does not name is refused
    without asking OakAuth. The reasoning is the call's ``reasoning_argument`` (``_reasoning``),
    taken out of the input before the tool runs.

    The hooks are global in CrewAI (every agent and crew of the process); ``agent_roles`` limits the
    check to the agents with these roles (others run unchecked; by default every agent is checked).
    """

    def __init__(
        self,
        client: OakAuth,
        tool_mapping: ToolMapping | Mapping[str, TargetSpec],
        *,
        reasoning_argument: str = "_reasoning",
        agent_roles: set[str] | frozenset[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(client, OakAuth):
            raise TypeError("OakAuthCrewHooks needs an oakauth.OakAuth client (CrewAI's hooks are synchronous)")
        self.checker = Checker(
            client,
            as_mapping(tool_mapping),
            reasoning_argument=reasoning_argument,
            context={"framework": "crewai", **(context or {})},
        )
        self.agent_roles = frozenset(agent_roles) if agent_roles is not None else None
        # id(tool_input) → (tool_input, refusal): the after-hook gets a new context but the same input dict.
        self._pending: OrderedDict[int, tuple[dict[str, Any], str]] = OrderedDict()
        self._lock = threading.Lock()
        self._installed = False

    def _applies(self, context: ToolCallHookContext) -> bool:
        if self.agent_roles is None:
            return True
        role = getattr(context.agent, "role", None)
        return isinstance(role, str) and role in self.agent_roles

    def before_tool_call(self, context: ToolCallHookContext) -> bool | None:
        """CrewAI's before-tool-call hook: False blocks the call, None lets it run."""
        if not self._applies(context):
            return None
        tool_input = context.tool_input
        args, reasoning, refused = split_reasoning(tool_input, self.checker.reasoning_argument)
        if refused is not None:
            return self._block(tool_input, refused)
        name = str(context.tool_name)
        task = getattr(context.task, "description", None)
        extra: dict[str, Any] = {"framework_tool": name}
        if isinstance(task, str):
            extra["crewai_task"] = task[:200]
        verdict = self.checker.check(
            name, args if isinstance(args, Mapping) else {}, reasoning=reasoning, context=extra
        )
        if not verdict.allowed:
            return self._block(tool_input, verdict.message)
        if isinstance(tool_input, dict) and self.checker.reasoning_argument in tool_input:
            # Modified in place, as CrewAI asks: the tool never sees the reasoning argument.
            del tool_input[self.checker.reasoning_argument]
        return None

    def _block(self, tool_input: Any, message: str) -> bool:
        if isinstance(tool_input, dict):
            with self._lock:
                while len(self._pending) >= _PENDING_MAX:
                    self._pending.popitem(last=False)
                self._pending[id(tool_input)] = (tool_input, message)
        return False

    def after_tool_call(self, context: ToolCallHookContext) -> str | None:
        """CrewAI's after-tool-call hook: for a call this guard blocked, OakAuth's sentence as the result."""
        with self._lock:
            kept = self._pending.pop(id(context.tool_input), None)
        if kept is None or kept[0] is not context.tool_input:
            return None
        return kept[1]

    def install(self) -> OakAuthCrewHooks:
        """Registers the two hooks with CrewAI (for every crew of this process). Returns self."""
        if not self._installed:
            register_before_tool_call_hook(self.before_tool_call)
            register_after_tool_call_hook(self.after_tool_call)
            self._installed = True
        return self

    def uninstall(self) -> None:
        """Removes the hooks again."""
        if self._installed:
            unregister_before_tool_call_hook(self.before_tool_call)
            unregister_after_tool_call_hook(self.after_tool_call)
            self._installed = False

    def __enter__(self) -> OakAuthCrewHooks:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()
