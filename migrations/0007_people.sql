-- People (issue 19): users who sign in with OpenID Connect, their memberships and roles,
-- invitations, sessions and pending sign-ins; admin keys get a name, a role, an author and an
-- optional expiry; admin events name the acting person or key.

CREATE TABLE users (
  id               TEXT PRIMARY KEY,                 -- usr_…
  issuer           TEXT NOT NULL,
  subject          TEXT NOT NULL,                    -- the ID token's sub
  email            TEXT NOT NULL,                    -- lower-case
  email_verified   INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
  name             TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  last_sign_in_at  INTEGER NOT NULL,
  UNIQUE (issuer, subject)
);
CREATE INDEX users_by_email ON users (email);

CREATE TABLE memberships (
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  user_id     TEXT NOT NULL REFERENCES users(id),
  role        TEXT NOT NULL CHECK (role IN ('viewer', 'admin', 'owner')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- An invitation's secret is stored hashed like a key; only a short prefix is kept in clear.
CREATE TABLE invitations (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT NOT NULL UNIQUE,                 -- inv_…
  org_id       TEXT NOT NULL REFERENCES organizations(id),
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('viewer', 'admin', 'owner')),
  token_hash   TEXT NOT NULL UNIQUE,
  invited_by   TEXT NOT NULL,                        -- the inviter's display name
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  accepted_at  INTEGER,
  accepted_by  TEXT,                                 -- usr_…
  revoked_at   INTEGER
);
CREATE INDEX invitations_by_org ON invitations (org_id, seq);

-- A session's token (cookie or bearer, `oaks_…`) is stored hashed.
CREATE TABLE sessions (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT NOT NULL UNIQUE,                -- ses_…
  user_id       TEXT NOT NULL REFERENCES users(id),
  token_hash    TEXT NOT NULL UNIQUE,
  kind          TEXT NOT NULL CHECK (kind IN ('cookie', 'bearer')),
  name          TEXT NOT NULL DEFAULT '',
  mfa           INTEGER NOT NULL DEFAULT 0 CHECK (mfa IN (0, 1)),
  created_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  revoked_at    INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id, seq);

-- A sign-in between the redirect to the identity provider and its return (state stored hashed).
CREATE TABLE login_requests (
  state_hash        TEXT PRIMARY KEY,
  nonce             TEXT NOT NULL,
  code_verifier     TEXT NOT NULL,
  return_to         TEXT NOT NULL,
  invitation_hash   TEXT,
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL
);

ALTER TABLE admin_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('viewer', 'admin', 'owner'));
ALTER TABLE admin_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT 'bootstrap';
ALTER TABLE admin_keys ADD COLUMN expires_at INTEGER;
-- Keys made before this migration keep working as admin-role keys named "bootstrap".
UPDATE admin_keys SET name = 'bootstrap' WHERE name = '';
CREATE INDEX admin_keys_by_org ON admin_keys (org_id, created_at);

ALTER TABLE organizations ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_mfa IN (0, 1));

ALTER TABLE admin_events ADD COLUMN actor_type TEXT NOT NULL DEFAULT 'key' CHECK (actor_type IN ('key', 'user'));
ALTER TABLE admin_events ADD COLUMN actor_id TEXT;
ALTER TABLE admin_events ADD COLUMN actor_name TEXT;
