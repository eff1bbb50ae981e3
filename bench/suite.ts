// One server's share of the suite: start it, connect 1,000 peers and measure idle RSS, then the
// closed-loop and fixed-rate scenarios on those same sockets, then (broker only) the drain on a
// fresh broker.
// Every scenario is bounded in time; a failing one is reported as an error and the rest still run.
import { closedLoop, fixedRate, type LoadResult } from "./load.ts";
import { drain, type DrainResult } from "./drain.ts";
import { PeerSet, brokerDialect, rawDialect } from "./peers.ts";
import { rssMiB } from "./proc.ts";
import { setupMesh } from "./setup.ts";
import { startBroker, startRawRelay, type ServerProcess } from "./servers.ts";

export type Plan = {
  warmupMs: number;
  windowMs: number;
  /** Messages queued for the drain scenario. */
  drainCount: number;
  /** Run the N=100 fixed-rate scenario too (skipped in quick mode to stay within 60 s). */
  rate100: boolean;
  taskset: string | null;
  /** performance.now() by which the whole run must be done (quick mode); optional scenarios
   *  that would not fit are skipped and reported as such. Infinity in full mode. */
  deadline: number;
  /** Extra bun flags for the broker process (e.g. --cpu-prof). */
  brokerBunArgs: string[];
  /** Idle RSS: steady once the samples of the last `steadyMs` agree; read after `maxMs` at most. */
  idleSettle: { steadyMs: number; maxMs: number };
  /** Longest unmeasured warm-up before the first scenario (see JIT_STEP_MS). */
  jitWarmupMaxMs: number;
};

/** Peers connected for the idle scenario; also the N of the large scenarios. */
export const IDLE_PEERS = 1000;
const SMALL_N = 100;
const RATE_PER_S = 10_000;
/** After connecting the idle peers, RSS is read once it is steady (Plan.idleSettle): the connect
 *  and (for the broker) the membership setup leave garbage that the server returns over several
 *  seconds (one trace: 148 MiB at 2 s, 91 MiB from 6 s on). Sampled every SAMPLE_MS; steady =
 *  the samples of the window within STEADY_MIB of each other. */
const SAMPLE_MS = 500;
const STEADY_MIB = 2;
/** Before each scenario: no frame for this long means the previous one is over. */
const QUIET_MS = 300;
const QUIET_TIMEOUT_MS = 15_000;
/** What a required scenario still needs after an optional one, when deciding to skip it (raw:
 *  the whole broker suite, its JIT warm-up of up to 5 s in quick mode included). */
export const RESERVE_MS = { raw: 40_000, broker: 18_000 } as const;
/** With less than belowMs left before the deadline, the drain queues only `messages`. */
const SHORT_DRAIN = { belowMs: 10_000, messages: 10_000 } as const;
const DRAIN_TIMEOUT_MS = 120_000;
/** Before the first measured scenario, traffic runs unmeasured in steps of JIT_STEP_MS until the
 *  server's JIT compiler threads used less than JIT_QUIET_PCT of a core over a step (at least
 *  JIT_MIN_STEPS steps, at most Plan.jitWarmupMaxMs). Without it the first window measured
 *  JavaScriptCore compiling the hot path on the same pinned core: one quick run's broker spent
 *  ~20 % of its core in JITWorker threads during the closed loop N=100, and ~1 % once warm. */
const JIT_STEP_MS = 1000;
const JIT_QUIET_PCT = 3;
const JIT_MIN_STEPS = 2;

export type Failure = { error: string };
export type Skipped = { skipped: string };
export type SuiteResult = {
  server: "broker" | "raw";
  synchronous?: "full" | "normal";
  setupMs?: number;
  connectMs: number | null;
  idle: { rssMiB: number; rssBeforeMiB: number; peers: number; settledMs: number; steady: boolean } | Failure;
  jitWarmup?: JitWarmup;
  closed100: LoadResult | Failure;
  closed1000: LoadResult | Failure | Skipped;
  rate1000: LoadResult | Failure;
  rate100?: LoadResult | Failure | Skipped;
  drain?: DrainResult | Failure;
  wallS: number;
};

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Runs one scenario after the previous one's traffic has stopped and this process's heap was
 *  collected (a major GC in the load generator mid-window shows up as tail latency). */
async function attempt<T>(name: string, ps: PeerSet, fn: () => Promise<T>): Promise<T | Failure> {
  if (!(await ps.quiesce(QUIET_MS, QUIET_TIMEOUT_MS))) log(`${name}: previous traffic still flowing after ${QUIET_TIMEOUT_MS} ms`);
  Bun.gc(true);
  log(`${name} ...`);
  try {
    const r = await fn();
    log(`${name}: ${summarize(r)}`);
    return r;
  } catch (err) {
    log(`${name} FAILED: ${(err as Error).message}`);
    return { error: (err as Error).message };
  }
}

function summarize(r: unknown): string {
  const x = r as Partial<LoadResult & DrainResult & JitWarmup & { rssMiB: number }>;
  if (x.steps !== undefined) return `${x.steps} s of traffic, JIT threads at ${x.lastJitCpuPct!.toFixed(1)}% of the core in the last${x.quiet ? "" : " (still compiling at the time limit)"}`;
  if (x.drainPerS !== undefined) return `${Math.round(x.drainPerS)} msgs/s drained (${x.messages} msgs, queued at ${Math.round(x.queuedPerS!)}/s), RSS +${x.rssGrowthMiB!.toFixed(1)} MiB`;
  if (x.msgsPerS !== undefined) return `${Math.round(x.msgsPerS)} msgs/s, p50 ${x.p50Ms!.toFixed(2)} ms, p99 ${x.p99Ms!.toFixed(2)} ms${x.resultP50Ms !== undefined ? ` (result p50 ${x.resultP50Ms.toFixed(2)}, p99 ${x.resultP99Ms!.toFixed(2)} ms)` : ""}, server CPU ${x.server!.cpuPct.toFixed(0)}% (JIT ${x.server!.jitCpuPct.toFixed(0)}%), RSS ${x.server!.rssMiB.toFixed(0)} MiB, client CPU ${x.clientCpuPct!.toFixed(0)}%, cpu0/1 busy ${Object.values(x.cpus!).map((v) => v.busyPct.toFixed(0)).join("/")}% steal ${Object.values(x.cpus!).map((v) => v.stealPct.toFixed(0)).join("/")}%, lost ${x.lost}, errors ${x.errors}`;
  if (x.rssMiB !== undefined) return `RSS ${x.rssMiB.toFixed(1)} MiB`;
  return "";
}

export type JitWarmup = { ms: number; steps: number; lastJitCpuPct: number; quiet: boolean };

/** Unmeasured closed-loop traffic until the server's JIT compiler is quiet (see JIT_STEP_MS). */
async function jitWarmup(srv: ServerProcess, ps: PeerSet, plan: Plan): Promise<JitWarmup | Failure> {
  return attempt(`${srv.kind} JIT warm-up`, ps, async () => {
    const t0 = performance.now();
    for (let steps = 1; ; steps++) {
      const r = await closedLoop(ps, SMALL_N, { warmupMs: 0, windowMs: JIT_STEP_MS, serverPid: srv.pid });
      const ms = Math.round(performance.now() - t0);
      const quiet = steps >= JIT_MIN_STEPS && r.server.jitCpuPct < JIT_QUIET_PCT;
      if (quiet || ms + JIT_STEP_MS > plan.jitWarmupMaxMs) return { ms, steps, lastJitCpuPct: r.server.jitCpuPct, quiet };
    }
  });
}

/** An optional scenario runs only if it and `reserveMs` of later required work fit the deadline. */
function optional<T>(name: string, plan: Plan, needMs: number, reserveMs: number, run: () => Promise<T>): Promise<T | Skipped> {
  if (performance.now() + needMs + reserveMs <= plan.deadline) return run();
  log(`${name}: skipped (quick-mode time budget)`);
  return Promise.resolve({ skipped: "quick-mode time budget" });
}

async function scenarios(srv: ServerProcess, ps: PeerSet, plan: Plan, out: Partial<SuiteResult>): Promise<void> {
  const o = { warmupMs: plan.warmupMs, windowMs: plan.windowMs, serverPid: srv.pid };
  const all = Array.from({ length: IDLE_PEERS }, (_, i) => i);
  const rssBeforeMiB = rssMiB(srv.pid);
  const t0 = performance.now();
  try {
    await ps.connect(all);
    out.connectMs = performance.now() - t0;
    log(`${srv.kind}: ${IDLE_PEERS} peers connected in ${Math.round(out.connectMs)} ms`);
  } catch (err) {
    out.connectMs = null;
    throw err;
  }
  out.idle = await attempt(`${srv.kind} idle ${IDLE_PEERS}`, ps, async () => {
    const { rss, settledMs, steady } = await steadyRss(srv.pid, plan.idleSettle);
    return { rssMiB: rss, rssBeforeMiB, peers: ps.sockets.size, settledMs, steady };
  });
  // Raw runs first, so its optional work must leave room for the whole broker suite; the
  // broker's must leave room for its rate and drain scenarios.
  const reserve = RESERVE_MS[srv.kind];
  const loopMs = plan.warmupMs + plan.windowMs + 1000;
  const warm = await jitWarmup(srv, ps, plan);
  if (!("error" in warm)) out.jitWarmup = warm;
  out.closed100 = await attempt(`${srv.kind} closed loop N=${SMALL_N}`, ps, () => closedLoop(ps, SMALL_N, o));
  out.closed1000 = await optional(`${srv.kind} closed loop N=${IDLE_PEERS}`, plan, loopMs, reserve, () =>
    attempt(`${srv.kind} closed loop N=${IDLE_PEERS}`, ps, () => closedLoop(ps, IDLE_PEERS, o)),
  );
  out.rate1000 = await attempt(`${srv.kind} ${RATE_PER_S}/s N=${IDLE_PEERS}`, ps, () => fixedRate(ps, IDLE_PEERS, RATE_PER_S, o));
  if (plan.rate100) {
    out.rate100 = await optional(`${srv.kind} ${RATE_PER_S}/s N=${SMALL_N}`, plan, loopMs + 3000, reserve, () =>
      attempt(`${srv.kind} ${RATE_PER_S}/s N=${SMALL_N}`, ps, () => fixedRate(ps, SMALL_N, RATE_PER_S, o)),
    );
  }
}

/** RSS once it stopped moving, or the last sample after `maxMs`. */
async function steadyRss(pid: number, { steadyMs, maxMs }: Plan["idleSettle"]): Promise<{ rss: number; settledMs: number; steady: boolean }> {
  const window = steadyMs / SAMPLE_MS + 1;
  const samples: number[] = [];
  const t0 = performance.now();
  for (;;) {
    await Bun.sleep(SAMPLE_MS);
    samples.push(rssMiB(pid));
    const recent = samples.slice(-window);
    const steady = recent.length === window && Math.max(...recent) - Math.min(...recent) <= STEADY_MIB;
    const settledMs = Math.round(performance.now() - t0);
    if (steady || settledMs >= maxMs) return { rss: samples.at(-1)!, settledMs, steady };
  }
}

/** The broker with one durability mode. Members: IDLE_PEERS peers. The drain runs afterwards on
 *  a fresh broker (see brokerDrain), so its RSS growth is not hidden by the high-water mark the
 *  load scenarios left behind. */
export async function brokerSuite(synchronous: "full" | "normal", plan: Plan, out: Partial<SuiteResult> = {}): Promise<SuiteResult> {
  const w0 = performance.now();
  log(`broker (synchronous=${synchronous}) starting`);
  Object.assign(out, { server: "broker", synchronous });
  {
    await using srv = await startBroker({ synchronous, taskset: plan.taskset, bunArgs: plan.brokerBunArgs });
    const { members, ms } = await setupMesh(srv.httpUrl, srv.wsUrl, IDLE_PEERS);
    out.setupMs = ms;
    log(`broker: mesh with ${members.length} members set up in ${Math.round(ms)} ms`);
    const ps = new PeerSet(brokerDialect(members), srv.wsUrl);
    try {
      await scenarios(srv, ps, plan, out);
    } finally {
      ps.close();
    }
    if (ps.unexpectedCloses > 0) log(`broker: ${ps.unexpectedCloses} sockets closed unexpectedly; last stderr:\n${srv.stderrTail().slice(-2000)}`);
  }
  // Late in a quick run (a slow setup on a busy machine), a smaller drain keeps the 60 s promise.
  const count = plan.deadline - performance.now() < SHORT_DRAIN.belowMs ? Math.min(plan.drainCount, SHORT_DRAIN.messages) : plan.drainCount;
  out.drain = await brokerDrain(synchronous, plan, count);
  out.wallS = (performance.now() - w0) / 1000;
  return out as SuiteResult;
}

/** Drain on a fresh broker: SMALL_N senders and one offline recipient (member SMALL_N). */
async function brokerDrain(synchronous: "full" | "normal", plan: Plan, count: number): Promise<DrainResult | Failure> {
  try {
    await using srv = await startBroker({ synchronous, taskset: plan.taskset, bunArgs: plan.brokerBunArgs });
    const { members } = await setupMesh(srv.httpUrl, srv.wsUrl, SMALL_N + 1);
    const ps = new PeerSet(brokerDialect(members), srv.wsUrl);
    const senders = Array.from({ length: SMALL_N }, (_, i) => i);
    try {
      await ps.connect(senders);
      return await attempt(`broker drain ${count} (fresh broker)`, ps, () =>
        drain(ps, senders, members, SMALL_N, count, { serverPid: srv.pid, wsUrl: srv.wsUrl, timeoutMs: DRAIN_TIMEOUT_MS }),
      );
    } finally {
      ps.close();
    }
  } catch (err) {
    log(`broker drain FAILED: ${(err as Error).message}`);
    return { error: (err as Error).message };
  }
}

/** The raw relay baseline: the same scenarios minus setup and drain. */
export async function rawSuite(plan: Plan, out: Partial<SuiteResult> = {}): Promise<SuiteResult> {
  const w0 = performance.now();
  log("raw relay starting");
  out.server = "raw";
  await using srv = await startRawRelay({ taskset: plan.taskset });
  const ps = new PeerSet(rawDialect(), srv.wsUrl);
  try {
    await scenarios(srv, ps, plan, out);
  } finally {
    ps.close();
  }
  out.wallS = (performance.now() - w0) / 1000;
  return out as SuiteResult;
}
