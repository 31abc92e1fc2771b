"""Model-facing refusal text: the same sentences as the TypeScript MCP wrapper (sdk-ts/src/mcp.ts), so
a model hears the same thing from every OakAuth integration."""

from __future__ import annotations

import json

from .errors import OakAuthError, PermissionDenied, RateLimited, ReceiptInvalid
from .models import Decision

__all__ = ["explain", "with_explanation"]


def with_explanation(decision: Decision) -> str:
    """The decision's message, followed by its explanation's sentence when that says more."""
    more = decision.explanation.message if decision.explanation is not None else None
    return f"{decision.message} ({more})" if more and more != decision.message else decision.message


def explain(
    subject: Decision | BaseException,
    *,
    tool: str | None = None,
    scope: str | None = None,
    reasoning_argument: str = "_reasoning",
) -> str:
    """A sentence for the model: what was refused, why, and what it can do about it.

    ``subject`` is a deny :class:`~oakauth.models.Decision` (from ``validate()``) or an exception
    raised by ``guard()`` (any: a non-OakAuth error is described as "unexpected error", so no
    internal detail reaches the model). ``tool`` and ``scope`` name the call, by default the
    decision's. ``reasoning_argument`` is what the model is told to add when reasoning is required
    (the MCP convention is ``_reasoning``; a framework adapter may name its own). On an allow,
    returns the decision's message."""
    if isinstance(subject, Decision):
        return _explain_decision(subject, tool or subject.tool, scope or subject.scope, reasoning_argument)
    if isinstance(subject, PermissionDenied):
        return _explain_decision(subject.decision, tool or subject.tool, scope or subject.scope, reasoning_argument)
    what = f"{tool}:{scope}" if tool and scope else _what(subject)
    if isinstance(subject, RateLimited):
        wait = max(1, subject.retry_after)
        return f"OakAuth rate limit reached for {what}; retry in {wait} seconds. The tool did not run."
    if isinstance(subject, ReceiptInvalid):
        return (
            f"OakAuth refused the decision receipt of this call to {what} ({subject.reason}): {subject.detail}. "
            "The tool did not run."
        )
    detail = subject.message if isinstance(subject, OakAuthError) else "unexpected error"
    return f"OakAuth could not check {what} ({detail}), so the tool did not run."


def _what(err: BaseException) -> str:
    decision = err.decision if isinstance(err, OakAuthError) else None
    if decision is not None and decision.tool:
        return f"{decision.tool}:{decision.scope}"
    return "this call"


def _explain_decision(decision: Decision, tool: str, scope: str, reasoning_argument: str) -> str:
    if decision.is_allowed():
        return decision.message
    approval = decision.approval
    named = f" (id {approval.id})" if approval is not None else ""
    reason = decision.reason
    if reason == "reasoning_required":
        return (
            f"OakAuth denied {tool}:{scope}: reasoning required. Call the tool again with a `{reasoning_argument}` "
            f"argument that says why you need it. ({decision.message})"
        )
    if reason == "approval_required":
        expires = f" (the request expires at {approval.expires_at})" if approval is not None else ""
        return (
            f"OakAuth: approval requested{named} for {tool}:{scope}; an administrator must approve; "
            f"call this tool again with the same arguments once approved{expires}. The tool did not run."
        )
    if reason == "approval_denied":
        comment = approval.comment if approval is not None else None
        said = f", with the comment: {json.dumps(comment, ensure_ascii=False)}" if comment else " (no comment given)"
        return (
            f"OakAuth: an administrator denied the approval{named} of this call to {tool}:{scope}{said}. "
            "The tool did not run; do not repeat this call."
        )
    if reason == "approval_expired":
        return (
            f"OakAuth: the approval{named} of this call to {tool}:{scope} expired before an administrator decided "
            "or before the approved call was made; nobody denied it. The tool did not run. Calling it again with "
            "the same arguments requests approval anew."
        )
    if reason == "approval_cancelled":
        return f"OakAuth: the approval{named} of this call to {tool}:{scope} was cancelled. The tool did not run."
    if reason == "approval_consumed":
        after = (
            f"; the same call can request a new approval after {approval.expires_at}" if approval is not None else ""
        )
        return (
            f"OakAuth: the approval{named} of this call to {tool}:{scope} was already used; an approval allows the "
            f"approved call once. The tool did not run{after}."
        )
    if reason == "quota_exceeded" and decision.quota is not None:
        return (
            f"OakAuth: this organization has used its {decision.quota.limit} validations for the month; every call "
            f"is denied until {decision.quota.resets_at}. The tool did not run; do not retry before then."
        )
    if reason == "rate_limited":
        wait = max(1, decision.retry_after or 0)
        return f"OakAuth rate limit reached for {tool}:{scope}; retry in {wait} seconds. The tool did not run."
    return f"OakAuth denied {tool}:{scope} ({reason}): {with_explanation(decision)} The tool did not run."
