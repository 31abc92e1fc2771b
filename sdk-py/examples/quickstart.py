"""Ask OakAuth before a tool runs. Needs OAKAUTH_API_KEY and OAKAUTH_BASE_URL (and, for a local
worker on http://127.0.0.1, OAKAUTH_ALLOW_INSECURE_LOOPBACK=1); the agent has the tool `filesystem`
with a rule that allows scope `read`."""

import os
from pathlib import Path

from oakauth import OakAuth, PermissionDenied, explain

with OakAuth() as oak:
    # Runs the action only on an allow, and returns what it returns.
    files = oak.guard(
        "filesystem",
        "read",
        lambda: sorted(os.listdir(".")),
        reasoning="list the files the user asked about",
        arguments={"path": "."},
    )
    print(f"allowed: {len(files)} files")

    # A deny is an exception from guard() (and a decision from validate()); the action does not run.
    try:
        oak.guard("filesystem", "write", lambda: Path("notes.txt").write_text("draft"), arguments={"path": "notes.txt"})
    except PermissionDenied as denied:
        print(f"denied: {denied.reason} (decision {denied.decision_id})")
        print(denied.hint)  # the sentence to hand to a model

    decision = oak.validate("filesystem", "write")
    print(decision.allowed, decision.reason, explain(decision))
