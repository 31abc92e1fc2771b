"""The one check every adapter makes: map the framework tool, validate the call, and say why not."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..client import AsyncOakAuth, OakAuth
from ..explain import explain
from ..models import Decision
from ._mapping import ToolMapping, ToolTarget

__all__ = ["Checker", "Verdict", "split_reasoning"]

#: Longest reasoning taken from a call's arguments (OakAuth bounds it too; this keeps requests small).
MAX_REASONING_LENGTH = 4_000


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one tool call. ``allowed`` is true only on a well-formed allow from OakAuth.

    ``message`` is the sentence for the model when the call is refused (OakAuth's, through
    :func:`oakauth.explain`); ``decision`` is OakAuth's decision when there was one (None for an
    unmapped tool and when no answer could be had); ``target`` the OakAuth tool and scope.
    """

    allowed: bool
    message: str
    decision: Decision | None
    target: ToolTarget | None
    error: BaseException | None = None

    @property
    def approval_pending(self) -> bool:
        """Whether the call waits for a person's approval (``approval_required``)."""
        return (
            self.decision is not None
            and self.decision.reason == "approval_required"
            and self.decision.approval is not None
        )


def split_reasoning(arguments: Any, reasoning_argument: str | None) -> tuple[Any, str | None, str | None]:
    """Takes the reasoning argument out of a call's arguments: (arguments without it, reasoning, refusal).

    A reasoning value that is neither a string nor None is refused (the third item is the refusal)."""
    if reasoning_argument is None or not isinstance(arguments, Mapping) or reasoning_argument not in arguments:
        return arguments, None, None
    rest = {k: v for k, v in arguments.items() if k != reasoning_argument}
    given = arguments[reasoning_argument]
    if given is None:
        return rest, None, None
    if not isinstance(given, str):
        refusal = f"The `{reasoning_argument}` argument must be a string that says why you need this call; "
        return rest, None, refusal + "the tool did not run."
    return rest, given[:MAX_REASONING_LENGTH], None


class Checker:
    """Checks framework tool calls against OakAuth through a sync or an async client.

    Fails closed: an unmapped tool, a deny, a rate limit, no answer, a garbage answer or any
    exception is a refusal; only :meth:`oakauth.Decision.is_allowed` lets a call run.
    """

    def __init__(
        self,
        client: OakAuth | AsyncOakAuth,
        tool_mapping: ToolMapping,
        *,
        reasoning_argument: str = "_reasoning",
        context: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(client, (OakAuth, AsyncOakAuth)):
            raise TypeError("client must be an oakauth.OakAuth or oakauth.AsyncOakAuth")
        if not isinstance(tool_mapping, ToolMapping):
            raise TypeError("tool_mapping must be an oakauth.integrations.ToolMapping")
        if not isinstance(reasoning_argument, str) or not reasoning_argument:
            raise ValueError("reasoning_argument must be a non-empty string")
        self.client = client
        self.mapping = tool_mapping
        self.reasoning_argument = reasoning_argument
        self.context = dict(context or {})

    def _request(self, name: str, context: Mapping[str, Any] | None) -> tuple[ToolTarget | None, dict[str, Any]]:
        return self.mapping.resolve(name), {**self.context, **(context or {})}

    def _verdict(self, decision: Decision, target: ToolTarget) -> Verdict:
        if decision.is_allowed():
            return Verdict(True, decision.message, decision, target)
        return Verdict(
            False,
            explain(decision, tool=target.tool, scope=target.scope, reasoning_argument=self.reasoning_argument),
            decision,
            target,
        )

    def _failure(self, err: BaseException, target: ToolTarget) -> Verdict:
        return Verdict(False, explain(err, tool=target.tool, scope=target.scope), None, target, err)

    @staticmethod
    def _unmapped(name: str) -> Verdict:
        return Verdict(False, ToolMapping.unmapped_message(str(name)), None, None)

    def check(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        *,
        reasoning: str | None = None,
        context: Mapping[str, Any] | None = None,
        approval_id: str | None = None,
        request_approval: bool | None = None,
    ) -> Verdict:
        """Checks one call with the sync client. With an :class:`AsyncOakAuth` it raises TypeError (a
        programming error, so it is loud; the tool does not run): use :meth:`acheck` there."""
        client = self.client
        if not isinstance(client, OakAuth):
            raise TypeError("an AsyncOakAuth client cannot check a synchronous tool call; pass an oakauth.OakAuth")
        target, ctx = self._request(name, context)
        if target is None:
            return self._unmapped(name)
        try:
            decision = client.validate(
                target.tool,
                target.scope,
                reasoning=reasoning,
                arguments=arguments,
                context=ctx,
                approval_id=approval_id,
                request_approval=request_approval,
            )
        except Exception as err:  # fail closed: whatever went wrong, the tool does not run
            return self._failure(err, target)
        return self._verdict(decision, target)

    async def acheck(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        *,
        reasoning: str | None = None,
        context: Mapping[str, Any] | None = None,
        approval_id: str | None = None,
        request_approval: bool | None = None,
    ) -> Verdict:
        """Checks one call without blocking the event loop (a sync client runs in a worker thread)."""
        target, ctx = self._request(name, context)
        if target is None:
            return self._unmapped(name)
        client = self.client
        try:
            if isinstance(client, AsyncOakAuth):
                decision = await client.validate(
                    target.tool,
                    target.scope,
                    reasoning=reasoning,
                    arguments=arguments,
                    context=ctx,
                    approval_id=approval_id,
                    request_approval=request_approval,
                )
            else:
                decision = await asyncio.to_thread(
                    client.validate,
                    target.tool,
                    target.scope,
                    reasoning=reasoning,
                    arguments=arguments,
                    context=ctx,
                    approval_id=approval_id,
                    request_approval=request_approval,
                )
        except Exception as err:  # fail closed
            return self._failure(err, target)
        return self._verdict(decision, target)
