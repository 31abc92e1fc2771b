-- Plans, quotas and billing (issue 20, docs/plans.md, docs/billing.md).
--
-- Organizations that exist before this migration keep working without limits: they are on the
-- Enterprise plan with no limits of their own. Every organization created from now on names its
-- plan (sign-up: DEFAULT_PLAN, free unless configured; oakauth-keygen: --plan, free by default).
ALTER TABLE organizations ADD COLUMN plan TEXT NOT NULL DEFAULT 'enterprise'
  CHECK (plan IN ('free', 'pro', 'enterprise'));
-- Enterprise only: the organization's own limits, JSON {agents, members, validations_per_month,
-- webhook_endpoints}, each null for unlimited; NULL: no limits.
ALTER TABLE organizations ADD COLUMN custom_limits TEXT;
-- What Stripe last said: none (no billing), active, past_due (grace_until: when the plan falls
-- back to Free), canceled.
ALTER TABLE organizations ADD COLUMN billing_status TEXT NOT NULL DEFAULT 'none'
  CHECK (billing_status IN ('none', 'active', 'past_due', 'canceled'));
ALTER TABLE organizations ADD COLUMN grace_until INTEGER;
ALTER TABLE organizations ADD COLUMN stripe_customer_id TEXT;
ALTER TABLE organizations ADD COLUMN stripe_subscription_id TEXT;
-- The `created` time (ms) of the last Stripe event applied: older events arriving late change nothing.
ALTER TABLE organizations ADD COLUMN billing_updated_at INTEGER;
CREATE UNIQUE INDEX organizations_by_stripe_customer ON organizations (stripe_customer_id)
  WHERE stripe_customer_id IS NOT NULL;

-- Stripe events already handled, by event id: a replayed delivery changes nothing.
CREATE TABLE stripe_events (
  id           TEXT PRIMARY KEY,                    -- evt_…
  type         TEXT NOT NULL,
  org_id       TEXT,
  received_at  INTEGER NOT NULL
);

-- Admin events done by the system itself (billing changing a plan, a downgrade disabling agents)
-- name the actor `system`: the actor_type check is widened by rebuilding the table (SQLite cannot
-- alter a check), keeping every row, its seq, the indexes and the append-only triggers.
DROP TRIGGER admin_events_no_update;
DROP TRIGGER admin_events_no_delete;
ALTER TABLE admin_events RENAME TO admin_events_before_0008;
CREATE TABLE admin_events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT NOT NULL UNIQUE,
  org_id       TEXT NOT NULL,
  request_id   TEXT NOT NULL,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  agent_id     TEXT,
  target_id    TEXT NOT NULL,
  detail       TEXT NOT NULL DEFAULT '{}',
  created_at   INTEGER NOT NULL,
  actor_type   TEXT NOT NULL DEFAULT 'key' CHECK (actor_type IN ('key', 'user', 'system')),
  actor_id     TEXT,
  actor_name   TEXT
);
INSERT INTO admin_events (seq, id, org_id, request_id, actor, action, agent_id, target_id, detail, created_at,
                          actor_type, actor_id, actor_name)
  SELECT seq, id, org_id, request_id, actor, action, agent_id, target_id, detail, created_at,
         actor_type, actor_id, actor_name
  FROM admin_events_before_0008;
DROP TABLE admin_events_before_0008;
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
