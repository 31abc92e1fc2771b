"""OakAuth for the OpenAI Agents SDK (``pip install 'oakauth[openai-agents]'``).

:class:`OakAuthGuard` gives, for the SDK's own extension points of a ``FunctionTool``:

- :attr:`OakAuthGuard.input_guardrail`, a ``ToolInputGuardrail`` that validates each call, with its
  arguments, before the tool runs: an allow lets it run, anything else rejects the call with
  OakAuth's sentence as the tool's output (``reject_content``), so the model learns why.
- :meth:`OakAuthGuard.needs_approval_for`, a ``needs_approval`` callable: a call for which OakAuth asks a
  person's approval interrupts the run (``result.interruptions``). Once the approval was decided
  in OakAuth, approve the interruption (``state.approve(item)``) and run again from the state: the
  guardrail then checks the call again and it runs only if OakAuth now allows it.

:meth:`OakAuthGuard.protect` sets both on tools; tools it does not protect are not checked.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ._check import Checker, Verdict, split_reasoning
from ._extra import missing_extra
from ._mapping import TargetSpec, ToolMapping, as_mapping

try:
    from agents import FunctionTool, RunContextWrapper, ToolGuardrailFunctionOutput, ToolInputGuardrail
    from agents.tool_guardrails import ToolInputGuardrailData
except ImportError as err:  # pragma: no cover - exercised by the packaging test
    raise missing_extra("openai_agents", "the OpenAI Agents SDK (openai-agents)", "openai-agents", err) from err

from ..client import AsyncOakAuth, OakAuth

__all__ = ["OakAuthGuard"]

T = TypeVar("T")
#: Seconds for which the verdict ``needs_approval`` got is kept for the guardrail of the same call.
_HANDOVER_TTL = 30.0
_HANDOVER_MAX = 1_024


def _parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    if raw is None or raw.strip() == "":
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError:
        return None, "The tool's arguments are not valid JSON; the tool did not run."
    if not isinstance(value, dict):
        return None, "The tool's arguments must be a JSON object; the tool did not run."
    return value, None


class OakAuthGuard:
    """Checks OpenAI Agents SDK tool calls with OakAuth.

    ``tool_mapping`` maps each tool name to the OakAuth tool and scope it is checked as; a tool it
    does not name is refused without asking OakAuth. The reasoning is taken from the call's
    ``reasoning_argument`` (``_reasoning``) when the tool's schema has one (the SDK passes it on to
    the tool, which may ignore it).
    """

    def __init__(
        self,
        client: OakAuth | AsyncOakAuth,
        tool_mapping: ToolMapping | Mapping[str, TargetSpec],
        *,
        reasoning_argument: str = "_reasoning",
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.checker = Checker(
            client,
            as_mapping(tool_mapping),
            reasoning_argument=reasoning_argument,
            context={"framework": "openai-agents", **(context or {})},
        )
        # call id → (arguments JSON, verdict, expiry): what needs_approval got, used once by the guardrail.
        self._handover: OrderedDict[str, tuple[str, Verdict, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.input_guardrail: ToolInputGuardrail[Any] = ToolInputGuardrail(
            guardrail_function=self._guardrail, name="oakauth"
        )

    async def _check(self, name: str, arguments: dict[str, Any], call_id: str | None, **kw: Any) -> Verdict:
        args, reasoning, refused = split_reasoning(arguments, self.checker.reasoning_argument)
        if refused is not None:
            return Verdict(False, refused, None, self.checker.mapping.resolve(name))
        ctx = {"framework_tool": name, **({"tool_call_id": call_id} if call_id else {})}
        return await self.checker.acheck(name, args, reasoning=reasoning, context=ctx, **kw)

    def _keep(self, call_id: str, raw: str, verdict: Verdict) -> None:
        with self._lock:
            now = time.monotonic()
            while self._handover and (
                len(self._handover) >= _HANDOVER_MAX or next(iter(self._handover.values()))[2] < now
            ):
                self._handover.popitem(last=False)
            self._handover[call_id] = (raw, verdict, now + _HANDOVER_TTL)

    def _take(self, call_id: str, raw: str) -> Verdict | None:
        with self._lock:
            kept = self._handover.pop(call_id, None)
        if kept is None or kept[0] != raw or kept[2] < time.monotonic():
            return None
        return kept[1]

    async def _guardrail(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        ctx = data.context
        name = ctx.tool_name
        raw = ctx.tool_arguments
        call_id = ctx.tool_call_id
        arguments, bad = _parse_arguments(raw)
        if arguments is None:
            return ToolGuardrailFunctionOutput.reject_content(bad or "The tool did not run.")
        kept = self._take(call_id, json.dumps(arguments, sort_keys=True)) if call_id else None
        verdict = kept if kept is not None else await self._check(name, arguments, call_id)
        info = {
            "allowed": verdict.allowed,
            "reason": verdict.decision.reason if verdict.decision is not None else None,
            "decision_id": verdict.decision.decision_id if verdict.decision is not None else None,
        }
        if verdict.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=info)
        return ToolGuardrailFunctionOutput.reject_content(verdict.message, output_info=info)

    def needs_approval_for(self, tool_name: str) -> _ApprovalFor:
        """A ``needs_approval`` callable for the tool named ``tool_name``: true when OakAuth holds the
        call for a person's approval (the SDK then interrupts the run).

        Its check is a validation like the guardrail's, and its answer (other than "approval
        requested") is handed to the guardrail of the same call (same call id and arguments, within
        30 seconds), so each call is validated once. After an interruption the guardrail validates
        the call again."""
        return _ApprovalFor(self, tool_name)

    def protect(self, tools: Iterable[T]) -> list[T]:
        """Sets the guardrail (and ``needs_approval``) on each ``FunctionTool`` of ``tools`` and returns them.

        A tool that is not a ``FunctionTool`` (hosted tools run on OpenAI's side) is refused with
        TypeError: this guard cannot check it."""
        out: list[T] = []
        for tool in tools:
            if not isinstance(tool, FunctionTool):
                raise TypeError(f"OakAuthGuard.protect: {tool!r} is not a FunctionTool; OakAuth cannot check it")
            guardrails = list(tool.tool_input_guardrails or [])
            if self.input_guardrail not in guardrails:
                guardrails.insert(0, self.input_guardrail)
            tool.tool_input_guardrails = guardrails
            tool.needs_approval = self.needs_approval_for(tool.name)
            out.append(tool)
        return out


class _ApprovalFor:
    """``needs_approval`` of one tool: the SDK does not pass the tool's name, so it is bound here."""

    def __init__(self, guard: OakAuthGuard, tool_name: str) -> None:
        self.guard = guard
        self.tool_name = tool_name

    async def __call__(self, run_context: RunContextWrapper[Any], arguments: dict[str, Any], call_id: str) -> bool:
        verdict = await self.guard._check(self.tool_name, dict(arguments), call_id)
        if call_id and not verdict.approval_pending:
            self.guard._keep(call_id, json.dumps(arguments, sort_keys=True), verdict)
        return verdict.approval_pending
