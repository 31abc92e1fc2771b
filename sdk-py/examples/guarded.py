"""@guarded: each call asks OakAuth first, with the function's arguments. The agent has the tool
`payments` with scope `refund`, and a rule allowing refunds of at most 100."""

from oakauth import OakAuth, PermissionDenied, guarded

oak = OakAuth()


@guarded(oak, "payments", "refund", reasoning="the customer asked for a refund")
def refund(order: str, amount: int) -> str:
    return f"refunded {amount} on {order}"


print(refund("o-17", 40))  # sent to OakAuth as arguments {"order": "o-17", "amount": 40}
try:
    refund("o-18", 5000)
except PermissionDenied as denied:
    print(f"refused: {denied.reason}: {denied.explanation.message if denied.explanation else denied.message}")
oak.close()
