// The in-memory index over the `messages` and `queue` tables. SQLite keeps the rows durable, keyed
// only by append-ordered keys (migrations/0002_lean_queue.sql); this index answers everything the
// hot path would otherwise need a secondary b-tree for: each mailbox's entries in FIFO order and
// by message id, claims per connection, queue depth (per mailbox, per sending member within a
// mailbox, per mesh and in all: what the quota checks read, broker/queue-bounds.ts), pending
// entries per message, the de-duplication keys, entries by expiry (expiry-heap.ts) and which
// messages the sweep may delete (sweep-candidates.ts).
//
// Rebuilt from the tables when the store opens. Changed only after the transaction that wrote the
// rows committed, so a rollback never skews it. Exact for one broker process per database file
// (the embedded deployment); claims are per connection and die with the process anyway.
import type { Database } from "bun:sqlite";
import type { Priority } from "../../protocol/fields.ts";
import { KeyTable } from "../../key-table.ts";
import { ExpiryHeap } from "./expiry-heap.ts";
import { SweepCandidates, type DeletionPlan } from "./sweep-candidates.ts";

export type QueueEntry = {
  readonly seq: number;
  /** The message's id (what acks name). */
  readonly id: string;
  readonly meshId: string;
  readonly recipient: string;
  readonly priority: Priority;
  readonly expiresAt: number;
  claimedBy: string | null;
  /** On a member key's entry: no session of the member was around to receive it, and the
   *  member's next session gets a copy (migrations/0007_queue_for_next_session.sql). On a
   *  session's entry: the session holds it in its member's name (a copy, its own entry when it
   *  took the mark, or the only session of its member the message reached), so ending the session
   *  unacked marks the member's entry again. */
  forNextSession: boolean;
};

export type NewEntry = { recipient: string; priority: Priority; expiresAt: number; claimedBy: string | null; forNextSession: boolean };

/** What the index records about a committed message. */
export type AdmittedMessage = {
  seq: number;
  id: string;
  meshId: string;
  /** The sending member (a session's member; the broker's id for a notice): whose share of each
   *  recipient mailbox the message's entries take. */
  senderMemberId: string;
  senderPubkey: string;
  clientMessageId: string;
  createdAt: number;
  /** A notice of the broker's own (kind "system", protocol §5.8), not a member's message: its
   *  entries are counted apart when acked or expired (broker_messages_*_total{kind}). Absent: a
   *  member's message. */
  notice?: boolean;
  /** Where a topic message stands in its topic, else null. Topic messages are history: trimmed
   *  by offset, never by the dedup window. */
  topic: TopicPlace | null;
};

/** A topic message's topic and offset. */
export type TopicPlace = { id: number; offset: number };

/** A message some mailbox still holds; `sender`, `notice` and `topic` as in AdmittedMessage. */
type Pending = { count: number; delivered: boolean; topic: TopicPlace | null; sender: string; notice: boolean };

/** One mailbox: its entries by message id, in queue order (a Map iterates in insertion order),
 *  and how many of them each sending member's messages are. */
class Mailbox extends Map<string, QueueEntry> {
  readonly bySender = new Map<string, number>();
}

/** Emptied mailboxes kept for reuse, at most: enough for every mailbox a busy broker's turn
 *  empties, a few hundred KiB held at most. */
const SPARE_MAILBOXES = 256;

/** One mesh's mailboxes by key, and how many entries they hold together. */
class MeshQueues extends Map<string, Mailbox> {
  held = 0;
}

/** A deleted message row's de-duplication key, as DELETE … RETURNING gives it. */
export type MessageKeyRow = { seq: number; mesh_id: string; sender_pubkey: string; client_message_id: string };


/** 53 bits of wyhash over the de-duplication key; a hit is confirmed against the stored row. */
export const dedupHash = (meshId: string, senderPubkey: string, clientMessageId: string): number =>
  Number(Bun.hash(`${meshId}\u0000${senderPubkey}\u0000${clientMessageId}`) & 0x1f_ffff_ffff_ffffn);

/** candidates() of a key no stored message has: every new send's (twice: findSent, then its commit). */
const NO_CANDIDATES: readonly number[] = Object.freeze([]);

const PAGE_ROWS = 10_000;

/** Runs `sql` page by page: its parameters are the cursor (the key of the last row read, `start`
 *  before the first page) followed by a row limit, and it orders by that key. */
function pages<Row extends unknown[]>(db: Database, sql: string, start: unknown[], keyOf: (r: Row) => unknown[], each: (r: Row) => void): void {
  const q = db.query<Row, never>(sql);
  let cursor = start;
  for (;;) {
    const rows = (q.values as (...args: unknown[]) => Row[])(...cursor, PAGE_ROWS);
    for (const r of rows) each(r);
    if (rows.length < PAGE_ROWS) return;
    cursor = keyOf(rows[rows.length - 1]!);
  }
}

export class QueueIndex {
  /** Mesh → mailbox key → message id → entry; a Map iterates in insertion order, which is seq
   *  order. Nested rather than keyed by a joined string: no string is built per lookup. */
  private readonly meshes = new Map<string, MeshQueues>();
  private readonly claims = new Map<string, Set<QueueEntry>>();
  private readonly pending = new KeyTable<Pending>();
  private readonly dedup = new Map<number, number | number[]>();
  /** Non-topic messages, for the sweep to delete once past the dedup window and held by none. */
  private readonly sweepable = new SweepCandidates();
  /** Told, after the commit, of each topic message that lost its last queue entry (the store
   *  passes it to topic-trims.ts). */
  onTopicFreed: (seq: number, topic: TopicPlace) => void = () => {};
  private entries = 0;
  /** Emptied mailboxes, to be filled again. A recipient that acks each push as it comes empties
   *  its mailbox with every message, and a new one is two Maps and their tables (~500 bytes). */
  private readonly spareBoxes: Mailbox[] = [];
  /** Every entry by expiry, for the sweep (removed ones leave lazily, expiry-heap.ts). */
  private readonly expiry = new ExpiryHeap<QueueEntry>((e) => this.box(e.meshId, e.recipient)?.get(e.id) === e);

  /** `hash` is replaceable for tests of colliding keys. */
  constructor(private readonly hash = dedupHash) {}

  /** Reads both tables once, in key order, a page of positional rows at a time (a fraction of
   *  the cost of an object per row, without holding a whole table in memory). */
  static load(db: Database): QueueIndex {
    const index = new QueueIndex();
    // Rows bring a fresh copy of every mesh id and mailbox key; entries share one of each.
    const interned = new Map<string, string>();
    const intern = (v: string) => interned.get(v) ?? (interned.set(v, v), v);
    type QueueRow = [seq: number, id: string, meshId: string, recipient: string, priority: Priority, expiresAt: number, delivered: number, forNextSession: number, sender: string, notice: number];
    pages<QueueRow>(
      db,
      `SELECT q.message_seq, m.id, q.mesh_id, q.recipient, q.priority, q.expires_at,
              m.delivered_at IS NOT NULL, q.for_next_session, m.sender_member_id, m.kind = 'system'
       FROM queue q JOIN messages m ON m.seq = q.message_seq
       WHERE (q.message_seq, q.mesh_id, q.recipient) > (?, ?, ?) ORDER BY q.message_seq, q.mesh_id, q.recipient LIMIT ?`,
      [-1, "", ""],
      (r) => [r[0], r[2], r[3]],
      ([seq, id, meshId, recipient, priority, expiresAt, delivered, forNextSession, sender, notice]) => {
        index.addEntry(seq, id, intern(meshId), intern(sender), notice === 1, { recipient: intern(recipient), priority: intern(priority) as Priority, expiresAt, claimedBy: null, forNextSession: forNextSession === 1 });
        if (delivered === 1) index.pending.get(seq)!.delivered = true;
      },
    );
    type MessageRow = [seq: number, meshId: string, senderPubkey: string, clientMessageId: string, createdAt: number, topicId: number | null, offset: number | null];
    pages<MessageRow>(
      db,
      "SELECT seq, mesh_id, sender_pubkey, client_message_id, created_at, topic_id, topic_offset FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
      [-1],
      (r) => [r[0]],
      ([seq, meshId, senderPubkey, clientMessageId, createdAt, id, offset]) =>
        index.remember(seq, index.hash(meshId, senderPubkey, clientMessageId), createdAt, id === null ? null : { id, offset: offset! }),
    );
    return index;
  }

  /** The de-duplication key's hash, for candidates and admit. */
  keyOf(meshId: string, senderPubkey: string, clientMessageId: string): number {
    return this.hash(meshId, senderPubkey, clientMessageId);
  }

  /** Stored messages whose de-duplication key has this hash (confirm against the row). */
  candidates(key: number): readonly number[] {
    const v = this.dedup.get(key);
    return v === undefined ? NO_CANDIDATES : typeof v === "number" ? [v] : v;
  }

  /** Records a committed message (`key` from keyOf) and its queue entries. */
  admit(m: AdmittedMessage, key: number, entries: readonly NewEntry[]): void {
    for (const e of entries) this.addEntry(m.seq, m.id, m.meshId, m.senderMemberId, m.notice === true, e);
    this.remember(m.seq, key, m.createdAt, m.topic);
  }

  entry(meshId: string, recipient: string, messageId: string): QueueEntry | undefined {
    return this.box(meshId, recipient)?.get(messageId);
  }

  /** Copies of these committed entries of one mesh in `recipient`'s mailbox (one it already holds
   *  is kept), flagged as held for the member (forNextSession) and unclaimed, in seq order among
   *  the mailbox's own. */
  copyTo(entries: readonly QueueEntry[], recipient: string): void {
    if (entries.length === 0) return;
    const box = this.box(entries[0]!.meshId, recipient);
    const last = box ? [...box.values()].reduce((max, e) => Math.max(max, e.seq), -1) : -1;
    for (const e of entries) {
      const p = this.pending.get(e.seq)!;
      this.addEntry(e.seq, e.id, e.meshId, p.sender, p.notice, { recipient, priority: e.priority, expiresAt: e.expiresAt, claimedBy: null, forNextSession: true });
    }
    if (box && entries.some((e) => e.seq < last)) {
      // A mailbox iterates in insertion order, which must stay seq order (FIFO): re-insert it sorted.
      const sorted = [...box.values()].sort((a, b) => a.seq - b.seq);
      box.clear();
      for (const e of sorted) box.set(e.id, e);
    }
  }

  /** Every entry of a mailbox, in queue order. */
  entriesOf(meshId: string, recipient: string): QueueEntry[] {
    return [...(this.box(meshId, recipient)?.values() ?? [])];
  }

  /** The first `limit` unclaimed, unexpired entries across the mailboxes, in queue order,
   *  optionally only of some priorities. Changes nothing; see claim. */
  pick(meshId: string, recipients: readonly string[], limit: number, now: number, priorities?: readonly Priority[]): QueueEntry[] {
    const picked: QueueEntry[] = [];
    for (const r of recipients) {
      let n = 0;
      for (const e of this.box(meshId, r)?.values() ?? []) {
        if (n >= limit) break;
        if (e.claimedBy !== null || e.expiresAt <= now || (priorities && !priorities.includes(e.priority))) continue;
        picked.push(e);
        n++;
      }
    }
    return recipients.length > 1 ? picked.sort((a, b) => a.seq - b.seq).slice(0, limit) : picked;
  }

  claim(entries: readonly QueueEntry[], conn: string): void {
    for (const e of entries) this.claimOne(e, conn);
  }

  /** Frees a connection's claims; returns how many. */
  release(conn: string): number {
    const held = this.claims.get(conn);
    if (!held) return 0;
    for (const e of held) e.claimedBy = null;
    this.claims.delete(conn);
    return held.size;
  }

  /** Whether the message was marked delivered (some recipient acked it). */
  delivered(seq: number): boolean {
    return this.pending.get(seq)?.delivered ?? false;
  }

  /** Whether a message some mailbox still holds is a notice of the broker's (AdmittedMessage.notice). */
  isNotice(seq: number): boolean {
    return this.pending.get(seq)?.notice ?? false;
  }

  markDelivered(seq: number): void {
    const p = this.pending.get(seq);
    if (p) p.delivered = true;
  }

  /** How many entries each of these entries' messages would have left once they are removed. */
  leftAfter(entries: Iterable<QueueEntry>): Map<number, number> {
    const left = new Map<number, number>();
    for (const e of entries) left.set(e.seq, (left.get(e.seq) ?? this.pending.get(e.seq)?.count ?? 0) - 1);
    return left;
  }

  /** Removes committed deletions of entries. */
  remove(entries: Iterable<QueueEntry>): void {
    for (const e of entries) {
      const mesh = this.meshes.get(e.meshId);
      const box = mesh?.get(e.recipient);
      if (box?.get(e.id) !== e) continue;
      box.delete(e.id);
      this.entries--;
      if (e.claimedBy !== null) this.claims.get(e.claimedBy)?.delete(e);
      const p = this.pending.get(e.seq)!;
      const n = box.bySender.get(p.sender)! - 1;
      if (n > 0) box.bySender.set(p.sender, n);
      else box.bySender.delete(p.sender);
      // An emptied mailbox goes (kept for reuse), and so does an emptied mesh: its counter restarts from 0.
      if (--mesh!.held === 0) this.meshes.delete(e.meshId);
      else if (box.size === 0) mesh!.delete(e.recipient);
      if (box.size === 0 && box.bySender.size === 0 && this.spareBoxes.length < SPARE_MAILBOXES) this.spareBoxes.push(box);
      if (--p.count === 0) {
        this.pending.delete(e.seq);
        this.sweepable.released(e.seq);
        if (p.topic !== null) this.onTopicFreed(e.seq, p.topic);
      }
    }
    this.expiry.compact(this.entries);
  }

  /** Entries expired at `now`, claimed or not, earliest first, at most `limit` of them: the
   *  first ones of a heap by expiry, not a walk of every mailbox. */
  expired(now: number, limit = Infinity): QueueEntry[] {
    return this.expiry.expired(now, limit);
  }

  /** Entries the expiry heap holds, removed ones not yet dropped included (for tests). */
  get expiryHeld(): number {
    return this.expiry.size;
  }

  depth(meshId: string, pubkey: string): number {
    return this.box(meshId, pubkey)?.size ?? 0;
  }

  /** Entries of the mailbox that are messages of this sending member. */
  depthFrom(meshId: string, pubkey: string, senderMemberId: string): number {
    return this.box(meshId, pubkey)?.bySender.get(senderMemberId) ?? 0;
  }

  /** Entries of all the mesh's mailboxes. */
  meshSize(meshId: string): number {
    return this.meshes.get(meshId)?.held ?? 0;
  }

  /** Unexpired entries of the mailboxes, claimed or not. */
  unexpired(meshId: string, pubkeys: readonly string[], now: number): number {
    let n = 0;
    for (const pk of new Set(pubkeys)) for (const e of this.box(meshId, pk)?.values() ?? []) if (e.expiresAt > now) n++;
    return n;
  }

  get size(): number {
    return this.entries;
  }

  /** Non-topic messages created before `cutoff` that no mailbox holds any more (counting those
   *  in `emptying` as held by none), at most `limit` of them, from at most `limit` looked at (the
   *  rest are found next time): the rows a sweep deletes. Changes nothing until afterDeletion. */
  deletionPlan(cutoff: number, emptying: ReadonlySet<number>, limit = Infinity): DeletionPlan {
    return this.sweepable.plan(cutoff, this.isPending, emptying, limit);
  }

  /** Applies a committed deletion plan; `deleted` are the rows it removed, with their dedup keys. */
  afterDeletion(plan: DeletionPlan, deleted: readonly MessageKeyRow[]): void {
    this.sweepable.apply(plan, this.isPending);
    this.forget(deleted);
  }

  /** Drops the de-duplication keys of deleted message rows. */
  forget(deleted: readonly MessageKeyRow[]): void {
    for (const d of deleted) {
      const h = this.hash(d.mesh_id, d.sender_pubkey, d.client_message_id);
      const v = this.dedup.get(h);
      if (v === d.seq) this.dedup.delete(h);
      else if (Array.isArray(v)) {
        const rest = v.filter((s) => s !== d.seq);
        if (rest.length === 1) this.dedup.set(h, rest[0]!);
        else this.dedup.set(h, rest);
      }
    }
  }

  /** After the message's entries were added (a held topic message's Pending learns its topic). */
  private remember(seq: number, hash: number, createdAt: number, topic: TopicPlace | null): void {
    const v = this.dedup.get(hash);
    this.dedup.set(hash, v === undefined ? seq : typeof v === "number" ? [v, seq] : [...v, seq]);
    if (topic === null) this.sweepable.add(seq, createdAt);
    else {
      const p = this.pending.get(seq);
      if (p) p.topic = topic;
    }
  }

  private readonly isPending = (seq: number) => this.pending.has(seq);

  private box(meshId: string, recipient: string): Mailbox | undefined {
    return this.meshes.get(meshId)?.get(recipient);
  }

  private addEntry(seq: number, id: string, meshId: string, sender: string, notice: boolean, e: NewEntry): void {
    let mesh = this.meshes.get(meshId);
    if (!mesh) this.meshes.set(meshId, (mesh = new MeshQueues()));
    let box = mesh.get(e.recipient);
    if (!box) mesh.set(e.recipient, (box = this.spareBoxes.pop() ?? new Mailbox()));
    if (box.has(id)) return;
    const entry: QueueEntry = { seq, id, meshId, recipient: e.recipient, priority: e.priority, expiresAt: e.expiresAt, claimedBy: null, forNextSession: e.forNextSession };
    box.set(id, entry);
    box.bySender.set(sender, (box.bySender.get(sender) ?? 0) + 1);
    this.expiry.push(entry);
    this.entries++;
    mesh.held++;
    const p = this.pending.get(seq);
    if (p) p.count++;
    else this.pending.set(seq, { count: 1, delivered: false, topic: null, sender, notice });
    if (e.claimedBy !== null) this.claimOne(entry, e.claimedBy);
  }

  private claimOne(e: QueueEntry, conn: string): void {
    e.claimedBy = conn;
    let held = this.claims.get(conn);
    if (!held) this.claims.set(conn, (held = new Set()));
    held.add(e);
  }
}
