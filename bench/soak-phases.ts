// The two phases of the soak (bench/soak.ts) over one MixedTraffic and one BrokerSampler: the
// ramp, whose steps raise the offered rate until one fails, and the soak at a fixed rate, read
// every few seconds. Both log progress to stderr.
import { until } from "./load.ts";
import type { BrokerSampler, BrokerSample } from "./soak-sampler.ts";
import type { MixedTraffic, WindowStats } from "./soak-traffic.ts";
import { percentile } from "./stats.ts";

/** A ramp step or a soak window fails at a p99 send → push above this (reliability plan T8). */
export const STEP_P99_LIMIT_MS = 100;
/** A step's offered rate (sends) and delivered rate (pushes) must reach this share of the target. */
const ACHIEVED_SHARE = 0.97;
/** Unmeasured traffic at the start of each step, so the window does not see the rate change. */
const STEP_WARMUP_MS = 1_000;

export const log = (msg: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** `retries`: how many times a failed step is run again before the ramp stops (this machine is
 *  shared, and one foreign burst on the broker's core can fail a step the broker would pass). */
export type RampOpts = { startPerS: number; factor: number; stepS: number; maxSteps: number; retries: number };

export type Step = {
  targetPerS: number;
  window: WindowStats;
  broker: BrokerSample;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** 0 for the first run of this rate, 1 for its first retry, ... */
  attempt: number;
  /** Why the step failed; empty when it passed. */
  failed: string[];
};

/** The rate of step k (0-based): startPerS × factor^k, rounded. */
export const stepRate = (o: RampOpts, k: number) => Math.round(o.startPerS * o.factor ** k);

/** Why a window at this load fails the step criteria (empty: it passes). */
export function judgeStep(w: WindowStats, p99Ms: number): string[] {
  const failed: string[] = [];
  if (w.latencies.length === 0) failed.push("no push arrived");
  if (p99Ms > STEP_P99_LIMIT_MS) failed.push(`p99 ${p99Ms.toFixed(1)} ms > ${STEP_P99_LIMIT_MS} ms`);
  if (w.offeredPerS < ACHIEVED_SHARE * w.targetPerS) failed.push(`offered ${w.offeredPerS.toFixed(0)}/s < ${ACHIEVED_SHARE * 100}% of ${w.targetPerS}/s (${w.heldBack} held back)`);
  if (w.pushes < ACHIEVED_SHARE * w.owedPushes) failed.push(`delivered ${w.pushes} pushes < ${ACHIEVED_SHARE * 100}% of the ${w.owedPushes} owed by the window's sends`);
  if (w.errors > 0) failed.push(`${w.errors} error frames (first: ${w.firstError})`);
  if (w.unexpectedCloses > 0) failed.push(`${w.unexpectedCloses} sockets closed by the broker`);
  return failed;
}

/** Raises the rate step by step until a step fails `retries` + 1 times in a row or maxSteps
 *  rates ran; the traffic is stopped and drained (at most `drainMs`) afterwards. Returns every
 *  step run (retries included), the failing one last. */
export async function runRamp(traffic: MixedTraffic, sampler: BrokerSampler, o: RampOpts, drainMs: number): Promise<Step[]> {
  const steps: Step[] = [];
  for (let k = 0, attempt = 0; k < o.maxSteps; ) {
    const target = stepRate(o, k);
    if (attempt > 0) {
      // A retry starts from an idle broker, not from the backlog the failed run left.
      traffic.setRate(0);
      await drain(traffic, drainMs);
    }
    traffic.setRate(target);
    await Bun.sleep(STEP_WARMUP_MS);
    await sampler.reset();
    traffic.openWindow();
    await Bun.sleep(o.stepS * 1000 - STEP_WARMUP_MS);
    const window = traffic.closeWindow();
    const broker = await sampler.sample();
    const lat = window.latencies;
    const p99Ms = percentile(lat, 99);
    const step: Step = { targetPerS: target, window, broker, p50Ms: percentile(lat, 50), p99Ms, p999Ms: percentile(lat, 99.9), maxMs: percentile(lat, 100), attempt, failed: judgeStep(window, p99Ms) };
    steps.push(step);
    log(`step ${target}/s${attempt > 0 ? ` (retry ${attempt})` : ""}: offered ${window.offeredPerS.toFixed(0)}/s, ${(window.pushes / window.seconds).toFixed(0)} pushes/s, p50 ${step.p50Ms.toFixed(1)} ms, p99 ${p99Ms.toFixed(1)} ms, p99.9 ${step.p999Ms.toFixed(1)} ms, broker CPU ${broker.cpuPct.toFixed(0)}%, client CPU ${window.clientCpuPct.toFixed(0)}%, loop p99 ${broker.loopP99Ms.toFixed(1)} ms, steal ${steal(broker)}% -> ${step.failed.length === 0 ? "PASS" : `FAIL: ${step.failed.join("; ")}`}`);
    if (step.failed.length === 0) {
      k++;
      attempt = 0;
    } else if (++attempt > o.retries) break;
  }
  traffic.setRate(0);
  await drain(traffic, drainMs);
  return steps;
}

export type SoakOpts = { ratePerS: number; durationS: number; sampleS: number };

/** One soak window: the traffic's and the broker's readings, `tS` seconds into the soak. */
export type SoakWindow = { tS: number; window: WindowStats; broker: BrokerSample; p50Ms: number; p99Ms: number; p999Ms: number };

/** Sends at `ratePerS` for `durationS`, reading every `sampleS`; then stops and drains (at most
 *  `drainMs`). Returns every window and whether the drain settled every acked send. */
export async function runSoak(traffic: MixedTraffic, sampler: BrokerSampler, o: SoakOpts, drainMs: number): Promise<{ windows: SoakWindow[]; drained: boolean }> {
  const windows: SoakWindow[] = [];
  traffic.setRate(o.ratePerS);
  await sampler.reset();
  const t0 = performance.now();
  let logged = 0;
  while (performance.now() - t0 < o.durationS * 1000) {
    traffic.openWindow();
    // Windows end on the sampling grid, so a late timer does not shift every later one.
    const next = t0 + (windows.length + 1) * o.sampleS * 1000;
    await Bun.sleep(Math.max(0, next - performance.now()));
    const window = traffic.closeWindow();
    const broker = await sampler.sample();
    const lat = window.latencies;
    const w: SoakWindow = { tS: (performance.now() - t0) / 1000, window, broker, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), p999Ms: percentile(lat, 99.9) };
    windows.push(w);
    if (w.tS - logged >= 60 || o.durationS <= 60) {
      logged = w.tS;
      log(`soak ${w.tS.toFixed(0)} s: ${window.offeredPerS.toFixed(0)} sends/s, p50 ${w.p50Ms.toFixed(1)} ms, p99 ${w.p99Ms.toFixed(1)} ms, RSS ${broker.rssMiB.toFixed(1)} MiB, CPU ${broker.cpuPct.toFixed(0)}%, fds ${broker.fds}, -wal ${broker.walMiB.toFixed(1)} MiB, loop p99 ${broker.loopP99Ms.toFixed(1)} ms (max ${broker.loopMaxMs.toFixed(0)}), queue ${broker.queueDepth}, idle GCs ${broker.idleCollections}, steal ${steal(broker)}%`);
    }
  }
  traffic.setRate(0);
  return { windows, drained: await drain(traffic, drainMs) };
}

/** Waits until every send is answered and every acked one delivered, at most `ms`. */
async function drain(traffic: MixedTraffic, ms: number): Promise<boolean> {
  const ok = await until(() => traffic.ledger.open === 0, ms);
  if (!ok) log(`drain: ${traffic.ledger.open} sends still unsettled after ${ms / 1000} s`);
  return ok;
}

const steal = (b: BrokerSample) => Object.values(b.cpus).map((c) => c.stealPct.toFixed(0)).join("/");
