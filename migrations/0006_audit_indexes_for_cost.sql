-- Every index on audit_log is a row written per decision (D1 bills each one), and rows written
-- were most of a decision's cost (docs/scaling.md, "Cost per decision"). Keep the indexes the log's
-- common reads need: the organization's pages by time (audit_by_org), an agent's (audit_by_agent),
-- an agent's denials (audit_by_agent_allowed), and the uniqueness the audit writer relies on
-- (decision_id, and (agent_id, chain_seq) in audit_chain). Organization-wide filters by tool,
-- scope, reason or outcome now read the organization's time index and skip non-matching rows:
-- rows read cost a thousandth of rows written, and the page size still bounds a page of common
-- matches.
DROP INDEX audit_by_tool;
DROP INDEX audit_by_scope;
DROP INDEX audit_by_reason;
DROP INDEX audit_by_allowed;
