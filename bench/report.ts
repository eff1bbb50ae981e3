// The final JSON line: headline numbers against the targets, then compact per-server
// results. Values are rounded for reading; null means the scenario failed (its error is included).
import type { DrainResult } from "./drain.ts";
import type { LoadResult } from "./load.ts";
import { CIPHERTEXT } from "./peers.ts";
import { round } from "./stats.ts";
import type { Failure, Plan, Skipped, SuiteResult } from "./suite.ts";

/** The targets. */
export const TARGETS = {
  durable_vs_raw: { min: 0.35 },
  p99_ms_1k_peers_10k_rate: { below: 10 },
  drain_msgs_per_s: { min: 20_000 },
  rss_mib_1k_idle_peers: { below: 150 },
} as const;

const ok = <T extends object>(x: T | Failure | Skipped | undefined | null): T | null => (x && !("error" in x) && !("skipped" in x) ? x : null);

function load(r: LoadResult | Failure | Skipped | undefined) {
  const x = ok(r);
  if (!x) return r ? r : null;
  return {
    msgs_per_s: round(x.msgsPerS),
    ...(x.targetPerS !== undefined ? { target_per_s: x.targetPerS, offered_per_s: round(x.offeredPerS!), rate_achieved: x.rateAchieved, held_back: x.heldBack } : {}),
    p50_ms: round(x.p50Ms),
    p99_ms: round(x.p99Ms),
    max_ms: round(x.maxMs),
    ...(x.resultP50Ms !== undefined ? { result_p50_ms: round(x.resultP50Ms), result_p99_ms: round(x.resultP99Ms!) } : {}),
    server_cpu_pct: round(x.server.cpuPct),
    server_jit_cpu_pct: round(x.server.jitCpuPct),
    server_cpu_us_per_msg: round(x.serverCpuUsPerMsg),
    server_rss_mib: round(x.server.rssMiB),
    ...(x.server.storageWriteMiB > 0 ? { storage_write_kib_per_msg: round((x.server.storageWriteMiB * 1024) / x.samples) } : {}),
    client_cpu_pct: round(x.clientCpuPct),
    cpu_busy_pct: Object.fromEntries(Object.entries(x.cpus).map(([k, v]) => [k, round(v.busyPct)])),
    cpu_steal_pct: Object.fromEntries(Object.entries(x.cpus).map(([k, v]) => [k, round(v.stealPct)])),
    lost: x.lost,
    errors: x.errors,
  };
}

function drainOut(r: DrainResult | Failure | undefined) {
  const x = ok(r);
  if (!x) return r ?? null;
  return {
    messages: x.messages,
    drain_msgs_per_s: round(x.drainPerS),
    queued_msgs_per_s: round(x.queuedPerS),
    hello_ack_ms: round(x.helloAckMs),
    rss_before_mib: round(x.rssBeforeMiB),
    rss_queued_mib: round(x.rssQueuedMiB),
    rss_peak_mib: round(x.server.rssPeakMiB),
    rss_growth_mib: round(x.rssGrowthMiB),
    server_cpu_pct: round(x.server.cpuPct),
    cpu_steal_pct: Object.fromEntries(Object.entries(x.cpus).map(([k, v]) => [k, round(v.stealPct)])),
    errors: x.errors,
  };
}

function suite(s: SuiteResult | Failure | null) {
  const x = ok(s);
  if (!x) return s;
  const idle = ok(x.idle);
  return {
    ...(x.synchronous ? { synchronous: x.synchronous, setup_ms: round(x.setupMs ?? NaN) } : {}),
    connect_1k_ms: x.connectMs === null ? null : round(x.connectMs),
    idle_rss_mib: idle ? round(idle.rssMiB) : x.idle,
    rss_before_connect_mib: idle ? round(idle.rssBeforeMiB) : null,
    idle_settled_ms: idle ? idle.settledMs : null,
    idle_rss_steady: idle ? idle.steady : null,
    jit_warmup: x.jitWarmup ? { ms: x.jitWarmup.ms, steps: x.jitWarmup.steps, last_jit_cpu_pct: round(x.jitWarmup.lastJitCpuPct), quiet: x.jitWarmup.quiet } : null,
    closed_100: load(x.closed100),
    closed_1000: load(x.closed1000),
    rate_10k_1000: load(x.rate1000),
    ...(x.rate100 ? { rate_10k_100: load(x.rate100) } : {}),
    ...(x.drain ? { drain: drainOut(x.drain) } : {}),
    wall_s: round(x.wallS),
  };
}

const ratio = (a: LoadResult | Failure | Skipped | undefined, b: LoadResult | Failure | Skipped | undefined) => {
  const x = ok(a);
  const y = ok(b);
  return x && y ? round(x.msgsPerS / y.msgsPerS) : null;
};

export function headline(input: { quick: boolean; broker: SuiteResult | Failure; raw: SuiteResult | Failure; normal: SuiteResult | Failure | null; plan: Plan; pinned: boolean; machine: Record<string, unknown>; wallS: number }) {
  const b = ok(input.broker);
  const r = ok(input.raw);
  const n = ok(input.normal);
  const durableVsRaw = ratio(b?.closed100, r?.closed100);
  const p99 = ok(b?.rate1000)?.p99Ms ?? null;
  const drainRate = ok(b?.drain)?.drainPerS ?? null;
  const idleRss = ok(b?.idle)?.rssMiB ?? null;
  const met = (v: number | null, t: { min?: number; below?: number }) => (v === null ? null : t.min !== undefined ? v >= t.min : v < t.below!);
  return {
    mode: input.quick ? "quick" : "full",
    date: new Date().toISOString(),
    synchronous: "full",
    durable_vs_raw: durableVsRaw,
    p99_ms_1k_peers_10k_rate: p99 === null ? null : round(p99),
    drain_msgs_per_s: drainRate === null ? null : round(drainRate),
    rss_mib_1k_idle_peers: idleRss === null ? null : round(idleRss),
    targets_met: {
      durable_vs_raw: met(durableVsRaw, TARGETS.durable_vs_raw),
      p99_ms_1k_peers_10k_rate: met(p99, TARGETS.p99_ms_1k_peers_10k_rate),
      drain_msgs_per_s: met(drainRate, TARGETS.drain_msgs_per_s),
      rss_mib_1k_idle_peers: met(idleRss, TARGETS.rss_mib_1k_idle_peers),
    },
    ...(n ? { durable_vs_raw_normal: ratio(n.closed100, r?.closed100), drain_msgs_per_s_normal: round(ok(n.drain)?.drainPerS ?? NaN) } : {}),
    broker: suite(input.broker),
    raw: suite(input.raw),
    ...(input.normal ? { broker_normal: suite(input.normal) } : {}),
    method: {
      pinned: input.pinned ? "servers on CPU 0, load generator on CPU 1 (taskset)" : "UNPINNED (taskset missing)",
      warmup_ms: input.plan.warmupMs,
      window_ms: input.plan.windowMs,
      ciphertext_b64_bytes: CIPHERTEXT.length,
      drain_messages: input.plan.drainCount,
    },
    machine: input.machine,
    wall_s: round(input.wallS),
  };
}
