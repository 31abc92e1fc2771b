"""ReceiptVerifier's checks, one by one, with receipts signed here by a key of this test (the live
worker's receipts are verified in test_integration.py). The reason codes are those of docs/receipts.md."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from oakauth import ConfigurationError, MemoryReplayCache, ReceiptInvalid, ReceiptVerifier, arguments_digest
from oakauth.receipts import AsyncReceiptVerifier

ISSUER = "https://oakauth.example.com"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key: Ed25519PrivateKey, kid: str) -> dict[str, str]:
    x = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(x), "kid": kid, "alg": "EdDSA", "use": "sig"}


JWKS = {"keys": [jwk(KEY, "k1")]}


def sign(
    claims: dict[str, Any] | None = None,
    *,
    key: Ed25519PrivateKey = KEY,
    headers: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "org": "org_1",
        "agent": "agt_1",
        "tool": "payments",
        "scope": "refund",
        "args": arguments_digest({"amount": 10}),
        "jti": f"dec_{time.monotonic_ns()}",
        "iat": now,
        "exp": now + 60,
        **(claims or {}),
    }
    for name in drop:
        payload.pop(name)
    return jwt.encode(
        payload, key, algorithm="EdDSA", headers={"typ": "oakauth-receipt+jwt", "kid": "k1", **(headers or {})}
    )


def verifier(**options: Any) -> ReceiptVerifier:
    return ReceiptVerifier(ISSUER, jwks=JWKS, **options)


def refused(receipt: str, reason: str, v: ReceiptVerifier | None = None, **expected: Any) -> None:
    call = {"tool": "payments", "scope": "refund", "arguments": {"amount": 10}, **expected}
    with pytest.raises(ReceiptInvalid) as caught:
        (v or verifier()).verify(receipt, **call)
    assert caught.value.reason == reason, caught.value.message


def test_a_valid_receipt_verifies_once() -> None:
    v = verifier()
    receipt = sign()
    claims = v.verify(receipt, tool="payments", scope="refund", arguments={"amount": 10.0})
    assert claims.tool == "payments" and claims.org == "org_1" and claims.exp - claims.iat == 60
    refused(receipt, "replayed", v)


def test_each_check_has_its_reason() -> None:
    refused("", "malformed")
    refused("a.b", "malformed")
    refused("x" * 5000, "malformed")
    refused("!!!.e30.sig", "malformed")
    refused(sign(headers={"kid": ""}), "malformed")
    refused(
        jwt.encode(
            {"iss": ISSUER},
            "secret-key-of-thirty-two-bytes-long!",
            algorithm="HS256",
            headers={"typ": "oakauth-receipt+jwt", "kid": "k1"},
        ),
        "algorithm",
    )
    none = b64(json.dumps({"alg": "none", "typ": "oakauth-receipt+jwt", "kid": "k1"}).encode()) + "." + b64(b"{}") + "."
    refused(none, "algorithm")
    refused(sign(headers={"typ": "JWT"}), "algorithm")
    refused(sign(headers={"kid": "k9"}), "unknown_key")
    refused(sign(key=OTHER_KEY), "signature")
    refused(sign({"iss": "https://elsewhere.example.com"}), "issuer")
    refused(sign({"iat": int(time.time()) - 200, "exp": int(time.time()) - 100}), "expired")
    refused(sign({"exp": int(time.time()) + 3600}), "lifetime")
    refused(sign({"iat": int(time.time()) + 100, "exp": int(time.time()) + 160}), "lifetime")
    refused(sign(), "tool_mismatch", tool="shell")
    refused(sign(), "scope_mismatch", scope="send")
    refused(sign(), "arguments_mismatch", arguments={"amount": 11})
    refused(sign(), "arguments_mismatch", arguments=None)
    refused(sign(drop=("jti",)), "malformed")
    refused(sign({"args": "ABC"}), "malformed")
    refused(sign({"iat": 1.5}), "malformed")


def test_a_refused_receipt_does_not_use_up_its_jti() -> None:
    v = verifier()
    receipt = sign()
    refused(receipt, "arguments_mismatch", v, arguments={"amount": 99})
    assert v.verify(receipt, tool="payments", scope="refund", arguments={"amount": 10}).tool == "payments"


def test_the_memory_replay_cache_refuses_when_full() -> None:
    now = [1000.0]
    cache = MemoryReplayCache(2, now=lambda: now[0])
    assert cache.remember("a", 1060) and cache.remember("b", 1060)
    assert cache.remember("a", 1060) is False
    with pytest.raises(RuntimeError, match="2 unexpired receipts"):
        cache.remember("c", 1060)
    now[0] = 1061.0  # a and b expired: room again
    assert cache.remember("c", 1120) and len(cache) == 1
    v = verifier(replay_cache=MemoryReplayCache(1))
    v.verify(sign(), tool="payments", scope="refund", arguments={"amount": 10})
    refused(sign(), "replay_cache_unavailable", v)


def test_a_failing_replay_cache_refuses() -> None:
    class Broken:
        def remember(self, jti: str, expires_at: int) -> bool:
            raise ConnectionError("redis is down")

    refused(sign(), "replay_cache_unavailable", verifier(replay_cache=Broken()))


def test_keys_fetched_and_keys_unavailable() -> None:
    asked: list[str] = []

    def jwks(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=JWKS)

    v = ReceiptVerifier(ISSUER, transport=httpx.MockTransport(jwks))
    v.verify(sign(), tool="payments", scope="refund", arguments={"amount": 10})
    v.verify(sign(), tool="payments", scope="refund", arguments={"amount": 10})
    assert asked == [f"{ISSUER}/.well-known/jwks.json"]  # cached
    down = ReceiptVerifier(ISSUER, transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    refused(sign(), "keys_unavailable", down)
    garbage = ReceiptVerifier(ISSUER, transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>")))
    refused(sign(), "keys_unavailable", garbage)
    redirect = ReceiptVerifier(
        ISSUER,
        transport=httpx.MockTransport(lambda r: httpx.Response(302, headers={"location": "https://evil.test/jwks"})),
    )
    refused(sign(), "keys_unavailable", redirect)


async def test_the_async_verifier_and_an_async_replay_cache() -> None:
    class AsyncCache:
        def __init__(self) -> None:
            self.seen: set[str] = set()

        async def remember(self, jti: str, expires_at: int) -> bool:
            if jti in self.seen:
                return False
            self.seen.add(jti)
            return True

    v = AsyncReceiptVerifier(
        ISSUER, transport=httpx.MockTransport(lambda r: httpx.Response(200, json=JWKS)), replay_cache=AsyncCache()
    )
    receipt = sign()
    assert (await v.verify(receipt, tool="payments", scope="refund", arguments={"amount": 10})).scope == "refund"
    with pytest.raises(ReceiptInvalid, match="replayed"):
        await v.verify(receipt, tool="payments", scope="refund", arguments={"amount": 10})


def test_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OAKAUTH_BASE_URL", raising=False)
    monkeypatch.delenv("OAKAUTH_ALLOW_INSECURE_LOOPBACK", raising=False)
    with pytest.raises(ConfigurationError, match="an issuer is required"):
        ReceiptVerifier()
    with pytest.raises(ConfigurationError, match="clock_leeway"):
        ReceiptVerifier(ISSUER, jwks=JWKS, clock_leeway=60)
    with pytest.raises(ConfigurationError, match="plain http"):
        ReceiptVerifier("http://127.0.0.1:8787")
    with pytest.raises(ConfigurationError, match="jwks must be"):
        ReceiptVerifier(ISSUER, jwks={"nope": 1})
    assert ReceiptVerifier(ISSUER + "/", jwks=JWKS).issuer == ISSUER


def test_arguments_digest_is_the_workers() -> None:
    # The same cases as sdk-ts/test/digest.unit.test.mjs and the core's unit test.
    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    assert arguments_digest({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert arguments_digest(None) == arguments_digest({})
    assert arguments_digest({"to": "ana", "amount": 10}) == sha('{"amount":10,"to":"ana"}')
    base = arguments_digest(json.loads('{"amount": 10, "to": "ana", "meta": {"b": 1, "a": [1, 2]}}'))
    assert base == arguments_digest(json.loads('{"amount": 10.0, "to": "ana", "meta": {"b": 1e0, "a": [1, 2]}}'))
    assert base != arguments_digest(json.loads('{"amount": "10", "to": "ana", "meta": {"b": 1, "a": [1, 2]}}'))
    assert arguments_digest({"to": "é"}) == arguments_digest(json.loads('{"to": "\\u00e9"}'))
    keys = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    assert arguments_digest(keys) == sha('{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\U0001f600":5,"\ufb33":3}')
    assert arguments_digest({"n": 1e21, "m": 0.000001, "z": -0.0, "f": 333333333.3333333}) == sha(
        '{"f":333333333.3333333,"m":0.000001,"n":1e+21,"z":0}'
    )
    for bad in ({"n": float("nan")}, {"n": float("inf")}, {"f": object()}):
        with pytest.raises(TypeError):
            arguments_digest(bad)
    with pytest.raises(TypeError):
        arguments_digest([1, 2])  # type: ignore[arg-type]
