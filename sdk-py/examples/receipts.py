"""A tool server that runs a call only with OakAuth's signed receipt for exactly that call. Here the
agent's side (validate) and the server's side (verify) are in one script."""

from oakauth import OakAuth, ReceiptInvalid, ReceiptVerifier

args = {"order": "o-17", "amount": 10}
with OakAuth() as oak:
    decision = oak.validate("payments", "refund", arguments=args, reasoning="the customer asked")
assert decision.receipt is not None  # every allow carries one

# The tool server: the issuer is the OakAuth base URL the agent called (default OAKAUTH_BASE_URL).
receipts = ReceiptVerifier()
claims = receipts.verify(decision.receipt, tool="payments", scope="refund", arguments=args)
print(f"verified: decision {claims.jti} for agent {claims.agent}")
try:
    receipts.verify(decision.receipt, tool="payments", scope="refund", arguments=args)
except ReceiptInvalid as refused:
    print(f"refused: {refused.reason}")  # replayed: a receipt is used once
