-- claudemesh broker schema, version 8: indexes for the two ways the broker reads sessions by time.
-- A session hello (the member's session limit) and a roster load list a mesh's live sessions:
-- not ended, seen within the message TTL. Through the primary key that read every row the mesh
-- ever had, ended ones included (20,000 old rows: 47 ms a hello; 100,000: 289 ms, on the event
-- loop). `sessions_live` holds only unended rows, in last-seen order per mesh.
-- The sweep deletes the rows of sessions that are long over (ended, or unseen, for longer than
-- the message TTL allows anything to wait for them: docs/operations.md, "Old session rows"),
-- oldest first, a batch at a time: `sessions_age` finds them without reading the rest.
CREATE INDEX sessions_live ON sessions (mesh_id, last_seen_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_age ON sessions (ended_at, last_seen_at);
