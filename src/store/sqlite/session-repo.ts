// Sessions: one Claude Code process each, with its own key and mailbox, vouched for by a member.
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import type { AttestationFields } from "../../protocol/frames.ts";
import type { HandedOver, Session, SessionPrunePlace } from "../types.ts";
import type { QueueEntry, QueueIndex } from "./queue-index.ts";
import { deleteEntries } from "./queue-repo.ts";
import { sessionFromRow, undeliverableFrom, type SessionRow } from "./rows.ts";
import { pruneSessions } from "./session-prune.ts";
import { writeTx } from "./transaction.ts";

export type SessionSeen = Omit<Session, "firstSeenAt" | "endedAt" | "status" | "summary">;

/** Stored as the frame carried it, its four fields in a fixed order. */
const attestationText = (a: AttestationFields | null) =>
  a === null ? null : JSON.stringify({ sessionPubkey: a.sessionPubkey, parentMemberPubkey: a.parentMemberPubkey, expiresAt: a.expiresAt, signature: a.signature });

/** Sets or clears the next-session mark of these entries' rows, inside a write transaction. */
function setMark(db: Database, entries: readonly QueueEntry[], on: boolean): void {
  const mark = db.query("UPDATE queue SET for_next_session = ? WHERE message_seq = ? AND mesh_id = ? AND recipient = ?");
  for (const e of entries) mark.run(on ? 1 : 0, e.seq, e.meshId, e.recipient);
}

export class SessionRepo {
  constructor(
    private readonly db: Database,
    private readonly index: QueueIndex,
  ) {}

  /** Creates the session, or refreshes its name, cwd, host, member and last-seen time and revives
   *  it if it had ended. Status and summary survive a reconnect. A member removed since the hello
   *  was authenticated gets no row (its removal ended its sessions, and nothing would end a
   *  revived one): MeshError revoked. */
  upsert(s: SessionSeen): Session {
    const row = this.db
      .query<SessionRow, Record<string, string | number | null>>(
        `INSERT INTO sessions (mesh_id, pubkey, member_id, display_name, cwd, hostname, first_seen_at, last_seen_at, attestation)
         SELECT $meshId, $pubkey, $memberId, $displayName, $cwd, $hostname, $lastSeenAt, $lastSeenAt, $attestation
         FROM members WHERE mesh_id = $meshId AND id = $memberId AND revoked_at IS NULL
         ON CONFLICT (mesh_id, pubkey) DO UPDATE SET member_id = excluded.member_id, display_name = excluded.display_name,
           cwd = excluded.cwd, hostname = excluded.hostname, last_seen_at = excluded.last_seen_at, ended_at = NULL,
           attestation = excluded.attestation
         RETURNING *`,
      )
      .get({ meshId: s.meshId, pubkey: s.pubkey, memberId: s.memberId, displayName: s.displayName, cwd: s.cwd, hostname: s.hostname, lastSeenAt: s.lastSeenAt, attestation: attestationText(s.attestation) });
    if (!row) throw new MeshError("revoked");
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

  /** Live sessions (not ended) seen at or after `since` (ms), most recently seen first; only
   *  `memberId`'s when given. One member's are read through its own index: the mesh's live-session
   *  index would read every live session of the mesh to find them (a session hello in a mesh of
   *  4,000 sessions spent 11 ms in that read). */
  listLive(meshId: string, since: number, memberId?: string): Session[] {
    const order = "ORDER BY last_seen_at DESC, pubkey";
    const rows =
      memberId === undefined
        ? this.db.query<SessionRow, [string, number]>(`SELECT * FROM sessions WHERE mesh_id = ? AND ended_at IS NULL AND last_seen_at >= ? ${order}`).all(meshId, since)
        : this.db
            .query<SessionRow, [string, string, number]>(`SELECT * FROM sessions INDEXED BY sessions_member WHERE mesh_id = ? AND member_id = ? AND ended_at IS NULL AND last_seen_at >= ? ${order}`)
            .all(meshId, memberId, since);
    return rows.map(sessionFromRow);
  }

  /** A step of a pass over the rows of sessions long over (session-prune.ts). */
  prune(nowMs: number, messageTtlMs: number, from: SessionPrunePlace | null): ReturnType<typeof pruneSessions> {
    return pruneSessions(this.db, this.index, nowMs, messageTtlMs, from);
  }

  /** Ends the session and drops whatever is still queued for its mailbox (an ended session's
   *  mailbox is not kept for a later reconnect). What it drops that it held in its member's name
   *  (QueueEntry.forNextSession) and its member's mailbox still holds is marked there for the
   *  member's next session again: the session it was given to never acked it. Unknown session keys
   *  change nothing; a member key passed here never loses its queue. */
  end(meshId: string, pubkey: string, at: number): void {
    let dropped: QueueEntry[] = [];
    let remarked: QueueEntry[] = [];
    writeTx(this.db, () => {
      const { changes } = this.db.query("UPDATE sessions SET ended_at = ? WHERE mesh_id = ? AND pubkey = ?").run(at, meshId, pubkey);
      if (changes === 0) return;
      dropped = this.index.entriesOf(meshId, pubkey);
      deleteEntries(this.db, dropped);
      const member = this.db
        .query<{ pubkey: string }, [string, string]>("SELECT m.pubkey FROM sessions s JOIN members m ON m.id = s.member_id WHERE s.mesh_id = ? AND s.pubkey = ?")
        .get(meshId, pubkey);
      if (!member) return;
      remarked = this.behind(meshId, member.pubkey, dropped).map(([, m]) => m);
      setMark(this.db, remarked, true);
    });
    this.index.remove(dropped);
    for (const e of remarked) e.forNextSession = true;
  }

  /** Undoes handOver for a session whose hello was refused after it (it never attached; another
   *  connection of the same key may be attached, and keeps what it claimed): of what that hello
   *  took, each entry no connection claimed since gets its member's entry marked again; a copy
   *  leaves the session's mailbox, an entry it held already stays there, unflagged as before.
   *  Returns how many. */
  giveBack(meshId: string, memberPubkey: string, sessionPubkey: string, given: HandedOver): number {
    const pick = (ids: readonly string[]) => {
      const unclaimed = ids.flatMap((id) => this.index.entry(meshId, sessionPubkey, id) ?? []).filter((e) => e.claimedBy === null);
      return this.behind(meshId, memberPubkey, unclaimed);
    };
    const copies = pick(given.copied);
    const held = pick(given.took);
    if (copies.length + held.length === 0) return 0;
    writeTx(this.db, () => {
      deleteEntries(this.db, copies.map(([s]) => s));
      setMark(this.db, held.map(([s]) => s), false);
      setMark(this.db, [...copies, ...held].map(([, m]) => m), true);
    });
    this.index.remove(copies.map(([s]) => s));
    for (const [s] of held) s.forNextSession = false;
    for (const [, m] of [...copies, ...held]) m.forNextSession = true;
    return copies.length + held.length;
  }

  /** Of a session's entries, those it holds in its member's name, each with the member's entry
   *  behind it, unmarked and still there. The session's other entries reached it beside sibling
   *  sessions of its member, which may have shown them already: they are never given back. */
  private behind(meshId: string, memberPubkey: string, entries: readonly QueueEntry[]): [session: QueueEntry, member: QueueEntry][] {
    const out: [QueueEntry, QueueEntry][] = [];
    for (const e of entries) {
      const m = e.forNextSession ? this.index.entry(meshId, memberPubkey, e.id) : undefined;
      if (m && !m.forNextSession) out.push([e, m]);
    }
    return out;
  }

  /** Whether the message's send skipped `mailbox` for a full queue (its stored `undeliverable`).
   *  Such a session was a recipient: its sender was told it never got the message (protocol
   *  §5.3), and a copy given at a later hello would come after newer messages it was pushed
   *  meanwhile (§5.5). A damaged list names none, as for a retry's result. */
  private skipped(seq: number, mailbox: string): boolean {
    const row = this.db.query<{ undeliverable: string | null }, [number]>("SELECT undeliverable FROM messages WHERE seq = ?").get(seq);
    return row?.undeliverable != null && (undeliverableFrom(row.undeliverable)?.some((u) => u.to === mailbox) ?? false);
  }

  /** Gives a session what its member's mailbox holds marked for the next session: a copy of each
   *  such unexpired entry in the session's mailbox, oldest first, until the mailbox holds `quota`
   *  entries (the rest stay marked), and unmarks them. An entry the session already holds is
   *  unmarked, not copied; one whose send skipped the session's mailbox (skipped) is neither,
   *  and stays marked for a session that was no recipient of it. The session's entry of each
   *  (copy or held) is flagged as held in the member's name, for end(). Says which it copied and
   *  which it took the mark of. */
  handOver(meshId: string, memberPubkey: string, sessionPubkey: string, quota: number, now: number): HandedOver {
    const marked = this.index.entriesOf(meshId, memberPubkey).filter((e) => e.forNextSession && e.expiresAt > now);
    if (marked.length === 0) return { copied: [], took: [] };
    const held: QueueEntry[] = [];
    const ownHeld: QueueEntry[] = [];
    const copied: QueueEntry[] = [];
    const room = Math.max(0, quota - this.index.depth(meshId, sessionPubkey));
    for (const e of marked) {
      const own = this.index.entry(meshId, sessionPubkey, e.id);
      if (own) {
        held.push(e);
        ownHeld.push(own);
      } else if (copied.length < room && !this.skipped(e.seq, sessionPubkey)) copied.push(e);
    }
    writeTx(this.db, () => {
      // The session's entry is flagged too: held in the member's name, given back by end().
      const copy = this.db.query("INSERT INTO queue (message_seq, mesh_id, recipient, priority, expires_at, for_next_session) VALUES (?, ?, ?, ?, ?, 1)");
      for (const e of copied) copy.run(e.seq, meshId, sessionPubkey, e.priority, e.expiresAt);
      setMark(this.db, [...held, ...copied], false);
      setMark(this.db, ownHeld, true);
    });
    this.index.copyTo(copied, sessionPubkey);
    for (const e of [...held, ...copied]) e.forNextSession = false;
    for (const e of ownHeld) e.forNextSession = true;
    return { copied: copied.map((e) => e.id), took: held.map((e) => e.id) };
  }
}
