"""The admin API with an admin key (OAKAUTH_ADMIN_KEY): an agent, a tool, a rule, then its audit log."""

from oakauth import OakAuth, OakAuthAdmin

with OakAuthAdmin() as admin:
    created = admin.create_agent({"name": "report-bot", "rate_limit": {"capacity": 60, "refill_per_second": 1}})
    agent_id = created.agent.id
    admin.create_tool(agent_id, {"name": "filesystem", "scopes": ["read", "write"], "risk_level": "write"})
    admin.create_rule(agent_id, {"tool": "filesystem", "scope": "read", "require_reasoning": "soft"})
    print(f"agent {agent_id}, key {created.agent.key_prefix}…")  # created.api_key is shown this once

    with OakAuth(created.api_key) as oak:
        oak.validate("filesystem", "read", reasoning="list the reports")
        oak.validate("filesystem", "write")

    for entry in admin.iter_logs(agent_id=agent_id):  # every page, newest first
        print(entry.tool, entry.scope, entry.reason)
    admin.delete_agent(agent_id)
