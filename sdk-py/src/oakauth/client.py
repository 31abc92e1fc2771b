"""The agent clients: :class:`OakAuth` (sync) and :class:`AsyncOakAuth` (async) ask OakAuth before a
tool is used. The behaviour mirrors the TypeScript SDK (sdk-ts/src/client.ts)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, ParamSpec, TypeVar, cast, overload

import httpx
from pydantic import ValidationError

from ._http import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Answer,
    AsyncHttp,
    SyncHttp,
    error_for,
    from_env,
    make_config,
    segment,
)
from .errors import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalPending,
    MalformedResponse,
    OakAuthError,
    PermissionDenied,
    QuotaExceededError,
    RateLimited,
    ReasoningRequired,
    Unavailable,
)
from .models import ALLOW_REASONS, DENY_REASONS, ApprovalTicket, Decision, Health

__all__ = [
    "DEFAULT_APPROVAL_TIMEOUT",
    "MAX_APPROVAL_WAIT_SECONDS",
    "ApprovalMode",
    "AsyncOakAuth",
    "OakAuth",
    "guarded",
]

P = ParamSpec("P")
T = TypeVar("T")

#: What ``guard()`` does when the call needs a person's approval: ``"raise"`` :class:`ApprovalPending`
#: at once, or ``"wait"`` for the decision (long polls), then ask again naming the approval.
ApprovalMode = Literal["raise", "wait"]
#: The longest long poll ``GET /v1/approvals/{id}?wait=`` takes, in seconds.
MAX_APPROVAL_WAIT_SECONDS = 25
#: The shortest interval between two polls of a pending approval, whatever the server advises.
MIN_POLL_INTERVAL = 0.5
#: How long ``guard()`` waits for a person with ``approval="wait"``, unless ``approval_timeout`` says otherwise.
DEFAULT_APPROVAL_TIMEOUT = 300.0

_MISSING_KEY = "OakAuth: an agent key is required (the api_key argument or OAKAUTH_API_KEY)"


# --- what the two clients share: the request, and reading the answer ------------------------------


def _validate_body(
    tool: str,
    scope: str,
    reasoning: str | None,
    arguments: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None,
    approval_id: str | None,
    request_approval: bool | None,
) -> dict[str, Any]:
    if not isinstance(tool, str) or not isinstance(scope, str) or tool == "" or scope == "":
        raise TypeError("OakAuth: validate needs a tool and a scope (non-empty strings)")
    body: dict[str, Any] = {"tool": tool, "scope": scope}
    if reasoning is not None:
        if not isinstance(reasoning, str):
            raise TypeError("OakAuth: validate `reasoning` must be a string")
        body["reasoning"] = reasoning
    if context is not None:
        if not isinstance(context, Mapping):
            raise TypeError("OakAuth: validate `context` must be a mapping")
        body["context"] = _json_object(context, "context")
    if arguments is not None:
        if not isinstance(arguments, Mapping):
            raise TypeError("OakAuth: validate `arguments` must be a mapping (the tool call's arguments by name)")
        body["arguments"] = _json_object(arguments, "arguments")
    if approval_id is not None:
        if not isinstance(approval_id, str) or approval_id == "":
            raise TypeError("OakAuth: validate `approval_id` must be an approval id (apr_…)")
        body["approval_id"] = approval_id
    if request_approval is not None:
        body["request_approval"] = bool(request_approval)
    return body


def _json_object(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The mapping as it travels: JSON, or a TypeError before anything is sent."""
    try:
        text = json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"OakAuth: validate `{what}` must be JSON (strings, numbers, booleans, null, lists, maps): {err}"
        ) from None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _read_decision(answer: Answer, tool: str, scope: str) -> Decision:
    """The answer as a decision, or :class:`MalformedResponse` / :class:`RateLimited` / an API error."""
    if answer.status == 429:
        decision = _parse_decision(answer, tool, scope)
        if decision is not None and decision.allowed is False and decision.reason == "quota_exceeded":
            # Over the monthly quota: a deny like any other, with its quota and the wait until the reset.
            if decision.quota is None:
                raise error_for(answer)
            return decision.with_call(tool, scope, answer.request_id, answer.retry_after or 0)
        if decision is None or decision.allowed is not False or decision.reason != "rate_limited":
            raise error_for(answer)
        retry_after = answer.retry_after
        if retry_after is None and decision.rate_limit is not None:
            retry_after = decision.rate_limit.reset
        decision.with_call(tool, scope, answer.request_id, retry_after or 0)
        return decision
    decision = _parse_decision(answer, tool, scope) if answer.status == 200 else None
    if decision is None:
        raise MalformedResponse(
            f"OakAuth answered validate with HTTP {answer.status} and a body that is not a decision",
            answer.status,
            answer.text,
            request_id=answer.request_id,
        )
    reasons = ALLOW_REASONS if decision.allowed else DENY_REASONS
    # An approval_required names a pending approval, or none at all: the answer to a probe with
    # `request_approval: false` (docs/approvals.md), which creates none.
    consistent = decision.reason in reasons and (
        decision.reason != "approval_required" or decision.approval is None or decision.approval.status == "pending"
    )
    if not consistent:
        raise MalformedResponse(
            "OakAuth answered a decision that contradicts itself "
            f"(allowed: {decision.allowed}, reason: {decision.reason})",
            answer.status,
            answer.text,
            request_id=answer.request_id,
        )
    retry_after = answer.retry_after if decision.reason == "unavailable" else None
    return decision.with_call(tool, scope, answer.request_id, retry_after)


def _parse_decision(answer: Answer, tool: str, scope: str) -> Decision | None:
    body = answer.body
    if not isinstance(body, dict):
        return None
    try:
        decision = Decision.model_validate(body)
    except ValidationError:
        return None
    if decision.decision_id == "":
        return None
    if decision.receipt is not None and (decision.receipt == "" or not decision.allowed):
        # A receipt proves an allow; one sent with a deny proves nothing and is left out.
        decision.receipt = None
    return decision


def _read_ticket(answer: Answer, what: str) -> ApprovalTicket:
    try:
        return ApprovalTicket.model_validate(answer.body)
    except ValidationError:
        raise MalformedResponse(
            f"OakAuth answered {what} with HTTP {answer.status} and a body that is not an approval",
            answer.status,
            answer.text,
            request_id=answer.request_id,
        ) from None


def _read_health(answer: Answer) -> Health:
    try:
        return Health.model_validate(answer.body)
    except ValidationError:
        raise MalformedResponse(
            'OakAuth /health did not answer {"status": "ok", "version": …}',
            answer.status,
            answer.text,
            request_id=answer.request_id,
        ) from None


def denial(decision: Decision, *, timed_out: bool = False) -> OakAuthError:
    """The exception ``guard()`` raises for a deny decision."""
    tool, scope, rid = decision.tool, decision.scope, decision.request_id
    reason = decision.reason
    if reason == "rate_limited":
        wait = decision.retry_after or 0
        return RateLimited(
            f"OakAuth rate limit reached for {tool}:{scope}; retry in {wait} s: {decision.message}",
            wait,
            decision=decision,
            request_id=rid,
        )
    if reason == "quota_exceeded" and decision.quota is not None:
        return QuotaExceededError(decision, tool, scope, retry_after=decision.retry_after or 0, request_id=rid)
    if reason == "unavailable":
        return Unavailable(
            f"OakAuth could not decide {tool}:{scope} (unavailable): {decision.message}",
            decision=decision,
            request_id=rid,
        )
    if reason == "reasoning_required":
        return ReasoningRequired(decision, tool, scope, request_id=rid)
    if reason == "approval_required" and decision.approval is not None:
        return ApprovalPending(decision, tool, scope, request_id=rid, timed_out=timed_out)
    if reason == "approval_denied":
        return ApprovalDenied(decision, tool, scope, request_id=rid)
    if reason == "approval_expired":
        return ApprovalExpired(decision, tool, scope, request_id=rid)
    return PermissionDenied(decision, tool, scope, request_id=rid)


def _approval_settings(approval: str, approval_timeout: float | None) -> float:
    if approval not in ("raise", "wait"):
        raise TypeError("OakAuth.guard: approval must be 'raise' or 'wait'")
    limit = DEFAULT_APPROVAL_TIMEOUT if approval_timeout is None else approval_timeout
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or limit < 0:
        raise TypeError("OakAuth.guard: approval_timeout must be a number of seconds, 0 or more")
    return float(limit)


def _check_wait(wait_seconds: int) -> int:
    if isinstance(wait_seconds, bool) or not isinstance(wait_seconds, int) or not 0 <= wait_seconds <= 25:
        raise ValueError(
            f"OakAuth.get_approval: wait_seconds must be a whole number from 0 to {MAX_APPROVAL_WAIT_SECONDS}"
        )
    return wait_seconds


def call_arguments(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call of ``fn`` by parameter name, defaults applied, as ``@guarded`` sends them.
    ``self`` and ``cls`` are left out; a ``**kwargs`` parameter's entries are merged in by name."""
    signature = inspect.signature(fn)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if name in ("self", "cls") and kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            continue
        if kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            out[name] = list(value)
        else:
            out[name] = value
    return out


# --- the sync client -------------------------------------------------------------------------------


class OakAuth:
    """A client for agents: asks OakAuth before a tool is used.

    >>> oak = OakAuth()  # OAKAUTH_API_KEY, OAKAUTH_BASE_URL  # doctest: +SKIP
    >>> oak.guard("filesystem", "read", lambda: os.listdir("."), reasoning="list the user's files")  # doctest: +SKIP

    Sync and blocking; it never starts an event loop, so it may be called from code that runs inside
    one (it blocks that thread while it waits, as any sync I/O does; in async code use
    :class:`AsyncOakAuth`). Thread-safe. Close it with :meth:`close` or use it as a context manager.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        allow_insecure_loopback: bool | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = make_config(
            api_key if api_key is not None else from_env("OAKAUTH_API_KEY"),
            _MISSING_KEY,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            allow_insecure_loopback=allow_insecure_loopback,
        )
        self._http = SyncHttp(config, transport)

    @property
    def base_url(self) -> str:
        """The base URL this client talks to."""
        return self._http.config.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OakAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def validate(
        self,
        tool: str,
        scope: str,
        *,
        reasoning: str | None = None,
        arguments: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        approval_id: str | None = None,
        request_approval: bool | None = None,
    ) -> Decision:
        """Asks whether the agent may use ``tool`` with ``scope`` (with the call's ``arguments``, when
        given) and returns the decision: an allow or a deny, including a rate limit (reason
        ``rate_limited``, ``retry_after`` set) and the organization's monthly quota used up (reason
        ``quota_exceeded``, ``quota`` and ``retry_after`` set). Raises :class:`~oakauth.errors.Unavailable` (or a
        subclass) when no trustworthy decision was had, and an API error for a refused key."""
        body = _validate_body(tool, scope, reasoning, arguments, context, approval_id, request_approval)
        answer = self._http.request("POST", "/v1/validate", body=body, retry="always", accept=(429,))
        return _read_decision(answer, tool, scope)

    def guard(
        self,
        tool: str,
        scope: str,
        action: Callable[[], T],
        *,
        reasoning: str | None = None,
        arguments: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        approval: ApprovalMode = "raise",
        approval_timeout: float | None = None,
        on_pending: Callable[[ApprovalTicket], None] | None = None,
    ) -> T:
        """Validates, then runs ``action()`` only on a well-formed allow and returns its result.

        Raises, and does not run the action, on a deny (:class:`~oakauth.errors.PermissionDenied`
        and its subclasses), a rate limit (:class:`~oakauth.errors.RateLimited`) and any failure to
        get a trustworthy decision (:class:`~oakauth.errors.Unavailable`). A call that needs a
        person's approval raises :class:`~oakauth.errors.ApprovalPending`, or with
        ``approval="wait"`` waits (at most ``approval_timeout`` seconds, default 300) for the
        decision and asks again naming the approval: see docs/python-sdk.md."""
        if not callable(action):
            raise TypeError("OakAuth.guard: the action must be callable")
        if inspect.iscoroutinefunction(action):
            raise TypeError("OakAuth.guard: the action is a coroutine function; use AsyncOakAuth to guard it")
        limit = _approval_settings(approval, approval_timeout)
        deadline = time.monotonic() + limit
        decision = self.validate(tool, scope, reasoning=reasoning, arguments=arguments, context=context)
        seen: set[str] = set()
        while True:
            if decision.is_allowed():
                return action()
            ticket = decision.approval
            if approval == "raise" or decision.reason != "approval_required" or ticket is None or ticket.id in seen:
                # Asked again after the approval left `pending`, OakAuth still says it is pending:
                # waiting more would not change that.
                raise denial(decision)
            seen.add(ticket.id)
            if on_pending is not None:
                on_pending(ticket)
            final = self._wait_for_decision(ticket, deadline)
            if final.status == "pending":
                raise denial(decision, timed_out=True)
            # The decision itself is OakAuth's, on the same request naming the approval.
            decision = self.validate(
                tool, scope, reasoning=reasoning, arguments=arguments, context=context, approval_id=final.id
            )

    def guarded(
        self,
        tool: str,
        scope: str,
        *,
        reasoning: str | None = None,
        context: Mapping[str, Any] | None = None,
        approval: ApprovalMode = "raise",
        approval_timeout: float | None = None,
    ) -> Callable[[Callable[P, T]], Callable[P, T]]:
        """A decorator: each call of the function is guarded, with its arguments (by parameter name)
        sent as the call's ``arguments``. See :func:`guarded`."""

        def decorate(fn: Callable[P, T]) -> Callable[P, T]:
            if inspect.iscoroutinefunction(fn):
                raise TypeError("OakAuth.guarded: the function is a coroutine function; use AsyncOakAuth to guard it")

            @functools.wraps(fn)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
                arguments = call_arguments(fn, args, kwargs)
                return self.guard(
                    tool,
                    scope,
                    lambda: fn(*args, **kwargs),
                    reasoning=reasoning,
                    arguments=arguments,
                    context=context,
                    approval=approval,
                    approval_timeout=approval_timeout,
                )

            return wrapper

        return decorate

    def get_approval(self, approval_id: str, *, wait_seconds: int = 0) -> ApprovalTicket:
        """``GET /v1/approvals/{id}``: where one of this agent's approvals stands. With ``wait_seconds``
        (at most 25), OakAuth holds the answer until the approval leaves ``pending`` or the time is up."""
        wait = _check_wait(wait_seconds)
        path = f"/v1/approvals/{segment(approval_id, 'an approval id')}"
        answer = self._http.request(
            "GET",
            path,
            query={"wait": wait} if wait > 0 else None,
            retry="always",
            timeout=self._http.config.timeout + wait,
        )
        return _read_ticket(answer, f"GET {path}")

    def cancel_approval(self, approval_id: str) -> ApprovalTicket:
        """``POST /v1/approvals/{id}/cancel``: withdraws one of this agent's pending approvals."""
        path = f"/v1/approvals/{segment(approval_id, 'an approval id')}/cancel"
        answer = self._http.request("POST", path, retry="connect-only")
        return _read_ticket(answer, f"POST {path}")

    def healthcheck(self) -> Health:
        """``GET /health``: returns when the service answers that it is up."""
        return _read_health(self._http.request("GET", "/health", retry="always"))

    def _wait_for_decision(self, ticket: ApprovalTicket, deadline: float) -> ApprovalTicket:
        current = ticket
        while current.status == "pending":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            started = time.monotonic()
            wait = min(MAX_APPROVAL_WAIT_SECONDS, max(1, math.ceil(remaining)))
            current = self.get_approval(current.id, wait_seconds=wait)
            # A server that answered at once, still pending, is not polled faster than it advises.
            pause = min(
                max(current.poll_after_ms / 1000, MIN_POLL_INTERVAL) - (time.monotonic() - started),
                deadline - time.monotonic(),
            )
            if current.status == "pending" and pause > 0:
                time.sleep(pause)
        return current


# --- the async client ------------------------------------------------------------------------------


class AsyncOakAuth:
    """The async twin of :class:`OakAuth`: the same arguments, methods and errors, awaited. ``guard()``
    awaits the action when it returns an awaitable (a coroutine function, or a function returning one)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        allow_insecure_loopback: bool | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = make_config(
            api_key if api_key is not None else from_env("OAKAUTH_API_KEY"),
            _MISSING_KEY,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            allow_insecure_loopback=allow_insecure_loopback,
        )
        self._http = AsyncHttp(config, transport)

    @property
    def base_url(self) -> str:
        return self._http.config.base_url

    async def aclose(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> AsyncOakAuth:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def validate(
        self,
        tool: str,
        scope: str,
        *,
        reasoning: str | None = None,
        arguments: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        approval_id: str | None = None,
        request_approval: bool | None = None,
    ) -> Decision:
        """See :meth:`OakAuth.validate`."""
        body = _validate_body(tool, scope, reasoning, arguments, context, approval_id, request_approval)
        answer = await self._http.request("POST", "/v1/validate", body=body, retry="always", accept=(429,))
        return _read_decision(answer, tool, scope)

    @overload
    async def guard(
        self,
        tool: str,
        scope: str,
        action: Callable[[], Awaitable[T]],
        *,
        reasoning: str | None = ...,
        arguments: Mapping[str, Any] | None = ...,
        context: Mapping[str, Any] | None = ...,
        approval: ApprovalMode = ...,
        approval_timeout: float | None = ...,
        on_pending: Callable[[ApprovalTicket], None] | None = ...,
    ) -> T: ...

    @overload
    async def guard(
        self,
        tool: str,
        scope: str,
        action: Callable[[], T],
        *,
        reasoning: str | None = ...,
        arguments: Mapping[str, Any] | None = ...,
        context: Mapping[str, Any] | None = ...,
        approval: ApprovalMode = ...,
        approval_timeout: float | None = ...,
        on_pending: Callable[[ApprovalTicket], None] | None = ...,
    ) -> T: ...

    async def guard(
        self,
        tool: str,
        scope: str,
        action: Callable[[], Any],
        *,
        reasoning: str | None = None,
        arguments: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        approval: ApprovalMode = "raise",
        approval_timeout: float | None = None,
        on_pending: Callable[[ApprovalTicket], None] | None = None,
    ) -> Any:
        """See :meth:`OakAuth.guard`; the action may be sync or async."""
        if not callable(action):
            raise TypeError("AsyncOakAuth.guard: the action must be callable")
        limit = _approval_settings(approval, approval_timeout)
        deadline = time.monotonic() + limit
        decision = await self.validate(tool, scope, reasoning=reasoning, arguments=arguments, context=context)
        seen: set[str] = set()
        while True:
            if decision.is_allowed():
                result = action()
                if inspect.isawaitable(result):
                    return await result
                return result
            ticket = decision.approval
            if approval == "raise" or decision.reason != "approval_required" or ticket is None or ticket.id in seen:
                raise denial(decision)
            seen.add(ticket.id)
            if on_pending is not None:
                on_pending(ticket)
            final = await self._wait_for_decision(ticket, deadline)
            if final.status == "pending":
                raise denial(decision, timed_out=True)
            decision = await self.validate(
                tool, scope, reasoning=reasoning, arguments=arguments, context=context, approval_id=final.id
            )

    def guarded(
        self,
        tool: str,
        scope: str,
        *,
        reasoning: str | None = None,
        context: Mapping[str, Any] | None = None,
        approval: ApprovalMode = "raise",
        approval_timeout: float | None = None,
    ) -> Callable[[Callable[P, Awaitable[T]] | Callable[P, T]], Callable[P, Awaitable[T]]]:
        """A decorator: each call is guarded with its arguments; the decorated function is always a
        coroutine function (it awaits OakAuth), whether the original was sync or async."""

        def decorate(fn: Callable[P, Awaitable[T]] | Callable[P, T]) -> Callable[P, Awaitable[T]]:
            @functools.wraps(fn)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
                arguments = call_arguments(fn, args, kwargs)
                result = await self.guard(
                    tool,
                    scope,
                    lambda: fn(*args, **kwargs),
                    reasoning=reasoning,
                    arguments=arguments,
                    context=context,
                    approval=approval,
                    approval_timeout=approval_timeout,
                )
                return cast(T, result)

            return wrapper

        return decorate

    async def get_approval(self, approval_id: str, *, wait_seconds: int = 0) -> ApprovalTicket:
        """See :meth:`OakAuth.get_approval`."""
        wait = _check_wait(wait_seconds)
        path = f"/v1/approvals/{segment(approval_id, 'an approval id')}"
        answer = await self._http.request(
            "GET",
            path,
            query={"wait": wait} if wait > 0 else None,
            retry="always",
            timeout=self._http.config.timeout + wait,
        )
        return _read_ticket(answer, f"GET {path}")

    async def cancel_approval(self, approval_id: str) -> ApprovalTicket:
        """See :meth:`OakAuth.cancel_approval`."""
        path = f"/v1/approvals/{segment(approval_id, 'an approval id')}/cancel"
        answer = await self._http.request("POST", path, retry="connect-only")
        return _read_ticket(answer, f"POST {path}")

    async def healthcheck(self) -> Health:
        return _read_health(await self._http.request("GET", "/health", retry="always"))

    async def _wait_for_decision(self, ticket: ApprovalTicket, deadline: float) -> ApprovalTicket:
        current = ticket
        while current.status == "pending":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            started = time.monotonic()
            wait = min(MAX_APPROVAL_WAIT_SECONDS, max(1, math.ceil(remaining)))
            current = await self.get_approval(current.id, wait_seconds=wait)
            pause = min(
                max(current.poll_after_ms / 1000, MIN_POLL_INTERVAL) - (time.monotonic() - started),
                deadline - time.monotonic(),
            )
            if current.status == "pending" and pause > 0:
                await asyncio.sleep(pause)
        return current


# --- the decorator as a function -------------------------------------------------------------------


@overload
def guarded(
    client: OakAuth,
    tool: str,
    scope: str,
    *,
    reasoning: str | None = ...,
    context: Mapping[str, Any] | None = ...,
    approval: ApprovalMode = ...,
    approval_timeout: float | None = ...,
) -> Callable[[Callable[P, T]], Callable[P, T]]: ...


@overload
def guarded(
    client: AsyncOakAuth,
    tool: str,
    scope: str,
    *,
    reasoning: str | None = ...,
    context: Mapping[str, Any] | None = ...,
    approval: ApprovalMode = ...,
    approval_timeout: float | None = ...,
) -> Callable[[Callable[P, Awaitable[T]] | Callable[P, T]], Callable[P, Awaitable[T]]]: ...


def guarded(
    client: OakAuth | AsyncOakAuth,
    tool: str,
    scope: str,
    *,
    reasoning: str | None = None,
    context: Mapping[str, Any] | None = None,
    approval: ApprovalMode = "raise",
    approval_timeout: float | None = None,
) -> Any:
    """``@guarded(client, tool, scope)``: each call of the decorated function asks OakAuth first, with
    the function's arguments (bound to its parameter names, defaults applied, ``self``/``cls`` left
    out) as the call's ``arguments``, and runs only on an allow; otherwise it raises as
    :meth:`OakAuth.guard` does. The arguments must be JSON (a TypeError is raised before anything is
    sent otherwise). With an :class:`AsyncOakAuth`, the decorated function is a coroutine function."""
    return client.guarded(
        tool, scope, reasoning=reasoning, context=context, approval=approval, approval_timeout=approval_timeout
    )
