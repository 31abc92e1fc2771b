-- Policies (docs/policies.md): several rules per tool and scope, each with an effect, conditions
-- on the call's arguments, context and request facts, and a mode (enforce or shadow). SQLite
-- cannot drop the old UNIQUE (tool_id, scope), so the table is rebuilt; every existing rule keeps
-- its id, its seq (page cursors stay valid) and its meaning: an enforced allow rule without
-- conditions.
CREATE TABLE rules_new (
  seq                INTEGER PRIMARY KEY AUTOINCREMENT,
  id                 TEXT NOT NULL UNIQUE,
  org_id             TEXT NOT NULL,
  agent_id           TEXT NOT NULL,
  tool_id            TEXT NOT NULL,
  scope              TEXT NOT NULL,
  effect             TEXT NOT NULL DEFAULT 'allow' CHECK (effect IN ('allow', 'deny')),
  require_reasoning  TEXT NOT NULL CHECK (require_reasoning IN ('none', 'soft', 'hard')),
  conditions         TEXT NOT NULL DEFAULT '[]',  -- JSON array, checked by the worker when saved
  mode               TEXT NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'shadow')),
  description        TEXT NOT NULL DEFAULT '',
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
INSERT INTO rules_new (seq, id, org_id, agent_id, tool_id, scope, require_reasoning, created_at, updated_at)
  SELECT seq, id, org_id, agent_id, tool_id, scope, require_reasoning, created_at, updated_at FROM rules;
DROP TABLE rules;
ALTER TABLE rules_new RENAME TO rules;
CREATE INDEX rules_by_agent ON rules (agent_id, seq);
CREATE INDEX rules_by_tool ON rules (tool_id, scope);

-- The JSON Schema of a tool's arguments (an MCP tool's inputSchema), or NULL.
ALTER TABLE tools ADD COLUMN input_schema TEXT;

-- What a decision saw and why: the call's arguments (redacted, long strings cut with their
-- SHA-256), the explanation of a rule's deny, and what shadow rules would have done. All three
-- are covered by the row's hash (core/src/audit.rs).
ALTER TABLE audit_log ADD COLUMN arguments TEXT;
ALTER TABLE audit_log ADD COLUMN explanation TEXT;
ALTER TABLE audit_log ADD COLUMN shadow TEXT;
