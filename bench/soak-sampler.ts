// The soak's view of the broker (bench/soak.ts), one reading per sampling window: from /proc its
// resident memory, CPU % since the last reading and open descriptors; the size of its database's
// -wal file; and from its /metrics (scraped by nobody else, so prom-client's event-loop histogram,
// reset at every scrape, covers exactly the window) the event-loop lag, the queue depth, the idle
// collections and the authenticated connections.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { cpuSeconds, openFds, rssMiB, watchCpus, type CpuShare } from "./proc.ts";
import type { ServerProcess } from "./servers.ts";

/** The /metrics series read, by name (prom-client's default metrics carry the `broker_` prefix). */
const SERIES = {
  loopP99: "broker_nodejs_eventloop_lag_p99_seconds",
  loopMax: "broker_nodejs_eventloop_lag_max_seconds",
  queueDepth: "broker_queue_depth",
  idleCollections: "broker_idle_collections_total",
  connections: "broker_connections_active",
} as const;
const SCRAPE_TIMEOUT_MS = 5_000;

export type BrokerSample = {
  rssMiB: number;
  /** Since the previous reading; 100 = one core. */
  cpuPct: number;
  fds: number;
  walMiB: number;
  /** Event-loop delay over the window (prom-client's monitorEventLoopDelay, 10 ms resolution). */
  loopP99Ms: number;
  loopMaxMs: number;
  queueDepth: number;
  idleCollections: number;
  connections: number;
  /** Busy and hypervisor-steal % per CPU since the previous reading (the machine is shared). */
  cpus: Record<string, CpuShare>;
};

/** `name value` lines of a Prometheus text page, labelled series under their full `name{...}`. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

export class BrokerSampler {
  private cpu0: number;
  private t0: number;
  private cpus: ReturnType<typeof watchCpus>;
  private readonly walPath: string | null;

  /** Starts the first window now. */
  constructor(private readonly srv: ServerProcess) {
    const wal = srv.dataDir ? readdirSync(srv.dataDir).find((f) => f.endsWith("-wal")) : undefined;
    this.walPath = wal && srv.dataDir ? join(srv.dataDir, wal) : null;
    this.cpu0 = cpuSeconds(srv.pid);
    this.t0 = performance.now();
    this.cpus = watchCpus();
  }

  /** Starts a new window and drops the reading (its scrape also clears the broker's event-loop
   *  histogram), e.g. before the first measured window. */
  async reset(): Promise<void> {
    await this.sample();
  }

  /** The reading for the window since the previous call (or construction); starts the next. */
  async sample(): Promise<BrokerSample> {
    const metrics = await this.scrape();
    const now = performance.now();
    const cpu = cpuSeconds(this.srv.pid);
    const cpuPct = ((cpu - this.cpu0) / ((now - this.t0) / 1000)) * 100;
    this.cpu0 = cpu;
    this.t0 = now;
    const cpus = this.cpus.stop();
    this.cpus = watchCpus();
    const get = (k: keyof typeof SERIES) => metrics.get(SERIES[k]) ?? NaN;
    return {
      rssMiB: rssMiB(this.srv.pid),
      cpuPct,
      fds: openFds(this.srv.pid),
      walMiB: this.walMiB(),
      loopP99Ms: get("loopP99") * 1000,
      loopMaxMs: get("loopMax") * 1000,
      queueDepth: get("queueDepth"),
      idleCollections: get("idleCollections"),
      connections: get("connections"),
      cpus,
    };
  }

  private walMiB(): number {
    try {
      return this.walPath ? statSync(this.walPath).size / 2 ** 20 : NaN;
    } catch {
      return NaN; // checkpointed away and not yet recreated
    }
  }

  private async scrape(): Promise<Map<string, number>> {
    try {
      const res = await fetch(`${this.srv.httpUrl}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      return parseMetrics(await res.text());
    } catch (err) {
      process.stderr.write(`[soak] /metrics scrape failed: ${(err as Error).message}\n`);
      return new Map();
    }
  }
}
