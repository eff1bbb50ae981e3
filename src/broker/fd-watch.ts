// Open file descriptors against the process's limit. Every connection holds one, beside the ~20
// the broker holds anyway (the database and its WAL, the lock and PID files, the event loop). A
// broker with none left cannot accept: the kernel queues new connections, the HTTP layer's
// accept() fails with EMFILE and is retried at once (measured: ~9,700 failing accept4 calls in
// 2 s, a core busy while idle), no request reaches the broker's code, and nothing would say so.
// Every FD_CHECK_MS the broker counts its descriptors and warns at FD_WARN_SHARE of the soft
// limit, or when the count itself fails with EMFILE/ENFILE (the limit reached), at most once per
// LOG_EVERY_MS, naming the limit and how to raise it; once back under FD_CLEAR_SHARE it says so.
// Bun's runtime already raises the soft limit to the hard one when it starts (docs/decisions.md
// "Session 32: out of file descriptors"), so the limit named is the one to raise.
import { readdirSync, readFileSync } from "node:fs";
import type { Log } from "../log/log.ts";
import { ThrottledLog } from "./throttled-log.ts";

/** How often descriptors are counted (a bound from /proc/self/status, 0.2 ms, and a listing of
 *  /proc/self/fd only near the limit: 15 ms for 19,000 descriptors). */
export const FD_CHECK_MS = 5_000;
/** Share of the soft limit at which the broker warns. */
export const FD_WARN_SHARE = 0.9;
/** Share under which a broker that warned says it is back. */
export const FD_CLEAR_SHARE = 0.75;

/** What the warnings tell the operator to do. */
export const FD_FIX = "raise the open-files limit: LimitNOFILE= in the systemd unit (systemctl edit claudemesh), or ulimit -n before starting claudemesh serve; each connection holds one (docs/operations.md \"Open files\")";

/** How the watch reads the process. Both may throw (EMFILE: no descriptor left to read with). */
export type FdProbe = {
  /** Descriptors open now; any number below `floor` when there are fewer than `floor`. */
  count(floor: number): number;
  /** The soft RLIMIT_NOFILE, or null where it is not known (no /proc: macOS). */
  limit(): number | null;
};

const isOutOfDescriptors = (err: unknown) => ["EMFILE", "ENFILE"].includes((err as { code?: unknown })?.code as string);

export class FdWatch {
  private readonly near: ThrottledLog;
  private readonly out: ThrottledLog;
  private warned = false;
  /** The latest limit read: reading it needs a descriptor too. */
  private limit: number | null = null;

  /** `now`: a monotonic clock in ms (the throttle's). */
  constructor(
    private readonly log: Log,
    private readonly probe: FdProbe = systemProbe(),
    now: () => number = () => performance.now(),
  ) {
    this.near = new ThrottledLog(log, "warn", "open file descriptors near the limit: once it is reached, new connections are not accepted", now);
    this.out = new ThrottledLog(log, "warn", "out of file descriptors: new connections are not accepted, and retrying them keeps a CPU busy", now);
    try {
      this.limit = probe.limit();
    } catch {
      // Read again at each check.
    }
  }

  /** One look. Never throws: a failure to count other than EMFILE/ENFILE is not reported. */
  check(): void {
    let open: number;
    try {
      this.limit = this.probe.limit();
      // Fewer than this need no exact count: the watch only tells above it.
      open = this.probe.count(this.limit === null ? Number.POSITIVE_INFINITY : Math.ceil(this.limit * (this.warned ? FD_CLEAR_SHARE : FD_WARN_SHARE)));
    } catch (err) {
      if (!isOutOfDescriptors(err)) return;
      this.warned = true;
      this.out.note({ limit: this.limit, code: (err as { code: string }).code, fix: FD_FIX });
      return;
    }
    const limit = this.limit;
    if (limit !== null && open >= limit * FD_WARN_SHARE) {
      this.warned = true;
      this.near.note({ open, limit, fix: FD_FIX });
    } else if (this.warned && limit !== null && open < limit * FD_CLEAR_SHARE) {
      this.warned = false;
      this.log.info("open file descriptors back under the limit", { open, limit });
    }
  }
}

/** This process: /proc on Linux, /dev/fd (count only) elsewhere. */
export function systemProbe(platform = process.platform): FdProbe {
  const linux = platform === "linux";
  return {
    count(floor) {
      // Every open descriptor is below the size of the process's descriptor table.
      const size = linux ? Number(/^FDSize:\s*(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) : NaN;
      if (size < floor) return size;
      return readdirSync(linux ? "/proc/self/fd" : "/dev/fd").length - 1; // less the listing's own
    },
    limit() {
      if (!linux) return null;
      const soft = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
      return soft && soft !== "unlimited" ? Number(soft) : null;
    },
  };
}
