-- OakAuth schema. Times are milliseconds since the Unix epoch (UTC). Every row carries its
-- organization, and every admin query filters on it. `seq` columns give stable creation order
-- for cursor pagination; public ids are random strings.

CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

-- Admin keys are stored as HMAC-SHA256(server secret, key); only a short prefix is kept in clear.
CREATE TABLE admin_keys (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  key_hash    TEXT NOT NULL UNIQUE,
  key_prefix  TEXT NOT NULL,
  name        TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);

CREATE TABLE agents (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  org_id         TEXT NOT NULL REFERENCES organizations(id),
  name           TEXT NOT NULL,
  enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  -- The current key; agent_keys also holds keys still valid during a rotation overlap.
  key_hash       TEXT NOT NULL,
  key_prefix     TEXT NOT NULL,
  rate_capacity  INTEGER NOT NULL CHECK (rate_capacity > 0),
  rate_refill    REAL NOT NULL CHECK (rate_refill > 0),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
CREATE INDEX agents_by_org ON agents (org_id, seq);

-- Every key that can authenticate an agent. expires_at NULL: valid until rotated or deleted.
CREATE TABLE agent_keys (
  key_hash    TEXT PRIMARY KEY,
  agent_id    TEXT NOT NULL,
  org_id      TEXT NOT NULL,
  key_prefix  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX agent_keys_by_agent ON agent_keys (agent_id);

CREATE TABLE tools (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT NOT NULL UNIQUE,
  org_id       TEXT NOT NULL,
  agent_id     TEXT NOT NULL,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  scopes       TEXT NOT NULL, -- JSON array of scope names
  risk_level   TEXT NOT NULL CHECK (risk_level IN ('read', 'write', 'destructive')),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (agent_id, name)
);
CREATE INDEX tools_by_agent ON tools (agent_id, seq);

CREATE TABLE rules (
  seq                INTEGER PRIMARY KEY AUTOINCREMENT,
  id                 TEXT NOT NULL UNIQUE,
  org_id             TEXT NOT NULL,
  agent_id           TEXT NOT NULL,
  tool_id            TEXT NOT NULL,
  scope              TEXT NOT NULL,
  require_reasoning  TEXT NOT NULL CHECK (require_reasoning IN ('none', 'soft', 'hard')),
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  UNIQUE (tool_id, scope)
);
CREATE INDEX rules_by_agent ON rules (agent_id, seq);

-- One row per decision, written before the answer is sent. Rows outlive their agent.
CREATE TABLE audit_log (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
  decision_id         TEXT NOT NULL UNIQUE,
  org_id              TEXT NOT NULL,
  request_id          TEXT NOT NULL,
  agent_id            TEXT NOT NULL,
  tool                TEXT NOT NULL,
  scope               TEXT NOT NULL,
  allowed             INTEGER NOT NULL CHECK (allowed IN (0, 1)),
  reason              TEXT NOT NULL,
  reasoning           TEXT,
  reasoning_required  TEXT NOT NULL,
  reasoning_provided  INTEGER NOT NULL CHECK (reasoning_provided IN (0, 1)),
  context             TEXT,
  latency_ms          INTEGER NOT NULL,
  created_at          INTEGER NOT NULL
);
-- One index per log filter, each ending in seq so "newest first after cursor" is a range scan.
CREATE INDEX audit_by_org       ON audit_log (org_id, seq);
CREATE INDEX audit_by_agent     ON audit_log (org_id, agent_id, seq);
CREATE INDEX audit_by_tool      ON audit_log (org_id, tool, seq);
CREATE INDEX audit_by_scope     ON audit_log (org_id, scope, seq);
CREATE INDEX audit_by_reason    ON audit_log (org_id, reason, seq);
CREATE INDEX audit_by_allowed   ON audit_log (org_id, allowed, seq);
CREATE INDEX audit_by_time      ON audit_log (org_id, created_at);

-- The audit log is append-only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
