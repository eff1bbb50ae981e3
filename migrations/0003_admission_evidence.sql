-- claudemesh broker schema, version 3: the evidence of each admission, kept so that the mesh
-- owner's client can check a member's enrolment itself instead of taking the broker's word
-- (docs/protocol.md §11.5). The broker could add rows to `members`; it cannot make these
-- signatures: the issuer's over the invite key, and the invite key's over the joiner's key.

-- The issuer's signature over `claudemesh-invite-key|<mesh_id>|<invite_id>|<invite_pubkey>`
-- (§3.4b): binds the invite key to an invite the issuer made. NULL for invites made before it.
ALTER TABLE invites ADD COLUMN key_signature TEXT;

-- The claim as the joiner signed it with the invite key: `claudemesh-invite-claim|<invite_id>|
-- <pubkey>|<claimed_at>` (§3.5). NULL for the owner and for members enrolled before version 3.
ALTER TABLE members ADD COLUMN claim_signature TEXT;
ALTER TABLE members ADD COLUMN claimed_at INTEGER;
