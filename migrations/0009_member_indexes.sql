-- claudemesh broker schema, version 9: indexes for the reads by member, by issuer and by mesh that
-- went through whole tables. Numbers: a database with 1,000,000 invite rows in another mesh (rows
-- are never deleted; one admin's change allowance makes that many in about two days), a mesh of
-- 5,000 members each in 32 groups and 20 of its 2,000 topics, times per statement before -> after.
--
-- `invites` had only its primary key. The open invites of an issuer, which `invite_create` now
-- counts (MAX_OPEN_INVITES_PER_MEMBER), were a read of every invite on the broker (52 ms; 116 ms
-- with session 37's rows), and so were `invite_list` (50 ms -> 0.7 ms), a removal's revocation of
-- the invites its member issued (51 ms -> 0.04 ms) and every sweep's deletion of expired invites'
-- sealed keys (47 ms -> 0.01 ms, every 30 s), each on the thread that serves every connection.
-- `invites_open` holds only the invites that are neither revoked nor used up, by issuer and expiry:
-- the count reads the issuer's open ones, at most the bound (0.01 ms). `invites_sealed` holds only
-- rows that still keep sealed keys.
CREATE INDEX invites_open ON invites (mesh_id, issuer_member_id, expires_at) WHERE revoked_at IS NULL AND used_count < max_uses;
CREATE INDEX invites_mesh ON invites (mesh_id, created_at);
CREATE INDEX invites_sealed ON invites (expires_at) WHERE keys_blob IS NOT NULL;
-- `group_members` and `topic_members` are keyed by group and by topic. A member's groups (each
-- `peer_lookup` row, up to 100 an answer, and the MAX_GROUPS_PER_MEMBER count of a `group_join`)
-- read every group row of its mesh (9.8 ms -> 0.09 ms a row); a member's topics (`topic_list`) and
-- a removal's deletion of its topic rows looked up every topic of its mesh (0.9 ms and 1.0 ms ->
-- 0.02 ms and less). The topics a member made (the MAX_TOPICS_PER_MEMBER count of a
-- `topic_create`) were every topic of its mesh too (0.16 ms for 2,000 topics, up to 256 a member).
CREATE INDEX group_members_member ON group_members (member_id, mesh_id, group_name);
CREATE INDEX topic_members_member ON topic_members (member_id, topic_id);
CREATE INDEX topics_creator ON topics (mesh_id, created_by);
-- `grants` is keyed by recipient. Every roster load (each mesh in use, every 30 s, and after each
-- `grant_set`) read every grant on the broker for its mesh's rows: 45 ms -> 0.1 ms with 1,000,000
-- grant rows in another mesh, which one member's `grant_set`s make in a few days.
CREATE INDEX grants_mesh ON grants (mesh_id);
-- `members` is keyed by id and by (mesh, key). The claims of an invite (`member_lookup`'s
-- `claims`, up to three counts per lookup, which the owner's inbox makes to trace a sender) read
-- every member row of the mesh to find those enrolled through it (5,000 members: 0.45 ms -> 0.01 ms).
CREATE INDEX members_invite ON members (mesh_id, invite_id);
-- Building them read those tables once: 650 ms for the rows above, 230 ms for a million grants.
