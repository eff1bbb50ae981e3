// Background work of a running broker: liveness pings, attestation expiry, queue sweeping, and a
// collection of the heap once idle after a burst.
// Each timer is unref'd so it never keeps a stopped process alive.
import { CloseCode } from "../protocol/close-codes.ts";
import { BROKER_SENDER } from "../protocol/server-frames.ts";
import type { NewMessage, StoredMessage } from "../store/types.ts";
import type { BrokerContext } from "./context.ts";
import { IDLE_TICK_MS } from "./idle-collect.ts";
import { deliver } from "./router.ts";

/** How often expired queue entries and old signatures are swept. */
const SWEEP_INTERVAL_MS = 30_000;

export { BROKER_SENDER };

/** Liveness runs in this many steps per ping interval, each over its slice of the connections:
 *  a broker with 10,000 sockets would otherwise write 10,000 pings (and read as many pongs) in one
 *  turn of its event loop every interval, a stall every message waits behind. */
export const PING_SLICES = 16;

/** How many ping intervals a connection may go without a pong while it keeps sending (frames, or
 *  pings of its own while it downloads over a slow link: protocol §2.8) before it is closed as not
 *  reading. Its pong waits behind what the broker sent before the ping, up to the push budget plus
 *  the kernel's buffers, which a slow link takes minutes to drain; a client that writes and never
 *  reads would otherwise keep its pushes claimed for good. */
export const UNREAD_ROUNDS = 10;

/** One liveness step over slice `slice` (all connections when omitted): close sockets that did
 *  not answer their previous ping, or answered nothing but their own frames for UNREAD_ROUNDS
 *  intervals; ping the rest; and close sessions whose attestation has expired (they reconnect
 *  with a fresh one). Each connection is in one slice, so it is visited once per ping interval: a
 *  pong has a whole interval to arrive. */
export function livenessRound(ctx: BrokerContext, slice?: number): void {
  const now = ctx.now();
  const mono = performance.now(); // for pongs owed: a clock set forward is not silence
  for (const c of ctx.hub.allConns()) {
    if (!c.ready || (slice !== undefined && c.seq % PING_SLICES !== slice)) continue;
    const att = c.identity?.attestation;
    if (att && att.expiresAt <= now) {
      c.close(CloseCode.attestationExpired, "attestation_expired");
      continue;
    }
    const unread = c.pongOwedSince !== null && mono - c.pongOwedSince > UNREAD_ROUNDS * ctx.config.pingInterval;
    // A socket the broker stopped reading (its output reached PAUSE_BYTES) cannot be heard: its
    // pong waits unread. It lives while it takes its output, and is closed once it took none
    // for a whole interval.
    const stalled = c.stalled();
    if ((c.awaitingPong && !c.readingIsPaused) || unread || stalled) {
      ctx.log.info("closing unresponsive connection", { conn: c.id, ...(unread ? { reason: "no pong: not reading" } : stalled ? { reason: "output not taken: not reading" } : {}) });
      c.close(CloseCode.stale, "stale");
      continue;
    }
    c.ping(mono);
  }
  if (!slice) refreshLastSeen(ctx, now);
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

/** Each broker's latest sweep round, settled (never rejecting): rounds run one after another,
 *  and stop() waits for the last before closing the store. */
const sweeps = new WeakMap<BrokerContext, Promise<void>>();

/** Deletes expired entries and tells each sender whose message reached nobody: the store writes
 *  the message_expired notices in the transaction that deletes the entries (both or neither), and
 *  the notices are pushed once stored. A round starts after the broker's previous one ended. */
export function sweepRound(ctx: BrokerContext): Promise<void> {
  const round = sweepsSettled(ctx).then(() => sweepOnce(ctx));
  sweeps.set(ctx, round.catch(() => {}));
  return round;
}

/** Resolves once no sweep round of this broker runs or waits to run; never rejects. */
export function sweepsSettled(ctx: BrokerContext): Promise<void> {
  return sweeps.get(ctx) ?? Promise.resolve();
}

/** Sweeps until nothing more is due, one bounded store sweep at a time, letting the event loop
 *  serve connections in between (store/sqlite/sweep.ts SWEEP_BATCH). A broker that is stopping
 *  leaves the rest to its next start. */
async function sweepOnce(ctx: BrokerContext): Promise<void> {
  const now = ctx.now();
  for (;;) {
    const r = await ctx.store.sweep(now, ctx.config.dedupWindow, (m) => expiryNotice(m, now + ctx.config.messageTtl));
    ctx.metrics.messagesExpired.inc(r.expiredRows);
    // Stored and flushed by now: pushing is all that is left (nobody waits for an answer).
    for (const out of r.notices) if (!out.duplicate) deliver(ctx, out.message, out.recipients, new Map());
    if (!r.more || ctx.draining) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The system notice telling the sending key that message `m` expired undelivered (protocol §5.8). */
export function expiryNotice(m: StoredMessage, expiresAt: number): NewMessage {
  return {
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
    expiresAt,
    recipients: [m.senderPubkey],
    claimFor: new Map(),
    forNextSession: new Set(),
    undeliverable: [],
  };
}

/** Starts the broker's timers. stop() clears them and resolves once a sweep round under way has
 *  ended (never rejects), so the caller can close the store behind it. */
export function startTimers(ctx: BrokerContext): { stop(): Promise<void> } {
  let step = 0;
  const handles = [
    setInterval(() => livenessRound(ctx, step++ % PING_SLICES), ctx.config.pingInterval / PING_SLICES),
    setInterval(() => void sweepRound(ctx).catch((err) => ctx.log.error("sweep failed", { err })), SWEEP_INTERVAL_MS),
    setInterval(() => (ctx.sendLimiter.prune(), ctx.changeLimiter.prune(), ctx.statusLimiter.prune()), 300_000),
    setInterval(() => ctx.idle.tick() && ctx.metrics.idleCollections.inc(), IDLE_TICK_MS),
  ];
  for (const h of handles) h.unref?.();
  return {
    stop: () => {
      handles.forEach(clearInterval);
      return sweepsSettled(ctx);
    },
  };
}
