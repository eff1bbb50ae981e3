-- claudemesh broker schema, version 7: which of a member key's queue entries no session of that
-- member was around to receive. A message to a member key (a DM, or a broadcast, group or topic
-- post) is queued for the member key and for its live sessions; when none of those sessions was
-- connected, the member-key entry is marked here, and the next session of the member to say hello
-- gets a copy of it in its own mailbox (docs/protocol.md §5.1, "The next session"). 1 = marked.
-- On a session's row, 1 = the session holds it in its member's name (its hello copied it, or took
-- the mark of an entry it held already), so ending that session marks the member's entry again.
-- Rows stored before version 7 are unmarked: what waited then stays the terminal's, as it was.
ALTER TABLE queue ADD COLUMN for_next_session INTEGER NOT NULL DEFAULT 0;
