// Sessions: one Claude Code process each, with its own key and mailbox, vouched for by a member.
import type { Database } from "bun:sqlite";
import type { AttestationFields } from "../../protocol/frames.ts";
import type { Session } from "../types.ts";
import type { QueueEntry, QueueIndex } from "./queue-index.ts";
import { deleteEntries } from "./queue-repo.ts";
import { sessionFromRow, type SessionRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

export type SessionSeen = Omit<Session, "firstSeenAt" | "endedAt" | "status" | "summary">;

/** Stored as the frame carried it, its four fields in a fixed order. */
const attestationText = (a: AttestationFields | null) =>
  a === null ? null : JSON.stringify({ sessionPubkey: a.sessionPubkey, parentMemberPubkey: a.parentMemberPubkey, expiresAt: a.expiresAt, signature: a.signature });

export class SessionRepo {
  constructor(
    private readonly db: Database,
    private readonly index: QueueIndex,
  ) {}

  /** Creates the session, or refreshes its name, cwd, host, member and last-seen time and revives
   *  it if it had ended. Status and summary survive a reconnect. */
  upsert(s: SessionSeen): Session {
    const row = this.db
      .query<SessionRow, Record<string, string | number | null>>(
        `INSERT INTO sessions (mesh_id, pubkey, member_id, display_name, cwd, hostname, first_seen_at, last_seen_at, attestation)
         VALUES ($meshId, $pubkey, $memberId, $displayName, $cwd, $hostname, $lastSeenAt, $lastSeenAt, $attestation)
         ON CONFLICT (mesh_id, pubkey) DO UPDATE SET member_id = excluded.member_id, display_name = excluded.display_name,
           cwd = excluded.cwd, hostname = excluded.hostname, last_seen_at = excluded.last_seen_at, ended_at = NULL,
           attestation = excluded.attestation
         RETURNING *`,
      )
      .get({ meshId: s.meshId, pubkey: s.pubkey, memberId: s.memberId, displayName: s.displayName, cwd: s.cwd, hostname: s.hostname, lastSeenAt: s.lastSeenAt, attestation: attestationText(s.attestation) })!;
    return sessionFromRow(row);
  }

  /** Keeps a session's newer attestation (an `attest` request). Unknown sessions change nothing. */
  setAttestation(meshId: string, pubkey: string, attestation: AttestationFields): void {
    this.db.query("UPDATE sessions SET attestation = ? WHERE mesh_id = ? AND pubkey = ?").run(attestationText(attestation), meshId, pubkey);
  }

  get(meshId: string, pubkey: string): Session | null {
    const row = this.db.query<SessionRow, [string, string]>("SELECT * FROM sessions WHERE mesh_id = ? AND pubkey = ?").get(meshId, pubkey);
    return row ? sessionFromRow(row) : null;
  }

  /** Live sessions (not ended) seen at or after `since` (ms), most recently seen first. */
  listLive(meshId: string, since: number): Session[] {
    return this.db
      .query<SessionRow, [string, number]>("SELECT * FROM sessions WHERE mesh_id = ? AND ended_at IS NULL AND last_seen_at >= ? ORDER BY last_seen_at DESC, pubkey")
      .all(meshId, since)
      .map(sessionFromRow);
  }

  /** Ends the session and drops whatever is still queued for its mailbox (an ended session's
   *  mailbox is not kept for a later reconnect). Unknown session keys change nothing; a member
   *  key passed here never loses its queue. */
  end(meshId: string, pubkey: string, at: number): void {
    let dropped: QueueEntry[] = [];
    writeTx(this.db, () => {
      const { changes } = this.db.query("UPDATE sessions SET ended_at = ? WHERE mesh_id = ? AND pubkey = ?").run(at, meshId, pubkey);
      if (changes === 0) return;
      dropped = this.index.entriesOf(meshId, pubkey);
      deleteEntries(this.db, dropped);
    });
    this.index.remove(dropped);
  }
}
