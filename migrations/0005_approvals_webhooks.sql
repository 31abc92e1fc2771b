-- Approvals (docs/approvals.md) and webhooks (docs/webhooks.md).
--
-- Rules gain the effect `require_approval` and, for it, how long an approval waits. SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt as 0004 did: every rule keeps its
-- id, its seq (page cursors stay valid) and its meaning.
CREATE TABLE rules_new (
  seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
  id                       TEXT NOT NULL UNIQUE,
  org_id                   TEXT NOT NULL,
  agent_id                 TEXT NOT NULL,
  tool_id                  TEXT NOT NULL,
  scope                    TEXT NOT NULL,
  effect                   TEXT NOT NULL DEFAULT 'allow' CHECK (effect IN ('allow', 'deny', 'require_approval')),
  require_reasoning        TEXT NOT NULL CHECK (require_reasoning IN ('none', 'soft', 'hard')),
  conditions               TEXT NOT NULL DEFAULT '[]',
  mode                     TEXT NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'shadow')),
  description              TEXT NOT NULL DEFAULT '',
  approval_expiry_seconds  INTEGER,  -- require_approval rules only; NULL is the default (900)
  created_at               INTEGER NOT NULL,
  updated_at               INTEGER NOT NULL
);
INSERT INTO rules_new (seq, id, org_id, agent_id, tool_id, scope, effect, require_reasoning, conditions, mode,
                       description, created_at, updated_at)
  SELECT seq, id, org_id, agent_id, tool_id, scope, effect, require_reasoning, conditions, mode, description,
         created_at, updated_at FROM rules;
DROP TABLE rules;
ALTER TABLE rules_new RENAME TO rules;
CREATE INDEX rules_by_agent ON rules (agent_id, seq);
CREATE INDEX rules_by_tool ON rules (tool_id, scope);

-- One person's yes or no to one exact call. `binding_key` is the SHA-256 of everything it is
-- bound to (agent, tool, scope, argument digest, rule, rule version): the latest approval with a
-- call's key governs that call. Times are milliseconds since the epoch. Transitions are
-- conditional UPDATEs (`… WHERE status = 'pending'`), so two deciders or two consumers cannot
-- both win.
CREATE TABLE approvals (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  id                TEXT NOT NULL UNIQUE,
  org_id            TEXT NOT NULL,
  agent_id          TEXT NOT NULL,
  tool              TEXT NOT NULL,
  scope             TEXT NOT NULL,
  arguments         TEXT,            -- redacted JSON, as in the audit log
  arguments_digest  TEXT NOT NULL,
  reasoning         TEXT,            -- redacted
  rule_id           TEXT NOT NULL,
  rule_version      INTEGER NOT NULL,
  binding_key       TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled', 'consumed')),
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  decided_at        INTEGER,
  decided_by        TEXT,
  comment           TEXT,
  consumed_at       INTEGER,
  consumed_by       TEXT,
  requested_by      TEXT NOT NULL
);
CREATE INDEX approvals_by_binding ON approvals (agent_id, binding_key, seq);
CREATE INDEX approvals_by_org ON approvals (org_id, seq);
CREATE INDEX approvals_pending ON approvals (org_id, status, expires_at);

-- Webhook endpoints. `secret` signs every delivery; `previous_secret` also signs until
-- `previous_secret_until` after a rotation. Both are stored sealed (core/src/webhook/sealed.rs),
-- and neither is ever returned by the API after the answer that created it.
CREATE TABLE webhook_endpoints (
  seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
  id                     TEXT NOT NULL UNIQUE,
  org_id                 TEXT NOT NULL,
  url                    TEXT NOT NULL,
  event_types            TEXT NOT NULL,  -- JSON array of event type names
  enabled                INTEGER NOT NULL DEFAULT 1,
  disabled_reason        TEXT,
  description            TEXT NOT NULL DEFAULT '',
  secret                 TEXT NOT NULL,
  previous_secret        TEXT,
  previous_secret_until  INTEGER,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_by_org ON webhook_endpoints (org_id, seq);

-- One message to one endpoint and how its delivery goes: the delivery log.
CREATE TABLE webhook_deliveries (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  id                TEXT NOT NULL,  -- msg_…, the webhook-id header: one per event, the same for every endpoint
  org_id            TEXT NOT NULL,
  webhook_id        TEXT NOT NULL,
  event_type        TEXT NOT NULL,
  payload           TEXT NOT NULL,         -- the exact body sent
  status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_attempt_at   INTEGER,
  last_status_code  INTEGER,
  last_error        TEXT,
  created_at        INTEGER NOT NULL,
  delivered_at      INTEGER,
  UNIQUE (webhook_id, id)
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (org_id, status, next_attempt_at);
