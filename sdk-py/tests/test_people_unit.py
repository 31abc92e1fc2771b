"""The admin clients' people calls (issue 19) through an injected transport: the exact request each
sends (bearer session token, ``OakAuth-Organization``), the models read from the answers, the sign-in
redirects and the refusals. Mirrors sdk-ts/test/people.unit.test.mjs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from oakauth import (
    AsyncOakAuthAdmin,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequest,
    LoginResult,
    MalformedResponse,
    OakAuthAdmin,
    Timeout,
)

BASE = "https://oakauth.test"
T = "2026-12-01T00:00:00Z"
SESSION = {
    "id": "ses_1",
    "kind": "bearer",
    "name": "laptop CLI",
    "created_at": T,
    "last_seen_at": T,
    "expires_at": T,
    "mfa": False,
    "current": True,
}
MEMBER = {"user_id": "usr_b", "email": "bob@example.com", "name": "Bob", "role": "admin", "joined_at": T}
INVITATION = {
    "id": "inv_1",
    "email": "bob@example.com",
    "role": "viewer",
    "status": "pending",
    "invited_by": "Alice",
    "created_at": T,
    "expires_at": T,
    "accepted_at": None,
}
CREATED_INVITATION = {"invitation": INVITATION, "token": "oaki_x", "url": "https://dash.test/#/invitations/oaki_x"}
ADMIN_KEY = {
    "id": "adk_1",
    "name": "ci",
    "role": "viewer",
    "key_prefix": "oakadm_ab",
    "created_by": "Alice",
    "created_at": T,
    "expires_at": None,
    "revoked_at": None,
}
ORG_SETTINGS = {"id": "org_a", "name": "Acme", "require_mfa": True, "created_at": T}
MEMBERSHIP = {"id": "org_a", "name": "Acme", "role": "viewer"}

Call = tuple[str, str, Any]


class Recorder:
    """A transport that answers from a script and records method, URL, headers and JSON body."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)

    @property
    def calls(self) -> list[Call]:
        return [(r.method, str(r.url), json.loads(r.content) if r.content else None) for r in self.requests]


def ok(status: int, body: Any = None) -> httpx.Response:
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def person(recorder: Recorder, organization: str | None = "org_a") -> OakAuthAdmin:
    return OakAuthAdmin(
        "oaks_token", base_url=BASE, organization=organization, retries=0, transport=httpx.MockTransport(recorder)
    )


def test_a_bearer_session_sends_its_token_and_organization_on_every_call() -> None:
    rec = Recorder(ok(200, {"members": [MEMBER]}), ok(200, {**MEMBER, "role": "viewer"}), ok(204))
    admin = person(rec)
    assert admin.list_members().members[0].name == "Bob"
    assert admin.update_member("usr_b", "viewer").role == "viewer"
    admin.remove_member("usr_b")
    assert rec.calls == [
        ("GET", f"{BASE}/v1/admin/members", None),
        ("PATCH", f"{BASE}/v1/admin/members/usr_b", {"role": "viewer"}),
        ("DELETE", f"{BASE}/v1/admin/members/usr_b", None),
    ]
    for request in rec.requests:
        assert request.headers["authorization"] == "Bearer oaks_token"
        assert request.headers["oakauth-organization"] == "org_a"
        assert "x-csrf-token" not in request.headers


def test_without_an_organization_no_header_is_sent() -> None:
    rec = Recorder(ok(200, {"sso": True, "issuer": "https://idp.test", "signup": "open"}))
    config = person(rec, organization=None).auth_config()
    assert (config.sso, config.issuer, config.signup) == (True, "https://idp.test", "open")
    assert "oakauth-organization" not in rec.requests[0].headers
    assert rec.calls == [("GET", f"{BASE}/v1/auth/config", None)]


@pytest.mark.parametrize("organization", ["", "org a", "org_\n"])
def test_an_organization_that_is_not_an_id_is_refused(organization: str) -> None:
    with pytest.raises(ConfigurationError, match="OakAuth-Organization"):
        OakAuthAdmin("oaks_token", base_url=BASE, organization=organization)


def test_every_people_call_is_the_documented_request() -> None:
    info = {
        "user": {"id": "usr_a", "email": "alice@example.com", "name": "Alice"},
        "session": SESSION,
        "csrf_token": "csrf_1",
        "organizations": [{"id": "org_a", "name": "Acme", "role": "owner"}],
    }
    preview = {
        "organization": {"id": "org_a", "name": "Acme"},
        "email": "bob@example.com",
        "role": "viewer",
        "status": "pending",
        "expires_at": T,
    }
    script: list[tuple[Callable[[OakAuthAdmin], Any], httpx.Response, Call]] = [
        (lambda a: a.session(), ok(200, info), ("GET", "/v1/auth/session", None)),
        (lambda a: a.list_sessions(), ok(200, {"sessions": [SESSION]}), ("GET", "/v1/auth/sessions", None)),
        (lambda a: a.revoke_session("ses_2"), ok(204), ("DELETE", "/v1/auth/sessions/ses_2", None)),
        (
            lambda a: a.create_token("laptop CLI"),
            ok(201, {"session": SESSION, "token": "oaks_new"}),
            ("POST", "/v1/auth/tokens", {"name": "laptop CLI"}),
        ),
        (lambda a: a.invitation_preview("oaki_x"), ok(200, preview), ("GET", "/v1/auth/invitations/oaki_x", None)),
        (
            lambda a: a.accept_invitation("oaki_x"),
            ok(200, {"organization": MEMBERSHIP}),
            ("POST", "/v1/auth/invitations/oaki_x/accept", None),
        ),
        (
            lambda a: a.setup({"organization_name": "Acme", "owner_email": "alice@example.com"}),
            ok(201, {"organization": {"id": "org_a", "name": "Acme"}, "invitation": CREATED_INVITATION}),
            ("POST", "/v1/setup", {"organization_name": "Acme", "owner_email": "alice@example.com"}),
        ),
        (lambda a: a.end_member_sessions("usr_b"), ok(204), ("DELETE", "/v1/admin/members/usr_b/sessions", None)),
        (
            lambda a: a.list_invitations(limit=5, cursor="c1"),
            ok(200, {"invitations": [INVITATION], "next_cursor": None}),
            ("GET", "/v1/admin/invitations?limit=5&cursor=c1", None),
        ),
        (
            lambda a: a.create_invitation({"email": "bob@example.com", "role": "viewer"}),
            ok(201, CREATED_INVITATION),
            ("POST", "/v1/admin/invitations", {"email": "bob@example.com", "role": "viewer"}),
        ),
        (lambda a: a.revoke_invitation("inv_1"), ok(204), ("DELETE", "/v1/admin/invitations/inv_1", None)),
        (lambda a: a.list_admin_keys(), ok(200, {"keys": [ADMIN_KEY]}), ("GET", "/v1/admin/keys", None)),
        (
            lambda a: a.create_admin_key({"name": "ci", "role": "viewer", "expires_in_days": 30}),
            ok(201, {"key": ADMIN_KEY, "secret": "oakadm_secret"}),
            ("POST", "/v1/admin/keys", {"name": "ci", "role": "viewer", "expires_in_days": 30}),
        ),
        (lambda a: a.revoke_admin_key("adk_1"), ok(204), ("DELETE", "/v1/admin/keys/adk_1", None)),
        (lambda a: a.organization(), ok(200, ORG_SETTINGS), ("GET", "/v1/admin/organization", None)),
        (
            lambda a: a.update_organization({"require_mfa": True}),
            ok(200, ORG_SETTINGS),
            ("PATCH", "/v1/admin/organization", {"require_mfa": True}),
        ),
        (lambda a: a.logout(), ok(204), ("POST", "/v1/auth/logout", None)),
    ]
    rec = Recorder(*(answer for _, answer, _ in script))
    admin = person(rec)
    results = [call(admin) for call, _, _ in script]
    assert rec.calls == [(m, BASE + path, body) for _, _, (m, path, body) in script]
    assert results[0].csrf_token == "csrf_1" and results[0].organizations[0].role == "owner"
    assert results[3].token == "oaks_new"
    assert results[4].organization.name == "Acme"
    assert results[5].organization.role == "viewer"
    assert results[6].invitation.token == "oaki_x"
    assert results[9].url.endswith("/#/invitations/oaki_x")
    assert results[12].secret == "oakadm_secret"
    assert results[15].require_mfa is True


def test_bodies_are_checked_before_anything_is_sent() -> None:
    rec = Recorder()
    admin = person(rec)
    with pytest.raises(TypeError, match="not a NewInvitation"):
        admin.create_invitation({"email": "bob@example.com", "role": "superuser"})
    with pytest.raises(TypeError, match="not a MemberUpdate"):
        admin.update_member("usr_b", "root")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a NewAdminKey"):
        admin.create_admin_key({"role": "viewer"})
    with pytest.raises(TypeError, match="not an invitation token"):
        admin.accept_invitation("..")
    assert rec.requests == []


def test_the_refusals_of_people_calls_are_typed() -> None:
    def refusal(status: int, code: str) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": code, "message": f"{code} message"}})

    rec = Recorder(
        refusal(409, "last_owner"),
        refusal(403, "forbidden"),
        refusal(410, "invitation_expired"),
        refusal(400, "organization_required"),
    )
    admin = person(rec)
    with pytest.raises(ConflictError) as conflict:
        admin.update_member("usr_a", "viewer")
    assert conflict.value.code == "last_owner"
    with pytest.raises(AuthenticationError) as forbidden:
        admin.create_admin_key({"name": "x", "role": "owner"})
    assert forbidden.value.status == 403
    with pytest.raises(InvalidRequest) as gone:
        admin.accept_invitation("oaki_x")
    assert (gone.value.status, gone.value.code) == (410, "invitation_expired")
    with pytest.raises(InvalidRequest) as required:
        admin.list_members()
    assert required.value.code == "organization_required"


def test_start_login_returns_the_providers_url_without_following_it() -> None:
    provider = "https://idp.test/authorize?client_id=oak&state=s1"
    rec = Recorder(httpx.Response(302, headers={"location": provider}))
    url = person(rec, organization=None).start_login("https://dash.test/", invitation="oaki_x")
    assert url == provider
    assert rec.calls == [("GET", f"{BASE}/v1/auth/login?return_to=https%3A%2F%2Fdash.test%2F&invitation=oaki_x", None)]


def test_start_login_refused_is_an_error_and_not_a_url() -> None:
    rec = Recorder(httpx.Response(400, json={"error": {"code": "invalid_request", "message": "return_to"}}))
    with pytest.raises(InvalidRequest):
        person(rec).start_login("https://elsewhere.test/")
    rec = Recorder(httpx.Response(200, json={}))
    with pytest.raises(MalformedResponse, match="not a redirect"):
        person(rec).start_login("https://dash.test/")


def test_login_callback_gives_the_session_token_from_the_cookie() -> None:
    cookie = "oak_session=oaks_fresh; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800; Secure"
    rec = Recorder(httpx.Response(302, headers={"location": "https://dash.test/#/", "set-cookie": cookie}))
    result = person(rec, organization=None).login_callback("s1", code="c1")
    assert result == LoginResult(return_to="https://dash.test/#/", session_token="oaks_fresh", error=None)
    assert rec.calls == [("GET", f"{BASE}/v1/auth/callback?code=c1&state=s1", None)]


def test_login_callback_gives_the_reason_of_a_refused_sign_in() -> None:
    rec = Recorder(httpx.Response(302, headers={"location": "https://dash.test/#sign_in_error=signup_closed"}))
    result = person(rec).login_callback("s1", error="access_denied")
    assert result == LoginResult(return_to="https://dash.test/", session_token=None, error="signup_closed")
    assert rec.calls == [("GET", f"{BASE}/v1/auth/callback?state=s1&error=access_denied", None)]
    # A redirect with neither a session nor an error is not a sign-in.
    rec = Recorder(httpx.Response(302, headers={"location": "https://dash.test/"}))
    with pytest.raises(MalformedResponse):
        person(rec).login_callback("s1", code="c1")


def test_the_single_use_callback_and_creates_are_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oakauth._http.backoff", lambda attempt, retry_after: 0.0)
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        raise httpx.ReadTimeout("slow")

    admin = OakAuthAdmin("oaks_token", base_url=BASE, retries=2, transport=httpx.MockTransport(handler))
    for call in (
        lambda: admin.login_callback("s1", code="c1"),
        lambda: admin.create_invitation({"email": "a@example.com", "role": "viewer"}),
    ):
        with pytest.raises(Timeout):
            call()
    assert calls == ["GET /v1/auth/callback", "POST /v1/admin/invitations"]


def test_other_redirects_are_still_refused() -> None:
    from oakauth import RedirectRefused

    rec = Recorder(httpx.Response(302, headers={"location": "https://elsewhere.test/"}))
    with pytest.raises(RedirectRefused):
        person(rec).list_members()


async def test_the_async_client_makes_the_same_requests() -> None:
    cookie = "oak_session=oaks_fresh; Path=/; HttpOnly"
    rec = Recorder(
        ok(200, {"invitations": [INVITATION], "next_cursor": "c2"}),
        ok(200, {"invitations": [{**INVITATION, "id": "inv_2"}], "next_cursor": None}),
        httpx.Response(302, headers={"location": "https://dash.test/", "set-cookie": cookie}),
        ok(200, {**MEMBER, "role": "owner"}),
    )
    async with AsyncOakAuthAdmin(
        "oaks_token", base_url=BASE, organization="org_b", transport=httpx.MockTransport(rec)
    ) as admin:
        assert [i.id async for i in admin.iter_invitations(limit=1)] == ["inv_1", "inv_2"]
        assert (await admin.login_callback("s1", code="c1")).session_token == "oaks_fresh"
        assert (await admin.update_member("usr_b", "owner")).role == "owner"
    assert rec.calls == [
        ("GET", f"{BASE}/v1/admin/invitations?limit=1", None),
        ("GET", f"{BASE}/v1/admin/invitations?limit=1&cursor=c2", None),
        ("GET", f"{BASE}/v1/auth/callback?code=c1&state=s1", None),
        ("PATCH", f"{BASE}/v1/admin/members/usr_b", {"role": "owner"}),
    ]
    assert {r.headers["oakauth-organization"] for r in rec.requests} == {"org_b"}
