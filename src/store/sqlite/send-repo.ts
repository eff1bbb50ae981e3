// Storing sends: one message row each, plus one queue row per recipient mailbox, a batch per
// transaction (group commit: one commit for many sends). Both tables grow at their right edge;
// de-duplication and mailbox order are answered by the QueueIndex, updated after the commit.
import type { Database } from "bun:sqlite";
import { randomId } from "../../crypto/hash.ts";
import { MeshError } from "../../protocol/errors.ts";
import type { NewMessage, SendOutcome, Sent, StoredMessage } from "../types.ts";
import type { AdmittedMessage, NewEntry, QueueIndex } from "./queue-index.ts";
import type { TopicTrims, TrimmedRow } from "./topic-trims.ts";
import { SENT_SELECT, sentFromRow, undeliverableColumn, type SentRow } from "./rows.ts";
import { writeTx, type Staged } from "./transaction.ts";

/** Member keys never change, so the sender member's key is cached by id; the cap only bounds
 *  memory on a broker with very many members. */
const PUBKEY_CACHE_MAX = 10_000;

type Admission = { message: AdmittedMessage; key: number; entries: NewEntry[] };

export class SendRepo {
  private readonly memberPubkeys = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly index: QueueIndex,
    private readonly trims: TopicTrims,
  ) {}

  /** Commits the whole batch or nothing; outcomes are in batch order. A clientMessageId the same
   *  sender key already used in the mesh (stored, or earlier in this batch) yields the original
   *  message and its undeliverable list with duplicate=true and recipients [] (nothing new was
   *  queued). With a topicHistoryLimit > 0, a topic post deletes the offset it pushed out of the
   *  window unless a mailbox still holds it (topic-trims.ts). An unknown topicId throws MeshError not_found and
   *  fails the batch. */
  commit(batch: readonly NewMessage[], topicHistoryLimit: number): SendOutcome[] {
    const staged = writeTx(this.db, () => this.stage(batch, topicHistoryLimit));
    staged.apply();
    return staged.out;
  }

  /** commit's writes, for a caller that runs them in its own transaction with others; apply()
   *  after that transaction committed. */
  stage(batch: readonly NewMessage[], topicHistoryLimit: number): Staged<SendOutcome[]> {
    const admitted: Admission[] = [];
    const trimmed: TrimmedRow[] = [];
    const left = new Map<number, number>();
    const inBatch = new Map<string, Sent>();
    const out = batch.map((m): SendOutcome => {
      const exact = `${m.meshId}\u0000${m.senderPubkey}\u0000${m.clientMessageId}`;
      const key = this.index.keyOf(m.meshId, m.senderPubkey, m.clientMessageId);
      const prior = inBatch.get(exact) ?? this.stored(key, m.meshId, m.senderPubkey, m.clientMessageId);
      if (prior) return { ...prior, duplicate: true, recipients: [] };
      const sent = this.insert(m, key, admitted);
      const offset = sent.message.topicOffset;
      if (m.topicId !== null && offset !== null && topicHistoryLimit > 0) {
        trimmed.push(...this.trims.trimOnPost(m.topicId, offset - topicHistoryLimit));
        left.set(m.topicId, offset - topicHistoryLimit);
      }
      inBatch.set(exact, sent);
      return sent;
    });
    return {
      out,
      apply: () => {
        for (const a of admitted) this.index.admit(a.message, a.key, a.entries);
        this.index.forget(trimmed);
        this.trims.deleted(trimmed);
        for (const [topicId, through] of left) this.trims.left(topicId, through);
      },
    };
  }

  /** The stored message of this sender key with this client message id, and the mailboxes its
   *  send skipped, or null. */
  findSent(meshId: string, senderPubkey: string, clientMessageId: string): Sent | null {
    return this.stored(this.index.keyOf(meshId, senderPubkey, clientMessageId), meshId, senderPubkey, clientMessageId);
  }

  private stored(key: number, meshId: string, senderPubkey: string, clientMessageId: string): Sent | null {
    for (const seq of this.index.candidates(key)) {
      const row = this.db.query<SentRow, [number]>(`${SENT_SELECT} WHERE m.seq = ?`).get(seq);
      if (row && row.mesh_id === meshId && row.sender_pubkey === senderPubkey && row.client_message_id === clientMessageId) return sentFromRow(row);
    }
    return null;
  }

  private insert(m: NewMessage, key: number, admitted: Admission[]): SendOutcome {
    const topic = m.topicId === null ? null : this.nextOffset(m.meshId, m.topicId);
    const message: StoredMessage = {
      seq: 0,
      id: randomId(),
      meshId: m.meshId,
      senderMemberId: m.senderMemberId,
      senderPubkey: m.senderPubkey,
      senderMemberPubkey: this.memberPubkey(m.senderMemberId) ?? m.senderPubkey,
      senderName: m.senderName,
      clientMessageId: m.clientMessageId,
      kind: m.kind,
      target: m.target,
      topic: topic?.name ?? null,
      topicOffset: topic?.offset ?? null,
      priority: m.priority,
      replyTo: m.replyTo,
      nonce: m.nonce,
      ciphertext: m.ciphertext,
      notice: m.notice,
      createdAt: Date.now(),
    };
    message.seq = this.insertMessage(message, m);

    const recipients = m.recipients.length < 2 ? m.recipients : [...new Set(m.recipients)]; // a DM has one
    const enqueue = this.db.query("INSERT INTO queue (message_seq, mesh_id, recipient, priority, expires_at, for_next_session) VALUES (?, ?, ?, ?, ?, ?)");
    const marked = m.forNextSession.size > 0 ? m.forNextSession : null;
    for (const r of recipients) enqueue.run(message.seq, m.meshId, r, m.priority, m.expiresAt, marked?.has(r) ? 1 : 0);
    admitted.push({
      message: {
        seq: message.seq,
        id: message.id,
        meshId: m.meshId,
        senderMemberId: m.senderMemberId,
        senderPubkey: m.senderPubkey,
        clientMessageId: m.clientMessageId,
        createdAt: message.createdAt,
        notice: m.kind === "system",
        topic: m.topicId === null || topic === null ? null : { id: m.topicId, offset: topic.offset },
      },
      key,
      entries: recipients.map((r) => ({ recipient: r, priority: m.priority, expiresAt: m.expiresAt, claimedBy: m.claimFor.get(r) ?? null, forNextSession: marked?.has(r) ?? false })),
    });
    return { message, undeliverable: m.undeliverable, duplicate: false, recipients };
  }

  private nextOffset(meshId: string, topicId: number): { name: string; offset: number } {
    const row = this.db
      .query<{ name: string; last_offset: number }, [number, string]>(
        "UPDATE topics SET last_offset = last_offset + 1 WHERE id = ? AND mesh_id = ? RETURNING name, last_offset",
      )
      .get(topicId, meshId);
    if (!row) throw new MeshError("not_found", "no such topic");
    return { name: row.name, offset: row.last_offset };
  }

  private insertMessage(msg: StoredMessage, m: NewMessage): number {
    // Positional parameters and lastInsertRowid: half the cost of named ones with RETURNING.
    const { lastInsertRowid } = this.db
      .query(
        `INSERT INTO messages (id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target,
           topic_id, topic_offset, priority, reply_to, nonce, ciphertext, notice, created_at, expires_at, undeliverable)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        msg.id,
        msg.meshId,
        msg.senderMemberId,
        msg.senderPubkey,
        msg.senderName,
        msg.clientMessageId,
        msg.kind,
        msg.target,
        m.topicId,
        msg.topicOffset,
        msg.priority,
        msg.replyTo,
        msg.nonce,
        msg.ciphertext,
        msg.notice === null ? null : JSON.stringify(msg.notice),
        msg.createdAt,
        m.expiresAt,
        undeliverableColumn(m.undeliverable),
      );
    return Number(lastInsertRowid);
  }

  private memberPubkey(memberId: string): string | null {
    const cached = this.memberPubkeys.get(memberId);
    if (cached !== undefined) return cached;
    const row = this.db.query<{ pubkey: string }, [string]>("SELECT pubkey FROM members WHERE id = ?").get(memberId);
    if (!row) return null;
    if (this.memberPubkeys.size >= PUBKEY_CACHE_MAX) this.memberPubkeys.clear();
    this.memberPubkeys.set(memberId, row.pubkey);
    return row.pubkey;
  }
}
