-- claudemesh broker schema, version 4: each session's latest attestation (the member key's
-- signature over the session key, §2.4), as its hello or an `attest` request carried it, so that
-- `list_peers` can show it for offline sessions too. A sender checks it before encrypting a
-- direct message to a session key (docs/protocol.md §11.6): a session the broker made up has no
-- such signature. NULL for sessions last seen before version 4.
ALTER TABLE sessions ADD COLUMN attestation TEXT;
