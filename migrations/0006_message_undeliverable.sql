-- claudemesh broker schema, version 6: the mailboxes a send skipped because their queue was full,
-- kept with the message so that a retry of the send (the same clientMessageId, docs/protocol.md
-- §5.3) is answered with the same `undeliverable` list as the original, which the sender may
-- never have received. A JSON array of {to, code}, as the result lists them; NULL when the send
-- skipped none (nearly always), so a send writes nothing more than before. Rows stored before
-- version 6 keep NULL and answer a retry with an empty list, as they did.
ALTER TABLE messages ADD COLUMN undeliverable TEXT;
