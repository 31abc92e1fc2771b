"""The models come from docs/openapi.yaml, and the clients cover every operation in it (the same parity
check as sdk-ts/test/contract.test.mjs for the TypeScript types)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from oakauth import AsyncOakAuth, AsyncOakAuthAdmin, OakAuth, OakAuthAdmin
from oakauth.models import SCHEMA_MODELS

SDK = Path(__file__).resolve().parents[1]
SPEC_PATH = SDK.parent / "docs" / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

# Every operation of the spec, and the method that performs it (on the agent or the admin client).
OPERATIONS: dict[str, tuple[str, str]] = {
    "health": ("agent", "healthcheck"),
    "validate": ("agent", "validate"),
    "getApproval": ("agent", "get_approval"),
    "cancelApproval": ("agent", "cancel_approval"),
    "getMe": ("admin", "me"),
    "listAgents": ("admin", "list_agents"),
    "createAgent": ("admin", "create_agent"),
    "getAgent": ("admin", "get_agent"),
    "updateAgent": ("admin", "update_agent"),
    "deleteAgent": ("admin", "delete_agent"),
    "rotateAgentKey": ("admin", "rotate_agent_key"),
    "listTools": ("admin", "list_tools"),
    "createTool": ("admin", "create_tool"),
    "getTool": ("admin", "get_tool"),
    "updateTool": ("admin", "update_tool"),
    "deleteTool": ("admin", "delete_tool"),
    "listRules": ("admin", "list_rules"),
    "createRule": ("admin", "create_rule"),
    "getRule": ("admin", "get_rule"),
    "updateRule": ("admin", "update_rule"),
    "deleteRule": ("admin", "delete_rule"),
    "listLogs": ("admin", "list_logs"),
    "getLog": ("admin", "get_log"),
    "simulate": ("admin", "simulate"),
    "replay": ("admin", "replay"),
    "getStats": ("admin", "stats"),
    "listAdminEvents": ("admin", "list_events"),
    "verifyAudit": ("admin", "verify_audit"),
    "listApprovals": ("admin", "list_approvals"),
    "getAdminApproval": ("admin", "get_approval"),
    "decideApproval": ("admin", "decide_approval"),
    "listWebhooks": ("admin", "list_webhooks"),
    "createWebhook": ("admin", "create_webhook"),
    "getWebhook": ("admin", "get_webhook"),
    "updateWebhook": ("admin", "update_webhook"),
    "deleteWebhook": ("admin", "delete_webhook"),
    "rotateWebhookSecret": ("admin", "rotate_webhook_secret"),
    "listWebhookDeliveries": ("admin", "list_webhook_deliveries"),
    "redeliverWebhook": ("admin", "redeliver_webhook"),
    "getAuthConfig": ("admin", "auth_config"),
    "startLogin": ("admin", "start_login"),
    "loginCallback": ("admin", "login_callback"),
    "getSession": ("admin", "session"),
    "logout": ("admin", "logout"),
    "listSessions": ("admin", "list_sessions"),
    "revokeSession": ("admin", "revoke_session"),
    "createBearerSession": ("admin", "create_token"),
    "previewInvitation": ("admin", "invitation_preview"),
    "acceptInvitation": ("admin", "accept_invitation"),
    "setup": ("admin", "setup"),
    "listMembers": ("admin", "list_members"),
    "updateMember": ("admin", "update_member"),
    "removeMember": ("admin", "remove_member"),
    "endMemberSessions": ("admin", "end_member_sessions"),
    "listInvitations": ("admin", "list_invitations"),
    "createInvitation": ("admin", "create_invitation"),
    "revokeInvitation": ("admin", "revoke_invitation"),
    "listAdminKeys": ("admin", "list_admin_keys"),
    "createAdminKey": ("admin", "create_admin_key"),
    "revokeAdminKey": ("admin", "revoke_admin_key"),
    "getOrganization": ("admin", "organization"),
    "updateOrganization": ("admin", "update_organization"),
    "listPlans": ("admin", "plans"),
    "getUsage": ("admin", "usage"),
    "billingCheckout": ("admin", "billing_checkout"),
    "billingPortal": ("admin", "billing_portal"),
    # Called by Stripe, verified by the service: no client sends it.
    "stripeWebhook": ("stripe", "-"),
    # Fetched by oakauth.receipts.ReceiptVerifier, not by a client method.
    "getJwks": ("receipts", "verify"),
}


def test_the_committed_models_are_what_the_spec_generates_today(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate_models", SDK / "scripts" / "generate_models.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    fresh = tmp_path / "_schema.py"
    generator.generate(fresh)
    committed = (SDK / "src" / "oakauth" / "_schema.py").read_text(encoding="utf-8")
    assert fresh.read_text(encoding="utf-8") == committed, (
        "src/oakauth/_schema.py is stale: docs/openapi.yaml changed. "
        "Run `python scripts/generate_models.py` in sdk-py and commit the result."
    )


@pytest.mark.parametrize("name", [n for n, s in SCHEMAS.items() if s.get("type") == "object"])
def test_each_object_schema_has_a_model_with_its_fields(name: str) -> None:
    schema = SCHEMAS[name]
    model = SCHEMA_MODELS[name]
    fields = {(f.alias or key): f for key, f in model.model_fields.items()}
    assert set(fields) == set(schema.get("properties", {})), name
    required = {key for key, f in fields.items() if f.is_required()}
    assert required == set(schema.get("required", [])), name


def test_every_operation_has_a_method() -> None:
    operations = {
        op["operationId"]
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert operations == set(OPERATIONS), "an operation of docs/openapi.yaml has no client method (or one was removed)"
    for operation, (where, method) in OPERATIONS.items():
        if where in ("receipts", "stripe"):
            continue
        classes = (OakAuth, AsyncOakAuth) if where == "agent" else (OakAuthAdmin, AsyncOakAuthAdmin)
        for cls in classes:
            assert callable(getattr(cls, method, None)), f"{cls.__name__}.{method} ({operation})"


def test_the_reason_codes_are_the_specs() -> None:
    from oakauth.models import ALLOW_REASONS, DENY_REASONS, ReasonCode

    assert set(typing.get_args(ReasonCode)) == set(SCHEMAS["ReasonCode"]["enum"])
    assert set(SCHEMAS["ReasonCode"]["enum"]) == ALLOW_REASONS | DENY_REASONS
    assert {"allowed", "reasoning_missing_soft"} == ALLOW_REASONS


def test_the_generator_runs_as_a_script(tmp_path: Path) -> None:
    out = tmp_path / "schema.py"
    subprocess.run([sys.executable, str(SDK / "scripts" / "generate_models.py"), str(out)], check=True)
    assert "class ValidateResponse(_Model):" in out.read_text(encoding="utf-8")
