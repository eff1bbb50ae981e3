// Client-side liveness: finds a link that died without a close (a NAT or proxy dropping an idle
// flow, a laptop asleep, a change of network). The broker notices such a link and closes it with
// 4100 (docs/protocol.md §2.8), but that close frame never reaches the client, which would stay
// "open" and deaf for good. So the client watches what it hears, and asks when it hears nothing.

/** Silence after which the client sends a WebSocket ping of its own. The broker pings every
 *  pingInterval (30 s by default), so over a healthy idle link a default broker's ping always
 *  comes first and the client never pings; a broker that pings less often gets probed. */
export const PING_IDLE_MS = 40_000;

/** After that ping, silence for this long means the link is dead: it is closed and the client
 *  reconnects. Together with PING_IDLE_MS the client gives up on a dead link within 50 s of the
 *  last frame it heard. The broker reaps the link 30–60 s after that frame and then keeps the
 *  presence for its grace (30 s), so a client whose network is back re-attaches in time and its
 *  peers see no leave and join. */
export const PONG_TIMEOUT_MS = 10_000;

/** The fewest milliseconds of silence before the client pings, and the least it gives a ping to be
 *  answered, whatever interval a broker states: the field is the broker's word (schema minimum
 *  1 ms), and matched blindly a broker saying 1 ms had its clients ping it about once per round
 *  trip and drop every link whose pong took over a millisecond. A broker may be set to ping every
 *  100 ms (its own minimum); its clients then probe after 1 s of silence. */
export const MIN_PING_IDLE_MS = 1000;
export const MIN_PONG_TIMEOUT_MS = 1000;

/** The watch's timings for a broker that said (hello_ack.pingIntervalMs) it pings every
 *  `pingIntervalMs`: probe after a third of an interval more than the broker's own period, never
 *  later than PING_IDLE_MS, and give the probe as long as the broker gives its own ping (one
 *  interval), never more than PONG_TIMEOUT_MS; neither below its MIN_. A default broker (30 s)
 *  gives the defaults; one set to ping every second is matched, so its clients find a dead link
 *  within seconds too, as the broker does, and not after 50 s (by then the broker has reaped the
 *  link and its grace may have passed). Without the field (an older broker) the defaults stand. */
export function livenessFor(pingIntervalMs: number | undefined): { idleMs: number; timeoutMs: number } {
  if (!pingIntervalMs || pingIntervalMs <= 0) return { idleMs: PING_IDLE_MS, timeoutMs: PONG_TIMEOUT_MS };
  const idleMs = Math.min(PING_IDLE_MS, Math.max(MIN_PING_IDLE_MS, Math.round((pingIntervalMs * 4) / 3)));
  return { idleMs, timeoutMs: Math.min(PONG_TIMEOUT_MS, Math.max(MIN_PONG_TIMEOUT_MS, pingIntervalMs)) };
}

export type LivenessOptions = {
  idleMs: number;
  timeoutMs: number;
  /** Sends a ping (the WebSocket's; its pong, like any frame, is reported with heard()). */
  ping: () => void;
  /** The link is dead: nothing heard for `silentMs`. Called once; the watch is stopped. */
  dead: (silentMs: number) => void;
};

/** Watches one socket from its creation: `heard()` on every sign of life (open, message, ping,
 *  pong), `stop()` when the socket is done with. Its timer never keeps a process alive. */
export class LivenessWatch {
  // Monotonic time: a wall clock set back by an hour made the silence negative and the next check
  // an hour away, so a link that died then went unnoticed for that hour. Time asleep, which the
  // monotonic clock does not count, is wake.ts's to notice (probe()).
  private lastHeard = performance.now();
  /** When the ping out must have been answered by (monotonic), or null when none is out. */
  private deadline: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private o: LivenessOptions) {
    this.arm(o.idleMs);
  }

  heard(): void {
    this.lastHeard = performance.now();
    this.deadline = null;
  }

  /** New timings (the broker's hello_ack told its ping interval): taken from the next check on,
   *  and at once when they are shorter than the wait already armed. */
  retune(t: { idleMs: number; timeoutMs: number }): void {
    this.o = { ...this.o, ...t };
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.check();
  }

  /** Pings now, however recently the link was heard, and declares it dead unless something is
   *  heard within `timeoutMs` (or the watch's own pong timeout, if shorter): the caller has reason
   *  to doubt the link (the process did not run for a while, wake.ts). A ping already out keeps
   *  its deadline when that is sooner. Nothing once stopped. */
  probe(timeoutMs: number): void {
    if (this.timer === null) return;
    const deadline = performance.now() + Math.min(timeoutMs, this.o.timeoutMs);
    if (this.deadline !== null && this.deadline <= deadline) return;
    this.deadline = deadline;
    this.o.ping();
    clearTimeout(this.timer);
    this.check();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, ms));
    (this.timer as { unref?: () => void }).unref?.();
  }

  // One timer, re-armed for the next moment something can change (heard() only notes the time).
  private check(): void {
    const now = performance.now();
    if (this.deadline !== null) {
      if (now < this.deadline) return this.arm(this.deadline - now);
      this.timer = null;
      return this.o.dead(Math.round(now - this.lastHeard));
    }
    const silent = now - this.lastHeard;
    if (silent < this.o.idleMs) return this.arm(this.o.idleMs - silent);
    this.deadline = now + this.o.timeoutMs;
    this.o.ping();
    this.arm(this.o.timeoutMs);
  }
}

/** The fewest milliseconds between the pings a receiving client sends, whatever interval a broker
 *  states (schema minimum 1 ms); a real broker pings every 100 ms at the most. */
export const MIN_RECEIVING_PING_MS = 50;

/** The pings of a client that is receiving. The broker's liveness ping waits behind every byte it
 *  wrote before it, and a ping not answered within its interval closes the link (docs/protocol.md
 *  §2.8): a backlog that takes longer than an interval to download over a slow link had the link
 *  closed and redelivered on the next one, in a loop. So while frames keep coming the client pings
 *  the broker itself, every third of the broker's interval, on a timer, and the broker counts that
 *  ping as a sign of life. (Pinging only as frames arrived, at most every half interval, left gaps
 *  of half an interval plus a large frame's download: more than a round, and the link was closed.)
 *  The first ping comes a third of an interval after the first frame (a lone event costs two or
 *  three pings, not one more per frame); it stops once no frame came for an interval; its timer
 *  never keeps a process alive. */
export class ReceivingPinger {
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastFrame = 0;

  constructor(
    private readonly ping: () => void,
    private readonly intervalMs: number,
  ) {}

  /** A frame arrived. */
  frame(): void {
    this.lastFrame = performance.now();
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (performance.now() - this.lastFrame > this.intervalMs) this.stop();
      else this.ping();
    }, Math.max(MIN_RECEIVING_PING_MS, this.intervalMs / 3));
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
