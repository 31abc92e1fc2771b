"""The one HTTP helper of the SDK, in a sync and an async twin: checks the base URL, sends with a
time-out and without following redirects, retries transient failures with exponential back-off and
jitter (honouring ``Retry-After``), bounds the answer's size, and turns every answer that is not a
success into a typed error. Mirrors sdk-ts/src/http.ts."""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import math
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import httpx

from .errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    ConnectionFailed,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PlanLimitError,
    RateLimited,
    RedirectRefused,
    ServerError,
    Timeout,
)

#: Seconds each attempt may take, reading the answer included.
DEFAULT_TIMEOUT = 10.0
#: Retries after a connection failure, a time-out, a 5xx or a 429 that is not a decision.
DEFAULT_RETRIES = 2
BACKOFF_BASE = 0.2
BACKOFF_MAX = 5.0
#: A ``Retry-After`` longer than this is cut to it, so a client never sleeps for minutes.
RETRY_AFTER_CAP = 30.0
#: The largest answer read; a longer one is refused (no answer is trusted for being long).
MAX_ANSWER_BYTES = 16 * 1024 * 1024

#: Whether a request may be sent again after it may have reached the service. Validations and reads
#: may (a repeated validation is a new, separately logged question); creating something may not,
#: except when the connection was refused before anything was sent.
RetryPolicy = Literal["always", "connect-only"]

Query = Mapping[str, str | int | bool | None]


def from_env(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value == "" else value


@dataclass(frozen=True)
class Answer:
    status: int
    request_id: str | None
    retry_after: int | None
    #: The parsed JSON body; None for an empty body or one that is not JSON (an error status).
    body: Any
    text: str
    #: The ``Location`` of a redirect (only returned to a caller that accepts redirects).
    location: str | None = None
    #: The ``Set-Cookie`` headers of the answer.
    set_cookies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    base_url: str
    key: str
    timeout: float
    retries: int
    #: Headers sent with every request besides ``Authorization`` (``OakAuth-Organization``).
    headers: tuple[tuple[str, str], ...] = ()


def make_config(
    key: str | None,
    missing_key: str,
    *,
    base_url: str | None,
    timeout: float,
    retries: int,
    allow_insecure_loopback: bool | None,
    headers: Mapping[str, str] | None = None,
) -> Config:
    """The checked configuration of a client, from its arguments and the environment."""
    if not isinstance(key, str) or key.strip() == "":
        raise ConfigurationError(missing_key)
    key = key.strip()
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in key):
        raise ConfigurationError("OakAuth: the key contains characters a key never has (spaces, control characters)")
    url = base_url if base_url is not None else from_env("OAKAUTH_BASE_URL")
    if url is None or url.strip() == "":
        raise ConfigurationError(
            "OakAuth: a base URL is required (the base_url argument or OAKAUTH_BASE_URL), "
            "such as https://oakauth.example.com"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError("OakAuth: timeout must be a positive number of seconds")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError("OakAuth: retries must be a whole number, 0 or more")
    insecure = (
        allow_insecure_loopback
        if allow_insecure_loopback is not None
        else from_env("OAKAUTH_ALLOW_INSECURE_LOOPBACK") == "1"
    )
    url = url.strip()
    check_base_url(url, insecure)
    extra = tuple((headers or {}).items())
    for name, value in extra:
        if not isinstance(value, str) or value == "" or any(ord(c) < 0x21 or ord(c) > 0x7E for c in value):
            raise ConfigurationError(f"OakAuth: the {name} header must be a non-empty id without spaces: {value!r}")
    return Config(base_url=url.rstrip("/"), key=key, timeout=float(timeout), retries=retries, headers=extra)


def check_base_url(base_url: str, allow_insecure_loopback: bool, what: str = "base_url") -> None:
    """Refuses a base URL that is not a URL, not http(s), or plain http: plain http is only allowed to
    a loopback address (127.0.0.0/8, ::1, localhost), and only when ``allow_insecure_loopback``."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigurationError(f"OakAuth: {what} is not a URL: {base_url}") from None
    if not host or parts.scheme not in ("http", "https") or parts.query or parts.fragment or parts.username:
        if parts.scheme not in ("http", "https") and host:
            raise ConfigurationError(f"OakAuth: {what} must be an https URL: {base_url}")
        raise ConfigurationError(f"OakAuth: {what} is not a URL: {base_url}")
    if parts.scheme == "https":
        return
    if not _is_loopback(host):
        raise ConfigurationError(
            f"OakAuth: {what} must be https; plain http is only allowed to a loopback address: {base_url}"
        )
    if not allow_insecure_loopback:
        raise ConfigurationError(
            f"OakAuth: {what} {base_url} is plain http; for a local worker, opt in with the "
            "allow_insecure_loopback argument or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback and (address.version == 4 or address == ipaddress.ip_address("::1"))


def segment(value: str, what: str) -> str:
    """One path segment holding an id."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise TypeError(f"OakAuth: not {what}: {value!r}")
    return quote(value, safe="")


def build_url(base_url: str, path: str, query: Query | None) -> str:
    url = base_url + path
    if query:
        pairs = [(k, _query_value(v)) for k, v in query.items() if v is not None]
        if pairs:
            url += "?" + urlencode(pairs)
    return url


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_retry_after(value: str | None) -> int | None:
    """``Retry-After`` in seconds (OakAuth sends whole seconds; an HTTP date is read too)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(int(value), 86_400)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, math.ceil(when.timestamp() - time.time()))


def backoff(attempt: int, retry_after: int | None) -> float:
    """Exponential back-off with jitter in its upper half, or ``Retry-After`` when that asks for longer."""
    exp = min(BACKOFF_MAX, BACKOFF_BASE * float(2**attempt))
    jittered: float = exp / 2 + random.random() * (exp / 2)  # noqa: S311 - jitter, not a secret
    asked = 0.0 if retry_after is None else min(RETRY_AFTER_CAP, float(retry_after))
    return max(jittered, asked)


def error_for(answer: Answer) -> APIError | RateLimited:
    """A typed error for an answer with an error status."""
    status = answer.status
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), str) else None
    raw = error.get("message") if isinstance(error, dict) else None
    detail = raw if isinstance(raw, str) else (answer.text.strip()[:200] or f"HTTP {status}")
    message = f"{code}: {detail}" if code else f"HTTP {status}: {detail}"
    rid = answer.request_id
    if status in (401, 403):
        return AuthenticationError(status, code, message, request_id=rid)
    if status == 404:
        return NotFound(status, code, message, request_id=rid)
    if status == 409:
        return ConflictError(status, code, message, request_id=rid)
    if status == 402 and code == "plan_limit" and isinstance(error, dict):
        quota, limit, plan = error.get("quota"), error.get("limit"), error.get("plan")
        return PlanLimitError(
            message,
            quota=quota if isinstance(quota, str) else None,
            limit=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
            plan=plan if isinstance(plan, str) else None,
            request_id=rid,
        )
    if status == 429:
        return RateLimited(message, answer.retry_after or 0, request_id=rid)
    if status >= 500:
        return ServerError(status, code, message, request_id=rid)
    if status >= 400:
        return InvalidRequest(status, code, message, request_id=rid)
    return APIError(status, code, message, request_id=rid)


def _is_decision_body(body: Any) -> bool:
    return isinstance(body, dict) and "decision_id" in body


def _retryable(answer: Answer | None, failure: ConnectionFailed | None, policy: RetryPolicy) -> bool:
    if failure is not None:
        return policy == "always" or failure.before_sending
    assert answer is not None
    if policy != "always":
        return False
    if answer.status >= 500:
        return True
    # A 429 that is a decision (the agent's rate limit) is a deny and is never retried; a 429 of the
    # authentication throttle is, after its Retry-After.
    return answer.status == 429 and not _is_decision_body(answer.body)


def _connection_failed(message: str, *, before_sending: bool, timed_out: bool) -> ConnectionFailed:
    err: ConnectionFailed = Timeout(message) if timed_out else ConnectionFailed(message)
    err.before_sending = before_sending
    return err


class _Prepared:
    def __init__(self, config: Config, method: str, path: str, query: Query | None, body: Any) -> None:
        self.method = method
        self.url = build_url(config.base_url, path, query)
        self.headers = {"Authorization": f"Bearer {config.key}", "Accept": "application/json", **dict(config.headers)}
        self.content: bytes | None = None
        if body is not None:
            self.content = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
            self.headers["Content-Type"] = "application/json"


def _redirect(base_url: str, prepared: _Prepared, response: httpx.Response) -> RedirectRefused:
    location = response.headers.get("location")
    where = f" to {location}" if location else ""
    return RedirectRefused(
        f"OakAuth at {base_url} answered {prepared.method} {prepared.url} with a redirect "
        f"(HTTP {response.status_code}{where}); redirects are not followed",
        response.status_code,
        location,
        request_id=response.headers.get("x-request-id"),
    )


def _answer(response: httpx.Response, data: bytes) -> Answer:
    request_id = response.headers.get("x-request-id")
    status = response.status_code
    text = data.decode("utf-8", errors="replace")
    parsed: Any = None
    if text.strip():
        try:
            parsed = json.loads(text, parse_constant=_refuse_constant)
        except ValueError:
            if status < 300:
                raise MalformedResponse(
                    f"OakAuth answered HTTP {status} with a body that is not JSON", status, text, request_id=request_id
                ) from None
            parsed = None
    return Answer(
        status,
        request_id,
        parse_retry_after(response.headers.get("retry-after")),
        parsed,
        text,
        location=response.headers.get("location"),
        set_cookies=tuple(response.headers.get_list("set-cookie")),
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_long(prepared: _Prepared, status: int) -> MalformedResponse:
    return MalformedResponse(
        f"OakAuth answered {prepared.method} {prepared.url} with more than {MAX_ANSWER_BYTES} bytes", status, ""
    )


def _describe(err: BaseException) -> str:
    parts: list[str] = []
    cause: BaseException | None = err
    for _ in range(4):
        if cause is None:
            break
        text = str(cause) or type(cause).__name__
        if text not in parts:
            parts.append(text)
        cause = cause.__cause__ or cause.__context__
    return ": ".join(parts)


class SyncHttp:
    """The sync transport. Blocking by design: it never starts or needs an event loop, so it is safe
    to call from code that runs inside one (the call blocks that thread, as any sync I/O does)."""

    def __init__(self, config: Config, transport: httpx.BaseTransport | None) -> None:
        self.config = config
        self._client = httpx.Client(transport=transport, follow_redirects=False, trust_env=transport is None)

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryPolicy,
        query: Query | None = None,
        body: Any = None,
        accept: tuple[int, ...] = (),
        timeout: float | None = None,
        redirect: bool = False,
    ) -> Answer:
        prepared = _Prepared(self.config, method, path, query, body)
        limit = timeout if timeout is not None else self.config.timeout
        attempt = 0
        while True:
            answer: Answer | None = None
            failure: ConnectionFailed | None = None
            try:
                answer = self._exchange(prepared, limit, redirect)
            except ConnectionFailed as err:
                failure = err
            if _retryable(answer, failure, retry) and attempt < self.config.retries:
                time.sleep(backoff(attempt, answer.retry_after if answer else None))
                attempt += 1
                continue
            if failure is not None:
                raise failure
            assert answer is not None
            if 200 <= answer.status < 300 or answer.status in accept or (redirect and 300 <= answer.status < 400):
                return answer
            raise error_for(answer)

    def _exchange(self, prepared: _Prepared, limit: float, redirect: bool) -> Answer:
        deadline = time.monotonic() + limit
        try:
            with self._client.stream(
                prepared.method,
                prepared.url,
                headers=prepared.headers,
                content=prepared.content,
                timeout=httpx.Timeout(limit),
            ) as response:
                if 300 <= response.status_code < 400 and not redirect:
                    raise _redirect(self.config.base_url, prepared, response)
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        raise _too_long(prepared, response.status_code)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer took too long")
                return _answer(response, bytes(data))
        except httpx.TimeoutException as err:
            raise _connection_failed(
                f"OakAuth did not answer {prepared.method} {prepared.url} within {limit:g} s",
                before_sending=isinstance(err, httpx.ConnectTimeout),
                timed_out=True,
            ) from err
        except (httpx.TransportError, httpx.StreamError) as err:
            raise _connection_failed(
                f"could not reach OakAuth at {prepared.url}: {_describe(err)}",
                before_sending=isinstance(err, httpx.ConnectError),
                timed_out=False,
            ) from err


class AsyncHttp:
    """The async transport: the same behaviour on ``httpx.AsyncClient``."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None) -> None:
        self.config = config
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=transport is None)

    async def close(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryPolicy,
        query: Query | None = None,
        body: Any = None,
        accept: tuple[int, ...] = (),
        timeout: float | None = None,
        redirect: bool = False,
    ) -> Answer:
        prepared = _Prepared(self.config, method, path, query, body)
        limit = timeout if timeout is not None else self.config.timeout
        attempt = 0
        while True:
            answer: Answer | None = None
            failure: ConnectionFailed | None = None
            try:
                answer = await self._exchange(prepared, limit, redirect)
            except ConnectionFailed as err:
                failure = err
            if _retryable(answer, failure, retry) and attempt < self.config.retries:
                await asyncio.sleep(backoff(attempt, answer.retry_after if answer else None))
                attempt += 1
                continue
            if failure is not None:
                raise failure
            assert answer is not None
            if 200 <= answer.status < 300 or answer.status in accept or (redirect and 300 <= answer.status < 400):
                return answer
            raise error_for(answer)

    async def _exchange(self, prepared: _Prepared, limit: float, redirect: bool) -> Answer:
        try:
            return await asyncio.wait_for(self._read(prepared, limit, redirect), timeout=limit)
        except asyncio.TimeoutError as err:
            raise _connection_failed(
                f"OakAuth did not answer {prepared.method} {prepared.url} within {limit:g} s",
                before_sending=False,
                timed_out=True,
            ) from err
        except httpx.TimeoutException as err:
            raise _connection_failed(
                f"OakAuth did not answer {prepared.method} {prepared.url} within {limit:g} s",
                before_sending=isinstance(err, httpx.ConnectTimeout),
                timed_out=True,
            ) from err
        except (httpx.TransportError, httpx.StreamError) as err:
            raise _connection_failed(
                f"could not reach OakAuth at {prepared.url}: {_describe(err)}",
                before_sending=isinstance(err, httpx.ConnectError),
                timed_out=False,
            ) from err

    async def _read(self, prepared: _Prepared, limit: float, redirect: bool) -> Answer:
        async with self._client.stream(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            content=prepared.content,
            timeout=httpx.Timeout(limit),
        ) as response:
            if 300 <= response.status_code < 400 and not redirect:
                raise _redirect(self.config.base_url, prepared, response)
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:
                    raise _too_long(prepared, response.status_code)
            return _answer(response, bytes(data))
