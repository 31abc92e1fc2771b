"""A call that needs a person's approval: wait for it (long polls), then run once approved. The agent
has the tool `payments` with scope `send` and a rule with effect `require_approval`."""

from oakauth import ApprovalDenied, ApprovalPending, ApprovalTicket, OakAuth


def tell_someone(ticket: ApprovalTicket) -> None:
    print(f"waiting for approval {ticket.id} (expires {ticket.expires_at})", flush=True)


with OakAuth() as oak:
    try:
        result = oak.guard(
            "payments",
            "send",
            lambda: "sent 900 to ana",
            arguments={"amount": 900, "to": "ana"},
            approval="wait",  # the default, "raise", raises ApprovalPending at once
            approval_timeout=120,
            on_pending=tell_someone,
        )
        print(result)
    except ApprovalDenied as denied:
        print(f"denied by an administrator: {denied.comment}")
    except ApprovalPending as pending:
        print(f"still pending after 120 s: {pending.approval_id}")
