"""WebhookVerifier against deliveries signed by the Standard Webhooks reference library (a real
delivery from the worker is verified in test_integration.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from oakauth import ConfigurationError, WebhookVerificationError, WebhookVerifier, verify_webhook

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
BODY = json.dumps({"type": "approval.requested", "timestamp": "2026-12-01T00:00:00Z", "data": {"id": "apr_1"}})


def signed(body: str = BODY, *, secret: str = SECRET, msg_id: str = "msg_1", at: float | None = None) -> dict[str, str]:
    when = datetime.fromtimestamp(at if at is not None else time.time(), tz=timezone.utc)
    signature = Webhook(secret).sign(msg_id, when, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature}


def test_a_signed_delivery_verifies() -> None:
    event = WebhookVerifier(SECRET).verify(BODY.encode(), signed())
    assert event.type == "approval.requested" and event.data == {"id": "apr_1"}
    # Header names in any case, and multi-value header objects.
    upper = {k.upper(): v for k, v in signed().items()}
    assert verify_webhook(SECRET, BODY, upper).type == "approval.requested"
    assert verify_webhook(SECRET, BODY, httpx.Headers(signed())).type == "approval.requested"


def test_two_signatures_during_a_rotation() -> None:
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    headers = signed()
    headers["webhook-signature"] = signed(secret=old)["webhook-signature"] + " " + headers["webhook-signature"]
    assert WebhookVerifier(SECRET).verify(BODY, headers).type == "approval.requested"
    assert WebhookVerifier(old).verify(BODY, headers).type == "approval.requested"


# Headers are made when each case runs (not when the module is collected): signatures carry the
# current time, and a long test session would otherwise age them past the tolerance.
@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (BODY + " ", lambda: signed(), "did not verify"),
        (BODY, lambda: {**signed(), "webhook-id": "msg_2"}, "did not verify"),
        (BODY, lambda: signed(secret="whsec_" + base64.b64encode(b"x" * 32).decode()), "did not verify"),
        (BODY, lambda: signed(at=time.time() - 600), "did not verify"),
        (BODY, lambda: signed(at=time.time() + 600), "did not verify"),
        (BODY, lambda: {k: v for k, v in signed().items() if k != "webhook-signature"}, "no webhook-signature header"),
        (BODY, lambda: {**signed(), "webhook-timestamp": "1.7e9"}, "not a Unix time"),
        (BODY, lambda: {**signed(), "webhook-signature": "v1"}, "did not verify"),
        (BODY, lambda: {**signed(), "webhook-signature": "v1,!!!"}, "did not verify"),
        ("[1]", lambda: signed("[1]"), "not an event"),
        ("nope", lambda: signed("nope"), "not JSON"),
    ],
)
def test_a_delivery_that_does_not_verify_is_refused(
    body: str, headers: Callable[[], dict[str, str]], message: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        WebhookVerifier(SECRET).verify(body, headers())


def test_repeated_headers_are_refused() -> None:
    headers = httpx.Headers([*signed().items(), ("webhook-id", "msg_9")])
    with pytest.raises(WebhookVerificationError, match="more than one webhook-id"):
        WebhookVerifier(SECRET).verify(BODY, headers)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="not UTF-8"):
        WebhookVerifier(SECRET).verify(b"\xff\xfe", signed())


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "whsec_"),
        ("sk_123", "whsec_"),
        ("whsec_not base64!", "standard base64"),
        ("whsec_" + base64.b64encode(b"short secret").decode(), "needs at least 24"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "has 23 bytes"),
    ],
)
def test_weak_or_wrong_secrets_are_refused(secret: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        WebhookVerifier(secret)
    assert secret == "" or secret[6:] == "" or secret[6:] not in str(caught.value)
