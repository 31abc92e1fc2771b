"""OakAuth for LangChain v1 agents (``pip install 'oakauth[langchain]'``).

- :class:`OakAuthMiddleware`: agent middleware (``create_agent(..., middleware=[...])``) whose
  ``wrap_tool_call`` / ``awrap_tool_call`` validate every tool call, with its arguments, before the
  tool runs. A refusal becomes the call's ``ToolMessage`` with ``status="error"`` and OakAuth's
  sentence, so the model learns why and what to do (add reasoning, wait for an approval).
- :func:`guard_tool`: the same check around one ``BaseTool``, for code that runs tools itself.

Approvals: with ``approvals="interrupt"`` (the default), a call that needs a person's approval
pauses the graph with LangGraph's ``interrupt()`` (so the agent needs a checkpointer); resume it
with ``Command(resume=...)`` once the approval was decided in OakAuth, and the call is checked again:
it runs only if OakAuth now allows it. With ``approvals="refuse"``, the model gets OakAuth's
"approval requested" sentence instead, and its identical retry after the approval is allowed once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from ._check import Checker, Verdict, split_reasoning
from ._extra import missing_extra
from ._mapping import TargetSpec, ToolMapping, as_mapping

try:
    from langchain.agents.middleware import AgentMiddleware
    from langchain.agents.middleware.types import ToolCallRequest
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import BaseTool, ToolException
    from langgraph.types import Command, interrupt
    from pydantic import ConfigDict
except ImportError as err:  # pragma: no cover - exercised by the packaging test
    raise missing_extra("langchain", "LangChain (langchain, langgraph)", "langchain", err) from err

from ..client import AsyncOakAuth, OakAuth

__all__ = ["ApprovalMode", "OakAuthMiddleware", "OakAuthTool", "guard_tool"]

ApprovalMode = Literal["interrupt", "refuse"]
_CONTEXT = {"framework": "langchain"}


def _message_reasoning(state: Any, call_id: str | None) -> str | None:
    """The text of the AI message that made this tool call: the model's own words for why."""
    messages = state.get("messages") if isinstance(state, Mapping) else getattr(state, "messages", None)
    if not isinstance(messages, list) or call_id is None:
        return None
    for message in reversed(messages):
        if isinstance(message, AIMessage) and any(c.get("id") == call_id for c in message.tool_calls):
            text = message.text.strip()
            return text or None
    return None


def _refusal(verdict: Verdict, call: Mapping[str, Any]) -> ToolMessage:
    return ToolMessage(
        content=verdict.message,
        tool_call_id=str(call.get("id") or ""),
        name=str(call.get("name") or ""),
        status="error",
        artifact={"oakauth": _artifact(verdict)},
    )


def _artifact(verdict: Verdict) -> dict[str, Any]:
    decision = verdict.decision
    return {
        "allowed": verdict.allowed,
        "reason": decision.reason if decision is not None else None,
        "decision_id": decision.decision_id if decision is not None else None,
        "tool": verdict.target.tool if verdict.target is not None else None,
        "scope": verdict.target.scope if verdict.target is not None else None,
    }


def _interrupt_value(verdict: Verdict, call: Mapping[str, Any]) -> dict[str, Any]:
    decision = verdict.decision
    assert decision is not None and decision.approval is not None and verdict.target is not None
    return {
        "type": "oakauth_approval",
        "approval_id": decision.approval.id,
        "expires_at": str(decision.approval.expires_at),
        "tool": verdict.target.tool,
        "scope": verdict.target.scope,
        "tool_call": {"name": call.get("name"), "id": call.get("id")},
        "message": verdict.message,
    }


class OakAuthMiddleware(AgentMiddleware):
    """Validates every tool call of a LangChain v1 agent with OakAuth before the tool runs.

    ``tool_mapping`` maps each tool name to the OakAuth tool and scope it is checked as; a tool it
    does not name is refused without asking OakAuth. The call's arguments go to OakAuth as the
    call's ``arguments``. The reasoning is the call's ``reasoning_argument`` (``_reasoning``),
    which is taken out of the arguments before the tool sees them, or else (with
    ``reasoning_from_message``) the text the model wrote in the message that made the call.

    Pass an :class:`~oakauth.OakAuth` for ``agent.invoke()`` and an :class:`~oakauth.AsyncOakAuth`
    (or an ``OakAuth``, run in a thread) for ``agent.ainvoke()``.
    """

    def __init__(
        self,
        client: OakAuth | AsyncOakAuth,
        tool_mapping: ToolMapping | Mapping[str, TargetSpec],
        *,
        reasoning_argument: str = "_reasoning",
        reasoning_from_message: bool = True,
        approvals: ApprovalMode = "interrupt",
        context: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if approvals not in ("interrupt", "refuse"):
            raise ValueError('approvals must be "interrupt" or "refuse"')
        self.checker = Checker(
            client,
            as_mapping(tool_mapping),
            reasoning_argument=reasoning_argument,
            context={**_CONTEXT, **(context or {})},
        )
        self.reasoning_from_message = reasoning_from_message
        self.approvals: ApprovalMode = approvals

    @property
    def name(self) -> str:
        return "OakAuthMiddleware"

    def _prepare(self, request: ToolCallRequest) -> tuple[dict[str, Any], Any, str | None, ToolMessage | None]:
        call: dict[str, Any] = dict(request.tool_call)
        args, reasoning, refused = split_reasoning(call.get("args"), self.checker.reasoning_argument)
        if refused is not None:
            return (
                call,
                args,
                None,
                ToolMessage(
                    content=refused,
                    tool_call_id=str(call.get("id") or ""),
                    name=str(call.get("name") or ""),
                    status="error",
                ),
            )
        if reasoning is None and self.reasoning_from_message:
            reasoning = _message_reasoning(request.state, call.get("id"))
        return call, args, reasoning, None

    def _run_request(self, request: ToolCallRequest, call: dict[str, Any], args: Any) -> ToolCallRequest:
        if args is call.get("args"):
            return request
        return request.override(tool_call={**request.tool_call, "args": args})

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        call, args, reasoning, refused = self._prepare(request)
        if refused is not None:
            return refused
        name = str(call.get("name") or "")
        ctx = {"framework_tool": name}
        verdict = self.checker.check(name, args, reasoning=reasoning, context=ctx)
        if verdict.approval_pending and self.approvals == "interrupt":
            interrupt(_interrupt_value(verdict, call))
            approval = verdict.decision.approval if verdict.decision is not None else None
            verdict = self.checker.check(
                name, args, reasoning=reasoning, context=ctx, approval_id=approval.id if approval is not None else None
            )
        if not verdict.allowed:
            return _refusal(verdict, call)
        return handler(self._run_request(request, call, args))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        call, args, reasoning, refused = self._prepare(request)
        if refused is not None:
            return refused
        name = str(call.get("name") or "")
        ctx = {"framework_tool": name}
        verdict = await self.checker.acheck(name, args, reasoning=reasoning, context=ctx)
        if verdict.approval_pending and self.approvals == "interrupt":
            interrupt(_interrupt_value(verdict, call))
            approval = verdict.decision.approval if verdict.decision is not None else None
            verdict = await self.checker.acheck(
                name, args, reasoning=reasoning, context=ctx, approval_id=approval.id if approval is not None else None
            )
        if not verdict.allowed:
            return _refusal(verdict, call)
        return await handler(self._run_request(request, call, args))


class OakAuthTool(BaseTool):
    """A ``BaseTool`` that asks OakAuth before running the tool it wraps (made by :func:`guard_tool`).

    Invoked with a tool call (as agents and ``ToolNode`` do), a refusal is the call's ``ToolMessage``
    with ``status="error"`` and OakAuth's sentence; invoked with plain arguments, a refusal raises
    ``ToolException`` with that sentence. Approvals are refused with OakAuth's sentence (the identical
    retry after the approval is allowed once); use :class:`OakAuthMiddleware` for ``interrupt()``.
    """

    inner: BaseTool
    checker: Checker
    handle_tool_error: bool = True

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _split(self, tool_input: Any) -> tuple[Any, Any, str | None, str | None, dict[str, Any] | None]:
        """(input for the inner tool, arguments, reasoning, refusal, tool call)."""
        ra = self.checker.reasoning_argument
        if isinstance(tool_input, Mapping) and tool_input.get("type") == "tool_call" and "args" in tool_input:
            call = dict(tool_input)
            args, reasoning, refused = split_reasoning(call.get("args"), ra)
            return {**call, "args": args}, args, reasoning, refused, call
        args, reasoning, refused = split_reasoning(tool_input, ra)
        return args, args, reasoning, refused, None

    def _answer(self, message: str, verdict: Verdict | None, call: dict[str, Any] | None) -> ToolMessage:
        if call is None:
            raise ToolException(message)
        if verdict is not None:
            return _refusal(Verdict(False, message, verdict.decision, verdict.target, verdict.error), call)
        return ToolMessage(content=message, tool_call_id=str(call.get("id") or ""), name=self.name, status="error")

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        inner_input, args, reasoning, refused, call = self._split(input)
        if refused is not None:
            return self._answer(refused, None, call)
        arguments = args if isinstance(args, Mapping) else {"input": args}
        verdict = self.checker.check(
            self.inner.name, arguments, reasoning=reasoning, context={**_CONTEXT, "framework_tool": self.inner.name}
        )
        if not verdict.allowed:
            return self._answer(verdict.message, verdict, call)
        return self.inner.invoke(inner_input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        inner_input, args, reasoning, refused, call = self._split(input)
        if refused is not None:
            return self._answer(refused, None, call)
        arguments = args if isinstance(args, Mapping) else {"input": args}
        verdict = await self.checker.acheck(
            self.inner.name, arguments, reasoning=reasoning, context={**_CONTEXT, "framework_tool": self.inner.name}
        )
        if not verdict.allowed:
            return self._answer(verdict.message, verdict, call)
        return await self.inner.ainvoke(inner_input, config, **kwargs)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        # Reached only through BaseTool.run() called directly; invoke() is the checked path.
        kwargs.pop("run_manager", None)
        return self.invoke(kwargs if kwargs else (args[0] if args else {}))

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        return await self.ainvoke(kwargs if kwargs else (args[0] if args else {}))


def guard_tool(
    tool: BaseTool,
    client: OakAuth | AsyncOakAuth,
    tool_mapping: ToolMapping | Mapping[str, TargetSpec],
    *,
    reasoning_argument: str = "_reasoning",
) -> OakAuthTool:
    """Wraps one LangChain tool so that every call of it is validated with OakAuth first.

    The wrapper has the tool's name, description and argument schema; its calls are checked as the
    OakAuth tool and scope ``tool_mapping`` gives for the tool's name (refused when it has none)."""
    if not isinstance(tool, BaseTool):
        raise TypeError("guard_tool: tool must be a langchain_core BaseTool")
    checker = Checker(client, as_mapping(tool_mapping), reasoning_argument=reasoning_argument)
    return OakAuthTool(
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        return_direct=tool.return_direct,
        response_format=tool.response_format,
        inner=tool,
        checker=checker,
    )
