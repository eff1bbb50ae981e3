-- claudemesh broker schema, version 2: the send and ack hot path writes only append-ordered keys.
--
-- Version 1 gave every send ~9 b-tree writes (a random message id index, the de-duplication
-- index, a creation-time index, and four queue indexes) and every ack a claimed_by update, an
-- indexed delete and a delivered_at update. Random keys dirty a different page per row, so each
-- group commit wrote (and each checkpoint copied) tens of pages. Now `messages` is keyed by seq
-- alone and `queue` by (message_seq, mailbox): both only ever grow at their right edge. Mailbox
-- order, claims, queue depth and de-duplication live in an in-memory index that the store
-- rebuilds from these two tables at start (src/store/sqlite/queue-index.ts, docs/decisions.md).

CREATE TABLE messages_v2 (
  seq               INTEGER PRIMARY KEY,
  id                TEXT NOT NULL,    -- 128 random bits: unique by construction, looked up in memory
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
  delivered_at      INTEGER           -- set once a recipient acked while others still had it queued
) STRICT;

INSERT INTO messages_v2 (seq, id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target,
    topic_id, topic_offset, priority, reply_to, nonce, ciphertext, notice, created_at, expires_at, delivered_at)
  SELECT seq, id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target,
    topic_id, topic_offset, priority, reply_to, nonce, ciphertext, notice, created_at, expires_at, delivered_at
  FROM messages;

-- One row per (message, recipient mailbox) until the recipient acks it; message_seq gives FIFO
-- order. Claims are per connection and die with the process, so they are not stored.
CREATE TABLE queue_v2 (
  message_seq INTEGER NOT NULL,
  mesh_id     TEXT NOT NULL,
  recipient   TEXT NOT NULL,          -- the recipient mailbox: a member or session public key
  priority    TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (message_seq, mesh_id, recipient)
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO queue_v2 (message_seq, mesh_id, recipient, priority, expires_at)
  SELECT message_seq, mesh_id, recipient, priority, expires_at FROM queue;

DROP TABLE queue;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
ALTER TABLE queue_v2 RENAME TO queue;
CREATE INDEX messages_topic ON messages (topic_id, topic_offset) WHERE topic_id IS NOT NULL;
