"""OakAuth for Python: permission control for AI agents.

Ask OakAuth before a tool runs (:class:`OakAuth`, :class:`AsyncOakAuth`, :func:`guarded`), manage
agents, tools and rules (:mod:`oakauth.admin`), verify decision receipts (:mod:`oakauth.receipts`)
and webhook deliveries (:mod:`oakauth.webhooks`). See docs/python-sdk.md.
"""

from __future__ import annotations

from .admin import AsyncOakAuthAdmin, LoginResult, OakAuthAdmin
from .client import (
    DEFAULT_APPROVAL_TIMEOUT,
    MAX_APPROVAL_WAIT_SECONDS,
    ApprovalMode,
    AsyncOakAuth,
    OakAuth,
    guarded,
)
from .errors import (
    APIError,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalPending,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    ConnectionFailed,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    OakAuthError,
    PermissionDenied,
    PlanLimitError,
    QuotaExceededError,
    RateLimited,
    ReasoningRequired,
    ReceiptInvalid,
    RedirectRefused,
    ServerError,
    Timeout,
    Unavailable,
    WebhookVerificationError,
)
from .explain import explain, with_explanation
from .models import ApprovalTicket, Decision, Explanation
from .receipts import AsyncReceiptVerifier, MemoryReplayCache, ReceiptClaims, ReceiptVerifier, arguments_digest
from .webhooks import WebhookEvent, WebhookVerifier, verify_webhook

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_APPROVAL_TIMEOUT",
    "MAX_APPROVAL_WAIT_SECONDS",
    "APIError",
    "ApprovalDenied",
    "ApprovalExpired",
    "ApprovalMode",
    "ApprovalPending",
    "ApprovalTicket",
    "AsyncOakAuth",
    "AsyncOakAuthAdmin",
    "AsyncReceiptVerifier",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailed",
    "Decision",
    "Explanation",
    "InvalidRequest",
    "LoginResult",
    "MalformedResponse",
    "MemoryReplayCache",
    "NotFound",
    "OakAuth",
    "OakAuthAdmin",
    "OakAuthError",
    "PermissionDenied",
    "PlanLimitError",
    "QuotaExceededError",
    "RateLimited",
    "ReasoningRequired",
    "ReceiptClaims",
    "ReceiptInvalid",
    "ReceiptVerifier",
    "RedirectRefused",
    "ServerError",
    "Timeout",
    "Unavailable",
    "WebhookEvent",
    "WebhookVerificationError",
    "WebhookVerifier",
    "__version__",
    "arguments_digest",
    "explain",
    "guarded",
    "verify_webhook",
    "with_explanation",
]
