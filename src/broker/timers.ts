// Background work of a running broker: liveness pings, attestation expiry, queue sweeping, a
// collection of the heap once idle after a burst, a count of open file descriptors, and snapshots
// of the presences for the start after a crash.
// Each timer is unref'd so it never keeps a stopped process alive, and runs guarded: what it
// throws is logged and the timer runs again, never an exception that would end the broker.
import { CloseCode } from "../protocol/close-codes.ts";
import { SESSION_START_BURST, SESSION_START_RATE_PER_SEC } from "../protocol/limits.ts";
import { BROKER_SENDER } from "../protocol/server-frames.ts";
import { StoreLocked } from "../store/errors.ts";
import type { NewMessage, SessionPrunePlace, StoredMessage } from "../store/types.ts";
import type { Log } from "../log/log.ts";
import type { BrokerContext } from "./context.ts";
import { FD_CHECK_MS, FdWatch } from "./fd-watch.ts";
import { IDLE_TICK_MS } from "./idle-collect.ts";
import { connFields } from "./conn.ts";
import { PresenceSnapshots, snapshotIntervalMs } from "./presence-snapshot.ts";
import { deliver } from "./router.ts";
import { SettledClock } from "./settled-clock.ts";
import { KeyedThrottledLogs, ThrottledLog } from "./throttled-log.ts";

/** How often expired queue entries and old signatures are swept. */
const SWEEP_INTERVAL_MS = 30_000;

/** How long a member's session-start bucket takes to fill again: dropped sooner, an idle one would
 *  come back full before its time. */
const SESSION_STARTS_FULL_MS = (SESSION_START_BURST / SESSION_START_RATE_PER_SEC) * 1000;

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
      expiryLog(ctx)
        .get(`${c.identity!.meshId} ${c.identity!.memberId}`, EXPIRED_MSG)
        ?.note({ ...connFields(c), expiresAt: new Date(att.expiresAt).toISOString() });
      c.close(CloseCode.attestationExpired, "attestation_expired");
      continue;
    }
    const unread = c.pongOwedSince !== null && mono - c.pongOwedSince > UNREAD_ROUNDS * ctx.config.pingInterval;
    // A socket the broker stopped reading (its output reached PAUSE_BYTES) cannot be heard: its
    // pong waits unread. It lives while it takes its output, and is closed once it took none
    // for a whole interval.
    const stalled = c.stalled();
    // Nor, perhaps, one waiting out its frame allowance (Conn.pace): once enough of its frames wait,
    // its socket is left unread (Conn.unreadWhilePaced) and its pong is read when the wait ends.
    if ((c.awaitingPong && !c.readingIsPaused && !c.pacing) || unread || stalled) {
      const reason = unread ? "no pong: not reading" : stalled ? "output not taken: not reading" : "no pong";
      ctx.log.info("closing unresponsive connection", { ...connFields(c), reason, unsentBytes: c.transport.buffered() });
      c.close(CloseCode.stale, "stale");
      continue;
    }
    c.ping(mono);
  }
  if (!slice) refreshLastSeen(ctx, now);
}

const EXPIRED_MSG = "closing a session whose attestation expired";
const expiryLogs = new WeakMap<BrokerContext, KeyedThrottledLogs>();
/** The broker's lines for sessions closed at their attestation's expiry, throttled per member: a
 *  member can attest sessions for a second and connect them again and again. */
function expiryLog(ctx: BrokerContext): KeyedThrottledLogs {
  let l = expiryLogs.get(ctx);
  if (!l) expiryLogs.set(ctx, (l = new KeyedThrottledLogs(ctx.log, "info", () => ctx.now(), 1024)));
  return l;
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

/** Each broker's settled clock: what its sweeps judge invites' sealed keys by (settled-clock.ts). */
const settledClocks = new WeakMap<BrokerContext, SettledClock>();

/** Sweeps until nothing more is due, one bounded store sweep at a time, letting the event loop
 *  serve connections in between (store/sqlite/sweep.ts SWEEP_BATCH), then deletes the rows of
 *  sessions long over the same way. A broker that is stopping leaves the rest to its next start. */
async function sweepOnce(ctx: BrokerContext): Promise<void> {
  const now = ctx.now();
  const between = () => new Promise((resolve) => setImmediate(resolve));
  if (!settledClocks.has(ctx)) settledClocks.set(ctx, new SettledClock());
  const settled = settledClocks.get(ctx)!.read(now) ?? 0; // 0: no invite expired by then
  for (;;) {
    const r = await ctx.store.sweep(now, ctx.config.dedupWindow, (m) => expiryNotice(m, now + ctx.config.messageTtl), settled);
    ctx.metrics.messagesExpired.inc({ kind: "message" }, r.expiredRows - r.expiredNoticeRows);
    ctx.metrics.messagesExpired.inc({ kind: "notice" }, r.expiredNoticeRows);
    for (const m of r.expiredMessages) ctx.sendRefusals.note({ meshId: m.meshId, memberId: m.senderMemberId, reason: "expired", to: m.target }, "message expired undelivered");
    // Stored and flushed by now: pushing is all that is left (nobody waits for an answer).
    for (const out of r.notices) if (!out.duplicate) deliver(ctx, out.message, out.recipients, new Map());
    if (!r.more || ctx.draining) break;
    await between();
  }
  // After the expiries: a session's row stays while its mailbox holds entries, expired ones too.
  let place: SessionPrunePlace | null | undefined;
  while (place !== null && !ctx.draining) {
    if (place) await between();
    place = (await ctx.store.pruneSessions(now, ctx.config.messageTtl, place ?? null)).next;
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

/** `run` as a timer's callback that never throws: an exception, or the rejection of the promise
 *  it returns, is logged as `background task failed` with `task` and `err`, at most once per
 *  LOG_EVERY_MS per task (with how many were not logged), and the timer goes on. Without this a
 *  throw in a timer is an uncaught exception, which ends the process (a broker out of file
 *  descriptors exited 1 within a second of going idle: docs/decisions.md, session 32).
 *  `now`: the throttle's clock (ms, monotonic). */
export function guarded(log: Log, task: string, run: () => unknown, now = () => performance.now()): () => void {
  const failures = new ThrottledLog(log, "error", "background task failed", now);
  const report = (err: unknown) => {
    if (err instanceof StoreLocked) return; // not a bug: disk-watch.ts logs the lock as a warning
    try {
      failures.note({ task, err });
    } catch {
      // A value the log cannot write (a BigInt): still nothing may escape.
    }
  };
  return () => {
    try {
      const out = run();
      if (out instanceof Promise) out.catch(report);
    } catch (err) {
      report(err);
    }
  };
}

/** Starts the broker's timers. stop() clears them and resolves once a sweep round or presence
 *  snapshot under way has ended (never rejects), so the caller can write the clean stop's record
 *  and close the store behind it. */
export function startTimers(ctx: BrokerContext): { stop(): Promise<void> } {
  let step = 0;
  const fds = new FdWatch(ctx.log);
  // No grace, nothing to carry: a presence taken in would be over at once.
  const snapshots = ctx.config.presenceGrace > 0 ? new PresenceSnapshots(ctx) : null;
  const snapshot = snapshots && guarded(ctx.log, "presence snapshot", () => snapshots.tick());
  const every = (task: string, ms: number, run: () => unknown) => setInterval(guarded(ctx.log, task, run), ms);
  const handles = [
    ...(snapshot ? [setInterval(snapshot, snapshotIntervalMs(ctx.config.presenceGrace))] : []),
    every("liveness", ctx.config.pingInterval / PING_SLICES, () => livenessRound(ctx, step++ % PING_SLICES)),
    every("sweep", SWEEP_INTERVAL_MS, () => sweepRound(ctx)),
    every("rate limiter pruning", 300_000, () => (ctx.sendLimiter.prune(), ctx.changeLimiter.prune(), ctx.statusLimiter.prune(), ctx.frameAllowance.prune(), ctx.sessionStarts.prune(SESSION_STARTS_FULL_MS))),
    every("idle collection", IDLE_TICK_MS, () => ctx.idle.tick() && ctx.metrics.idleCollections.inc()),
    every("file descriptor count", FD_CHECK_MS, () => fds.check()),
  ];
  for (const h of handles) h.unref?.();
  // At once as well: presences carried in are in a snapshot before a second crash can come.
  snapshot?.();
  return {
    stop: () => {
      handles.forEach(clearInterval);
      return Promise.all([sweepsSettled(ctx), snapshots?.stop()]).then(() => {});
    },
  };
}
