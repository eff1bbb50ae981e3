// Storing sends: one message row each, plus one queue row per recipient mailbox, a batch per
// transaction (group commit: one fsync for many sends).
import type { Database } from "bun:sqlite";
import { randomId } from "../../crypto/hash.ts";
import { MeshError } from "../../protocol/errors.ts";
import type { NewMessage, SendOutcome, StoredMessage } from "../types.ts";
import { DepthDelta, type QueueDepth } from "./queue-depth.ts";
import { MESSAGE_SELECT, messageFromRow, type MessageRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

/** Member keys never change, so the sender member's key is cached by id; the cap only bounds
 *  memory on a broker with very many members. */
const PUBKEY_CACHE_MAX = 10_000;

export class SendRepo {
  private readonly memberPubkeys = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly depth: QueueDepth,
  ) {}

  /** Commits the whole batch or nothing; outcomes are in batch order. A clientMessageId the same
   *  sender key already used in the mesh (stored, or earlier in this batch) yields the original
   *  message with duplicate=true and recipients [] (nothing new was queued). With a
   *  topicHistoryLimit > 0, topic messages more than that many offsets old and no longer queued
   *  anywhere are deleted. An unknown topicId throws MeshError not_found and fails the batch. */
  commit(batch: readonly NewMessage[], topicHistoryLimit: number): SendOutcome[] {
    const delta = new DepthDelta();
    const outcomes = writeTx(this.db, () => batch.map((m) => this.commitOne(m, topicHistoryLimit, delta)));
    this.depth.apply(delta);
    return outcomes;
  }

  /** The stored message of this sender key with this client message id, or null. */
  findSent(meshId: string, senderPubkey: string, clientMessageId: string): StoredMessage | null {
    // Almost every send is new: probe the unique index alone (no joins), and read the full row
    // only for a real retry. The joined query costs ~8x more per miss (bench/probe-sqlite.ts).
    const hit = this.db
      .query<{ seq: number }, [string, string, string]>("SELECT seq FROM messages WHERE mesh_id = ? AND sender_pubkey = ? AND client_message_id = ?")
      .get(meshId, senderPubkey, clientMessageId);
    if (!hit) return null;
    const row = this.db.query<MessageRow, [number]>(`${MESSAGE_SELECT} WHERE m.seq = ?`).get(hit.seq);
    return row ? messageFromRow(row) : null;
  }

  private commitOne(m: NewMessage, topicHistoryLimit: number, delta: DepthDelta): SendOutcome {
    const prior = this.findSent(m.meshId, m.senderPubkey, m.clientMessageId);
    if (prior) return { message: prior, duplicate: true, recipients: [] };

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
    message.seq = this.insertMessage(message, m.topicId, m.expiresAt);

    const recipients = [...new Set(m.recipients)];
    const enqueue = this.db.query("INSERT INTO queue (mesh_id, recipient, message_seq, priority, expires_at, claimed_by) VALUES (?, ?, ?, ?, ?, ?)");
    for (const r of recipients) {
      enqueue.run(m.meshId, r, message.seq, m.priority, m.expiresAt, m.claimFor.get(r) ?? null);
      delta.add(m.meshId, r, 1);
    }
    if (topic && topicHistoryLimit > 0) this.trimTopic(m.topicId!, topic.offset - topicHistoryLimit);
    return { message, duplicate: false, recipients };
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

  private insertMessage(msg: StoredMessage, topicId: number | null, expiresAt: number): number {
    return this.db
      .query<{ seq: number }, Record<string, string | number | null>>(
        `INSERT INTO messages (id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target,
           topic_id, topic_offset, priority, reply_to, nonce, ciphertext, notice, created_at, expires_at)
         VALUES ($id, $meshId, $senderMemberId, $senderPubkey, $senderName, $clientMessageId, $kind, $target,
           $topicId, $topicOffset, $priority, $replyTo, $nonce, $ciphertext, $notice, $createdAt, $expiresAt)
         RETURNING seq`,
      )
      .get({
        id: msg.id,
        meshId: msg.meshId,
        senderMemberId: msg.senderMemberId,
        senderPubkey: msg.senderPubkey,
        senderName: msg.senderName,
        clientMessageId: msg.clientMessageId,
        kind: msg.kind,
        target: msg.target,
        topicId,
        topicOffset: msg.topicOffset,
        priority: msg.priority,
        replyTo: msg.replyTo,
        nonce: msg.nonce,
        ciphertext: msg.ciphertext,
        notice: msg.notice === null ? null : JSON.stringify(msg.notice),
        createdAt: msg.createdAt,
        expiresAt,
      })!.seq;
  }

  /** Deletes history at or below `throughOffset` that no mailbox still holds. */
  private trimTopic(topicId: number, throughOffset: number): void {
    if (throughOffset < 1) return;
    this.db
      .query(
        `DELETE FROM messages WHERE topic_id = ? AND topic_offset <= ?
           AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_seq = messages.seq)`,
      )
      .run(topicId, throughOffset);
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
