// The dashboard's charts: the /metrics counters sampled every few seconds into a bounded ring, so a
// page can draw the last hour without a Prometheus server. Counters become per-second rates
// between consecutive samples; gauges are taken as they are.
import type { Store } from "../store/types.ts";
import type { Metrics } from "./metrics.ts";

/** Time between samples. */
export const SAMPLE_INTERVAL_MS = 5_000;
/** Samples kept: one hour at SAMPLE_INTERVAL_MS. */
export const SAMPLE_CAPACITY = 720;

/** One point of every chart. Rates are per second over the interval before `t`. */
export type ChartPoint = { t: number; connections: number; messagesPerS: number; queueDepth: number; rejectionsPerS: number };

type Raw = { t: number; connections: number; messages: number; rejections: number; queueDepth: number };

const total = async (m: { get(): Promise<{ values: { value: number }[] }> }) => (await m.get()).values.reduce((s, v) => s + v.value, 0);

export class MetricSampler {
  private readonly ring: Raw[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the counters now (the same series /metrics exports). */
  async read(): Promise<Raw> {
    const queueDepth = await this.store.totalQueueDepth();
    this.metrics.queueDepth.set(queueDepth);
    return {
      t: this.now(),
      connections: await total(this.metrics.connectionsActive),
      messages: await total(this.metrics.messagesRouted),
      rejections: (await total(this.metrics.connectionsRejected)) + (await total(this.metrics.messagesRejected)),
      queueDepth,
    };
  }

  /** Takes one sample into the ring, dropping the oldest past SAMPLE_CAPACITY. */
  async sample(): Promise<void> {
    this.ring.push(await this.read());
    if (this.ring.length > SAMPLE_CAPACITY) this.ring.shift();
  }

  start(intervalMs = SAMPLE_INTERVAL_MS): void {
    void this.sample().catch(() => {});
    this.timer = setInterval(() => void this.sample().catch(() => {}), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The chart points, oldest first, ending with a reading taken now (so a fresh broker's charts
   *  already have a current point) unless the last sample is under a second old. */
  async points(): Promise<ChartPoint[]> {
    const current = await this.read();
    const last = this.ring.at(-1);
    const raws = last && current.t - last.t < 1000 ? [...this.ring] : [...this.ring, current];
    return raws.slice(1).map((r, i) => {
      const prev = raws[i]!;
      const dtS = Math.max((r.t - prev.t) / 1000, 0.001);
      return {
        t: r.t,
        connections: r.connections,
        queueDepth: r.queueDepth,
        messagesPerS: Math.max(0, r.messages - prev.messages) / dtS,
        rejectionsPerS: Math.max(0, r.rejections - prev.rejections) / dtS,
      };
    });
  }
}
