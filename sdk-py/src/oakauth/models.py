"""The OakAuth API's types, as Pydantic v2 models generated from docs/openapi.yaml (see ``_schema``),
and :class:`Decision`, the answer of ``validate()``."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import PrivateAttr

from . import _schema
from ._schema import *  # noqa: F403
from ._schema import ReasonCode, ValidateResponse

__all__ = ["ALLOW_REASONS", "DENY_REASONS", "AllowReason", "Decision"]
__all__ += _schema.__all__

AllowReason = Literal["allowed", "reasoning_missing_soft"]
#: The reason codes whose decisions let the action run.
ALLOW_REASONS: frozenset[str] = frozenset(get_args(AllowReason))
#: The reason codes of denials.
DENY_REASONS: frozenset[str] = frozenset(get_args(ReasonCode)) - ALLOW_REASONS


class Decision(ValidateResponse):
    """OakAuth's answer to a validation: an allow or a deny (a deny is a decision, not an exception).

    ``allowed`` is true only on a well-formed allow: the client refuses (raises
    :class:`~oakauth.errors.Unavailable`) any answer whose ``allowed`` contradicts its ``reason``.
    ``explanation`` says why a rule decided; ``approval`` is the approval the call needs or used;
    ``receipt`` the signed receipt of an allow (docs/receipts.md). ``tool`` and ``scope`` are what was
    asked; ``retry_after`` the seconds a rate-limited, ``quota_exceeded`` or ``unavailable`` answer
    asked to wait. ``quota`` is set on ``quota_exceeded``: the monthly limit, its use and when it resets.
    """

    _tool: str = PrivateAttr(default="")
    _scope: str = PrivateAttr(default="")
    _request_id: str | None = PrivateAttr(default=None)
    _retry_after: int | None = PrivateAttr(default=None)

    @property
    def tool(self) -> str:
        """The OakAuth tool that was asked about."""
        return self._tool

    @property
    def scope(self) -> str:
        """The scope that was asked about."""
        return self._scope

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` of the answer."""
        return self._request_id

    @property
    def retry_after(self) -> int | None:
        """Seconds to wait before asking again (a rate limit, ``quota_exceeded`` or ``unavailable``); None otherwise."""
        return self._retry_after

    def is_allowed(self) -> bool:
        """Whether the action may run: ``allowed`` is true and the reason is an allow reason."""
        return self.allowed is True and self.reason in ALLOW_REASONS

    def with_call(
        self, tool: str, scope: str, request_id: str | None = None, retry_after: int | None = None
    ) -> Decision:
        """Records what was asked (done by the clients)."""
        self._tool = tool
        self._scope = scope
        self._request_id = request_id
        self._retry_after = retry_after
        return self
