"""The admin clients' paging, request bodies and refusals, through an injected transport (the admin API
itself is exercised against the real worker in test_integration.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from oakauth import (
    AsyncOakAuthAdmin,
    ConflictError,
    MalformedResponse,
    NotFound,
    OakAuthAdmin,
    PlanLimitError,
    Timeout,
)
from oakauth.models import CreateRule

BASE = "https://oakauth.test"


def agent(n: int) -> dict[str, Any]:
    return {
        "id": f"agt_{n}",
        "name": f"a{n}",
        "enabled": True,
        "key_prefix": "oak_x",
        "rate_limit": {"capacity": 10, "refill_per_second": 1},
        "created_at": "2026-12-01T00:00:00Z",
        "updated_at": "2026-12-01T00:00:00Z",
    }


def pages(request: httpx.Request) -> httpx.Response:
    cursor = request.url.params.get("cursor")
    if cursor is None:
        return httpx.Response(200, json={"agents": [agent(1), agent(2)], "next_cursor": "2"})
    if cursor == "2":
        return httpx.Response(200, json={"agents": [agent(3)], "next_cursor": None})
    return httpx.Response(400, json={"error": {"code": "invalid_request", "message": "bad cursor"}})


def test_iter_agents_follows_the_cursor() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return pages(request)

    admin = OakAuthAdmin("oakadm_x", base_url=BASE, transport=httpx.MockTransport(handler))
    assert [a.id for a in admin.iter_agents(limit=2)] == ["agt_1", "agt_2", "agt_3"]
    assert seen == [f"{BASE}/v1/admin/agents?limit=2", f"{BASE}/v1/admin/agents?limit=2&cursor=2"]


async def test_async_iter_agents_follows_the_cursor() -> None:
    async with AsyncOakAuthAdmin("oakadm_x", base_url=BASE, transport=httpx.MockTransport(pages)) as admin:
        assert [a.id async for a in admin.iter_agents()] == ["agt_1", "agt_2", "agt_3"]


def test_bodies_are_checked_and_sent_as_given() -> None:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(409, json={"error": {"code": "conflict", "message": "taken"}})

    admin = OakAuthAdmin("oakadm_x", base_url=BASE, transport=httpx.MockTransport(handler))
    rule = CreateRule(
        tool="payments",
        scope="send",
        conditions=[{"pointer": "/amount", "op": "lte", "value": 100, "on_missing": "deny"}],
    )  # type: ignore[list-item]
    with pytest.raises(ConflictError) as caught:
        admin.create_rule("agt_1", rule)
    assert caught.value.status == 409 and caught.value.code == "conflict"
    assert sent == [
        {
            "tool": "payments",
            "scope": "send",
            "conditions": [{"pointer": "/amount", "op": "lte", "value": 100, "on_missing": "deny"}],
        }
    ]
    # A condition under `not` keeps its wire name.
    with pytest.raises(ConflictError):
        admin.create_rule(
            "agt_1",
            {
                "tool": "p",
                "scope": "s",
                "conditions": [{"not": {"pointer": "/a", "op": "exists", "value": True, "on_missing": "skip"}}],
            },
        )
    assert sent[-1]["conditions"] == [{"not": {"pointer": "/a", "op": "exists", "value": True, "on_missing": "skip"}}]
    for bad in ({"tool": "p"}, {"tool": "p", "scope": "s", "effect": "maybe"}, {"tool": "p", "scope": "s", "typo": 1}):
        with pytest.raises(TypeError, match="not a CreateRule"):
            admin.create_rule("agt_1", bad)
    assert len(sent) == 2
    with pytest.raises(TypeError, match="not an id"):
        admin.get_agent("..")


def test_answers_that_are_not_the_documented_shape_are_refused() -> None:
    admin = OakAuthAdmin(
        "oakadm_x",
        base_url=BASE,
        retries=0,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"id": 1})),
    )
    with pytest.raises(MalformedResponse):
        admin.get_agent("agt_1")
    report = {
        "ok": True,
        "next_cursor": None,
        "agents": [
            {
                "agent_id": "agt_1",
                "ok": False,
                "rows_checked": 3,
                "head_seq": 3,
                "broken": {"chain_seq": 2, "decision_id": None, "problem": "edited"},
                "breaks": [],
                "breaks_omitted": 0,
            }
        ],
    }
    admin = OakAuthAdmin(
        "oakadm_x", base_url=BASE, transport=httpx.MockTransport(lambda r: httpx.Response(200, json=report))
    )
    with pytest.raises(MalformedResponse, match="contradicts itself"):
        admin.verify_audit()


def test_a_create_is_not_repeated_but_a_read_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oakauth._http.backoff", lambda attempt, retry_after: 0.0)
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("slow")

    admin = OakAuthAdmin("oakadm_x", base_url=BASE, retries=2, transport=httpx.MockTransport(handler))
    with pytest.raises(Timeout):
        admin.create_agent({"name": "x"})
    assert calls == ["POST"]
    with pytest.raises(Timeout):
        admin.get_agent("agt_1")
    assert calls == ["POST", "GET", "GET", "GET"]


def test_not_found_and_the_admin_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAKAUTH_ADMIN_KEY", "oakadm_env")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such agent"}})

    with (
        OakAuthAdmin(base_url=BASE, transport=httpx.MockTransport(handler)) as admin,
        pytest.raises(NotFound, match="no such agent"),
    ):
        admin.delete_agent("agt_9")
    assert seen == ["Bearer oakadm_env"]


USAGE = {
    "organization_id": "org_1",
    "plan": "free",
    "subscribed_plan": "free",
    "billing_status": "none",
    "grace_until": None,
    "billing_enabled": False,
    "period": {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
    "quotas": {
        "validations": {"used": 812, "limit": 1000},
        "agents": {"used": 1, "limit": 1},
        "members": {"used": 2, "limit": 3},
        "webhook_endpoints": {"used": 0, "limit": None},
    },
    "by_day": [{"date": "2026-12-01", "validations": 812}],
    "by_agent": [{"agent_id": "agt_1", "name": None, "validations": 812}],
}
PLANS = {
    "plans": [
        {
            "id": "free",
            "name": "Free",
            "limits": {"agents": 1, "members": 3, "validations_per_month": 1000, "webhook_endpoints": 1},
            "self_serve": True,
        }
    ]
}


def billing(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/v1/plans":
        return httpx.Response(200, json=PLANS)
    if path == "/v1/admin/usage":
        return httpx.Response(200, json=USAGE)
    if path == "/v1/admin/billing/checkout":
        return httpx.Response(200, json={"url": "https://checkout.stripe.com/c/pay/cs_1"})
    if path == "/v1/admin/billing/portal":
        return httpx.Response(200, json={"url": "https://billing.stripe.com/p/session/1"})
    return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})


def test_plans_usage_and_billing_send_the_documented_requests() -> None:
    sent: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path, json.loads(request.content) if request.content else None))
        return billing(request)

    with OakAuthAdmin("oakadm_x", base_url=BASE, transport=httpx.MockTransport(handler)) as admin:
        plans = admin.plans()
        assert plans.plans[0].limits.validations_per_month == 1000
        usage = admin.usage()
        assert usage.quotas.validations.used == 812 and usage.quotas.webhook_endpoints.limit is None
        assert usage.by_agent[0].name is None
        assert admin.billing_checkout("pro").url == "https://checkout.stripe.com/c/pay/cs_1"
        assert admin.billing_portal().url == "https://billing.stripe.com/p/session/1"
        with pytest.raises(TypeError):
            admin.billing_checkout("gold")  # type: ignore[arg-type]
    assert sent == [
        ("GET", "/v1/plans", None),
        ("GET", "/v1/admin/usage", None),
        ("POST", "/v1/admin/billing/checkout", {"plan": "pro"}),
        ("POST", "/v1/admin/billing/portal", {}),
    ]


async def test_async_usage_and_checkout() -> None:
    async with AsyncOakAuthAdmin("oakadm_x", base_url=BASE, transport=httpx.MockTransport(billing)) as admin:
        assert (await admin.usage()).plan == "free"
        assert (await admin.plans()).plans[0].id == "free"
        assert (await admin.billing_checkout("pro")).url.startswith("https://checkout.stripe.com/")
        assert (await admin.billing_portal()).url.startswith("https://billing.stripe.com/")


def test_a_plan_limit_names_the_limit_and_billing_not_configured_is_not_found() -> None:
    limit = {
        "error": {
            "code": "plan_limit",
            "message": "the Free plan allows 1 agent; upgrade to Pro for more",
            "quota": "agents",
            "limit": 1,
            "plan": "free",
        }
    }
    answers = iter(
        [
            httpx.Response(402, json=limit),
            httpx.Response(404, json={"error": {"code": "billing_not_configured", "message": "no billing"}}),
        ]
    )
    with OakAuthAdmin("oakadm_x", base_url=BASE, transport=httpx.MockTransport(lambda _: next(answers))) as admin:
        with pytest.raises(PlanLimitError) as caught:
            admin.create_agent({"name": "second"})
        with pytest.raises(NotFound) as missing:
            admin.billing_portal()
    err = caught.value
    assert (err.status, err.code, err.quota, err.limit, err.plan) == (402, "plan_limit", "agents", 1, "free")
    assert "upgrade to Pro" in str(err)
    assert missing.value.code == "billing_not_configured"
