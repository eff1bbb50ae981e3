-- claudemesh broker schema, version 1.
-- The broker stores routing metadata and opaque {nonce, ciphertext}; it never holds a message
-- body, a mesh or topic key, or any member's secret key.

CREATE TABLE broker_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE meshes (
  id           TEXT PRIMARY KEY,
  slug         TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL,
  owner_pubkey TEXT NOT NULL,        -- the owner's ed25519 public key; never a secret
  key_epoch    INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL       -- ms since the epoch
) STRICT;

CREATE TABLE members (
  id             TEXT PRIMARY KEY,
  mesh_id        TEXT NOT NULL REFERENCES meshes(id) ON DELETE CASCADE,
  pubkey         TEXT NOT NULL,
  display_name   TEXT NOT NULL,
  role           TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at      INTEGER NOT NULL,
  invite_id      TEXT,
  revoked_at     INTEGER,
  revoked_reason TEXT,
  banned         INTEGER NOT NULL DEFAULT 0,
  status         TEXT NOT NULL DEFAULT 'idle',
  summary        TEXT NOT NULL DEFAULT '',
  last_seen_at   INTEGER,
  UNIQUE (mesh_id, pubkey)
) STRICT;

-- A Claude Code session: its own key and mailbox, vouched for by its member.
CREATE TABLE sessions (
  mesh_id      TEXT NOT NULL REFERENCES meshes(id) ON DELETE CASCADE,
  pubkey       TEXT NOT NULL,
  member_id    TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  cwd          TEXT NOT NULL DEFAULT '',
  hostname     TEXT NOT NULL DEFAULT '',
  status       TEXT NOT NULL DEFAULT 'idle',
  summary      TEXT NOT NULL DEFAULT '',
  first_seen_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  ended_at     INTEGER,
  PRIMARY KEY (mesh_id, pubkey)
) STRICT;
CREATE INDEX sessions_member ON sessions (member_id);

CREATE TABLE group_members (
  mesh_id    TEXT NOT NULL REFERENCES meshes(id) ON DELETE CASCADE,
  group_name TEXT NOT NULL,
  member_id  TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  PRIMARY KEY (mesh_id, group_name, member_id)
) STRICT;

CREATE TABLE topics (
  id          INTEGER PRIMARY KEY,
  mesh_id     TEXT NOT NULL REFERENCES meshes(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_by  TEXT,
  created_at  INTEGER NOT NULL,
  last_offset INTEGER NOT NULL DEFAULT 0,
  UNIQUE (mesh_id, name)
) STRICT;

CREATE TABLE topic_members (
  topic_id  INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
  member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  role      TEXT NOT NULL CHECK (role IN ('lead', 'member')),
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (topic_id, member_id)
) STRICT;

-- Capabilities a recipient member gives a sender key. An empty list means blocked.
CREATE TABLE grants (
  mesh_id             TEXT NOT NULL REFERENCES meshes(id) ON DELETE CASCADE,
  recipient_member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  sender_pubkey       TEXT NOT NULL,
  caps                TEXT NOT NULL,  -- JSON array of capability names
  updated_at          INTEGER NOT NULL,
  PRIMARY KEY (recipient_member_id, sender_pubkey)
) STRICT;

CREATE TABLE invites (
  id               TEXT PRIMARY KEY,
  mesh_id          TEXT NOT NULL REFERENCES meshes(id) ON DELETE CASCADE,
  role             TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  max_uses         INTEGER NOT NULL,
  used_count       INTEGER NOT NULL DEFAULT 0,
  expires_at       INTEGER NOT NULL,  -- seconds since the epoch (invite v2 canonical)
  issuer_member_id TEXT NOT NULL,
  issuer_pubkey    TEXT NOT NULL,
  invite_pubkey    TEXT NOT NULL,     -- derived from the link secret; proves a claimer holds the link
  signature        TEXT NOT NULL,
  keys_blob        TEXT,              -- sealed by the inviter; opaque here; deleted once used up
  created_at       INTEGER NOT NULL,
  revoked_at       INTEGER
) STRICT;

-- Every message once; per-recipient delivery state lives in `queue`.
CREATE TABLE messages (
  seq               INTEGER PRIMARY KEY,
  id                TEXT NOT NULL UNIQUE,
  mesh_id           TEXT NOT NULL,
  sender_member_id  TEXT NOT NULL,
  sender_pubkey     TEXT NOT NULL,
  sender_name       TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  kind              TEXT NOT NULL,
  target            TEXT NOT NULL,
  topic_id          INTEGER,
  topic_offset      INTEGER,
  priority          TEXT NOT NULL,
  reply_to          TEXT,
  nonce             TEXT NOT NULL,
  ciphertext        TEXT NOT NULL,
  notice            TEXT,
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  delivered_at      INTEGER,
  UNIQUE (mesh_id, sender_pubkey, client_message_id)
) STRICT;
CREATE INDEX messages_topic ON messages (topic_id, topic_offset) WHERE topic_id IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);

-- One row per (message, recipient mailbox) until the recipient acks it. seq gives FIFO order.
CREATE TABLE queue (
  seq         INTEGER PRIMARY KEY,
  mesh_id     TEXT NOT NULL,
  recipient   TEXT NOT NULL,          -- the recipient mailbox: a member or session public key
  message_seq INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
  priority    TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  claimed_by  TEXT                     -- connection currently holding it unacked
) STRICT;
CREATE INDEX queue_mailbox ON queue (mesh_id, recipient, seq);
CREATE INDEX queue_message ON queue (message_seq);
CREATE INDEX queue_expiry ON queue (expires_at);
-- Releasing a closed connection's claims, and clearing all claims at start, without a scan.
CREATE INDEX queue_claimed ON queue (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE audit_log (
  mesh_id    TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  actor      TEXT,
  payload    TEXT NOT NULL,             -- canonical JSON
  created_at TEXT NOT NULL,             -- ISO 8601, as hashed
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL,
  PRIMARY KEY (mesh_id, seq)
) STRICT;

-- Signed hellos and requests already used, kept for the skew window so a replay is refused.
CREATE TABLE seen_signatures (
  signature  TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
