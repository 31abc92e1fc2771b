"""OakAuth for Python: permission control for AI agents.

Ask OakAuth before a tool runs (:class:`OakAuth`, :class:`AsyncOakAuth`, :func:`guarded`), manage
agents, tools and rules (:mod:`oakauth.admin`), verify decision receipts (:mod:`oakauth.receipts`)
and webhook deliveries (:mod:`oakauth.webhooks`). See docs/python-sdk.md.
"""

from __future__ import annotations

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
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailed",
    "Decision",
    "Explanation",
    "InvalidRequest",
    "MalformedResponse",
    "NotFound",
    "OakAuth",
    "OakAuthError",
    "PermissionDenied",
    "RateLimited",
    "ReasoningRequired",
    "ReceiptInvalid",
    "RedirectRefused",
    "ServerError",
    "Timeout",
    "Unavailable",
    "WebhookVerificationError",
    "__version__",
    "explain",
    "guarded",
    "with_explanation",
]
