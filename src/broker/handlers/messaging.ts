// ack and fetch: the recipient side of delivery.
import type { ClientFrameOf } from "../../protocol/frames.ts";
import type { Results } from "../../protocol/results.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn } from "../conn.ts";
import { pump, toPush } from "../delivery.ts";

/** Ack ids, not given to the acking connection, that cost one token of its frame allowance. */
export const ACK_IDS_PER_TOKEN = 64;

/** Acknowledges messages for this connection's mailbox. Group-committed; resolves after commit,
 *  and for an ack with an `id` (whose result says the entries are deleted) after the flush too.
 *  An ack without an id may linger a few ms to share its commit with others. */
export async function handleAck(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"ack">): Promise<{ acked: number }> {
  const id = conn.identity!;
  let notGiven = 0;
  for (const m of f.messageIds) if (!conn.inflight.delete(m)) notGiven++;
  // Ids this connection was not given (a reconnect's late acks, or made up) cost its frame allowance.
  if (notGiven > 0) ctx.frameAllowance.spend(conn.id, Math.ceil(notGiven / ACK_IDS_PER_TOKEN));
  const { removed, notices } = await ctx.writes.ack({ meshId: id.meshId, mailbox: id.pubkey, messageIds: f.messageIds }, f.id !== undefined);
  if (removed > notices) ctx.metrics.delivered.message.inc(removed - notices);
  if (notices > 0) ctx.metrics.delivered.notice.inc(notices);
  const p = ctx.hub.get(id.meshId, id.pubkey);
  if (p && conn.backlog) void pump(ctx, conn, p);
  if (f.id !== undefined) await ctx.store.flushed();
  return { acked: removed };
}

/** Hands out waiting messages regardless of status gating (an explicit read). They stay claimed
 *  by this connection until acked or until it disconnects. */
export async function handleFetch(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"fetch">): Promise<Results["fetch"]> {
  const id = conn.identity!;
  const limit = f.limit ?? 100;
  // About a frame's worth per answer (at least one message): a page of 500 large messages is tens
  // of megabytes, which a slow link cannot download within a request's timeout (protocol §4.3.5).
  const claimed = await ctx.store.claim(id.meshId, [id.pubkey], { conn: conn.id, limit, maxBytes: ctx.config.maxFrameBytes });
  if (claimed.length > 0) await ctx.store.flushed(); // handed out only once flushed (router.ts)
  for (const m of claimed) conn.inflight.add(m.id);
  const pending = await ctx.store.pendingCount(id.meshId, [id.pubkey]);
  return { messages: claimed.map(toPush), remaining: Math.max(0, pending - conn.inflight.size) };
}
