"""The exceptions of the OakAuth SDK.

Every one derives from :class:`OakAuthError`. Whatever the subclass, a ``guard()`` that raises did
not run its action. The classes mirror the TypeScript SDK's (``sdk-ts/src/errors.ts``); their names
follow Python's habits:

- :class:`PermissionDenied`: OakAuth answered with a deny. Subclasses for the denials that ask
  something of the caller: :class:`ReasoningRequired`, :class:`ApprovalPending`,
  :class:`ApprovalDenied`, :class:`ApprovalExpired`.
- :class:`RateLimited`: the agent's token bucket is empty (or, on the admin API, too many failed
  authentications). ``retry_after`` says when to ask again.
- :class:`Unavailable`: no trustworthy answer: no connection, a time-out, a 5xx after the retries,
  a redirect, an answer that is not a well-formed decision, or OakAuth's own ``unavailable`` deny.
- :class:`APIError`: an admin or approval call answered with an error status.
- :class:`ConfigurationError`: the client cannot be trusted as configured.
- :class:`ReceiptInvalid` and :class:`WebhookVerificationError`: a receipt or a webhook delivery
  that does not verify.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .models import ApprovalTicket, Decision, Explanation

__all__ = [
    "APIError",
    "ApprovalDenied",
    "ApprovalExpired",
    "ApprovalPending",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailed",
    "InvalidRequest",
    "MalformedResponse",
    "NotFound",
    "OakAuthError",
    "PermissionDenied",
    "RateLimited",
    "ReasoningRequired",
    "ReceiptInvalid",
    "ReceiptInvalidReason",
    "RedirectRefused",
    "ServerError",
    "Timeout",
    "Unavailable",
    "WebhookVerificationError",
]


class OakAuthError(Exception):
    """The base class of every error this package raises.

    ``decision`` is OakAuth's decision when the error comes from one (a deny, a rate limit),
    else ``None``; ``decision_id``, ``reason`` and ``hint`` follow from it. ``message`` is the
    exception's text. ``request_id`` is the answer's ``X-Request-Id`` when there was an answer.
    """

    message: str
    decision: Decision | None
    request_id: str | None

    def __init__(self, message: str, *, decision: Decision | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.decision = decision
        self.request_id = request_id

    @property
    def decision_id(self) -> str | None:
        """The audit-log id of the decision, when there was one."""
        return self.decision.decision_id if self.decision is not None else None

    @property
    def reason(self) -> str | None:
        """The decision's reason code (``scope_not_granted``, ``rate_limited``, …), when there was one."""
        return self.decision.reason if self.decision is not None else None

    @property
    def hint(self) -> str:
        """A sentence for a model or a person: what was refused, why, and what can be done about it."""
        from .explain import explain

        return explain(self)


class ConfigurationError(OakAuthError):
    """The client is not configured so that it can be trusted: no key, no base URL, a base URL that is
    not https (plain http only to a loopback address, and only with ``allow_insecure_loopback``), or a
    bad time-out or retry count."""


class PermissionDenied(OakAuthError):
    """OakAuth answered with a deny. ``decision`` is the full decision; ``tool`` and ``scope`` what was
    asked; ``explanation`` why a rule decided (on ``denied_by_rule``, ``conditions_not_met`` and
    ``invalid_arguments``); ``approval`` the approval the call needs or named, on the ``approval_*``
    reasons. ``approval_cancelled``, ``approval_consumed`` and ``approval_mismatch`` are this class."""

    decision: Decision

    def __init__(
        self,
        decision: Decision,
        tool: str,
        scope: str,
        *,
        request_id: str | None = None,
        message: str | None = None,
    ) -> None:
        from .explain import with_explanation

        super().__init__(
            message or f"OakAuth denied {tool}:{scope} ({decision.reason}): {with_explanation(decision)}",
            decision=decision,
            request_id=request_id,
        )
        self.tool = tool
        self.scope = scope

    @property
    def decision_id(self) -> str:
        return self.decision.decision_id

    @property
    def reason(self) -> str:
        return self.decision.reason

    @property
    def explanation(self) -> Explanation | None:
        return self.decision.explanation

    @property
    def approval(self) -> ApprovalTicket | None:
        return self.decision.approval


class ReasoningRequired(PermissionDenied):
    """A ``hard`` rule needs real reasoning (why the agent needs this call) and got none: ask again
    with ``reasoning=``."""


class ApprovalPending(PermissionDenied):
    """The call needs a person's approval (``approval_required``) and none has been given yet: raised
    by ``guard()`` with ``approval="raise"``, and with ``approval="wait"`` when ``approval_timeout``
    ran out first (``timed_out`` is then true). The identical call (same tool, scope and arguments)
    made again once it is approved is allowed, once."""

    def __init__(
        self, decision: Decision, tool: str, scope: str, *, request_id: str | None = None, timed_out: bool = False
    ) -> None:
        ticket = decision.approval
        assert ticket is not None  # the client checks this before raising
        waited = "still pending after waiting" if timed_out else "pending"
        super().__init__(
            decision,
            tool,
            scope,
            request_id=request_id,
            message=(
                f"OakAuth approval required for {tool}:{scope}: approval {ticket.id} is {waited}; an administrator "
                f"must approve this exact call before {ticket.expires_at}, then the same call is allowed once"
            ),
        )
        self.approval_id = ticket.id
        self.expires_at = ticket.expires_at
        self.poll_after_ms = ticket.poll_after_ms
        self.timed_out = timed_out


class ApprovalDenied(PermissionDenied):
    """A person denied this call's approval (``approval_denied``). ``comment`` is what they said, if anything."""

    def __init__(self, decision: Decision, tool: str, scope: str, *, request_id: str | None = None) -> None:
        import json

        ticket = decision.approval
        comment = ticket.comment if ticket is not None else None
        named = f" {ticket.id}" if ticket is not None else ""
        said = " (no comment)" if comment is None else f": {json.dumps(comment, ensure_ascii=False)}"
        super().__init__(
            decision,
            tool,
            scope,
            request_id=request_id,
            message=f"OakAuth: an administrator denied the approval{named} of {tool}:{scope}{said}",
        )
        self.comment = comment


class ApprovalExpired(PermissionDenied):
    """The approval expired (``approval_expired``): nobody decided before it expired, or the approved
    call was not made in time. Not a denial by a person; the same call made again asks anew."""


class QuotaExceededError(PermissionDenied):
    """The organization has used its plan's validations for this calendar month (UTC): a deny with
    reason ``quota_exceeded`` (HTTP 429). Every call is denied until ``resets_at``; upgrading the plan
    lifts it at once. ``quota`` is the decision's ``{limit, used, resets_at}``; ``retry_after`` the
    seconds until the reset (from ``Retry-After``)."""

    def __init__(
        self, decision: Decision, tool: str, scope: str, *, retry_after: int, request_id: str | None = None
    ) -> None:
        quota = decision.quota
        assert quota is not None
        super().__init__(
            decision,
            tool,
            scope,
            request_id=request_id,
            message=(
                f"OakAuth denied {tool}:{scope} (quota_exceeded): the organization has used {quota.used} of its "
                f"{quota.limit} validations this month; calls are denied until {quota.resets_at}"
            ),
        )
        self.quota = quota
        self.retry_after = retry_after

    @property
    def resets_at(self) -> str:
        """When the quota resets (RFC 3339): the start of the next calendar month, UTC."""
        return self.quota.resets_at


class RateLimited(OakAuthError):
    """Too many requests. On ``guard()`` this is the agent's rate limit (reason ``rate_limited``, with
    the decision); on the admin API, too many failed authentications (no decision). Never retried
    automatically on a validation. ``retry_after`` is the seconds to wait (0 when unknown)."""

    def __init__(
        self,
        message: str,
        retry_after: int,
        *,
        decision: Decision | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, decision=decision, request_id=request_id)
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        return "rate_limited"


class Unavailable(OakAuthError):
    """No trustworthy decision could be had, so nothing was allowed: OakAuth could not be reached or
    did not answer in time (after the retries), answered 5xx, answered a redirect, answered something
    that is not a well-formed decision, or answered its own ``unavailable`` deny (``decision`` set).
    Never treated as an allow."""


class ConnectionFailed(Unavailable):
    """The request did not get an answer: refused connection, DNS failure, reset (after the retries)."""

    #: Whether the failure happened before the request could have reached the service.
    before_sending: bool = False


class Timeout(ConnectionFailed):
    """No answer within the time-out (after the retries)."""


class RedirectRefused(Unavailable):
    """The base URL answered with a redirect (3xx). Redirects are never followed: a decision must come
    from the configured origin. Not retried."""

    def __init__(self, message: str, status: int, location: str | None, *, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.location = location


class MalformedResponse(Unavailable):
    """The answer could not be trusted: not JSON, not the documented shape, or a decision that
    contradicts itself (such as ``allowed: true`` with a deny reason). ``body`` is its start."""

    def __init__(self, message: str, status: int, body: str, *, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.body = body if len(body) <= 500 else body[:500] + "…"


class APIError(OakAuthError):
    """An HTTP answer with an error status (4xx, 5xx). ``status`` is the HTTP status, ``code`` the
    body's ``error.code`` (``unauthorized``, ``conflict``, …) when it had one."""

    def __init__(self, status: int, code: str | None, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.code = code


class ServerError(APIError, Unavailable):
    """The service failed (5xx), after the retries. For a validation this is a deny: nothing was allowed."""


class AuthenticationError(APIError):
    """The key is missing, malformed, unknown, revoked or expired (401), or of the wrong kind for the route (403)."""


class InvalidRequest(APIError):
    """The request was refused as it stands: a bad field (400), a wrong method (405), a body too large
    (413) or not JSON (415)."""


class NotFound(APIError):
    """No such resource in the key's organization (404)."""


class PlanLimitError(APIError):
    """One more agent, member (with open invitations) or webhook endpoint would pass the plan's limit
    (402 ``plan_limit``). ``quota``, ``limit`` and ``plan`` say which limit, its number and the plan in
    force (None when the answer did not say)."""

    def __init__(
        self,
        message: str,
        *,
        quota: str | None,
        limit: int | None,
        plan: str | None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(402, "plan_limit", message, request_id=request_id)
        self.quota = quota
        self.limit = limit
        self.plan = plan


class ConflictError(APIError):
    """A name already in use, a rule naming a tool or scope the agent does not have, or an approval or
    endpoint not in a state that allows this (409)."""


ReceiptInvalidReason = Literal[
    "malformed",
    "algorithm",
    "unknown_key",
    "signature",
    "keys_unavailable",
    "issuer",
    "expired",
    "lifetime",
    "tool_mismatch",
    "scope_mismatch",
    "arguments_mismatch",
    "replayed",
    "replay_cache_unavailable",
]


class ReceiptInvalid(OakAuthError):
    """A decision receipt that does not verify for the call about to run: do not run the call.
    ``reason`` is one of :data:`ReceiptInvalidReason` (the same codes as the TypeScript and Rust
    SDKs, see docs/receipts.md); ``detail`` says what was wrong in a sentence."""

    def __init__(self, reason: ReceiptInvalidReason, detail: str) -> None:
        super().__init__(f"OakAuth receipt refused ({reason}): {detail}")
        self.receipt_reason: ReceiptInvalidReason = reason
        self.detail = detail

    @property
    def reason(self) -> ReceiptInvalidReason:
        return self.receipt_reason


class WebhookVerificationError(OakAuthError):
    """A webhook delivery that does not verify: a header missing, a signature that matches no secret,
    a ``webhook-timestamp`` more than 5 minutes from this machine's clock, or a signed body that is
    not an OakAuth event. Answer it with a 4xx and do not act on it."""
