// Pushing queued messages to live connections, with per-connection flow control: at most
// PUSH_WINDOW messages are outstanding (pushed, not yet acked) per connection; the rest stay queued
// and are claimed as acks come back. Pushed messages are claimed by that connection until it
// acks them or closes, so two connections never hold the same queue entry.
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import type { Priority } from "../protocol/fields.ts";
import { PUSH_WINDOW } from "../protocol/limits.ts";
import type { StoredMessage } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";
import type { Conn } from "./conn.ts";
import type { Presence } from "./hub.ts";
import { deliverable, passes } from "./gating.ts";

export function toPush(m: StoredMessage): MessagePushFrame {
  const f: MessagePushFrame = {
    type: "message",
    messageId: m.id,
    meshId: m.meshId,
    kind: m.kind,
    from: { memberId: m.senderMemberId, memberPubkey: m.senderMemberPubkey, pubkey: m.senderPubkey, name: m.senderName },
    to: m.target,
    priority: m.priority,
    clientMessageId: m.clientMessageId,
    nonce: m.nonce,
    ciphertext: m.ciphertext,
    createdAt: m.createdAt,
  };
  if (m.topic !== null) f.topic = m.topic;
  if (m.topicOffset !== null) f.topicOffset = m.topicOffset;
  if (m.replyTo !== null) f.replyTo = m.replyTo;
  if (m.notice !== null) f.notice = m.notice;
  return f;
}

/** Messages pushed to `c` and not acked, plus those claimed for it and about to be pushed. */
const outstanding = (c: Conn) => c.inflight.size + c.claimedUncommitted;

/** The connection of `p` that should receive a `priority` message now, or null if none may. */
export function pickConn(p: Presence | undefined, priority: Priority): Conn | null {
  if (!p || !passes(p.status, priority)) return null;
  let best: Conn | null = null;
  for (const c of p.conns) {
    if (!c.ready || c.receive !== "push" || outstanding(c) >= PUSH_WINDOW || c.pushBudget <= 0) continue;
    if (!best || outstanding(c) < outstanding(best)) best = c;
  }
  return best;
}

/** Sends an already-claimed message to a connection. */
export function pushClaimed(conn: Conn, messageId: string, text: string): void {
  conn.inflight.add(messageId);
  conn.sendRaw(text);
}

/** Claims and pushes waiting messages until the window is full or the queue is empty. Safe to
 *  call at any time; concurrent calls for one connection collapse into one loop. A draining
 *  broker pushes nothing (an ack it still takes frees room): a push just before the 1001 would
 *  rarely be acked in time, and is pushed again after the restart. What it claimed stays claimed
 *  until the process ends, as every claim of a draining broker does (session.ts onClose). */
export async function pump(ctx: BrokerContext, conn: Conn, presence: Presence): Promise<void> {
  if (conn.pumping || !conn.ready || conn.receive !== "push" || !conn.identity) return;
  conn.pumping = true;
  try {
    const id = conn.identity;
    while (conn.backlog && conn.ready && !ctx.draining) {
      const room = PUSH_WINDOW - outstanding(conn);
      const budget = conn.pushBudget;
      // Resumed by an ack (room), or once the socket took the bytes (budget: server.ts resumePushes).
      if (room <= 0 || budget <= 0) return;
      const limit = Math.min(room, 256);
      const wakes = conn.wakes;
      const batch = await ctx.store.claim(id.meshId, [id.pubkey], { conn: conn.id, limit, priorities: deliverable(presence.status), maxBytes: budget });
      // The newest may be committed and not yet flushed: nothing is pushed before it is (router.ts).
      if (batch.length > 0) await ctx.store.flushed();
      if (conn.state === "closed") {
        await ctx.store.releaseClaims(conn.id);
        return;
      }
      if (ctx.draining) return;
      for (const m of batch) pushClaimed(conn, m.id, JSON.stringify(toPush(m)));
      // A short batch means the queue is empty, unless the byte budget cut it (then wait for
      // drain) or a wake came while the claim was answered (a commit since: claim again).
      if (batch.length < limit && conn.pushBudget > 0 && conn.wakes === wakes) conn.backlog = false;
    }
  } catch (err) {
    ctx.log.error("pump failed", { conn: conn.id, err });
  } finally {
    conn.pumping = false;
  }
}

/** Marks every push connection of a presence as having backlog and pumps them. */
export function wake(ctx: BrokerContext, presence: Presence | undefined): void {
  if (!presence) return;
  for (const c of presence.conns) {
    c.backlog = true;
    c.wakes++;
    void pump(ctx, c, presence);
  }
}
