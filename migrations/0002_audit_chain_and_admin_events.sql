-- Tamper evidence: each agent's decisions form a hash chain (see core/src/audit.rs). The chain
-- head lives in the agent's Durable Object, apart from these rows.
ALTER TABLE audit_log ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN row_hash TEXT;
CREATE UNIQUE INDEX audit_chain ON audit_log (agent_id, chain_seq);

-- What admins did: who (key prefix) created, changed, rotated, disabled or deleted what, and when.
CREATE TABLE admin_events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT NOT NULL UNIQUE,
  org_id       TEXT NOT NULL,
  request_id   TEXT NOT NULL,
  actor        TEXT NOT NULL,          -- the admin key's visible prefix
  action       TEXT NOT NULL,          -- e.g. agent.create, agent.rotate_key, rule.delete
  agent_id     TEXT,
  target_id    TEXT NOT NULL,
  detail       TEXT NOT NULL DEFAULT '{}',  -- JSON: the fields that were set (never a key)
  created_at   INTEGER NOT NULL
);
CREATE INDEX admin_events_by_org ON admin_events (org_id, seq);
CREATE INDEX admin_events_by_agent ON admin_events (org_id, agent_id, seq);

CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events
BEGIN
  SELECT RAISE(ABORT, 'admin_events is append-only');
END;
CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events
BEGIN
  SELECT RAISE(ABORT, 'admin_events is append-only');
END;
