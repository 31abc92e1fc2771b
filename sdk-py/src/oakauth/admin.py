"""The admin API (``/v1/admin/…``) scoped to an admin key's organization: :class:`OakAuthAdmin` (sync)
and :class:`AsyncOakAuthAdmin` (async), with the same methods. Request bodies are models of
:mod:`oakauth.models` or plain mappings (checked against the model before anything is sent); answers
are models. ``list_*`` return one page; ``iter_*`` iterate over every page. Mirrors sdk-ts/src/admin.ts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ._http import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Answer,
    AsyncHttp,
    Query,
    RetryPolicy,
    SyncHttp,
    from_env,
    make_config,
    segment,
)
from .errors import MalformedResponse
from .models import (
    AdminEvent,
    AdminEventList,
    Agent,
    AgentList,
    AgentWithKey,
    Approval,
    ApprovalDecision,
    ApprovalList,
    ApprovalStatus,
    AuditVerification,
    CreateAgent,
    CreateRule,
    CreateTool,
    CreateWebhook,
    Delivery,
    DeliveryList,
    DeliveryStatus,
    LogEntry,
    LogList,
    Me,
    ReasonCode,
    ReplayRequest,
    ReplayResponse,
    RotateKey,
    RotateWebhookSecret,
    Rule,
    RuleList,
    SimulateRequest,
    SimulateResponse,
    Stats,
    Tool,
    ToolList,
    UpdateAgent,
    UpdateRule,
    UpdateTool,
    UpdateWebhook,
    Webhook,
    WebhookList,
    WebhookWithSecret,
)

__all__ = ["AsyncOakAuthAdmin", "OakAuthAdmin"]

M = TypeVar("M", bound=BaseModel)
Item = TypeVar("Item", bound=BaseModel)
Body = TypeVar("Body", bound=BaseModel)

_MISSING_KEY = "OakAuth: an admin key is required (the admin_key argument or OAKAUTH_ADMIN_KEY)"


@dataclass(frozen=True)
class _Op(Generic[M]):
    """One admin request and the model of its answer (None: no body, 204)."""

    method: str
    path: str
    model: type[M] | None
    query: Query | None = None
    body: Any = None
    retry: RetryPolicy | None = None

    @property
    def policy(self) -> RetryPolicy:
        # Creating something is not repeated after it may have reached the service.
        return self.retry or ("connect-only" if self.method == "POST" else "always")


def _body(model: type[Body], value: Body | Mapping[str, Any] | None) -> dict[str, Any]:
    """A request body as it travels, checked against its model: fields left out stay left out."""
    if value is None:
        value = {}
    if isinstance(value, model):
        checked = value
    elif isinstance(value, Mapping):
        try:
            checked = model.model_validate(dict(value))
        except ValidationError as err:
            raise TypeError(f"OakAuthAdmin: not a {model.__name__}: {err}") from None
    else:
        raise TypeError(f"OakAuthAdmin: the body must be a {model.__name__} or a mapping")
    dumped: dict[str, Any] = checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dumped


def _read(op: _Op[M], answer: Answer) -> M:
    assert op.model is not None
    try:
        return op.model.model_validate(answer.body)
    except ValidationError:
        raise MalformedResponse(
            f"OakAuth answered {op.method} {op.path} with HTTP {answer.status} and not a {op.model.__name__}",
            answer.status,
            answer.text,
            request_id=answer.request_id,
        ) from None


def _check_audit(op: _Op[AuditVerification], report: AuditVerification) -> AuditVerification:
    # A report that does not add up must not read as "intact".
    consistent = report.ok == all(chain.ok for chain in report.agents) and all(
        (chain.broken is None) == chain.ok for chain in report.agents
    )
    if not consistent:
        raise MalformedResponse(
            f"OakAuth answered GET {op.path} with a report that contradicts itself", 200, report.model_dump_json()
        )
    return report


def _id(value: str) -> str:
    return segment(value, "an id")


class _Ops:
    """The requests of the admin API, shared by the sync and the async client."""

    @staticmethod
    def me() -> _Op[Me]:
        return _Op("GET", "/v1/admin/me", Me)

    @staticmethod
    def list_agents(limit: int | None, cursor: str | None) -> _Op[AgentList]:
        return _Op("GET", "/v1/admin/agents", AgentList, {"limit": limit, "cursor": cursor})

    @staticmethod
    def create_agent(body: CreateAgent | Mapping[str, Any]) -> _Op[AgentWithKey]:
        return _Op("POST", "/v1/admin/agents", AgentWithKey, body=_body(CreateAgent, body))

    @staticmethod
    def get_agent(agent_id: str) -> _Op[Agent]:
        return _Op("GET", f"/v1/admin/agents/{_id(agent_id)}", Agent)

    @staticmethod
    def update_agent(agent_id: str, body: UpdateAgent | Mapping[str, Any]) -> _Op[Agent]:
        return _Op("PATCH", f"/v1/admin/agents/{_id(agent_id)}", Agent, body=_body(UpdateAgent, body))

    @staticmethod
    def delete_agent(agent_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/agents/{_id(agent_id)}", None)

    @staticmethod
    def rotate_agent_key(agent_id: str, body: RotateKey | Mapping[str, Any] | None) -> _Op[AgentWithKey]:
        return _Op("POST", f"/v1/admin/agents/{_id(agent_id)}/rotate-key", AgentWithKey, body=_body(RotateKey, body))

    @staticmethod
    def list_tools(agent_id: str, limit: int | None, cursor: str | None) -> _Op[ToolList]:
        return _Op("GET", f"/v1/admin/agents/{_id(agent_id)}/tools", ToolList, {"limit": limit, "cursor": cursor})

    @staticmethod
    def create_tool(agent_id: str, body: CreateTool | Mapping[str, Any]) -> _Op[Tool]:
        return _Op("POST", f"/v1/admin/agents/{_id(agent_id)}/tools", Tool, body=_body(CreateTool, body))

    @staticmethod
    def get_tool(agent_id: str, tool_id: str) -> _Op[Tool]:
        return _Op("GET", f"/v1/admin/agents/{_id(agent_id)}/tools/{_id(tool_id)}", Tool)

    @staticmethod
    def update_tool(agent_id: str, tool_id: str, body: UpdateTool | Mapping[str, Any]) -> _Op[Tool]:
        path = f"/v1/admin/agents/{_id(agent_id)}/tools/{_id(tool_id)}"
        return _Op("PATCH", path, Tool, body=_body(UpdateTool, body))

    @staticmethod
    def delete_tool(agent_id: str, tool_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/agents/{_id(agent_id)}/tools/{_id(tool_id)}", None)

    @staticmethod
    def list_rules(agent_id: str, limit: int | None, cursor: str | None) -> _Op[RuleList]:
        return _Op("GET", f"/v1/admin/agents/{_id(agent_id)}/rules", RuleList, {"limit": limit, "cursor": cursor})

    @staticmethod
    def create_rule(agent_id: str, body: CreateRule | Mapping[str, Any]) -> _Op[Rule]:
        return _Op("POST", f"/v1/admin/agents/{_id(agent_id)}/rules", Rule, body=_body(CreateRule, body))

    @staticmethod
    def get_rule(agent_id: str, rule_id: str) -> _Op[Rule]:
        return _Op("GET", f"/v1/admin/agents/{_id(agent_id)}/rules/{_id(rule_id)}", Rule)

    @staticmethod
    def update_rule(agent_id: str, rule_id: str, body: UpdateRule | Mapping[str, Any]) -> _Op[Rule]:
        path = f"/v1/admin/agents/{_id(agent_id)}/rules/{_id(rule_id)}"
        return _Op("PATCH", path, Rule, body=_body(UpdateRule, body))

    @staticmethod
    def delete_rule(agent_id: str, rule_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/agents/{_id(agent_id)}/rules/{_id(rule_id)}", None)

    @staticmethod
    def list_logs(filters: Query) -> _Op[LogList]:
        return _Op("GET", "/v1/admin/logs", LogList, filters)

    @staticmethod
    def get_log(decision_id: str) -> _Op[LogEntry]:
        return _Op("GET", f"/v1/admin/logs/{_id(decision_id)}", LogEntry)

    @staticmethod
    def simulate(body: SimulateRequest | Mapping[str, Any]) -> _Op[SimulateResponse]:
        # Writes nothing, so it is safe to repeat.
        return _Op("POST", "/v1/admin/simulate", SimulateResponse, body=_body(SimulateRequest, body), retry="always")

    @staticmethod
    def replay(body: ReplayRequest | Mapping[str, Any]) -> _Op[ReplayResponse]:
        body_ = _body(ReplayRequest, body)
        return _Op("POST", "/v1/admin/simulate/replay", ReplayResponse, body=body_, retry="always")

    @staticmethod
    def stats(since: str | None, until: str | None) -> _Op[Stats]:
        return _Op("GET", "/v1/admin/stats", Stats, {"since": since, "until": until})

    @staticmethod
    def list_events(agent_id: str | None, limit: int | None, cursor: str | None) -> _Op[AdminEventList]:
        return _Op("GET", "/v1/admin/events", AdminEventList, {"agent_id": agent_id, "limit": limit, "cursor": cursor})

    @staticmethod
    def verify_audit(agent_id: str | None, limit: int | None, cursor: str | None) -> _Op[AuditVerification]:
        if agent_id is not None and (not isinstance(agent_id, str) or agent_id == ""):
            raise TypeError(f"OakAuthAdmin: not an agent id: {agent_id!r}")
        query = {"agent_id": agent_id, "limit": limit, "cursor": cursor}
        return _Op("GET", "/v1/admin/audit/verify", AuditVerification, query)

    @staticmethod
    def list_approvals(
        status: ApprovalStatus | None, agent_id: str | None, limit: int | None, cursor: str | None
    ) -> _Op[ApprovalList]:
        query = {"status": status, "agent_id": agent_id, "limit": limit, "cursor": cursor}
        return _Op("GET", "/v1/admin/approvals", ApprovalList, query)

    @staticmethod
    def get_approval(approval_id: str) -> _Op[Approval]:
        return _Op("GET", f"/v1/admin/approvals/{_id(approval_id)}", Approval)

    @staticmethod
    def decide_approval(approval_id: str, body: ApprovalDecision | Mapping[str, Any]) -> _Op[Approval]:
        path = f"/v1/admin/approvals/{_id(approval_id)}/decision"
        return _Op("POST", path, Approval, body=_body(ApprovalDecision, body))

    @staticmethod
    def list_webhooks(limit: int | None, cursor: str | None) -> _Op[WebhookList]:
        return _Op("GET", "/v1/admin/webhooks", WebhookList, {"limit": limit, "cursor": cursor})

    @staticmethod
    def create_webhook(body: CreateWebhook | Mapping[str, Any]) -> _Op[WebhookWithSecret]:
        return _Op("POST", "/v1/admin/webhooks", WebhookWithSecret, body=_body(CreateWebhook, body))

    @staticmethod
    def get_webhook(webhook_id: str) -> _Op[Webhook]:
        return _Op("GET", f"/v1/admin/webhooks/{_id(webhook_id)}", Webhook)

    @staticmethod
    def update_webhook(webhook_id: str, body: UpdateWebhook | Mapping[str, Any]) -> _Op[Webhook]:
        return _Op("PATCH", f"/v1/admin/webhooks/{_id(webhook_id)}", Webhook, body=_body(UpdateWebhook, body))

    @staticmethod
    def delete_webhook(webhook_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/webhooks/{_id(webhook_id)}", None)

    @staticmethod
    def rotate_webhook_secret(
        webhook_id: str, body: RotateWebhookSecret | Mapping[str, Any] | None
    ) -> _Op[WebhookWithSecret]:
        path = f"/v1/admin/webhooks/{_id(webhook_id)}/rotate-secret"
        return _Op("POST", path, WebhookWithSecret, body=_body(RotateWebhookSecret, body))

    @staticmethod
    def list_webhook_deliveries(
        webhook_id: str, status: DeliveryStatus | None, limit: int | None, cursor: str | None
    ) -> _Op[DeliveryList]:
        path = f"/v1/admin/webhooks/{_id(webhook_id)}/deliveries"
        return _Op("GET", path, DeliveryList, {"status": status, "limit": limit, "cursor": cursor})

    @staticmethod
    def redeliver_webhook(webhook_id: str, delivery_id: str) -> _Op[Delivery]:
        path = f"/v1/admin/webhooks/{_id(webhook_id)}/deliveries/{_id(delivery_id)}/redeliver"
        return _Op("POST", path, Delivery)


def _log_filters(
    agent_id: str | None,
    tool: str | None,
    scope: str | None,
    allowed: bool | None,
    reason: ReasonCode | None,
    shadow: Literal["deny"] | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    cursor: str | None,
) -> Query:
    return {
        "agent_id": agent_id,
        "tool": tool,
        "scope": scope,
        "allowed": allowed,
        "reason": reason,
        "shadow": shadow,
        "since": since,
        "until": until,
        "limit": limit,
        "cursor": cursor,
    }


def _pages(
    fetch: Callable[[str | None], Any], items: Callable[[Any], list[Item]], cursor: str | None
) -> Iterator[Item]:
    while True:
        page = fetch(cursor)
        found = items(page)
        yield from found
        if page.next_cursor is None or not found:
            return
        cursor = page.next_cursor


class OakAuthAdmin:
    """A sync client for the admin API. ``admin_key`` defaults to ``OAKAUTH_ADMIN_KEY``; the other
    arguments are those of :class:`~oakauth.OakAuth`. Raises the same errors (an API error such as
    :class:`~oakauth.errors.NotFound` or :class:`~oakauth.errors.ConflictError` for a refused request)."""

    def __init__(
        self,
        admin_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        allow_insecure_loopback: bool | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = make_config(
            admin_key if admin_key is not None else from_env("OAKAUTH_ADMIN_KEY"),
            _MISSING_KEY,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            allow_insecure_loopback=allow_insecure_loopback,
        )
        self._http = SyncHttp(config, transport)

    @property
    def base_url(self) -> str:
        return self._http.config.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OakAuthAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, op: _Op[M]) -> M:
        answer = self._http.request(op.method, op.path, query=op.query, body=op.body, retry=op.policy)
        return _read(op, answer)

    def _run_empty(self, op: _Op[Any]) -> None:
        self._http.request(op.method, op.path, query=op.query, body=op.body, retry=op.policy)

    # organization and agents

    def me(self) -> Me:
        """The organization of this admin key."""
        return self._run(_Ops.me())

    def list_agents(self, *, limit: int | None = None, cursor: str | None = None) -> AgentList:
        """A page of agents, oldest first."""
        return self._run(_Ops.list_agents(limit, cursor))

    def iter_agents(self, *, limit: int | None = None) -> Iterator[Agent]:
        """Every agent, fetching page after page as the loop asks for more."""
        return _pages(lambda c: self.list_agents(limit=limit, cursor=c), lambda p: p.agents, None)

    def create_agent(self, body: CreateAgent | Mapping[str, Any]) -> AgentWithKey:
        """Creates an agent. Its key (``api_key``) is in the answer and never shown again."""
        return self._run(_Ops.create_agent(body))

    def get_agent(self, agent_id: str) -> Agent:
        return self._run(_Ops.get_agent(agent_id))

    def update_agent(self, agent_id: str, body: UpdateAgent | Mapping[str, Any]) -> Agent:
        """Renames, enables or disables an agent, or changes its rate limit."""
        return self._run(_Ops.update_agent(agent_id, body))

    def delete_agent(self, agent_id: str) -> None:
        """Deletes an agent with its keys, tools and rules; its audit-log rows are kept."""
        self._run_empty(_Ops.delete_agent(agent_id))

    def rotate_agent_key(self, agent_id: str, body: RotateKey | Mapping[str, Any] | None = None) -> AgentWithKey:
        """Issues a new key; the previous ones keep working for ``overlap_seconds`` (default 300)."""
        return self._run(_Ops.rotate_agent_key(agent_id, body))

    # tools and rules

    def list_tools(self, agent_id: str, *, limit: int | None = None, cursor: str | None = None) -> ToolList:
        return self._run(_Ops.list_tools(agent_id, limit, cursor))

    def iter_tools(self, agent_id: str, *, limit: int | None = None) -> Iterator[Tool]:
        return _pages(lambda c: self.list_tools(agent_id, limit=limit, cursor=c), lambda p: p.tools, None)

    def create_tool(self, agent_id: str, body: CreateTool | Mapping[str, Any]) -> Tool:
        """Registers a tool for the agent, with its scopes, risk level and optionally ``input_schema``."""
        return self._run(_Ops.create_tool(agent_id, body))

    def get_tool(self, agent_id: str, tool_id: str) -> Tool:
        return self._run(_Ops.get_tool(agent_id, tool_id))

    def update_tool(self, agent_id: str, tool_id: str, body: UpdateTool | Mapping[str, Any]) -> Tool:
        return self._run(_Ops.update_tool(agent_id, tool_id, body))

    def delete_tool(self, agent_id: str, tool_id: str) -> None:
        self._run_empty(_Ops.delete_tool(agent_id, tool_id))

    def list_rules(self, agent_id: str, *, limit: int | None = None, cursor: str | None = None) -> RuleList:
        return self._run(_Ops.list_rules(agent_id, limit, cursor))

    def iter_rules(self, agent_id: str, *, limit: int | None = None) -> Iterator[Rule]:
        return _pages(lambda c: self.list_rules(agent_id, limit=limit, cursor=c), lambda p: p.rules, None)

    def create_rule(self, agent_id: str, body: CreateRule | Mapping[str, Any]) -> Rule:
        """Adds a rule for a tool's scope: effect, conditions, mode, reasoning requirement."""
        return self._run(_Ops.create_rule(agent_id, body))

    def get_rule(self, agent_id: str, rule_id: str) -> Rule:
        return self._run(_Ops.get_rule(agent_id, rule_id))

    def update_rule(self, agent_id: str, rule_id: str, body: UpdateRule | Mapping[str, Any]) -> Rule:
        return self._run(_Ops.update_rule(agent_id, rule_id, body))

    def delete_rule(self, agent_id: str, rule_id: str) -> None:
        self._run_empty(_Ops.delete_rule(agent_id, rule_id))

    # the audit log, simulation, stats, events

    def list_logs(
        self,
        *,
        agent_id: str | None = None,
        tool: str | None = None,
        scope: str | None = None,
        allowed: bool | None = None,
        reason: ReasonCode | None = None,
        shadow: Literal["deny"] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> LogList:
        """One page of the audit log, newest first."""
        filters = _log_filters(agent_id, tool, scope, allowed, reason, shadow, since, until, limit, cursor)
        return self._run(_Ops.list_logs(filters))

    def iter_logs(
        self,
        *,
        agent_id: str | None = None,
        tool: str | None = None,
        scope: str | None = None,
        allowed: bool | None = None,
        reason: ReasonCode | None = None,
        shadow: Literal["deny"] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> Iterator[LogEntry]:
        """Every audit-log entry that matches, newest first, page after page."""

        def fetch(cursor: str | None) -> LogList:
            filters = _log_filters(agent_id, tool, scope, allowed, reason, shadow, since, until, limit, cursor)
            return self._run(_Ops.list_logs(filters))

        return _pages(fetch, lambda p: p.logs, None)

    def get_log(self, decision_id: str) -> LogEntry:
        """One decision's full record."""
        return self._run(_Ops.get_log(decision_id))

    def simulate(self, body: SimulateRequest | Mapping[str, Any]) -> SimulateResponse:
        """Decides a call as validate would, with the saved or draft rules; logs and counts nothing."""
        return self._run(_Ops.simulate(body))

    def replay(self, body: ReplayRequest | Mapping[str, Any]) -> ReplayResponse:
        """Replays the agent's latest audited calls against draft rules; lists the decisions that change."""
        return self._run(_Ops.replay(body))

    def stats(self, *, since: str | None = None, until: str | None = None) -> Stats:
        """Counts over a time range (default: today, UTC)."""
        return self._run(_Ops.stats(since, until))

    def list_events(
        self, *, agent_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> AdminEventList:
        """One page of what admins did, newest first."""
        return self._run(_Ops.list_events(agent_id, limit, cursor))

    def iter_events(self, *, agent_id: str | None = None, limit: int | None = None) -> Iterator[AdminEvent]:
        return _pages(lambda c: self.list_events(agent_id=agent_id, limit=limit, cursor=c), lambda p: p.events, None)

    def verify_audit(
        self, *, agent_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> AuditVerification:
        """Verifies the audit log's hash chains: one agent's, or a page of the organization's agents."""
        op = _Ops.verify_audit(agent_id, limit, cursor)
        return _check_audit(op, self._run(op))

    def verify_audit_all(self, *, limit: int | None = None) -> AuditVerification:
        """Verifies every agent's chain, page by page; ``ok`` covers them all."""
        agents = []
        cursor: str | None = None
        while True:
            page = self.verify_audit(limit=limit, cursor=cursor)
            agents.extend(page.agents)
            cursor = page.next_cursor
            if cursor is None:
                return AuditVerification(ok=all(a.ok for a in agents), agents=agents, next_cursor=None)

    # approvals

    def list_approvals(
        self,
        *,
        status: ApprovalStatus | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ApprovalList:
        """One page of the organization's approvals, newest first (``status="pending"`` is the inbox)."""
        return self._run(_Ops.list_approvals(status, agent_id, limit, cursor))

    def iter_approvals(
        self, *, status: ApprovalStatus | None = None, agent_id: str | None = None, limit: int | None = None
    ) -> Iterator[Approval]:
        def fetch(cursor: str | None) -> ApprovalList:
            return self.list_approvals(status=status, agent_id=agent_id, limit=limit, cursor=cursor)

        return _pages(fetch, lambda p: p.approvals, None)

    def get_approval(self, approval_id: str) -> Approval:
        return self._run(_Ops.get_approval(approval_id))

    def decide_approval(self, approval_id: str, body: ApprovalDecision | Mapping[str, Any]) -> Approval:
        """Approves or denies a pending approval (``{"decision": "approve"|"deny", "comment": …}``)."""
        return self._run(_Ops.decide_approval(approval_id, body))

    # webhooks

    def list_webhooks(self, *, limit: int | None = None, cursor: str | None = None) -> WebhookList:
        return self._run(_Ops.list_webhooks(limit, cursor))

    def iter_webhooks(self, *, limit: int | None = None) -> Iterator[Webhook]:
        return _pages(lambda c: self.list_webhooks(limit=limit, cursor=c), lambda p: p.webhooks, None)

    def create_webhook(self, body: CreateWebhook | Mapping[str, Any]) -> WebhookWithSecret:
        """Registers an endpoint; its ``secret`` (``whsec_…``) is in the answer only."""
        return self._run(_Ops.create_webhook(body))

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._run(_Ops.get_webhook(webhook_id))

    def update_webhook(self, webhook_id: str, body: UpdateWebhook | Mapping[str, Any]) -> Webhook:
        return self._run(_Ops.update_webhook(webhook_id, body))

    def delete_webhook(self, webhook_id: str) -> None:
        self._run_empty(_Ops.delete_webhook(webhook_id))

    def rotate_webhook_secret(
        self, webhook_id: str, body: RotateWebhookSecret | Mapping[str, Any] | None = None
    ) -> WebhookWithSecret:
        return self._run(_Ops.rotate_webhook_secret(webhook_id, body))

    def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DeliveryList:
        return self._run(_Ops.list_webhook_deliveries(webhook_id, status, limit, cursor))

    def iter_webhook_deliveries(
        self, webhook_id: str, *, status: DeliveryStatus | None = None, limit: int | None = None
    ) -> Iterator[Delivery]:
        def fetch(cursor: str | None) -> DeliveryList:
            return self.list_webhook_deliveries(webhook_id, status=status, limit=limit, cursor=cursor)

        return _pages(fetch, lambda p: p.deliveries, None)

    def redeliver_webhook(self, webhook_id: str, delivery_id: str) -> Delivery:
        return self._run(_Ops.redeliver_webhook(webhook_id, delivery_id))


async def _apages(
    fetch: Callable[[str | None], Any], items: Callable[[Any], list[Item]], cursor: str | None
) -> AsyncIterator[Item]:
    while True:
        page = await fetch(cursor)
        found = items(page)
        for item in found:
            yield item
        if page.next_cursor is None or not found:
            return
        cursor = page.next_cursor


class AsyncOakAuthAdmin:
    """The async twin of :class:`OakAuthAdmin`: the same methods, awaited; ``iter_*`` are async iterators."""

    def __init__(
        self,
        admin_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        allow_insecure_loopback: bool | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = make_config(
            admin_key if admin_key is not None else from_env("OAKAUTH_ADMIN_KEY"),
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

    async def __aenter__(self) -> AsyncOakAuthAdmin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, op: _Op[M]) -> M:
        answer = await self._http.request(op.method, op.path, query=op.query, body=op.body, retry=op.policy)
        return _read(op, answer)

    async def _run_empty(self, op: _Op[Any]) -> None:
        await self._http.request(op.method, op.path, query=op.query, body=op.body, retry=op.policy)

    async def me(self) -> Me:
        return await self._run(_Ops.me())

    async def list_agents(self, *, limit: int | None = None, cursor: str | None = None) -> AgentList:
        return await self._run(_Ops.list_agents(limit, cursor))

    def iter_agents(self, *, limit: int | None = None) -> AsyncIterator[Agent]:
        return _apages(lambda c: self.list_agents(limit=limit, cursor=c), lambda p: p.agents, None)

    async def create_agent(self, body: CreateAgent | Mapping[str, Any]) -> AgentWithKey:
        return await self._run(_Ops.create_agent(body))

    async def get_agent(self, agent_id: str) -> Agent:
        return await self._run(_Ops.get_agent(agent_id))

    async def update_agent(self, agent_id: str, body: UpdateAgent | Mapping[str, Any]) -> Agent:
        return await self._run(_Ops.update_agent(agent_id, body))

    async def delete_agent(self, agent_id: str) -> None:
        await self._run_empty(_Ops.delete_agent(agent_id))

    async def rotate_agent_key(self, agent_id: str, body: RotateKey | Mapping[str, Any] | None = None) -> AgentWithKey:
        return await self._run(_Ops.rotate_agent_key(agent_id, body))

    async def list_tools(self, agent_id: str, *, limit: int | None = None, cursor: str | None = None) -> ToolList:
        return await self._run(_Ops.list_tools(agent_id, limit, cursor))

    def iter_tools(self, agent_id: str, *, limit: int | None = None) -> AsyncIterator[Tool]:
        return _apages(lambda c: self.list_tools(agent_id, limit=limit, cursor=c), lambda p: p.tools, None)

    async def create_tool(self, agent_id: str, body: CreateTool | Mapping[str, Any]) -> Tool:
        return await self._run(_Ops.create_tool(agent_id, body))

    async def get_tool(self, agent_id: str, tool_id: str) -> Tool:
        return await self._run(_Ops.get_tool(agent_id, tool_id))

    async def update_tool(self, agent_id: str, tool_id: str, body: UpdateTool | Mapping[str, Any]) -> Tool:
        return await self._run(_Ops.update_tool(agent_id, tool_id, body))

    async def delete_tool(self, agent_id: str, tool_id: str) -> None:
        await self._run_empty(_Ops.delete_tool(agent_id, tool_id))

    async def list_rules(self, agent_id: str, *, limit: int | None = None, cursor: str | None = None) -> RuleList:
        return await self._run(_Ops.list_rules(agent_id, limit, cursor))

    def iter_rules(self, agent_id: str, *, limit: int | None = None) -> AsyncIterator[Rule]:
        return _apages(lambda c: self.list_rules(agent_id, limit=limit, cursor=c), lambda p: p.rules, None)

    async def create_rule(self, agent_id: str, body: CreateRule | Mapping[str, Any]) -> Rule:
        return await self._run(_Ops.create_rule(agent_id, body))

    async def get_rule(self, agent_id: str, rule_id: str) -> Rule:
        return await self._run(_Ops.get_rule(agent_id, rule_id))

    async def update_rule(self, agent_id: str, rule_id: str, body: UpdateRule | Mapping[str, Any]) -> Rule:
        return await self._run(_Ops.update_rule(agent_id, rule_id, body))

    async def delete_rule(self, agent_id: str, rule_id: str) -> None:
        await self._run_empty(_Ops.delete_rule(agent_id, rule_id))

    async def list_logs(
        self,
        *,
        agent_id: str | None = None,
        tool: str | None = None,
        scope: str | None = None,
        allowed: bool | None = None,
        reason: ReasonCode | None = None,
        shadow: Literal["deny"] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> LogList:
        filters = _log_filters(agent_id, tool, scope, allowed, reason, shadow, since, until, limit, cursor)
        return await self._run(_Ops.list_logs(filters))

    def iter_logs(
        self,
        *,
        agent_id: str | None = None,
        tool: str | None = None,
        scope: str | None = None,
        allowed: bool | None = None,
        reason: ReasonCode | None = None,
        shadow: Literal["deny"] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[LogEntry]:
        async def fetch(cursor: str | None) -> LogList:
            filters = _log_filters(agent_id, tool, scope, allowed, reason, shadow, since, until, limit, cursor)
            return await self._run(_Ops.list_logs(filters))

        return _apages(fetch, lambda p: p.logs, None)

    async def get_log(self, decision_id: str) -> LogEntry:
        return await self._run(_Ops.get_log(decision_id))

    async def simulate(self, body: SimulateRequest | Mapping[str, Any]) -> SimulateResponse:
        return await self._run(_Ops.simulate(body))

    async def replay(self, body: ReplayRequest | Mapping[str, Any]) -> ReplayResponse:
        return await self._run(_Ops.replay(body))

    async def stats(self, *, since: str | None = None, until: str | None = None) -> Stats:
        return await self._run(_Ops.stats(since, until))

    async def list_events(
        self, *, agent_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> AdminEventList:
        return await self._run(_Ops.list_events(agent_id, limit, cursor))

    def iter_events(self, *, agent_id: str | None = None, limit: int | None = None) -> AsyncIterator[AdminEvent]:
        return _apages(lambda c: self.list_events(agent_id=agent_id, limit=limit, cursor=c), lambda p: p.events, None)

    async def verify_audit(
        self, *, agent_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> AuditVerification:
        op = _Ops.verify_audit(agent_id, limit, cursor)
        return _check_audit(op, await self._run(op))

    async def verify_audit_all(self, *, limit: int | None = None) -> AuditVerification:
        agents = []
        cursor: str | None = None
        while True:
            page = await self.verify_audit(limit=limit, cursor=cursor)
            agents.extend(page.agents)
            cursor = page.next_cursor
            if cursor is None:
                return AuditVerification(ok=all(a.ok for a in agents), agents=agents, next_cursor=None)

    async def list_approvals(
        self,
        *,
        status: ApprovalStatus | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ApprovalList:
        return await self._run(_Ops.list_approvals(status, agent_id, limit, cursor))

    def iter_approvals(
        self, *, status: ApprovalStatus | None = None, agent_id: str | None = None, limit: int | None = None
    ) -> AsyncIterator[Approval]:
        async def fetch(cursor: str | None) -> ApprovalList:
            return await self.list_approvals(status=status, agent_id=agent_id, limit=limit, cursor=cursor)

        return _apages(fetch, lambda p: p.approvals, None)

    async def get_approval(self, approval_id: str) -> Approval:
        return await self._run(_Ops.get_approval(approval_id))

    async def decide_approval(self, approval_id: str, body: ApprovalDecision | Mapping[str, Any]) -> Approval:
        return await self._run(_Ops.decide_approval(approval_id, body))

    async def list_webhooks(self, *, limit: int | None = None, cursor: str | None = None) -> WebhookList:
        return await self._run(_Ops.list_webhooks(limit, cursor))

    def iter_webhooks(self, *, limit: int | None = None) -> AsyncIterator[Webhook]:
        return _apages(lambda c: self.list_webhooks(limit=limit, cursor=c), lambda p: p.webhooks, None)

    async def create_webhook(self, body: CreateWebhook | Mapping[str, Any]) -> WebhookWithSecret:
        return await self._run(_Ops.create_webhook(body))

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return await self._run(_Ops.get_webhook(webhook_id))

    async def update_webhook(self, webhook_id: str, body: UpdateWebhook | Mapping[str, Any]) -> Webhook:
        return await self._run(_Ops.update_webhook(webhook_id, body))

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._run_empty(_Ops.delete_webhook(webhook_id))

    async def rotate_webhook_secret(
        self, webhook_id: str, body: RotateWebhookSecret | Mapping[str, Any] | None = None
    ) -> WebhookWithSecret:
        return await self._run(_Ops.rotate_webhook_secret(webhook_id, body))

    async def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DeliveryList:
        return await self._run(_Ops.list_webhook_deliveries(webhook_id, status, limit, cursor))

    def iter_webhook_deliveries(
        self, webhook_id: str, *, status: DeliveryStatus | None = None, limit: int | None = None
    ) -> AsyncIterator[Delivery]:
        async def fetch(cursor: str | None) -> DeliveryList:
            return await self.list_webhook_deliveries(webhook_id, status=status, limit=limit, cursor=cursor)

        return _apages(fetch, lambda p: p.deliveries, None)

    async def redeliver_webhook(self, webhook_id: str, delivery_id: str) -> Delivery:
        return await self._run(_Ops.redeliver_webhook(webhook_id, delivery_id))
