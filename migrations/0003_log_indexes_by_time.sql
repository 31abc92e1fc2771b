-- Log pages are ordered newest first by (created_at, seq). Every log filter has an index that
-- ends in (created_at, seq), so a filtered page, with or without a time range, is one index range
-- read from its newest end: the cost depends on the page size, not on how many rows match.
DROP INDEX audit_by_org;
DROP INDEX audit_by_agent;
DROP INDEX audit_by_tool;
DROP INDEX audit_by_scope;
DROP INDEX audit_by_reason;
DROP INDEX audit_by_allowed;
DROP INDEX audit_by_time;
CREATE INDEX audit_by_org           ON audit_log (org_id, created_at, seq);
CREATE INDEX audit_by_agent         ON audit_log (org_id, agent_id, created_at, seq);
CREATE INDEX audit_by_agent_allowed ON audit_log (org_id, agent_id, allowed, created_at, seq);
CREATE INDEX audit_by_tool          ON audit_log (org_id, tool, created_at, seq);
CREATE INDEX audit_by_scope         ON audit_log (org_id, scope, created_at, seq);
CREATE INDEX audit_by_reason        ON audit_log (org_id, reason, created_at, seq);
CREATE INDEX audit_by_allowed       ON audit_log (org_id, allowed, created_at, seq);
