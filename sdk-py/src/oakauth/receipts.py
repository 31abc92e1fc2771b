"""Verifies OakAuth's signed decision receipts (docs/receipts.md) with PyJWT (EdDSA), so that a tool
server can check for itself that OakAuth allowed the exact call it is about to run.

    from oakauth.receipts import ReceiptVerifier

    receipts = ReceiptVerifier(issuer="https://oakauth.example.com")
    claims = receipts.verify(receipt, tool="payments", scope="refund", arguments=args)
    # raises ReceiptInvalid (with a reason) unless OakAuth allowed exactly this call, and only once

The checks and reason codes are the TypeScript and Rust SDKs' (sdk-ts/src/receipts.ts).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt
import rfc8785

from ._http import check_base_url, from_env
from .errors import ConfigurationError, ReceiptInvalid

__all__ = [
    "DEFAULT_REPLAY_CACHE_SIZE",
    "MAX_CLOCK_LEEWAY",
    "MAX_RECEIPT_LENGTH",
    "RECEIPT_LIFETIME",
    "RECEIPT_META_KEY",
    "RECEIPT_TYPE",
    "AsyncReceiptVerifier",
    "MemoryReplayCache",
    "ReceiptClaims",
    "ReceiptInvalid",
    "ReceiptVerifier",
    "ReplayCache",
    "arguments_digest",
]

#: The ``typ`` header of a receipt.
RECEIPT_TYPE = "oakauth-receipt+jwt"
#: Where a receipt travels in an MCP ``tools/call`` request: ``params._meta["oakauth/receipt"]``.
RECEIPT_META_KEY = "oakauth/receipt"
#: The largest clock leeway accepted, in seconds; also the default.
MAX_CLOCK_LEEWAY = 5.0
#: How long a receipt is valid (``exp - iat``), in seconds; a longer validity is refused.
RECEIPT_LIFETIME = 60
#: The longest receipt read, in characters. OakAuth's are about 600.
MAX_RECEIPT_LENGTH = 4096
#: How many receipts the default in-memory replay cache holds at most.
DEFAULT_REPLAY_CACHE_SIZE = 10_000
#: Seconds a fetch of the public keys may take, by default.
DEFAULT_JWKS_TIMEOUT = 5.0
#: Seconds fetched public keys are used before they are fetched again.
JWKS_CACHE_SECONDS = 300.0
#: The shortest interval between two fetches prompted by a key not seen yet (a rotation).
JWKS_REFETCH_INTERVAL = 30.0
ALGORITHM = "EdDSA"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_MAX_JWKS_BYTES = 64 * 1024


def arguments_digest(arguments: Mapping[str, Any] | None = None) -> str:
    """The SHA-256 (lower-case hex) of the RFC 8785 canonical JSON of a tool call's arguments: what a
    receipt's ``args`` claim and an approval are bound to. No arguments (None) hash like ``{}``. Key
    order, whitespace and number spelling (``1.0`` and ``1``) do not change it."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise TypeError("arguments_digest: the arguments must be a mapping (the tool call's arguments by name)")
    try:
        # Through JSON first, as the arguments travel: tuples become lists, NaN is refused.
        value = json.loads(json.dumps(dict(arguments), allow_nan=False))
        canonical = rfc8785.dumps(value)
    except (TypeError, ValueError, rfc8785.CanonicalizationError) as err:
        raise TypeError(f"arguments_digest: the arguments are not JSON: {err}") from None
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class ReceiptClaims:
    """What a valid receipt says: OakAuth allowed this agent this call, once, until ``exp``."""

    #: The OakAuth that decided: the base URL the agent called, without a trailing slash.
    iss: str
    #: The organization id.
    org: str
    #: The agent id.
    agent: str
    tool: str
    scope: str
    #: The digest of the call's arguments (:func:`arguments_digest`).
    args: str
    #: The decision id; a receipt is used once.
    jti: str
    #: When OakAuth decided, in seconds since the epoch.
    iat: int
    #: When the receipt expires, in seconds since the epoch (60 s after ``iat``).
    exp: int


class ReplayCache(Protocol):
    """Remembers which receipts were used. :class:`MemoryReplayCache` serves one process; tool
    servers that run several processes plug in a shared store (Redis's ``SET key 1 NX EXAT
    expires_at`` is exactly this operation)."""

    def remember(self, jti: str, expires_at: int) -> bool | Awaitable[bool]:
        """Records ``jti`` as used until ``expires_at`` (seconds since the epoch). True when it was not
        recorded yet (the call may run), False when it was (a replay). Must be atomic. An exception
        refuses the receipt (``replay_cache_unavailable``). May be a coroutine with
        :class:`AsyncReceiptVerifier`."""
        ...


class MemoryReplayCache:
    """A replay cache in this process's memory, of at most ``max_entries`` receipts, each kept until it
    expires. Full of unexpired receipts, it refuses new ones (fails closed) rather than forget one that
    could then be replayed: size it for the rate of calls (10000 holds 166 calls a second). Thread-safe."""

    def __init__(self, max_entries: int = DEFAULT_REPLAY_CACHE_SIZE, *, now: Callable[[], float] = time.time) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("OakAuth receipts: max_entries must be a whole number, 1 or more")
        self.max_entries = max_entries
        self._now = now
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def remember(self, jti: str, expires_at: int) -> bool:
        with self._lock:
            now = self._now()
            known = self._seen.get(jti)
            if known is not None and known > now:
                return False
            if known is None and len(self._seen) >= self.max_entries:
                for key in [k for k, expiry in self._seen.items() if expiry <= now]:
                    del self._seen[key]
                if len(self._seen) >= self.max_entries:
                    raise RuntimeError(
                        f"the in-memory replay cache holds {self.max_entries} unexpired receipts (its max_entries)"
                    )
            self._seen[jti] = float(expires_at)
            return True


class _KeysUnavailable(Exception):
    pass


class _KeySet:
    """The public keys by ``kid``: given (offline), or fetched and cached."""

    def __init__(self, jwks: Mapping[str, Any] | None, url: str | None) -> None:
        self.url = url
        self.keys: dict[str, Any] = {}
        self.fetched_at = -math.inf
        self.refetch_at = -math.inf
        if jwks is not None:
            try:
                self.keys = _read_jwks(jwks)
            except ValueError as err:
                raise ConfigurationError(
                    'OakAuth receipts: jwks must be a JSON Web Key Set ({"keys": [...]}) as '
                    f"GET /.well-known/jwks.json answers it: {err}"
                ) from None

    def needs_fetch(self, kid: str) -> bool:
        if self.url is None:
            return False
        now = time.monotonic()
        if now - self.fetched_at > JWKS_CACHE_SECONDS:
            return True
        return kid not in self.keys and now - self.refetch_at > JWKS_REFETCH_INTERVAL

    def store(self, answer: httpx.Response) -> None:
        self.refetch_at = time.monotonic()
        if answer.status_code != 200:
            raise _KeysUnavailable(f"could not get OakAuth's public keys from {self.url}: HTTP {answer.status_code}")
        if len(answer.content) > _MAX_JWKS_BYTES:
            raise _KeysUnavailable(f"OakAuth's public keys at {self.url} are longer than {_MAX_JWKS_BYTES} bytes")
        try:
            self.keys = _read_jwks(json.loads(answer.content))
        except ValueError as err:
            raise _KeysUnavailable(f"could not read OakAuth's public keys from {self.url}: {err}") from None
        self.fetched_at = time.monotonic()

    def key(self, kid: str) -> Any:
        found = self.keys.get(kid)
        if found is None:
            raise ReceiptInvalid("unknown_key", "its kid names none of OakAuth's public keys")
        return found


def _read_jwks(jwks: Any) -> dict[str, Any]:
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise ValueError('not {"keys": [...]}')
    keys: dict[str, Any] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kid"), str):
            raise ValueError("a key without a kid")
        # Only Ed25519 signing keys are OakAuth's; any other key under a kid is not used.
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            keys[jwk["kid"]] = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM).key
        except jwt.PyJWTError as err:
            raise ValueError(f"key {jwk['kid']}: {err}") from None
    return keys


class _Verifier:
    def __init__(
        self,
        *,
        issuer: str | None,
        jwks: Mapping[str, Any] | None,
        jwks_url: str | None,
        allow_insecure_loopback: bool | None,
        clock_leeway: float,
        replay_cache: ReplayCache | None,
        timeout: float,
    ) -> None:
        issuer = issuer if issuer is not None else from_env("OAKAUTH_BASE_URL")
        if not isinstance(issuer, str) or issuer.strip() == "":
            raise ConfigurationError(
                "OakAuth receipts: an issuer is required (the issuer argument or OAKAUTH_BASE_URL), "
                "such as https://oakauth.example.com"
            )
        #: The trusted issuer, without a trailing slash.
        self.issuer = issuer.strip().rstrip("/")
        if (
            isinstance(clock_leeway, bool)
            or not isinstance(clock_leeway, int | float)
            or not 0 <= clock_leeway <= MAX_CLOCK_LEEWAY
        ):
            raise ConfigurationError(
                f"OakAuth receipts: clock_leeway must be a number of seconds from 0 to {MAX_CLOCK_LEEWAY:g}"
            )
        self._leeway = float(clock_leeway)
        cache = replay_cache if replay_cache is not None else MemoryReplayCache()
        if not callable(getattr(cache, "remember", None)):
            raise ConfigurationError("OakAuth receipts: replay_cache must have a remember(jti, expires_at) method")
        self._replay = cache
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
            raise ConfigurationError("OakAuth receipts: timeout must be a positive number of seconds")
        self._timeout = float(timeout)
        url: str | None = None
        if jwks is None:
            url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
            insecure = (
                allow_insecure_loopback
                if allow_insecure_loopback is not None
                else from_env("OAKAUTH_ALLOW_INSECURE_LOOPBACK") == "1"
            )
            check_base_url(url, insecure, "the issuer" if jwks_url is None else "jwks_url")
        self._keys = _KeySet(jwks, url)

    def _header(self, receipt: Any) -> str:
        """Refuses, before any key is looked up, what is not a receipt of OakAuth's shape or not EdDSA.
        Returns the kid."""
        if not isinstance(receipt, str) or receipt == "":
            raise ReceiptInvalid("malformed", "a receipt is a compact JWS string")
        if len(receipt) > MAX_RECEIPT_LENGTH:
            raise ReceiptInvalid("malformed", f"longer than {MAX_RECEIPT_LENGTH} characters")
        if len(receipt.split(".")) != 3:
            raise ReceiptInvalid("malformed", "not a compact JWS (header.payload.signature)")
        try:
            header = jwt.get_unverified_header(receipt)
        except jwt.PyJWTError:
            raise ReceiptInvalid("malformed", "its header is not base64url JSON") from None
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise ReceiptInvalid("algorithm", f"signed with {json.dumps(alg)}; only {ALGORITHM} is accepted")
        typ = header.get("typ")
        if typ != RECEIPT_TYPE:
            raise ReceiptInvalid("algorithm", f"typ is {json.dumps(typ)}, not {RECEIPT_TYPE}")
        kid = header.get("kid")
        if not isinstance(kid, str) or kid == "":
            raise ReceiptInvalid("malformed", "its header names no key (kid)")
        return kid

    def _claims(self, receipt: str, key: Any, tool: str, scope: str, digest: str) -> ReceiptClaims:
        try:
            payload = jwt.decode(
                receipt,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["iss", "exp", "iat", "jti"], "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            raise ReceiptInvalid("signature", "the signature does not verify") from None
        except jwt.ExpiredSignatureError:
            raise ReceiptInvalid("expired", "its exp has passed") from None
        except jwt.InvalidIssuerError:
            raise ReceiptInvalid("issuer", f"not issued by {self.issuer}") from None
        except jwt.ImmatureSignatureError:
            raise ReceiptInvalid("lifetime", "issued in the future (is this machine's clock right?)") from None
        except jwt.InvalidAlgorithmError:
            raise ReceiptInvalid("algorithm", f"only {ALGORITHM} is accepted") from None
        except jwt.PyJWTError as err:
            raise ReceiptInvalid("malformed", str(err) or "not a valid JWT") from None
        claims = _read_claims(payload)
        if claims.exp - claims.iat > RECEIPT_LIFETIME:
            raise ReceiptInvalid(
                "lifetime",
                f"valid for {claims.exp - claims.iat} s; OakAuth's receipts are valid for {RECEIPT_LIFETIME} s",
            )
        if claims.iat > time.time() + self._leeway:
            raise ReceiptInvalid("lifetime", f"issued at {claims.iat}, in the future (is this machine's clock right?)")
        if claims.tool != tool:
            raise ReceiptInvalid(
                "tool_mismatch",
                f"the receipt is for tool {json.dumps(claims.tool)}, the call is to {json.dumps(tool)}",
            )
        if claims.scope != scope:
            raise ReceiptInvalid(
                "scope_mismatch",
                f"the receipt is for scope {json.dumps(claims.scope)}, the call is {json.dumps(scope)}",
            )
        if claims.args != digest:
            raise ReceiptInvalid("arguments_mismatch", "the receipt is for other arguments than the call about to run")
        return claims

    def _replay_expiry(self, claims: ReceiptClaims) -> int:
        return claims.exp + math.ceil(self._leeway)


def _expected(tool: Any, scope: Any, arguments: Mapping[str, Any] | None) -> str:
    if not isinstance(tool, str) or not isinstance(scope, str):
        raise TypeError("ReceiptVerifier.verify: tool and scope must be strings")
    return arguments_digest(arguments)


def _read_claims(payload: Mapping[str, Any]) -> ReceiptClaims:
    for name in ("iss", "org", "agent", "tool", "scope", "jti"):
        value = payload.get(name)
        if not isinstance(value, str) or value == "":
            raise ReceiptInvalid("malformed", f"claim {name} is not a non-empty string")
    args = payload.get("args")
    if not isinstance(args, str) or not _DIGEST.match(args):
        raise ReceiptInvalid("malformed", "claim args is not a lower-case hex SHA-256")
    iat, exp = payload.get("iat"), payload.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int) or isinstance(iat, bool) or isinstance(exp, bool):
        raise ReceiptInvalid("malformed", "claims iat and exp must be whole seconds")
    return ReceiptClaims(
        iss=payload["iss"],
        org=payload["org"],
        agent=payload["agent"],
        tool=payload["tool"],
        scope=payload["scope"],
        args=args,
        jti=payload["jti"],
        iat=iat,
        exp=exp,
    )


def _fresh(remembered: object) -> bool:
    return remembered is True


class ReceiptVerifier(_Verifier):
    """Verifies OakAuth's decision receipts for the calls a tool server is about to run (sync).

    ``issuer`` is the OakAuth whose receipts are trusted (its base URL as agents call it; default
    ``OAKAUTH_BASE_URL``). ``jwks`` gives the public keys offline (a JWKS as
    ``GET /.well-known/jwks.json`` answers it); otherwise they are fetched from ``jwks_url`` (default
    ``{issuer}/.well-known/jwks.json``; https, or loopback http with ``allow_insecure_loopback``),
    cached 5 minutes, and fetched again at most every 30 s when a receipt names a key not seen yet.
    ``clock_leeway`` is 0 to 5 seconds (default 5). ``replay_cache`` defaults to a
    :class:`MemoryReplayCache`. Keep one verifier for the process."""

    def __init__(
        self,
        issuer: str | None = None,
        *,
        jwks: Mapping[str, Any] | None = None,
        jwks_url: str | None = None,
        allow_insecure_loopback: bool | None = None,
        clock_leeway: float = MAX_CLOCK_LEEWAY,
        replay_cache: ReplayCache | None = None,
        timeout: float = DEFAULT_JWKS_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            issuer=issuer,
            jwks=jwks,
            jwks_url=jwks_url,
            allow_insecure_loopback=allow_insecure_loopback,
            clock_leeway=clock_leeway,
            replay_cache=replay_cache,
            timeout=timeout,
        )
        self._http = httpx.Client(transport=transport, follow_redirects=False, timeout=self._timeout)
        self._fetch_lock = threading.Lock()

    def verify(
        self, receipt: str, *, tool: str, scope: str, arguments: Mapping[str, Any] | None = None
    ) -> ReceiptClaims:
        """Checks that ``receipt`` is OakAuth's allow of exactly this call (``tool``, ``scope`` and the
        ``arguments`` about to run), not used before, and records it as used. Returns its claims;
        raises :class:`~oakauth.errors.ReceiptInvalid` otherwise (the call must then not run).

        Checked in order: the shape (at most 4 KiB, a ``kid``), the algorithm (``EdDSA`` only) and
        ``typ``, the signature with the key its ``kid`` names, ``iss``, ``exp`` and ``iat`` (with the
        leeway), ``tool``, ``scope``, ``args``, and last the ``jti`` in the replay cache."""
        digest = _expected(tool, scope, arguments)
        kid = self._header(receipt)
        key = self._key(kid)
        claims = self._claims(receipt, key, tool, scope, digest)
        try:
            remembered = self._replay.remember(claims.jti, self._replay_expiry(claims))
            if inspect.isawaitable(remembered):
                close = getattr(remembered, "close", None)
                if callable(close):
                    close()
                raise TypeError("the replay cache is async; use AsyncReceiptVerifier")
        except Exception as err:
            raise ReceiptInvalid("replay_cache_unavailable", f"could not record its use: {err}") from None
        if not _fresh(remembered):
            raise ReceiptInvalid("replayed", f"receipt {claims.jti} was already used")
        return claims

    def _key(self, kid: str) -> Any:
        with self._fetch_lock:
            if self._keys.needs_fetch(kid):
                try:
                    assert self._keys.url is not None
                    self._keys.store(self._http.get(self._keys.url, headers={"Accept": "application/json"}))
                except httpx.HTTPError as err:
                    self._keys.refetch_at = time.monotonic()
                    raise ReceiptInvalid(
                        "keys_unavailable", f"could not get OakAuth's public keys from {self._keys.url}: {err}"
                    ) from None
                except _KeysUnavailable as err:
                    raise ReceiptInvalid("keys_unavailable", str(err)) from None
            return self._keys.key(kid)

    def close(self) -> None:
        self._http.close()


class AsyncReceiptVerifier(_Verifier):
    """The async twin of :class:`ReceiptVerifier` (the keys are fetched with ``httpx.AsyncClient``; the
    replay cache's ``remember`` may be a coroutine)."""

    def __init__(
        self,
        issuer: str | None = None,
        *,
        jwks: Mapping[str, Any] | None = None,
        jwks_url: str | None = None,
        allow_insecure_loopback: bool | None = None,
        clock_leeway: float = MAX_CLOCK_LEEWAY,
        replay_cache: ReplayCache | None = None,
        timeout: float = DEFAULT_JWKS_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            issuer=issuer,
            jwks=jwks,
            jwks_url=jwks_url,
            allow_insecure_loopback=allow_insecure_loopback,
            clock_leeway=clock_leeway,
            replay_cache=replay_cache,
            timeout=timeout,
        )
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=self._timeout)

    async def verify(
        self, receipt: str, *, tool: str, scope: str, arguments: Mapping[str, Any] | None = None
    ) -> ReceiptClaims:
        """See :meth:`ReceiptVerifier.verify`."""
        digest = _expected(tool, scope, arguments)
        kid = self._header(receipt)
        key = await self._key(kid)
        claims = self._claims(receipt, key, tool, scope, digest)
        try:
            remembered = self._replay.remember(claims.jti, self._replay_expiry(claims))
            if inspect.isawaitable(remembered):
                remembered = await remembered
        except Exception as err:
            raise ReceiptInvalid("replay_cache_unavailable", f"could not record its use: {err}") from None
        if not _fresh(remembered):
            raise ReceiptInvalid("replayed", f"receipt {claims.jti} was already used")
        return claims

    async def _key(self, kid: str) -> Any:
        if self._keys.needs_fetch(kid):
            try:
                assert self._keys.url is not None
                self._keys.store(await self._http.get(self._keys.url, headers={"Accept": "application/json"}))
            except httpx.HTTPError as err:
                self._keys.refetch_at = time.monotonic()
                raise ReceiptInvalid(
                    "keys_unavailable", f"could not get OakAuth's public keys from {self._keys.url}: {err}"
                ) from None
            except _KeysUnavailable as err:
                raise ReceiptInvalid("keys_unavailable", str(err)) from None
        return self._keys.key(kid)

    async def aclose(self) -> None:
        await self._http.aclose()
