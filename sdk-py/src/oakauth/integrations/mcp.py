"""OakAuth in front of a Python MCP server (``pip install 'oakauth[mcp]'``), like ``withOakAuth`` in TypeScript.

:func:`with_oakauth` puts OakAuth in front of every tool of an ``mcp`` package ``FastMCP`` server,
through the handler registration of its low-level server (the ``tools/call`` and ``tools/list``
handlers), so tools registered before and after are covered alike:

- Each tool advertises an optional string argument ``_reasoning``; the wrapper sends it to OakAuth
  as the call's reasoning and removes it before the tool sees its arguments. The other arguments go
  to OakAuth as the call's ``arguments``; the validation's context is ``{"mcp_tool": name}``.
- A deny, a rate limit or any failure to get an allow answers the call with ``isError: true`` and
  the same sentence as the TypeScript wrapper (``oakauth.explain``); the tool does not run.
- ``hide_denied_tools`` leaves out of ``tools/list`` the tools the agent may not use at all, and
  answers their calls exactly like calls of tools the server does not have.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from ._check import Checker, split_reasoning
from ._extra import missing_extra
from ._mapping import TargetSpec, ToolMapping, ToolTarget, as_mapping

try:
    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.types import Tool as MCPTool
except ImportError as err:  # pragma: no cover - exercised by the packaging test
    raise missing_extra("mcp", "the MCP Python SDK (mcp)", "mcp", err) from err

from ..client import AsyncOakAuth, OakAuth
from ..models import Decision

__all__ = ["DEFAULT_LIST_CACHE_TTL", "REASONING_DESCRIPTION", "with_oakauth"]

#: Seconds a tool's listing decision is reused by default (``hide_denied_tools``).
DEFAULT_LIST_CACHE_TTL = 5.0
REASONING_DESCRIPTION = "Why you need to make this call. Recorded in the audit log; some calls are refused without it."
_WRAPPED = "_oakauth_wrapped"
# Deny reasons that reasoning, the call's arguments or a person could lift: such a tool stays listed.
_LISTABLE = frozenset(
    {
        "reasoning_required",
        "conditions_not_met",
        "invalid_arguments",
        "approval_required",
        "approval_denied",
        "approval_expired",
        "approval_cancelled",
        "approval_consumed",
        "approval_mismatch",
        "rate_limited",
    }
)


def _keep_listed(decision: Decision) -> bool:
    if decision.is_allowed() or decision.reason in _LISTABLE:
        return True
    return (
        decision.reason == "denied_by_rule"
        and decision.explanation is not None
        and decision.explanation.condition is not None
    )


def _advertise(tool: MCPTool, reasoning_argument: str) -> MCPTool:
    schema = dict(tool.inputSchema) if isinstance(tool.inputSchema, Mapping) else {"type": "object"}
    properties = schema.get("properties")
    properties = dict(properties) if isinstance(properties, Mapping) else {}
    if reasoning_argument in properties:
        return tool
    properties[reasoning_argument] = {"type": "string", "description": REASONING_DESCRIPTION}
    return tool.model_copy(update={"inputSchema": {**schema, "properties": properties}})


def _not_found(name: str) -> ToolError:
    # The very words FastMCP answers for a tool it does not have, so hidden and missing look alike.
    return ToolError(f"Unknown tool: {name}")


def with_oakauth(
    server: FastMCP,
    *,
    client: OakAuth | AsyncOakAuth | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    allow_insecure_loopback: bool | None = None,
    timeout: float = 10.0,
    retries: int = 2,
    tool_mapping: ToolMapping | Mapping[str, TargetSpec] | None = None,
    default_scope: str = "call",
    reasoning_argument: str = "_reasoning",
    hide_denied_tools: bool = False,
    list_cache_ttl: float = DEFAULT_LIST_CACHE_TTL,
) -> FastMCP:
    """Validates every tool call of ``server`` with OakAuth before the tool runs. Returns ``server``.

    A call of MCP tool ``name`` is checked as the OakAuth tool and scope ``tool_mapping`` gives; the
    default mapping checks every tool as the OakAuth tool of its own name with ``default_scope``
    (``"call"``), like the TypeScript wrapper. A mapping that is given is explicit: a tool it does
    not name is refused (add ``"*": "{name}:call"`` as its last entry for the default's behaviour).

    ``client`` is the client to validate with (an :class:`~oakauth.AsyncOakAuth` is best; an
    :class:`~oakauth.OakAuth` runs in a worker thread); without one, an ``AsyncOakAuth`` is made from
    ``api_key``, ``base_url``, ``allow_insecure_loopback``, ``timeout`` and ``retries`` (or
    ``OAKAUTH_API_KEY``, ``OAKAUTH_BASE_URL``, ``OAKAUTH_ALLOW_INSECURE_LOOPBACK``).

    ``hide_denied_tools`` leaves out of ``tools/list`` the tools the agent may not use at all (an
    unknown tool, a scope no rule grants, an unconditional deny rule, a disabled agent, OakAuth
    unreachable). A listing validates each tool without reasoning, arguments or approval request
    (context ``{"mcp": "tools/list"}``); each answer is kept for ``list_cache_ttl`` seconds. Calls
    are never cached.
    """
    if not isinstance(server, FastMCP):
        raise TypeError("with_oakauth: server must be an mcp.server.fastmcp.FastMCP")
    if getattr(server, _WRAPPED, False):
        raise RuntimeError("with_oakauth: this server is wrapped already")
    if not isinstance(default_scope, str) or not default_scope:
        raise ValueError("with_oakauth: default_scope must be a non-empty string")
    if not isinstance(list_cache_ttl, (int, float)) or list_cache_ttl < 0 or list_cache_ttl != list_cache_ttl:
        raise ValueError("with_oakauth: list_cache_ttl must be a number of seconds, 0 or more")
    if client is None:
        client = AsyncOakAuth(
            api_key,
            base_url=base_url,
            allow_insecure_loopback=allow_insecure_loopback,
            timeout=timeout,
            retries=retries,
        )
    mapping = ToolMapping.identity(default_scope) if tool_mapping is None else as_mapping(tool_mapping)
    checker = Checker(client, mapping, reasoning_argument=reasoning_argument)
    hide = bool(hide_denied_tools)
    lowlevel = server._mcp_server  # the low-level Server whose handler registration FastMCP itself uses
    listed: dict[ToolTarget, tuple[float, asyncio.Future[bool]]] = {}

    async def registered(name: str) -> bool:
        return any(t.name == name for t in await server.list_tools())

    async def may_use(target: ToolTarget) -> bool:
        try:
            if isinstance(client, AsyncOakAuth):
                decision = await client.validate(
                    target.tool, target.scope, context={"mcp": "tools/list"}, request_approval=False
                )
            else:
                decision = await asyncio.to_thread(
                    client.validate, target.tool, target.scope, context={"mcp": "tools/list"}, request_approval=False
                )
        except Exception:  # no answer: hidden
            return False
        return _keep_listed(decision)

    async def may_list(name: str) -> bool:
        target = mapping.resolve(name)
        if target is None:
            return False
        now = time.monotonic()
        cached = listed.get(target)
        if cached is not None and cached[0] > now:
            return await asyncio.shield(cached[1])
        task: asyncio.Future[bool] = asyncio.ensure_future(may_use(target))
        if list_cache_ttl > 0:
            listed[target] = (now + list_cache_ttl, task)
            for key in [k for k, (expires, _) in listed.items() if expires <= now]:
                del listed[key]
        return await asyncio.shield(task)

    async def list_tools() -> list[MCPTool]:
        tools = [_advertise(t, reasoning_argument) for t in await server.list_tools()]
        if hide:
            keep = await asyncio.gather(*(may_list(t.name) for t in tools))
            tools = [t for t, k in zip(tools, keep, strict=True) if k]
        return tools

    async def call_tool(name: str, arguments: dict[str, Any]) -> Any:
        args, reasoning, refused = split_reasoning(arguments or {}, reasoning_argument)
        if refused is not None:
            raise ToolError(refused)
        target = mapping.resolve(name)
        if target is None:
            raise _not_found(name) if hide else ToolError(ToolMapping.unmapped_message(name))
        verdict = await checker.acheck(name, args, reasoning=reasoning, context={"mcp_tool": name})
        decision = verdict.decision
        if hide:
            if decision is None:
                raise _not_found(name)
            if decision.reason == "rate_limited":
                wait = max(1, decision.retry_after or 0)
                raise ToolError(
                    f"OakAuth rate limit reached for {name}; retry in {wait} seconds. The tool did not run."
                )
            if not _keep_listed(decision) or (verdict.allowed and not await registered(name)):
                raise _not_found(name)
        if not verdict.allowed:
            raise ToolError(verdict.message)
        return await server.call_tool(name, args)

    lowlevel.list_tools()(list_tools)  # type: ignore[no-untyped-call]
    lowlevel.call_tool(validate_input=False)(call_tool)
    setattr(server, _WRAPPED, True)
    return server
