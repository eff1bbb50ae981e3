-- claudemesh broker schema, version 5: who ended each membership, so that a member who left by
-- itself is told apart from one an owner or admin removed by structure, not by the free-text
-- reason (an owner may type "left" as the reason of a kick). The member id of the owner or admin
-- who removed it, or the member's own id when it left (docs/protocol.md §4.3.19). NULL while a
-- member.
ALTER TABLE members ADD COLUMN revoked_by TEXT;

-- Rows revoked before version 5: the audit chain has always recorded each removal in the same
-- transaction, `member_left` or `member_revoked` with the acting member as `actor`, so the first
-- such entry for the member says who acted, whatever the reason text. One pass over the chain
-- (not one per removed member). A payload that is not JSON (a damaged row; the audit verifier
-- names it) is read past rather than failing the upgrade; a revoked member with no entry keeps
-- NULL, which readers show as removed (never as left).
UPDATE members SET revoked_by = first.actor
FROM (
  SELECT mesh_id, member_id, actor FROM (
    SELECT mesh_id, json_extract(payload, '$.memberId') AS member_id, actor,
           ROW_NUMBER() OVER (PARTITION BY mesh_id, json_extract(payload, '$.memberId') ORDER BY seq) AS n
    FROM audit_log
    WHERE event_type IN ('member_left', 'member_revoked') AND json_valid(payload)
  ) WHERE n = 1
) AS first
WHERE members.revoked_at IS NOT NULL AND first.mesh_id = members.mesh_id AND first.member_id = members.id;
