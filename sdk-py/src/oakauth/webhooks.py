"""Checks that a webhook delivery comes from OakAuth, with the Standard Webhooks reference library
(``standardwebhooks``), and returns its event. Mirrors sdk-ts/src/webhooks.ts.

    from oakauth.webhooks import WebhookVerifier

    webhooks = WebhookVerifier(os.environ["OAKAUTH_WEBHOOK_SECRET"])  # whsec_…
    # in the handler, with the raw body (not re-serialized JSON):
    event = webhooks.verify(raw_body, request.headers)
    if event.type == "approval.requested":
        notify(event.data)

Deduplicate on the ``webhook-id`` header: a retried message keeps its id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook

from .errors import ConfigurationError, WebhookVerificationError

__all__ = ["MIN_WEBHOOK_SECRET_BYTES", "WebhookEvent", "WebhookVerificationError", "WebhookVerifier", "verify_webhook"]

#: The shortest secret accepted, in bytes once decoded: shorter keys can be guessed offline from one signed message.
MIN_WEBHOOK_SECRET_BYTES = 24
_SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class WebhookEvent:
    """A webhook's body: what happened (``type``, such as ``approval.requested``), when (``timestamp``,
    RFC 3339, UTC; not the signing time, which is the ``webhook-timestamp`` header) and the event's own
    object (``data``). Event types a newer OakAuth sends come through as they are."""

    type: str
    timestamp: str
    data: dict[str, Any]


class WebhookVerifier:
    """Verifies webhook deliveries with one endpoint's ``whsec_…`` secret, as OakAuth showed it when the
    endpoint was created or its secret rotated. Raises :class:`~oakauth.errors.ConfigurationError` for
    anything else, and for a secret shorter than 24 bytes (the error never repeats the secret)."""

    def __init__(self, secret: str) -> None:
        _check_secret(secret)
        self._webhook = Webhook(secret)

    def verify(self, body: str | bytes, headers: Mapping[str, Any]) -> WebhookEvent:
        """Checks a delivery and returns its event. ``body`` is the request body exactly as received;
        ``headers`` the request's headers (any mapping, names in any case; Starlette's, Django's,
        Flask's or a plain dict). Raises :class:`~oakauth.errors.WebhookVerificationError` when it
        does not verify: answer it with a 4xx and do not act on it."""
        text = _body_text(body)
        wanted = _pick_headers(headers)
        try:
            self._webhook.verify(text, wanted, json_parse=False)
        except Exception as err:  # the reference library raises ValueError and binascii errors too
            raise WebhookVerificationError(f"OakAuth webhook did not verify: {err}") from None
        return _read_event(text)


def verify_webhook(secret: str, body: str | bytes, headers: Mapping[str, Any]) -> WebhookEvent:
    """:class:`WebhookVerifier` in one call."""
    return WebhookVerifier(secret).verify(body, headers)


def _check_secret(secret: object) -> None:
    if not isinstance(secret, str) or not secret.startswith(_SECRET_PREFIX):
        raise ConfigurationError(
            f"OakAuth webhooks: the secret must be the endpoint's {_SECRET_PREFIX}… secret, as OakAuth showed it "
            "when the endpoint was created or its secret rotated"
        )
    encoded = secret[len(_SECRET_PREFIX) :]
    if len(encoded) % 4 != 0 or not _BASE64.match(encoded):
        raise ConfigurationError(f"OakAuth webhooks: the secret must be {_SECRET_PREFIX} followed by standard base64")
    size = len(encoded) // 4 * 3 - (2 if encoded.endswith("==") else 1 if encoded.endswith("=") else 0)
    if size < MIN_WEBHOOK_SECRET_BYTES:
        raise ConfigurationError(
            f"OakAuth webhooks: the secret has {size} bytes; a webhook secret needs at least "
            f"{MIN_WEBHOOK_SECRET_BYTES} (OakAuth's have 32)"
        )


def _body_text(body: str | bytes) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookVerificationError("OakAuth webhook did not verify: the body is not UTF-8") from None
    raise TypeError("verify_webhook: the body must be the raw request body, a string or bytes (not parsed JSON)")


def _pick_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(headers, Mapping) and not hasattr(headers, "items"):
        raise TypeError("verify_webhook: headers must be a mapping of header values")
    found: dict[str, list[Any]] = {}
    for name, value in headers.items():
        key = name.lower() if isinstance(name, str) else name
        if key in _HEADERS:
            found.setdefault(key, []).append(value)
    # Multi-value header objects (httpx, Starlette) keep repeated headers apart.
    get_list = getattr(headers, "get_list", None) or getattr(headers, "getlist", None)
    picked: dict[str, str] = {}
    for name in _HEADERS:
        values = found.get(name, [])
        if callable(get_list):
            listed = get_list(name)
            if isinstance(listed, list) and len(listed) > len(values):
                values = listed
        if not values or values[0] in (None, ""):
            raise WebhookVerificationError(f"OakAuth webhook did not verify: no {name} header")
        if len(values) > 1 or not isinstance(values[0], str):
            raise WebhookVerificationError(f"OakAuth webhook did not verify: more than one {name} header")
        picked[name] = values[0]
    # Unix seconds in digits only: the reference library would read "1.7e9" as a number.
    if not _TIMESTAMP.match(picked["webhook-timestamp"]):
        raise WebhookVerificationError(
            "OakAuth webhook did not verify: webhook-timestamp is not a Unix time in seconds"
        )
    return picked


def _read_event(text: str) -> WebhookEvent:
    try:
        event = json.loads(text)
    except ValueError:
        raise WebhookVerificationError("OakAuth webhook verified, but its body is not JSON") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("type"), str)
        or event["type"] == ""
        or not isinstance(event.get("timestamp"), str)
        or not isinstance(event.get("data"), dict)
    ):
        raise WebhookVerificationError("OakAuth webhook verified, but its body is not an event {type, timestamp, data}")
    return WebhookEvent(type=event["type"], timestamp=event["timestamp"], data=event["data"])
