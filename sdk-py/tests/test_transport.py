"""Every way of not getting a trustworthy allow, through an injected transport: the action never runs.

The real worker is tested in test_integration.py; here httpx.MockTransport stands for what the
worker never does on purpose (time-outs, refused connections, 5xx, garbage, wrong types)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from oakauth import (
    AsyncOakAuth,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    MalformedResponse,
    OakAuth,
    OakAuthError,
    PermissionDenied,
    QuotaExceededError,
    RateLimited,
    RedirectRefused,
    ServerError,
    Timeout,
    Unavailable,
    explain,
    guarded,
)

BASE = "https://oakauth.test"


def allow(**extra: Any) -> dict[str, Any]:
    return {
        "allowed": True,
        "reason": "allowed",
        "message": "allowed by rule",
        "decision_id": "dec_1",
        "reasoning_required": "none",
        "reasoning_provided": False,
        "rate_limit": {"limit": 10, "remaining": 9, "reset": 1},
        **extra,
    }


def deny(reason: str = "scope_not_granted", **extra: Any) -> dict[str, Any]:
    return {**allow(), "allowed": False, "reason": reason, "message": f"denied: {reason}", **extra}


Handler = Callable[[httpx.Request], httpx.Response]


def respond(*answers: Handler | httpx.Response | BaseException) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering each request with the next answer (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, httpx.Response):
            # A fresh copy each time: a response's stream is read once.
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)
        return answer(request)

    return handler, seen


def sync_client(handler: Handler, **options: Any) -> OakAuth:
    return OakAuth("oak_test", base_url=BASE, transport=httpx.MockTransport(handler), **options)


def async_client(handler: Handler, **options: Any) -> AsyncOakAuth:
    return AsyncOakAuth("oak_test", base_url=BASE, transport=httpx.MockTransport(handler), **options)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})}
    )


# (name, answers, expected exception, retries)
FAILURES: list[tuple[str, list[Any], type[OakAuthError], int]] = [
    ("time-out", [httpx.ReadTimeout("slow")], Timeout, 0),
    ("time-out after the retries", [httpx.ReadTimeout("slow")], Timeout, 2),
    ("refused connection", [httpx.ConnectError("refused")], ConnectionFailed, 1),
    ("reset connection", [httpx.RemoteProtocolError("reset")], ConnectionFailed, 0),
    ("500 every time", [json_response(500, {"error": {"code": "internal_error", "message": "boom"}})], ServerError, 2),
    ("503 without a body", [httpx.Response(503)], ServerError, 0),
    ("429 rate-limited decision", [json_response(429, deny("rate_limited"), {"retry-after": "7"})], RateLimited, 2),
    ("malformed JSON", [httpx.Response(200, content=b'{"allowed": true,')], MalformedResponse, 0),
    ("not JSON at all", [httpx.Response(200, content=b"<html>ok</html>")], MalformedResponse, 0),
    ("empty body", [httpx.Response(200)], MalformedResponse, 0),
    ("a list", [json_response(200, [allow()])], MalformedResponse, 0),
    ('{"allowed": "yes"}', [json_response(200, {"allowed": "yes"})], MalformedResponse, 0),
    ('"allowed": "yes" in a full decision', [json_response(200, allow(allowed="yes"))], MalformedResponse, 0),
    ('"allowed": 1', [json_response(200, allow(allowed=1))], MalformedResponse, 0),
    ("allowed with a deny reason", [json_response(200, allow(reason="scope_not_granted"))], MalformedResponse, 0),
    ("denied with an allow reason", [json_response(200, deny(reason="allowed"))], MalformedResponse, 0),
    ("unknown reason", [json_response(200, allow(reason="sure"))], MalformedResponse, 0),
    ("decision id a number", [json_response(200, allow(decision_id=1))], MalformedResponse, 0),
    ("empty decision id", [json_response(200, allow(decision_id=""))], MalformedResponse, 0),
    (
        "message missing",
        [json_response(200, {k: v for k, v in allow().items() if k != "message"})],
        MalformedResponse,
        0,
    ),
    (
        "rate_limit of strings",
        [json_response(200, allow(rate_limit={"limit": "1", "remaining": 1, "reset": 1}))],
        MalformedResponse,
        0,
    ),
    (
        "NaN in the body",
        [httpx.Response(200, content=json.dumps(allow()).replace('"decision_id"', '"x": NaN, "decision_id"').encode())],
        MalformedResponse,
        0,
    ),
    # The answer to a probe (request_approval: false): a deny with nothing to wait for.
    ("approval_required without an approval", [json_response(200, deny("approval_required"))], PermissionDenied, 0),
    ("an allow under HTTP 201", [json_response(201, allow())], MalformedResponse, 0),
    ("redirect", [httpx.Response(307, headers={"location": "https://evil.test/v1/validate"})], RedirectRefused, 2),
    ("401", [json_response(401, {"error": {"code": "unauthorized", "message": "no"}})], AuthenticationError, 2),
    ("a deny", [json_response(200, deny())], PermissionDenied, 2),
    ("OakAuth's own unavailable", [json_response(200, deny("unavailable"), {"retry-after": "1"})], Unavailable, 2),
]


@pytest.mark.parametrize(("name", "answers", "expected", "retries"), FAILURES, ids=[f[0] for f in FAILURES])
def test_sync_guard_never_runs_the_action(
    name: str, answers: list[Any], expected: type[OakAuthError], retries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("oakauth._http.backoff", lambda attempt, retry_after: 0.0)
    handler, seen = respond(*answers)
    ran: list[bool] = []
    with sync_client(handler, retries=retries) as oak, pytest.raises(expected) as caught:
        oak.guard("filesystem", "read", lambda: ran.append(True))
    assert ran == []
    assert isinstance(caught.value, OakAuthError)
    assert explain(caught.value).endswith(("did not run.", "did not run; do not repeat this call."))
    assert len(seen) >= 1


@pytest.mark.parametrize(("name", "answers", "expected", "retries"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_async_guard_never_runs_the_action(
    name: str, answers: list[Any], expected: type[OakAuthError], retries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("oakauth._http.backoff", lambda attempt, retry_after: 0.0)
    handler, _ = respond(*answers)
    ran: list[bool] = []

    async def action() -> None:
        ran.append(True)

    async with async_client(handler, retries=retries) as oak:
        with pytest.raises(expected):
            await oak.guard("filesystem", "read", action)
    assert ran == []


def test_a_refused_connection_to_a_real_closed_port_does_not_run_the_action() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ran: list[bool] = []
    oak = OakAuth("oak_test", base_url=f"http://127.0.0.1:{port}", allow_insecure_loopback=True, retries=1)
    with oak, pytest.raises(ConnectionFailed) as caught:
        oak.guard("filesystem", "read", lambda: ran.append(True))
    assert ran == []
    assert caught.value.before_sending is True


def test_a_time_out_is_the_whole_attempt_on_a_real_slow_server() -> None:
    # A server that accepts and never answers: the client gives up after its time-out.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        ran: list[bool] = []
        started = time.monotonic()
        with (
            OakAuth(
                "oak_test", base_url=f"http://127.0.0.1:{port}", allow_insecure_loopback=True, retries=0, timeout=0.5
            ) as oak,
            pytest.raises(Timeout),
        ):
            oak.guard("filesystem", "read", lambda: ran.append(True))
        assert ran == []
        assert time.monotonic() - started < 5


def test_500_then_200_retries_and_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("oakauth._http.time.sleep", sleeps.append)
    handler, seen = respond(
        json_response(500, {"error": {"code": "internal_error", "message": "x"}}), json_response(200, allow())
    )
    with sync_client(handler) as oak:
        assert oak.guard("filesystem", "read", lambda: "ran") == "ran"
    assert len(seen) == 2
    assert len(sleeps) == 1 and 0.1 <= sleeps[0] <= 0.2  # back-off with jitter in its upper half


async def test_async_500_then_200_retries_and_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    handler, seen = respond(httpx.ConnectError("refused"), json_response(502, {}), json_response(200, allow()))
    real_sleep = asyncio.sleep
    slept: list[float] = []

    async def fast(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("oakauth._http.asyncio.sleep", fast)
    async with async_client(handler) as oak:
        assert await oak.guard("filesystem", "read", lambda: "ran") == "ran"
    assert len(seen) == 3
    assert len(slept) == 2


def test_429_honours_retry_after_and_a_rate_limited_decision_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("oakauth._http.time.sleep", sleeps.append)
    # The authentication throttle (an error body) is retried after its Retry-After...
    throttle = json_response(429, {"error": {"code": "rate_limited", "message": "slow down"}}, {"retry-after": "3"})
    handler, seen = respond(throttle, json_response(200, allow()))
    with sync_client(handler) as oak:
        assert oak.guard("filesystem", "read", lambda: "ran") == "ran"
    assert sleeps == [3.0]
    assert len(seen) == 2
    # ...the agent's rate limit (a decision) is a deny: never retried, and it says when to retry.
    handler, seen = respond(json_response(429, deny("rate_limited"), {"retry-after": "7"}))
    with sync_client(handler) as oak:
        decision = oak.validate("filesystem", "read")
        assert decision.allowed is False and decision.reason == "rate_limited" and decision.retry_after == 7
        with pytest.raises(RateLimited) as caught:
            oak.guard("filesystem", "read", lambda: "ran")
    assert len(seen) == 2
    assert caught.value.retry_after == 7 and caught.value.decision_id == "dec_1"
    assert "retry in 7 seconds" in explain(caught.value)


def test_retry_after_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("oakauth._http.time.sleep", sleeps.append)
    handler, _ = respond(json_response(503, {}, {"retry-after": "86400"}), json_response(200, allow()))
    with sync_client(handler) as oak:
        oak.guard("filesystem", "read", lambda: None)
    assert sleeps == [30.0]


def test_a_create_is_not_retried_after_it_may_have_reached_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oakauth._http.backoff", lambda attempt, retry_after: 0.0)
    handler, seen = respond(httpx.ReadTimeout("slow"))
    with sync_client(handler) as oak, pytest.raises(Timeout):
        oak.cancel_approval("apr_1")
    assert len(seen) == 1


def test_an_answer_too_long_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oakauth._http.MAX_ANSWER_BYTES", 1000)
    handler, _ = respond(json_response(200, allow(message="x" * 2000)))
    with sync_client(handler, retries=0) as oak, pytest.raises(MalformedResponse):
        oak.guard("filesystem", "read", lambda: None)


def test_the_request_is_what_the_api_documents() -> None:
    handler, seen = respond(json_response(200, allow()))
    with sync_client(handler) as oak:
        oak.validate(
            "payments", "refund", reasoning="the customer asked", arguments={"amount": 10}, context={"ticket": 7}
        )
    request = seen[0]
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1/validate"
    assert request.headers["authorization"] == "Bearer oak_test"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "tool": "payments",
        "scope": "refund",
        "reasoning": "the customer asked",
        "context": {"ticket": 7},
        "arguments": {"amount": 10},
    }


def test_arguments_that_are_not_json_are_refused_before_anything_is_sent() -> None:
    handler, seen = respond(json_response(200, allow()))
    ran: list[bool] = []
    with sync_client(handler) as oak, pytest.raises(TypeError):
        oak.guard("filesystem", "read", lambda: ran.append(True), arguments={"f": object()})
    assert seen == [] and ran == []


def test_a_receipt_on_a_deny_is_dropped() -> None:
    handler, _ = respond(json_response(200, deny(receipt="a.b.c")))
    with sync_client(handler) as oak:
        assert oak.validate("filesystem", "read").receipt is None


def test_guarded_sends_the_functions_arguments() -> None:
    handler, seen = respond(json_response(200, allow()))
    oak = sync_client(handler)

    @guarded(oak, "filesystem", "write", reasoning="save the report")
    def write(path: str, text: str, *, mode: str = "w", **extra: Any) -> str:
        return f"{path}:{text}:{mode}:{extra}"

    assert write("/tmp/r.txt", "hi", flag=True) == "/tmp/r.txt:hi:w:{'flag': True}"
    assert json.loads(seen[0].content)["arguments"] == {"path": "/tmp/r.txt", "text": "hi", "mode": "w", "flag": True}
    assert write.__name__ == "write"


def test_guarded_does_not_run_on_a_deny() -> None:
    handler, _ = respond(
        json_response(
            200,
            deny(
                "denied_by_rule",
                explanation={"rule_id": "rul_1", "effect": "deny", "condition": None, "message": "no writes"},
            ),
        )
    )
    ran: list[bool] = []

    class Files:
        @guarded(sync_client(handler), "filesystem", "write")
        def write(self, path: str) -> None:
            ran.append(True)

    with pytest.raises(PermissionDenied) as caught:
        Files().write("/etc/passwd")
    assert ran == []
    assert caught.value.decision_id == "dec_1" and caught.value.reason == "denied_by_rule"
    assert caught.value.explanation is not None and caught.value.explanation.rule_id == "rul_1"
    assert "(no writes)" in str(caught.value)


async def test_async_guarded_with_sync_and_async_functions() -> None:
    handler, seen = respond(json_response(200, allow()))
    oak = async_client(handler)

    @guarded(oak, "filesystem", "read")
    async def read(path: str) -> str:
        await asyncio.sleep(0)
        return path

    @oak.guarded("filesystem", "read")
    def size(path: str) -> int:
        return len(path)

    assert await read("/a") == "/a"
    assert await size("/abc") == 4
    assert [json.loads(r.content)["arguments"] for r in seen] == [{"path": "/a"}, {"path": "/abc"}]


async def test_the_sync_client_works_inside_a_running_event_loop() -> None:
    # crewAI #7235: SDKs that call asyncio.run() crash inside a running loop. The sync client never
    # touches the event loop.
    asyncio.get_running_loop()
    handler, _ = respond(json_response(200, allow()))
    with sync_client(handler) as oak:
        assert oak.guard("filesystem", "read", lambda: "ran") == "ran"
        assert oak.validate("filesystem", "read").allowed is True


def test_sync_guard_refuses_a_coroutine_function() -> None:
    handler, seen = respond(json_response(200, allow()))

    async def action() -> None:
        pass

    with sync_client(handler) as oak, pytest.raises(TypeError):
        oak.guard("filesystem", "read", action)
    assert seen == []


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({}, {}, "an agent key is required"),
        ({"api_key": "oak_x"}, {}, "a base URL is required"),
        (
            {"api_key": "oak_x", "base_url": "http://oakauth.example.com"},
            {},
            "plain http is only allowed to a loopback",
        ),
        ({"api_key": "oak_x", "base_url": "http://127.0.0.1:8787"}, {}, "opt in with the allow_insecure_loopback"),
        ({"api_key": "oak_x", "base_url": "ftp://oakauth.example.com"}, {}, "must be an https URL"),
        ({"api_key": "oak_x", "base_url": "https://oakauth.example.com", "timeout": 0}, {}, "timeout must be"),
        ({"api_key": "oak_x", "base_url": "https://oakauth.example.com", "retries": -1}, {}, "retries must be"),
        ({"api_key": "oak x", "base_url": "https://oakauth.example.com"}, {}, "characters a key never has"),
    ],
)
def test_configuration_is_checked(
    options: dict[str, Any], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OAKAUTH_API_KEY", "OAKAUTH_BASE_URL", "OAKAUTH_ALLOW_INSECURE_LOOPBACK"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match=message):
        OakAuth(**options)
    with pytest.raises(ConfigurationError, match=message):
        AsyncOakAuth(**options)


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAKAUTH_API_KEY", "oak_env")
    monkeypatch.setenv("OAKAUTH_BASE_URL", "http://localhost:8787/")
    monkeypatch.setenv("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1")
    handler, seen = respond(json_response(200, allow()))
    oak = OakAuth(transport=httpx.MockTransport(handler))
    assert oak.base_url == "http://localhost:8787"
    oak.validate("filesystem", "read")
    assert seen[0].headers["authorization"] == "Bearer oak_env"
    assert str(seen[0].url) == "http://localhost:8787/v1/validate"


QUOTA = {"limit": 1000, "used": 1000, "resets_at": "2027-01-01T00:00:00Z"}


def test_a_quota_exceeded_answer_is_a_deny_with_its_quota_never_retried() -> None:
    over = json_response(429, deny("quota_exceeded", quota=QUOTA), {"retry-after": "86400"})
    handler, seen = respond(over)
    ran: list[str] = []
    with sync_client(handler) as oak:
        decision = oak.validate("filesystem", "read")
        assert decision.allowed is False and decision.reason == "quota_exceeded"
        assert decision.quota is not None and decision.quota.model_dump() == QUOTA
        assert decision.retry_after == 86400 and not decision.is_allowed()
        with pytest.raises(QuotaExceededError) as caught:
            oak.guard("filesystem", "read", lambda: ran.append("ran"))
    assert ran == []
    assert len(seen) == 2
    err = caught.value
    assert isinstance(err, PermissionDenied)
    assert err.reason == "quota_exceeded" and err.retry_after == 86400 and err.decision_id == "dec_1"
    assert err.resets_at == "2027-01-01T00:00:00Z" and err.quota.limit == 1000
    assert "1000 of its 1000 validations" in str(err)
    assert "until 2027-01-01T00:00:00Z" in explain(err)


async def test_async_quota_exceeded_is_the_same_deny() -> None:
    handler, _ = respond(json_response(429, deny("quota_exceeded", quota=QUOTA), {"retry-after": "60"}))
    async with async_client(handler) as oak:
        with pytest.raises(QuotaExceededError) as caught:
            await oak.guard("filesystem", "read", lambda: "ran")
    assert caught.value.retry_after == 60


@pytest.mark.parametrize(
    "body",
    [
        deny("quota_exceeded"),
        deny("quota_exceeded", quota={"limit": 1000, "used": "all", "resets_at": "2027-01-01T00:00:00Z"}),
        {**allow(), "quota": QUOTA},
    ],
    ids=["without its quota", "with a malformed quota", "claiming an allow"],
)
def test_a_429_that_is_not_a_well_formed_quota_deny_is_refused(body: dict[str, Any]) -> None:
    handler, _ = respond(json_response(429, body, {"retry-after": "5"}))
    ran: list[str] = []
    with sync_client(handler) as oak, pytest.raises(OakAuthError):
        oak.guard("filesystem", "read", lambda: ran.append("ran"))
    assert ran == []
