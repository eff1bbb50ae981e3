// Background work of a running broker: liveness pings, attestation expiry, queue sweeping.
// Each timer is unref'd so it never keeps a stopped process alive.
import { CloseCode } from "../protocol/close-codes.ts";
import type { NewMessage } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";
import { deliver } from "./router.ts";

/** How often expired queue entries and old signatures are swept. */
const SWEEP_INTERVAL_MS = 30_000;

/** Sender shown on notices the broker itself sends (e.g. message_expired). */
export const BROKER_SENDER = { memberId: "claudemesh-broker", pubkey: "0".repeat(64), name: "claudemesh broker" };

/** One liveness round: close sockets that did not answer the previous ping, ping the rest, and
 *  close sessions whose attestation has expired (they reconnect with a fresh one). */
export function livenessRound(ctx: BrokerContext): void {
  const now = ctx.now();
  for (const c of ctx.hub.allConns()) {
    if (!c.ready) continue;
    const att = c.identity?.attestationExpiresAt;
    if (att !== null && att !== undefined && att <= now) {
      c.close(CloseCode.attestationExpired, "attestation_expired");
      continue;
    }
    if (c.awaitingPong) {
      ctx.log.info("closing unresponsive connection", { conn: c.id });
      c.close(CloseCode.stale, "stale");
      continue;
    }
    c.awaitingPong = true;
    c.transport.ping();
  }
  refreshLastSeen(ctx, now);
}

/** Routing leaves out sessions not seen for `messageTtl` (RosterCache). A session connected for
 *  longer than that is seen all along: store its last-seen time again at half the horizon. */
function refreshLastSeen(ctx: BrokerContext, now: number): void {
  for (const p of ctx.hub.all()) {
    if (p.conns.size === 0 || now - p.seenStoredAt < ctx.config.messageTtl / 2) continue;
    p.seenStoredAt = now;
    void ctx.store.setPresence(p.identity.meshId, p.identity.pubkey, { lastSeenAt: now }).catch((err) => ctx.log.warn("saving last-seen failed", { err }));
  }
}

/** Deletes expired entries and tells each sender whose message reached nobody. */
export async function sweepRound(ctx: BrokerContext): Promise<void> {
  const now = ctx.now();
  const r = await ctx.store.sweep(now, ctx.config.dedupWindow);
  ctx.metrics.messagesExpired.inc(r.expiredRows);
  // All notices of a sweep share one group commit.
  const notices = r.expiredMessages.map((m): NewMessage => ({
    meshId: m.meshId,
    senderMemberId: BROKER_SENDER.memberId,
    senderPubkey: BROKER_SENDER.pubkey,
    senderName: BROKER_SENDER.name,
    clientMessageId: `expired-${m.id}`,
    kind: "system",
    target: m.senderPubkey,
    topic: null,
    topicId: null,
    priority: "low",
    replyTo: m.id,
    nonce: "",
    ciphertext: "",
    notice: { event: "message_expired", messageId: m.id, clientMessageId: m.clientMessageId, to: m.target },
    expiresAt: now + ctx.config.messageTtl,
    recipients: [m.senderPubkey],
    claimFor: new Map(),
  }));
  const outcomes = await Promise.all(notices.map((n) => ctx.writes.send(n)));
  for (const out of outcomes) if (!out.duplicate) deliver(ctx, out.message, out.recipients, new Map());
}

export function startTimers(ctx: BrokerContext): { stop(): void } {
  const handles = [
    setInterval(() => livenessRound(ctx), ctx.config.pingInterval),
    setInterval(() => void sweepRound(ctx).catch((err) => ctx.log.error("sweep failed", { err })), SWEEP_INTERVAL_MS),
    setInterval(() => ctx.sendLimiter.prune(), 300_000),
  ];
  for (const h of handles) h.unref?.();
  return { stop: () => handles.forEach(clearInterval) };
}
