// The soak's last JSON line (bench/soak.ts): the ramp table, the soak's summary and its series
// (one value per sampling window, column by column), the verdict against the reliability plan's
// T8 SLO, side checks, and the method and machine. Values are rounded for reading.
import type { Loss, LedgerTotals } from "./soak-ledger.ts";
import type { CpuShare } from "./proc.ts";
import type { SoakWindow, Step } from "./soak-phases.ts";
import type { BrokerSample } from "./soak-sampler.ts";
import { leastSquares, percentile, round } from "./stats.ts";

/** The plan's initial SLO at the soak rate (reliability.md T8). */
export const SLO = {
  p99_ms: { below: 100 },
  p999_ms: { below: 500 },
  loop_p99_ms: { below: 50 },
  rss_growth_pct: { below: 5 },
  wal_mib: { below: 64 },
  lost: { below: 1 },
} as const;

export type ReportInput = {
  mode: "quick" | "full";
  ramp: Step[];
  capacityPerS: number | null;
  soakRatePerS: number;
  windows: SoakWindow[];
  /** Windows that start before this many seconds are the warm-up (left out of the RSS trend). */
  warmupS: number;
  drained: boolean;
  totals: LedgerTotals;
  loss: Loss;
  method: Record<string, unknown>;
  machine: Record<string, unknown>;
  wallS: number;
};

const steal = (cpus: Record<string, CpuShare>) => Object.fromEntries(Object.entries(cpus).map(([k, v]) => [k, round(v.stealPct)]));
/** CPU 0's busy time the broker did not use, in % of the CPU: other processes on the broker's
 *  pinned core (this machine is shared). */
const foreign = (b: BrokerSample) => Math.max(0, (b.cpus.cpu0?.busyPct ?? NaN) - b.cpuPct);
const max = (xs: number[]) => xs.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), -Infinity);
const min = (xs: number[]) => -max(xs.map((x) => -x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function rampRow(s: Step) {
  const w = s.window;
  return {
    target_per_s: s.targetPerS,
    offered_per_s: round(w.offeredPerS),
    pushes_per_s: round(w.pushes / w.seconds),
    p50_ms: round(s.p50Ms),
    p99_ms: round(s.p99Ms),
    p999_ms: round(s.p999Ms),
    max_ms: round(s.maxMs),
    held_back: w.heldBack,
    errors: w.errors,
    unexpected_closes: w.unexpectedCloses,
    broker_cpu_pct: round(s.broker.cpuPct),
    client_cpu_pct: round(w.clientCpuPct),
    loop_p99_ms: round(s.broker.loopP99Ms),
    rss_mib: round(s.broker.rssMiB),
    foreign_cpu0_pct: round(foreign(s.broker)),
    cpu_steal_pct: steal(s.broker.cpus),
    attempt: s.attempt,
    pass: s.failed.length === 0,
    ...(s.failed.length > 0 ? { failed: s.failed } : {}),
  };
}

/** RSS trend after the warm-up: least-squares slope (MiB/min) and the fitted growth from the
 *  warm-up's end to the soak's end, in % (the fit, not two single readings, which the
 *  collector's saw-tooth moves by several MiB). */
function rssTrend(windows: SoakWindow[], warmupS: number) {
  const after = windows.filter((w) => w.tS >= warmupS);
  const mins = after.map((w) => w.tS / 60);
  const rss = after.map((w) => w.broker.rssMiB);
  const fit = leastSquares(mins, rss);
  const from = fit.at(warmupS / 60);
  const to = fit.at(mins.at(-1) ?? NaN);
  // The saw-tooth's floor: the lowest reading of each minute after the warm-up (what survives
  // the collections), fitted the same way; a leak raises the floor, garbage only the teeth. A
  // minute with fewer than half the readings of the fullest (the soak's last, often one
  // reading) has no floor.
  const minutes = new Map<number, SoakWindow[]>();
  for (const w of after) {
    const m = Math.floor((w.tS - warmupS) / 60);
    minutes.set(m, [...(minutes.get(m) ?? []), w]);
  }
  const fullest = Math.max(0, ...[...minutes.values()].map((ws) => ws.length));
  const floors = [...minutes.values()].filter((ws) => ws.length >= fullest / 2).map((ws) => ws.reduce((a, b) => (b.broker.rssMiB < a.broker.rssMiB ? b : a)));
  const floor = leastSquares(floors.map((w) => w.tS / 60), floors.map((w) => w.broker.rssMiB));
  return { slopeMiBPerMin: fit.slope, floorSlopeMiBPerMin: floor.slope, fittedStartMiB: from, fittedEndMiB: to, growthPct: ((to - from) / from) * 100, firstMiB: rss[0] ?? NaN, lastMiB: rss.at(-1) ?? NaN, windows: after.length };
}

export function soakReport(r: ReportInput) {
  const ws = r.windows;
  const all = new Float64Array(ws.reduce((n, w) => n + w.window.latencies.length, 0));
  let at = 0;
  for (const w of ws) {
    all.set(w.window.latencies, at);
    at += w.window.latencies.length;
  }
  const p99 = percentile(all, 99);
  const p999 = percentile(all, 99.9);
  const col = (f: (w: SoakWindow) => number) => ws.map((w) => round(f(w)));
  const loopP99s = ws.map((w) => w.broker.loopP99Ms);
  const trend = rssTrend(ws, r.warmupS);
  const walMax = max(ws.map((w) => w.broker.walMiB));
  const afterWarmup = ws.filter((w) => w.tS >= r.warmupS);
  const idle = ws.map((w) => w.broker.idleCollections);
  const idleDuringSoak = (idle.at(-1) ?? NaN) - (idle[0] ?? NaN);
  const sum = (f: (w: SoakWindow) => number) => ws.reduce((a, w) => a + f(w), 0);
  const lost = r.loss.messages;
  const judged = (value: number, limit: { below: number }) => ({ value: round(value), below: limit.below, pass: Number.isFinite(value) && value < limit.below });
  const verdict = {
    p99_ms: judged(p99, SLO.p99_ms),
    p999_ms: judged(p999, SLO.p999_ms),
    loop_p99_ms: judged(max(loopP99s), SLO.loop_p99_ms),
    rss_growth_pct: judged(trend.growthPct, SLO.rss_growth_pct),
    wal_mib: judged(walMax, SLO.wal_mib),
    lost: judged(lost, SLO.lost),
  };
  const fds = ws.map((w) => w.broker.fds);
  return {
    bench: "soak",
    mode: r.mode,
    date: new Date().toISOString(),
    capacity_per_s: r.capacityPerS,
    soak_rate_per_s: r.soakRatePerS,
    pass: Object.values(verdict).every((v) => v.pass),
    verdict,
    checks: {
      idle_collections_during_soak: idleDuringSoak,
      errors: sum((w) => w.window.errors),
      unexpected_closes: sum((w) => w.window.unexpectedCloses),
      fds_after_warmup: { first: afterWarmup[0]?.broker.fds ?? null, last: fds.at(-1) ?? null, max: max(fds) },
      drained: r.drained,
    },
    ramp: r.ramp.map(rampRow),
    soak: {
      seconds: round(ws.at(-1)?.tS ?? 0),
      warmup_s: r.warmupS,
      offered_per_s: round(sum((w) => w.window.sends) / sum((w) => w.window.seconds)),
      pushes_per_s: round(sum((w) => w.window.pushes) / sum((w) => w.window.seconds)),
      p50_ms: round(percentile(all, 50)),
      p99_ms: round(p99),
      p999_ms: round(p999),
      max_ms: round(percentile(all, 100)),
      window_p99_ms: { median: round(percentile(ws.map((w) => w.p99Ms), 50)), max: round(max(ws.map((w) => w.p99Ms))) },
      loop_p99_ms: { median: round(percentile(loopP99s, 50)), max: round(max(loopP99s)) },
      loop_max_ms: round(max(ws.map((w) => w.broker.loopMaxMs))),
      rss: { slope_mib_per_min: round(trend.slopeMiBPerMin), floor_slope_mib_per_min: round(trend.floorSlopeMiBPerMin), growth_pct: round(trend.growthPct), fitted_start_mib: round(trend.fittedStartMiB), fitted_end_mib: round(trend.fittedEndMiB), first_mib: round(trend.firstMiB), last_mib: round(trend.lastMiB), peak_mib: round(max(ws.map((w) => w.broker.rssMiB))), windows: trend.windows },
      broker_cpu_pct: round(mean(ws.map((w) => w.broker.cpuPct))),
      client_cpu_pct: round(mean(ws.map((w) => w.window.clientCpuPct))),
      wal_mib_max: round(walMax),
      queue_depth_max: max(ws.map((w) => w.broker.queueDepth)),
      connections: { min: min(ws.map((w) => w.broker.connections)), max: max(ws.map((w) => w.broker.connections)) },
      foreign_cpu0_pct: { mean: round(mean(ws.map((w) => foreign(w.broker)))), max: round(max(ws.map((w) => foreign(w.broker)))) },
      cpu_steal_pct_mean: Object.fromEntries(Object.keys(ws[0]?.broker.cpus ?? {}).map((k) => [k, round(mean(ws.map((w) => w.broker.cpus[k]?.stealPct ?? 0)))])),
      series: {
        t_s: col((w) => w.tS),
        offered_per_s: col((w) => w.window.offeredPerS),
        p50_ms: col((w) => w.p50Ms),
        p99_ms: col((w) => w.p99Ms),
        p999_ms: col((w) => w.p999Ms),
        rss_mib: col((w) => w.broker.rssMiB),
        cpu_pct: col((w) => w.broker.cpuPct),
        fds: col((w) => w.broker.fds),
        wal_mib: col((w) => w.broker.walMiB),
        loop_p99_ms: col((w) => w.broker.loopP99Ms),
        loop_max_ms: col((w) => w.broker.loopMaxMs),
        queue_depth: col((w) => w.broker.queueDepth),
        foreign_cpu0_pct: col((w) => foreign(w.broker)),
        steal_pct: col((w) => max(Object.values(w.broker.cpus).map((c) => c.stealPct))),
      },
    },
    delivery: { ...r.totals, lost_messages: lost, lost_deliveries: r.loss.deliveries, unanswered: r.loss.unanswered, ...(r.loss.examples.length > 0 ? { lost_examples: r.loss.examples } : {}) },
    method: r.method,
    machine: r.machine,
    wall_s: round(r.wallS),
  };
}
