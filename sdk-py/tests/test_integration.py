"""The SDK against the real worker in local workerd (the ``worker`` fixture): decisions, the audit log,
approvals, receipts and webhooks, with the sync and async clients."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oakauth import (
    ApprovalDenied,
    ApprovalPending,
    AsyncOakAuth,
    AsyncOakAuthAdmin,
    AsyncReceiptVerifier,
    ConflictError,
    NotFound,
    OakAuth,
    OakAuthAdmin,
    PermissionDenied,
    RateLimited,
    ReasoningRequired,
    ReceiptInvalid,
    ReceiptVerifier,
    WebhookVerifier,
    explain,
    guarded,
)

from .conftest import SeededAgent, Worker

Seed = Callable[..., SeededAgent]


def client(worker: Worker, agent: SeededAgent) -> OakAuth:
    return OakAuth(agent.key, base_url=worker.base_url, allow_insecure_loopback=True)


def async_client(worker: Worker, agent: SeededAgent) -> AsyncOakAuth:
    return AsyncOakAuth(agent.key, base_url=worker.base_url, allow_insecure_loopback=True)


@pytest.fixture(scope="module")
def admin(worker: Worker) -> Iterator[OakAuthAdmin]:
    with OakAuthAdmin(worker.admin_key, base_url=worker.base_url, allow_insecure_loopback=True) as admin:
        yield admin


FILES = {"filesystem": ["read", "write"]}
READ = {"tool": "filesystem", "scope": "read", "require_reasoning": "none"}


def test_allowed_runs_the_action_and_denied_does_not(worker: Worker, seed: Seed, admin: OakAuthAdmin) -> None:
    agent = seed(tools=FILES, rules=[READ])
    with client(worker, agent) as oak:
        assert oak.guard("filesystem", "read", lambda: "listing", arguments={"path": "."}) == "listing"
        allowed = oak.validate("filesystem", "read")
        assert allowed.allowed is True and allowed.reason == "allowed" and allowed.decision_id.startswith("dec_")

        ran: list[bool] = []
        with pytest.raises(PermissionDenied) as denied:
            oak.guard("filesystem", "write", lambda: ran.append(True), arguments={"path": "/etc/passwd"})
        assert ran == []
        assert denied.value.reason == "scope_not_granted"
        assert denied.value.decision_id.startswith("dec_")
        assert "OakAuth denied filesystem:write (scope_not_granted)" in explain(denied.value)

        unknown = oak.validate("shell", "exec")
        assert unknown.allowed is False and unknown.reason == "unknown_tool"

    # The audit log shows each decision, with the arguments that were sent.
    entries = list(admin.iter_logs(agent_id=agent.id, limit=1))
    by_id = {entry.decision_id: entry for entry in entries}
    assert len(entries) == 4
    assert by_id[allowed.decision_id].allowed is True
    assert by_id[denied.value.decision_id].reason == "scope_not_granted"
    assert by_id[denied.value.decision_id].arguments == {"path": "/etc/passwd"}
    assert by_id[unknown.decision_id].tool == "shell"
    assert [e.decision_id for e in admin.list_logs(agent_id=agent.id, allowed=False).logs] == [
        unknown.decision_id,
        denied.value.decision_id,
    ]
    assert admin.get_log(allowed.decision_id).scope == "read"


def test_hard_reasoning_with_and_without(worker: Worker, seed: Seed, admin: OakAuthAdmin) -> None:
    agent = seed(tools=FILES, rules=[{"tool": "filesystem", "scope": "write", "require_reasoning": "hard"}])
    ran: list[str] = []
    with client(worker, agent) as oak:
        with pytest.raises(ReasoningRequired) as missing:
            oak.guard("filesystem", "write", lambda: ran.append("no reason"))
        with pytest.raises(ReasoningRequired):
            oak.guard("filesystem", "write", lambda: ran.append("blank"), reasoning="   ")
        assert ran == []
        assert "reasoning required" in missing.value.hint and "`_reasoning`" in missing.value.hint
        result = oak.guard("filesystem", "write", lambda: ran.append("reasoned"), reasoning="save the user's report")
        assert result is None and ran == ["reasoned"]
    logged = admin.get_log(missing.value.decision_id)
    assert logged.reason == "reasoning_required" and logged.reasoning_provided is False
    with_reason = admin.list_logs(agent_id=agent.id, allowed=True).logs
    assert [e.reasoning for e in with_reason] == ["save the user's report"]


def test_rate_limit(worker: Worker, seed: Seed) -> None:
    agent = seed(
        tools=FILES,
        rules=[READ],
        rate_limit={"capacity": 2, "refill_per_second": 0.01},
    )
    ran: list[int] = []
    with client(worker, agent) as oak:
        oak.guard("filesystem", "read", lambda: ran.append(1))
        oak.guard("filesystem", "read", lambda: ran.append(2))
        with pytest.raises(RateLimited) as limited:
            oak.guard("filesystem", "read", lambda: ran.append(3))
    assert ran == [1, 2]
    assert limited.value.retry_after >= 1
    assert limited.value.decision_id is not None and limited.value.decision_id.startswith("dec_")
    assert "rate limit reached for filesystem:read" in explain(limited.value)


def test_guarded_sends_the_arguments_a_rule_tests(worker: Worker, seed: Seed, admin: OakAuthAdmin) -> None:
    rule = {
        "tool": "filesystem",
        "scope": "read",
        "require_reasoning": "none",
        "conditions": [{"pointer": "/path", "op": "path_under", "value": "/srv/data", "on_missing": "deny"}],
    }
    agent = seed(tools=FILES, rules=[rule])
    oak = client(worker, agent)

    @guarded(oak, "filesystem", "read", reasoning="read what the user asked for")
    def read(path: str) -> str:
        return f"read {path}"

    assert read("/srv/data/report.txt") == "read /srv/data/report.txt"
    with pytest.raises(PermissionDenied) as outside:
        read("/etc/shadow")
    assert outside.value.reason == "conditions_not_met"
    assert outside.value.explanation is not None and outside.value.explanation.condition is not None
    assert admin.get_log(outside.value.decision_id).arguments == {"path": "/etc/shadow"}
    oak.close()


async def test_async_client_and_the_sync_client_inside_a_running_loop(worker: Worker, seed: Seed) -> None:
    agent = seed(tools=FILES, rules=[READ])

    async def listing() -> list[str]:
        await asyncio.sleep(0)
        return ["a", "b"]

    async with async_client(worker, agent) as oak:
        assert await oak.guard("filesystem", "read", listing) == ["a", "b"]
        with pytest.raises(PermissionDenied):
            await oak.guard("filesystem", "write", listing)
        decisions = await asyncio.gather(*(oak.validate("filesystem", "read") for _ in range(3)))
        assert all(d.allowed for d in decisions)
    # The sync client, called from a coroutine: blocks this thread, never touches the loop.
    with client(worker, agent) as sync_oak:
        assert sync_oak.guard("filesystem", "read", lambda: "sync in a loop") == "sync in a loop"


def test_receipts_from_the_live_worker_verify(worker: Worker, seed: Seed) -> None:
    agent = seed(
        tools={"payments": ["refund"]}, rules=[{"tool": "payments", "scope": "refund", "require_reasoning": "none"}]
    )
    args = {"order": "o-17", "amount": 10}
    with client(worker, agent) as oak:
        decision = oak.validate("payments", "refund", arguments=args, reasoning="the customer asked")
        other = oak.validate("payments", "refund", arguments=args)
    assert decision.receipt is not None
    verifier = ReceiptVerifier(worker.base_url, allow_insecure_loopback=True)
    # Other arguments, another scope: refused, and the receipt is not used up by a refusal.
    with pytest.raises(ReceiptInvalid) as wrong_args:
        verifier.verify(decision.receipt, tool="payments", scope="refund", arguments={"order": "o-17", "amount": 1000})
    assert wrong_args.value.reason == "arguments_mismatch"
    with pytest.raises(ReceiptInvalid) as wrong_scope:
        verifier.verify(decision.receipt, tool="payments", scope="send", arguments=args)
    assert wrong_scope.value.reason == "scope_mismatch"
    # Number spelling does not matter (RFC 8785).
    claims = verifier.verify(
        decision.receipt, tool="payments", scope="refund", arguments={"amount": 10.0, "order": "o-17"}
    )
    assert claims.jti == decision.decision_id and claims.agent == agent.id and claims.iss == worker.base_url
    assert claims.exp - claims.iat == 60
    with pytest.raises(ReceiptInvalid) as replayed:
        verifier.verify(decision.receipt, tool="payments", scope="refund", arguments=args)
    assert replayed.value.reason == "replayed"
    # Another issuer is refused; a tampered receipt does not verify.
    elsewhere = ReceiptVerifier("https://oakauth.example.com", jwks=_jwks(worker))
    assert other.receipt is not None
    with pytest.raises(ReceiptInvalid) as issuer:
        elsewhere.verify(other.receipt, tool="payments", scope="refund", arguments=args)
    assert issuer.value.reason == "issuer"
    head, payload, signature = other.receipt.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(ReceiptInvalid) as forged:
        verifier.verify(tampered, tool="payments", scope="refund", arguments=args)
    assert forged.value.reason == "signature"
    verifier.close()


async def test_async_receipt_verifier_against_the_live_worker(worker: Worker, seed: Seed) -> None:
    agent = seed(tools=FILES, rules=[READ])
    async with async_client(worker, agent) as oak:
        decision = await oak.validate("filesystem", "read")
    assert decision.receipt is not None
    verifier = AsyncReceiptVerifier(worker.base_url, allow_insecure_loopback=True)
    claims = await verifier.verify(decision.receipt, tool="filesystem", scope="read")
    assert claims.tool == "filesystem"
    with pytest.raises(ReceiptInvalid, match="replayed"):
        await verifier.verify(decision.receipt, tool="filesystem", scope="read")
    await verifier.aclose()


def _jwks(worker: Worker) -> dict[str, Any]:
    with worker.admin_http() as http:
        keys: dict[str, Any] = http.get("/.well-known/jwks.json").json()
        return keys


APPROVAL_RULE = {"tool": "payments", "scope": "send", "effect": "require_approval"}


def test_approvals_raise_then_wait_for_an_approve(worker: Worker, seed: Seed, admin: OakAuthAdmin) -> None:
    agent = seed(tools={"payments": ["send"]}, rules=[APPROVAL_RULE])
    args = {"amount": 900, "to": "ana"}
    ran: list[str] = []
    with client(worker, agent) as oak:
        with pytest.raises(ApprovalPending) as pending:
            oak.guard("payments", "send", lambda: ran.append("raise"), arguments=args)
        assert ran == [] and pending.value.approval_id.startswith("apr_") and not pending.value.timed_out
        assert "approval requested (id apr_" in explain(pending.value)
        seen = admin.get_approval(pending.value.approval_id)
        assert seen.status == "pending" and seen.arguments == args

        # wait: a person approves while guard() long-polls; the action then runs, once.
        noticed: list[str] = []

        def approve_soon() -> None:
            while not noticed:
                time.sleep(0.05)
            time.sleep(0.5)
            admin.decide_approval(pending.value.approval_id, {"decision": "approve", "comment": "ok"})

        helper = threading.Thread(target=approve_soon)
        helper.start()
        result = oak.guard(
            "payments",
            "send",
            lambda: ran.append("paid") or "paid",
            arguments=args,
            approval="wait",
            approval_timeout=60,
            on_pending=lambda ticket: noticed.append(ticket.id),
        )
        helper.join()
        assert result == "paid" and ran == ["paid"] and noticed == [pending.value.approval_id]
        assert admin.get_approval(pending.value.approval_id).status == "consumed"


async def test_approvals_wait_for_a_deny_async(worker: Worker, seed: Seed) -> None:
    agent = seed(tools={"payments": ["send"]}, rules=[APPROVAL_RULE])
    ran: list[bool] = []

    async with (
        AsyncOakAuthAdmin(worker.admin_key, base_url=worker.base_url, allow_insecure_loopback=True) as admin,
        async_client(worker, agent) as oak,
    ):
        pending_ids: list[str] = []
        asked = asyncio.Event()

        async def deny_when_asked() -> None:
            await asked.wait()
            await asyncio.sleep(0.5)
            await admin.decide_approval(pending_ids[0], {"decision": "deny", "comment": "not this vendor"})

        async def pay() -> None:
            ran.append(True)

        def on_pending(ticket: Any) -> None:
            pending_ids.append(ticket.id)
            asked.set()

        denier = asyncio.create_task(deny_when_asked())
        with pytest.raises(ApprovalDenied) as denied:
            await oak.guard(
                "payments",
                "send",
                pay,
                arguments={"amount": 5000, "to": "mallory"},
                approval="wait",
                approval_timeout=60,
                on_pending=on_pending,
            )
        await denier
        assert ran == []
        assert denied.value.comment == "not this vendor"
        assert 'with the comment: "not this vendor"' in explain(denied.value)
        pending = [a async for a in admin.iter_approvals(agent_id=agent.id)]
        assert [a.status for a in pending] == ["denied"]


def test_approval_wait_times_out(worker: Worker, seed: Seed) -> None:
    agent = seed(tools={"payments": ["send"]}, rules=[APPROVAL_RULE])
    with client(worker, agent) as oak, pytest.raises(ApprovalPending) as pending:
        oak.guard("payments", "send", lambda: None, arguments={"amount": 1}, approval="wait", approval_timeout=1)
    assert pending.value.timed_out is True


def test_a_webhook_delivery_verifies(worker: Worker, seed: Seed, admin: OakAuthAdmin) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = admin.create_webhook(
            {"url": f"http://127.0.0.1:{server.server_address[1]}/hooks", "event_types": ["approval.requested"]}
        )
        agent = seed(tools={"payments": ["send"]}, rules=[APPROVAL_RULE])
        with client(worker, agent) as oak, pytest.raises(ApprovalPending) as pending:
            oak.guard("payments", "send", lambda: None, arguments={"amount": 77})
        deadline = time.monotonic() + 60
        verifier = WebhookVerifier(hook.secret)
        event = None
        while event is None and time.monotonic() < deadline:
            for headers, body in list(received):
                candidate = verifier.verify(body, headers)
                if pending.value.approval_id in body.decode():
                    event = candidate
            time.sleep(0.2)
        assert event is not None, f"no delivery within 60 s; got {len(received)}"
        assert event.type == "approval.requested"
        # The same delivery with one byte changed does not verify.
        headers, body = received[-1]
        with pytest.raises(Exception, match="did not verify"):
            verifier.verify(body + b" ", headers)
        assert [d.status for d in admin.list_webhook_deliveries(hook.id).deliveries][:1] in (["delivered"], ["pending"])
        admin.delete_webhook(hook.id)
    finally:
        server.shutdown()


def test_the_admin_client_covers_agents_tools_rules(worker: Worker, admin: OakAuthAdmin) -> None:
    me = admin.me()
    assert me.organization.id == worker.organization_id
    created = admin.create_agent({"name": "py-admin-crud", "rate_limit": {"capacity": 50, "refill_per_second": 5}})
    agent_id = created.agent.id
    assert created.api_key.startswith("oak_")
    with pytest.raises(ConflictError):
        admin.create_agent({"name": "py-admin-crud"})
    tool = admin.create_tool(agent_id, {"name": "crm", "scopes": ["read", "write"], "risk_level": "read"})
    rule = admin.create_rule(agent_id, {"tool": "crm", "scope": "read", "require_reasoning": "soft"})
    assert rule.tool == "crm" and rule.effect == "allow" and rule.require_reasoning == "soft"
    assert admin.update_rule(agent_id, rule.id, {"require_reasoning": "hard"}).require_reasoning == "hard"
    assert [t.id for t in admin.iter_tools(agent_id)] == [tool.id]
    assert [r.id for r in admin.iter_rules(agent_id, limit=1)] == [rule.id]
    assert admin.update_agent(agent_id, {"enabled": False}).enabled is False
    rotated = admin.rotate_agent_key(agent_id, {"overlap_seconds": 0})
    assert rotated.api_key != created.api_key
    sim = admin.simulate({"agent_id": agent_id, "request": {"tool": "crm", "scope": "read"}})
    assert sim.allowed is False and sim.reason == "agent_disabled"
    agent_ids = [a.id for a in admin.iter_agents(limit=2)]
    assert agent_id in agent_ids and len(agent_ids) == len(set(agent_ids))
    actions = [e.action for e in admin.iter_events(agent_id=agent_id)]
    assert "agent.create" in actions and "rule.update" in actions
    assert admin.stats().total >= 0
    assert admin.verify_audit_all().ok is True
    with pytest.raises(TypeError, match="not a CreateTool"):
        admin.create_tool(agent_id, {"name": "x", "scopes": ["r"], "risk_level": "read", "misspelt": 1})
    admin.delete_agent(agent_id)
    with pytest.raises(NotFound):
        admin.get_agent(agent_id)
