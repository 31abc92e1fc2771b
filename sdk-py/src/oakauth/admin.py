"""The admin API (``/v1/admin/…``) scoped to an admin key's organization, or to
the organization a signed-in person acts in (a bearer session ``oaks_…`` with ``organization``): :class:`OakAuthAdmin`
(sync) and :class:`AsyncOakAuthAdmin` (async), with the same methods. They also make the people calls of
``/v1/auth/…`` (sign-in, sessions, invitations) and ``/v1/setup``. Request bodies are models of
:mod:`oakauth.models` or plain mappings (checked against the model before anything is sent); answers
are models. ``list_*`` return one page; ``iter_*`` iterate over every page. Mirrors sdk-ts/src/admin.ts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import unquote

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
    AcceptedInvitation,
    AdminEvent,
    AdminEventList,
    AdminKeyList,
    Agent,
    AgentList,
    AgentWithKey,
    Approval,
    ApprovalDecision,
    ApprovalList,
    ApprovalStatus,
    AuditVerification,
    AuthConfig,
    BearerSession,
    BillingRedirect,
    CheckoutRequest,
    CreateAgent,
    CreatedAdminKey,
    CreatedInvitation,
    CreateRule,
    CreateTool,
    CreateWebhook,
    Delivery,
    DeliveryList,
    DeliveryStatus,
    Invitation,
    InvitationList,
    InvitationPreview,
    LogEntry,
    LogList,
    Me,
    Member,
    MemberList,
    MemberUpdate,
    NewAdminKey,
    NewBearerSession,
    NewInvitation,
    OrganizationSettings,
    OrganizationUpdate,
    PlanId,
    PlanList,
    ReasonCode,
    ReplayRequest,
    ReplayResponse,
    Role,
    RotateKey,
    RotateWebhookSecret,
    Rule,
    RuleList,
    SessionInfo,
    SessionList,
    SetupRequest,
    SetupResult,
    SimulateRequest,
    SimulateResponse,
    Stats,
    Tool,
    ToolList,
    UpdateAgent,
    UpdateRule,
    UpdateTool,
    UpdateWebhook,
    Usage,
    Webhook,
    WebhookList,
    WebhookWithSecret,
)

__all__ = ["AsyncOakAuthAdmin", "LoginResult", "OakAuthAdmin"]

M = TypeVar("M", bound=BaseModel)
Item = TypeVar("Item", bound=BaseModel)
Body = TypeVar("Body", bound=BaseModel)

_MISSING_KEY = (
    "OakAuth: an admin key or a person's bearer session token (oaks_…) is required "
    "(the admin_key argument or OAKAUTH_ADMIN_KEY)"
)
#: The header naming the organization a signed-in person acts in.
ORGANIZATION_HEADER = "OakAuth-Organization"
_SESSION_COOKIE = "oak_session"


@dataclass(frozen=True)
class LoginResult:
    """What the sign-in callback answered (:meth:`OakAuthAdmin.login_callback`).

    ``session_token`` is the new session (``oaks_…``, from the ``oak_session`` cookie), usable as the
    key of an :class:`OakAuthAdmin`; None when the sign-in was refused, and then ``error`` says why
    (``signup_closed``, ``mfa_required``, ``id_token_invalid``, ``provider_error``, ``invitation_*``).
    ``return_to`` is where the worker sends the browser next."""

    return_to: str
    session_token: str | None
    error: str | None


def _login_result(location: str | None, set_cookies: tuple[str, ...], status: int, text: str) -> LoginResult:
    if not location:
        raise MalformedResponse(
            f"OakAuth answered GET /v1/auth/callback with HTTP {status} and no Location", status, text
        )
    token: str | None = None
    for cookie in set_cookies:
        name, _, rest = cookie.partition("=")
        value = rest.split(";", 1)[0].strip()
        if name.strip() == _SESSION_COOKIE and value:
            token = value
    base, _, fragment = location.partition("#")
    error: str | None = None
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        if key == "sign_in_error":
            error = unquote(value)
    if error is not None:
        return LoginResult(return_to=base, session_token=None, error=error)
    if token is None:
        raise MalformedResponse(
            "OakAuth answered GET /v1/auth/callback with neither a session nor a sign-in error", status, text
        )
    return LoginResult(return_to=location, session_token=token, error=None)


def _provider_url(op: _Op[Any], answer: Answer) -> str:
    if not 300 <= answer.status < 400 or not answer.location:
        raise MalformedResponse(
            f"OakAuth answered {op.method} {op.path} with HTTP {answer.status} and not a redirect to the provider",
            answer.status,
            answer.text,
            request_id=answer.request_id,
        )
    return answer.location


def _session_headers(organization: str | None) -> dict[str, str]:
    return {} if organization is None else {ORGANIZATION_HEADER: organization}


@dataclass(frozen=True)
class _Op(Generic[M]):
    """One admin request and the model of its answer (None: no body, 204)."""

    method: str
    path: str
    model: type[M] | None
    query: Query | None = None
    body: Any = None
    retry: RetryPolicy | None = None
    #: The answer is a redirect, returned rather than refused.
    redirect: bool = False

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

    # people: sign-in and sessions (/v1/auth/…), setup

    @staticmethod
    def auth_config() -> _Op[AuthConfig]:
        return _Op("GET", "/v1/auth/config", AuthConfig)

    @staticmethod
    def start_login(return_to: str, invitation: str | None) -> _Op[BaseModel]:
        if not isinstance(return_to, str) or return_to == "":
            raise TypeError(f"OakAuthAdmin: not a return_to URL: {return_to!r}")
        query = {"return_to": return_to, "invitation": invitation}
        return _Op("GET", "/v1/auth/login", None, query, retry="connect-only", redirect=True)

    @staticmethod
    def login_callback(code: str | None, state: str, error: str | None) -> _Op[BaseModel]:
        if not isinstance(state, str) or state == "":
            raise TypeError(f"OakAuthAdmin: not a sign-in state: {state!r}")
        # Single use: the worker deletes the pending sign-in as it reads it, so never repeated.
        query = {"code": code, "state": state, "error": error}
        return _Op("GET", "/v1/auth/callback", None, query, retry="connect-only", redirect=True)

    @staticmethod
    def session() -> _Op[SessionInfo]:
        return _Op("GET", "/v1/auth/session", SessionInfo)

    @staticmethod
    def logout() -> _Op[BaseModel]:
        return _Op("POST", "/v1/auth/logout", None)

    @staticmethod
    def list_sessions() -> _Op[SessionList]:
        return _Op("GET", "/v1/auth/sessions", SessionList)

    @staticmethod
    def revoke_session(session_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/auth/sessions/{_id(session_id)}", None)

    @staticmethod
    def create_token(name: str | None) -> _Op[BearerSession]:
        return _Op("POST", "/v1/auth/tokens", BearerSession, body=_body(NewBearerSession, {"name": name}))

    @staticmethod
    def invitation_preview(token: str) -> _Op[InvitationPreview]:
        return _Op("GET", f"/v1/auth/invitations/{segment(token, 'an invitation token')}", InvitationPreview)

    @staticmethod
    def accept_invitation(token: str) -> _Op[AcceptedInvitation]:
        path = f"/v1/auth/invitations/{segment(token, 'an invitation token')}/accept"
        return _Op("POST", path, AcceptedInvitation)

    @staticmethod
    def setup(body: SetupRequest | Mapping[str, Any]) -> _Op[SetupResult]:
        return _Op("POST", "/v1/setup", SetupResult, body=_body(SetupRequest, body))

    # people in the organization (/v1/admin/…)

    @staticmethod
    def list_members() -> _Op[MemberList]:
        return _Op("GET", "/v1/admin/members", MemberList)

    @staticmethod
    def update_member(user_id: str, role: Role) -> _Op[Member]:
        path = f"/v1/admin/members/{_id(user_id)}"
        return _Op("PATCH", path, Member, body=_body(MemberUpdate, {"role": role}))

    @staticmethod
    def remove_member(user_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/members/{_id(user_id)}", None)

    @staticmethod
    def end_member_sessions(user_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/members/{_id(user_id)}/sessions", None)

    @staticmethod
    def list_invitations(limit: int | None, cursor: str | None) -> _Op[InvitationList]:
        return _Op("GET", "/v1/admin/invitations", InvitationList, {"limit": limit, "cursor": cursor})

    @staticmethod
    def create_invitation(body: NewInvitation | Mapping[str, Any]) -> _Op[CreatedInvitation]:
        return _Op("POST", "/v1/admin/invitations", CreatedInvitation, body=_body(NewInvitation, body))

    @staticmethod
    def revoke_invitation(invitation_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/invitations/{_id(invitation_id)}", None)

    @staticmethod
    def list_admin_keys() -> _Op[AdminKeyList]:
        return _Op("GET", "/v1/admin/keys", AdminKeyList)

    @staticmethod
    def create_admin_key(body: NewAdminKey | Mapping[str, Any]) -> _Op[CreatedAdminKey]:
        return _Op("POST", "/v1/admin/keys", CreatedAdminKey, body=_body(NewAdminKey, body))

    @staticmethod
    def revoke_admin_key(key_id: str) -> _Op[BaseModel]:
        return _Op("DELETE", f"/v1/admin/keys/{_id(key_id)}", None)

    @staticmethod
    def organization() -> _Op[OrganizationSettings]:
        return _Op("GET", "/v1/admin/organization", OrganizationSettings)

    @staticmethod
    def update_organization(body: OrganizationUpdate | Mapping[str, Any]) -> _Op[OrganizationSettings]:
        return _Op("PATCH", "/v1/admin/organization", OrganizationSettings, body=_body(OrganizationUpdate, body))

    @staticmethod
    def plans() -> _Op[PlanList]:
        return _Op("GET", "/v1/plans", PlanList)

    @staticmethod
    def usage() -> _Op[Usage]:
        return _Op("GET", "/v1/admin/usage", Usage)

    @staticmethod
    def billing_checkout(plan: PlanId) -> _Op[BillingRedirect]:
        body = _body(CheckoutRequest, {"plan": plan})
        return _Op("POST", "/v1/admin/billing/checkout", BillingRedirect, body=body)

    @staticmethod
    def billing_portal() -> _Op[BillingRedirect]:
        return _Op("POST", "/v1/admin/billing/portal", BillingRedirect, body={})


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
    """A sync client for the admin API. ``admin_key`` defaults to ``OAKAUTH_ADMIN_KEY``: an admin key
    (``oakadm_…``), or a person's bearer session token (``oaks_…``, from :meth:`create_token` or
    :meth:`login_callback`) with ``organization`` (``org_…``, sent as ``OakAuth-Organization``) naming
    the organization to act in when the person belongs to several. The other arguments are those of
    :class:`~oakauth.OakAuth`. Raises the same errors (an API error such as
    :class:`~oakauth.errors.NotFound` or :class:`~oakauth.errors.ConflictError` for a refused request;
    :class:`~oakauth.errors.AuthenticationError` with status 403 for a role that is not enough)."""

    def __init__(
        self,
        admin_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        allow_insecure_loopback: bool | None = None,
        organization: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = make_config(
            admin_key if admin_key is not None else from_env("OAKAUTH_ADMIN_KEY"),
            _MISSING_KEY,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            allow_insecure_loopback=allow_insecure_loopback,
            headers=_session_headers(organization),
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

    def _run_redirect(self, op: _Op[Any]) -> Answer:
        return self._http.request(op.method, op.path, query=op.query, body=op.body, retry=op.policy, redirect=True)

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

    # people: sign-in and sessions (/v1/auth/…), setup

    def auth_config(self) -> AuthConfig:
        """Whether people can sign in with single sign-on, and whether sign-up is open. Needs no credentials."""
        return self._run(_Ops.auth_config())

    def start_login(self, return_to: str, *, invitation: str | None = None) -> str:
        """Starts a sign-in: the identity provider's URL to open in a browser. ``return_to`` (where the
        browser lands after the sign-in) must be on an allowed origin; ``invitation`` (``oaki_…``)
        joins its organization on the first sign-in."""
        op = _Ops.start_login(return_to, invitation)
        return _provider_url(op, self._run_redirect(op))

    def login_callback(self, state: str, *, code: str | None = None, error: str | None = None) -> LoginResult:
        """Finishes a sign-in with what the identity provider sent back to ``/v1/auth/callback``
        (``code`` and ``state``, or ``error``): the new session token, or why the sign-in was refused."""
        answer = self._run_redirect(_Ops.login_callback(code, state, error))
        return _login_result(answer.location, answer.set_cookies, answer.status, answer.text)

    def session(self) -> SessionInfo:
        """The signed-in person, this session, and the person's organizations with their role in each."""
        return self._run(_Ops.session())

    def logout(self) -> None:
        """Ends this session: its token stops working at once."""
        self._run_empty(_Ops.logout())

    def list_sessions(self) -> SessionList:
        """The person's live sessions; ``current`` marks this one."""
        return self._run(_Ops.list_sessions())

    def revoke_session(self, session_id: str) -> None:
        """Ends one of the person's own sessions."""
        self._run_empty(_Ops.revoke_session(session_id))

    def create_token(self, name: str | None = None) -> BearerSession:
        """Issues a bearer session token (``oaks_…``) labelled ``name``; the token is in the answer only."""
        return self._run(_Ops.create_token(name))

    def invitation_preview(self, token: str) -> InvitationPreview:
        """What an invitation offers (organization, e-mail address, role, status). Needs no credentials."""
        return self._run(_Ops.invitation_preview(token))

    def accept_invitation(self, token: str) -> AcceptedInvitation:
        """Accepts an invitation as the signed-in person. :class:`~oakauth.errors.ConflictError` when it
        was used already; an :class:`~oakauth.errors.InvalidRequest` with status 410 when it expired or
        was revoked; 403 when it is for another e-mail address."""
        return self._run(_Ops.accept_invitation(token))

    def setup(self, body: SetupRequest | Mapping[str, Any]) -> SetupResult:
        """Creates the first organization and an owner's invitation, once. This client's key must be the
        worker's ``SETUP_TOKEN``; 409 once anyone has signed in, 404 when no setup token is configured."""
        return self._run(_Ops.setup(body))

    # people in the organization (/v1/admin/…)

    def list_members(self) -> MemberList:
        """The organization's members and their roles."""
        return self._run(_Ops.list_members())

    def update_member(self, user_id: str, role: Role) -> Member:
        """Changes a member's role (owners only); the last owner cannot be demoted (409 ``last_owner``)."""
        return self._run(_Ops.update_member(user_id, role))

    def remove_member(self, user_id: str) -> None:
        """Removes a member and ends their sessions (owners only)."""
        self._run_empty(_Ops.remove_member(user_id))

    def end_member_sessions(self, user_id: str) -> None:
        """Ends all of a member's sessions; they must sign in again (owners only)."""
        self._run_empty(_Ops.end_member_sessions(user_id))

    def list_invitations(self, *, limit: int | None = None, cursor: str | None = None) -> InvitationList:
        """One page of the organization's invitations, newest first."""
        return self._run(_Ops.list_invitations(limit, cursor))

    def iter_invitations(self, *, limit: int | None = None) -> Iterator[Invitation]:
        return _pages(lambda c: self.list_invitations(limit=limit, cursor=c), lambda p: p.invitations, None)

    def create_invitation(self, body: NewInvitation | Mapping[str, Any]) -> CreatedInvitation:
        """Invites someone by e-mail address and role; the token and link are in the answer only."""
        return self._run(_Ops.create_invitation(body))

    def revoke_invitation(self, invitation_id: str) -> None:
        """Revokes a pending invitation: its link stops working."""
        self._run_empty(_Ops.revoke_invitation(invitation_id))

    def list_admin_keys(self) -> AdminKeyList:
        """The organization's admin keys, never the keys themselves (owners only)."""
        return self._run(_Ops.list_admin_keys())

    def create_admin_key(self, body: NewAdminKey | Mapping[str, Any]) -> CreatedAdminKey:
        """Creates a named, role-scoped admin key; its ``secret`` is in the answer only (owners only)."""
        return self._run(_Ops.create_admin_key(body))

    def revoke_admin_key(self, key_id: str) -> None:
        """Revokes an admin key; it stops working on the next request (owners only)."""
        self._run_empty(_Ops.revoke_admin_key(key_id))

    def organization(self) -> OrganizationSettings:
        """The organization's settings."""
        return self._run(_Ops.organization())

    def update_organization(self, body: OrganizationUpdate | Mapping[str, Any]) -> OrganizationSettings:
        """Renames the organization or changes whether members need a second factor (owners only)."""
        return self._run(_Ops.update_organization(body))

    # Plans, usage and billing

    def plans(self) -> PlanList:
        """``GET /v1/plans``: every plan and its limits (None: unlimited), cheapest first. Public."""
        return self._run(_Ops.plans())

    def usage(self) -> Usage:
        """``GET /v1/admin/usage``: the plan in force, the billing status and this calendar month's use
        of each limit (``used`` / ``limit``, None unlimited), with validations by day and by agent."""
        return self._run(_Ops.usage())

    def billing_checkout(self, plan: PlanId) -> BillingRedirect:
        """``POST /v1/admin/billing/checkout``: starts a subscription to ``plan`` (``"pro"``) with Stripe
        Checkout; send the owner to the ``url`` answered. Owners only. Raises :class:`NotFound`
        (``billing_not_configured``) without Stripe, :class:`ConflictError` when the organization
        already subscribes (use :meth:`billing_portal`)."""
        return self._run(_Ops.billing_checkout(plan))

    def billing_portal(self) -> BillingRedirect:
        """``POST /v1/admin/billing/portal``: Stripe's Customer Portal for the organization; send the
        owner to the ``url`` answered. Owners only. Raises :class:`ConflictError` before the
        organization's first Checkout."""
        return self._run(_Ops.billing_portal())


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
        organization: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = make_config(
            admin_key if admin_key is not None else from_env("OAKAUTH_ADMIN_KEY"),
            _MISSING_KEY,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            allow_insecure_loopback=allow_insecure_loopback,
            headers=_session_headers(organization),
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

    async def _run_redirect(self, op: _Op[Any]) -> Answer:
        return await self._http.request(
            op.method, op.path, query=op.query, body=op.body, retry=op.policy, redirect=True
        )

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

    async def auth_config(self) -> AuthConfig:
        return await self._run(_Ops.auth_config())

    async def start_login(self, return_to: str, *, invitation: str | None = None) -> str:
        op = _Ops.start_login(return_to, invitation)
        return _provider_url(op, await self._run_redirect(op))

    async def login_callback(self, state: str, *, code: str | None = None, error: str | None = None) -> LoginResult:
        answer = await self._run_redirect(_Ops.login_callback(code, state, error))
        return _login_result(answer.location, answer.set_cookies, answer.status, answer.text)

    async def session(self) -> SessionInfo:
        return await self._run(_Ops.session())

    async def logout(self) -> None:
        await self._run_empty(_Ops.logout())

    async def list_sessions(self) -> SessionList:
        return await self._run(_Ops.list_sessions())

    async def revoke_session(self, session_id: str) -> None:
        await self._run_empty(_Ops.revoke_session(session_id))

    async def create_token(self, name: str | None = None) -> BearerSession:
        return await self._run(_Ops.create_token(name))

    async def invitation_preview(self, token: str) -> InvitationPreview:
        return await self._run(_Ops.invitation_preview(token))

    async def accept_invitation(self, token: str) -> AcceptedInvitation:
        return await self._run(_Ops.accept_invitation(token))

    async def setup(self, body: SetupRequest | Mapping[str, Any]) -> SetupResult:
        return await self._run(_Ops.setup(body))

    async def list_members(self) -> MemberList:
        return await self._run(_Ops.list_members())

    async def update_member(self, user_id: str, role: Role) -> Member:
        return await self._run(_Ops.update_member(user_id, role))

    async def remove_member(self, user_id: str) -> None:
        await self._run_empty(_Ops.remove_member(user_id))

    async def end_member_sessions(self, user_id: str) -> None:
        await self._run_empty(_Ops.end_member_sessions(user_id))

    async def list_invitations(self, *, limit: int | None = None, cursor: str | None = None) -> InvitationList:
        return await self._run(_Ops.list_invitations(limit, cursor))

    def iter_invitations(self, *, limit: int | None = None) -> AsyncIterator[Invitation]:
        return _apages(lambda c: self.list_invitations(limit=limit, cursor=c), lambda p: p.invitations, None)

    async def create_invitation(self, body: NewInvitation | Mapping[str, Any]) -> CreatedInvitation:
        return await self._run(_Ops.create_invitation(body))

    async def revoke_invitation(self, invitation_id: str) -> None:
        await self._run_empty(_Ops.revoke_invitation(invitation_id))

    async def list_admin_keys(self) -> AdminKeyList:
        return await self._run(_Ops.list_admin_keys())

    async def create_admin_key(self, body: NewAdminKey | Mapping[str, Any]) -> CreatedAdminKey:
        return await self._run(_Ops.create_admin_key(body))

    async def revoke_admin_key(self, key_id: str) -> None:
        await self._run_empty(_Ops.revoke_admin_key(key_id))

    async def organization(self) -> OrganizationSettings:
        return await self._run(_Ops.organization())

    async def update_organization(self, body: OrganizationUpdate | Mapping[str, Any]) -> OrganizationSettings:
        return await self._run(_Ops.update_organization(body))

    async def plans(self) -> PlanList:
        return await self._run(_Ops.plans())

    async def usage(self) -> Usage:
        return await self._run(_Ops.usage())

    async def billing_checkout(self, plan: PlanId) -> BillingRedirect:
        return await self._run(_Ops.billing_checkout(plan))

    async def billing_portal(self) -> BillingRedirect:
        return await self._run(_Ops.billing_portal())
