// The two load shapes, run against an already-connected PeerSet. Peer i always sends to peer
// (i+1) % n. Every message carries its send time in its clientMessageId
// (`m<from>_<seq>_<µs>`, performance.now() of this process), so send→push latency needs no
// bookkeeping and is measured on one clock. Each run: warm-up, a measurement window, then a
// bounded wait for the messages still in flight.
import { percentile } from "./stats.ts";
import { watchProcess, watchSelf, watchCpus, type CpuShare, type Usage } from "./proc.ts";
import type { PeerSet } from "./peers.ts";

/** Longest wait for in-flight messages after a window closes. */
const SETTLE_TIMEOUT_MS = 10_000;
/** Pacing tick of the fixed-rate load (the spike used 5 ms; smaller bursts, less self-inflicted tail). */
export const TICK_MS = 2;
/** A server that cannot keep up would otherwise build an unbounded backlog that spills into the
 *  next scenario: the generator holds back once this many seconds of the target rate are
 *  outstanding (sent, not yet pushed). Held-back sends lower offered_per_s, which is reported. */
const MAX_OUTSTANDING_S = 1;

export type WindowOpts = { warmupMs: number; windowMs: number; serverPid: number };

export type LoadResult = {
  peers: number;
  /** Pushes received per second during the window. */
  msgsPerS: number;
  /** For fixed rate: messages the generator sent per second during the window, and the target. */
  offeredPerS?: number;
  targetPerS?: number;
  rateAchieved?: boolean;
  /** Sends the generator held back because MAX_OUTSTANDING_S of the rate was already in flight. */
  heldBack?: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Send → the sender's `result` (broker only): it waits for the commit's flush to disk, which
   *  the push to the recipient does not. */
  resultP50Ms?: number;
  resultP99Ms?: number;
  samples: number;
  server: Usage;
  /** Server CPU time per relayed message, µs (CPU% × window ÷ messages). */
  serverCpuUsPerMsg: number;
  clientCpuPct: number;
  /** Busy and hypervisor-steal % per CPU during the window (the machine is a shared VM). */
  cpus: Record<string, CpuShare>;
  /** Messages sent but never pushed once the settle wait ended (should be 0). */
  lost: number;
  errors: number;
};

let seq = 0;
/** A fresh clientMessageId for a send from peer `from`: `m<from>_<seq>_<µs>`, seq unique in
 *  this process, µs the send time (performance.now()). */
export const cid = (from: number) => `m${from}_${++seq}_${Math.round(performance.now() * 1000)}`;
/** The send time (performance.now(), ms) a cid carries. */
export const sentAtMs = (clientMessageId: string) => Number(clientMessageId.slice(clientMessageId.lastIndexOf("_") + 1)) / 1000;
const senderOf = (clientMessageId: string) => Number(clientMessageId.slice(1, clientMessageId.indexOf("_")));
/** The sequence number a cid carries (unique per send in this process). */
export const seqOf = (clientMessageId: string) => Number(clientMessageId.slice(clientMessageId.indexOf("_") + 1, clientMessageId.lastIndexOf("_")));

/** Resolves when `pred` holds or `timeoutMs` passed (polls every 5 ms); returns whether it held. */
export async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) return false;
    await Bun.sleep(5);
  }
  return true;
}

/** A measurement window shared by both load shapes: counts and latencies of pushes that arrive
 *  while it is open, plus the server's and this process's CPU over it. */
function measurement(ps: PeerSet, serverPid: number) {
  const latencies: number[] = [];
  const resultLatencies: number[] = [];
  let open = false;
  let t0 = 0;
  let errors0 = 0;
  let server: ReturnType<typeof watchProcess> | null = null;
  let self: ReturnType<typeof watchSelf> | null = null;
  let cpus: ReturnType<typeof watchCpus> | null = null;
  return {
    record(sentMs: number, at: number) {
      if (open) latencies.push(at - sentMs);
    },
    /** A send's result, `latencyMs` after the send (PeerSet's onReply). */
    recordResult(_from: number, _ok: boolean, latencyMs?: number) {
      if (open && latencyMs !== undefined) resultLatencies.push(latencyMs);
    },
    get open() {
      return open;
    },
    start() {
      open = true;
      t0 = performance.now();
      errors0 = ps.errors;
      server = watchProcess(serverPid);
      self = watchSelf();
      cpus = watchCpus();
    },
    stop(peers: number, lost: number, extra: Partial<LoadResult> = {}): LoadResult {
      open = false;
      const seconds = (performance.now() - t0) / 1000;
      const usage = server!.stop();
      const msgsPerS = latencies.length / seconds;
      return {
        peers,
        msgsPerS,
        ...extra,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: percentile(latencies, 100),
        ...(resultLatencies.length > 0 ? { resultP50Ms: percentile(resultLatencies, 50), resultP99Ms: percentile(resultLatencies, 99) } : {}),
        samples: latencies.length,
        server: usage,
        serverCpuUsPerMsg: (usage.cpuPct / 100) * 1e6 / msgsPerS,
        clientCpuPct: self!.stop(),
        cpus: cpus!.stop(),
        lost,
        errors: ps.errors - errors0,
      };
    },
    seconds: () => (performance.now() - t0) / 1000,
  };
}

/** Closed loop: every peer keeps exactly one message in flight and sends the next one when its
 *  previous message reached its recipient. */
export async function closedLoop(ps: PeerSet, n: number, o: WindowOpts): Promise<LoadResult> {
  const m = measurement(ps, o.serverPid);
  let inflight = 0;
  let stopped = false;
  const send = (from: number) => {
    inflight++;
    ps.send(from, (from + 1) % n, cid(from));
  };
  ps.handlers = {
    onReply: m.recordResult,
    onPush(_to, clientMessageId, at) {
      inflight--;
      m.record(sentAtMs(clientMessageId), at);
      if (!stopped) send(senderOf(clientMessageId));
    },
  };
  for (let i = 0; i < n; i++) send(i);
  await Bun.sleep(o.warmupMs);
  m.start();
  await Bun.sleep(o.windowMs);
  stopped = true;
  const r = m.stop(n, 0);
  await until(() => inflight === 0, SETTLE_TIMEOUT_MS);
  r.lost = inflight;
  return r;
}

/** Open loop at a fixed aggregate rate, spread round-robin over the peers and paced in TICK_MS
 *  ticks. A generator that falls behind catches up by at most 50 ms of messages per tick; a
 *  server that falls behind gets at most MAX_OUTSTANDING_S of the rate in flight. The result
 *  says whether the target was achieved (≥ 97% of it delivered per second). */
export async function fixedRate(ps: PeerSet, n: number, ratePerS: number, o: WindowOpts): Promise<LoadResult> {
  const m = measurement(ps, o.serverPid);
  let sent = 0;
  let received = 0;
  let sentInWindow = 0;
  let next = 0;
  ps.handlers = {
    onReply: m.recordResult,
    onPush(_to, clientMessageId, at) {
      received++;
      m.record(sentAtMs(clientMessageId), at);
    },
  };
  const start = performance.now();
  const maxPerTick = Math.ceil(ratePerS * 0.05);
  const maxOutstanding = Math.ceil(ratePerS * MAX_OUTSTANDING_S);
  let skipped = 0;
  const timer = setInterval(() => {
    let due = Math.floor(((performance.now() - start) / 1000) * ratePerS) - sent - skipped;
    const room = maxOutstanding - (sent - received);
    if (due > room) {
      // What the cap holds back is dropped from the schedule, not sent later (open loop).
      skipped += due - Math.max(0, room);
      due = Math.max(0, room);
    }
    due = Math.min(due, maxPerTick);
    for (let k = 0; k < due; k++) {
      const from = next++ % n;
      ps.send(from, (from + 1) % n, cid(from));
    }
    sent += due;
    if (m.open) sentInWindow += due;
  }, TICK_MS);
  try {
    await Bun.sleep(o.warmupMs);
    m.start();
    await Bun.sleep(o.windowMs);
  } finally {
    clearInterval(timer);
  }
  const offeredPerS = sentInWindow / m.seconds();
  const r = m.stop(n, 0, { targetPerS: ratePerS, offeredPerS, heldBack: skipped });
  r.rateAchieved = r.msgsPerS >= 0.97 * ratePerS;
  await until(() => received >= sent, SETTLE_TIMEOUT_MS);
  r.lost = sent - received;
  return r;
}
