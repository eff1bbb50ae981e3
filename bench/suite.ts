// One server's share of the suite: start it, connect 1,000 peers and measure idle RSS, then the
// closed-loop and fixed-rate scenarios on those same sockets, then (broker only) the drain.
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
};

/** Peers connected for the idle scenario; also the N of the large scenarios. */
export const IDLE_PEERS = 1000;
const SMALL_N = 100;
const RATE_PER_S = 10_000;
/** After connecting the idle peers, let the server settle before reading RSS. */
const SETTLE_MS = 2000;

export type Failure = { error: string };
export type SuiteResult = {
  server: "broker" | "raw";
  synchronous?: "full" | "normal";
  setupMs?: number;
  connectMs: number | null;
  idle: { rssMiB: number; rssBeforeMiB: number; peers: number } | Failure;
  closed100: LoadResult | Failure;
  closed1000: LoadResult | Failure;
  rate1000: LoadResult | Failure;
  rate100?: LoadResult | Failure;
  drain?: DrainResult | Failure;
  wallS: number;
};

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function attempt<T>(name: string, fn: () => Promise<T>): Promise<T | Failure> {
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
  const x = r as Partial<LoadResult & DrainResult & { rssMiB: number }>;
  if (x.drainPerS !== undefined) return `${Math.round(x.drainPerS)} msgs/s drained (${x.messages} msgs, queued at ${Math.round(x.queuedPerS!)}/s), RSS +${x.rssGrowthMiB!.toFixed(1)} MiB`;
  if (x.msgsPerS !== undefined) return `${Math.round(x.msgsPerS)} msgs/s, p50 ${x.p50Ms!.toFixed(2)} ms, p99 ${x.p99Ms!.toFixed(2)} ms, server CPU ${x.server!.cpuPct.toFixed(0)}%, RSS ${x.server!.rssMiB.toFixed(0)} MiB, client CPU ${x.clientCpuPct!.toFixed(0)}%, lost ${x.lost}, errors ${x.errors}`;
  if (x.rssMiB !== undefined) return `RSS ${x.rssMiB.toFixed(1)} MiB`;
  return "";
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
  out.idle = await attempt(`${srv.kind} idle ${IDLE_PEERS}`, async () => {
    await Bun.sleep(SETTLE_MS);
    return { rssMiB: rssMiB(srv.pid), rssBeforeMiB, peers: ps.sockets.size };
  });
  out.closed100 = await attempt(`${srv.kind} closed loop N=${SMALL_N}`, () => closedLoop(ps, SMALL_N, o));
  out.closed1000 = await attempt(`${srv.kind} closed loop N=${IDLE_PEERS}`, () => closedLoop(ps, IDLE_PEERS, o));
  out.rate1000 = await attempt(`${srv.kind} ${RATE_PER_S}/s N=${IDLE_PEERS}`, () => fixedRate(ps, IDLE_PEERS, RATE_PER_S, o));
  if (plan.rate100) out.rate100 = await attempt(`${srv.kind} ${RATE_PER_S}/s N=${SMALL_N}`, () => fixedRate(ps, SMALL_N, RATE_PER_S, o));
}

/** The broker with one durability mode. Members: IDLE_PEERS peers plus one drain recipient. */
export async function brokerSuite(synchronous: "full" | "normal", plan: Plan): Promise<SuiteResult> {
  const w0 = performance.now();
  log(`broker (synchronous=${synchronous}) starting`);
  await using srv = await startBroker({ synchronous, taskset: plan.taskset });
  const out: Partial<SuiteResult> = { server: "broker", synchronous };
  const { members, ms } = await setupMesh(srv.httpUrl, srv.wsUrl, IDLE_PEERS + 1);
  out.setupMs = ms;
  log(`broker: mesh with ${members.length} members set up in ${Math.round(ms)} ms`);
  const ps = new PeerSet(brokerDialect(members), srv.wsUrl);
  try {
    await scenarios(srv, ps, plan, out);
    const senders = Array.from({ length: SMALL_N }, (_, i) => i);
    out.drain = await attempt(`broker drain ${plan.drainCount}`, () =>
      drain(ps, senders, members, IDLE_PEERS, plan.drainCount, { serverPid: srv.pid, wsUrl: srv.wsUrl, timeoutMs: 120_000 }),
    );
  } finally {
    ps.close();
  }
  if (ps.unexpectedCloses > 0) log(`broker: ${ps.unexpectedCloses} sockets closed unexpectedly; last stderr:\n${srv.stderrTail().slice(-2000)}`);
  return { ...(out as SuiteResult), wallS: (performance.now() - w0) / 1000 };
}

/** The raw relay baseline: the same scenarios minus setup and drain. */
export async function rawSuite(plan: Plan): Promise<SuiteResult> {
  const w0 = performance.now();
  log("raw relay starting");
  await using srv = await startRawRelay({ taskset: plan.taskset });
  const out: Partial<SuiteResult> = { server: "raw" };
  const ps = new PeerSet(rawDialect(), srv.wsUrl);
  try {
    await scenarios(srv, ps, plan, out);
  } finally {
    ps.close();
  }
  return { ...(out as SuiteResult), wallS: (performance.now() - w0) / 1000 };
}
