// Another process listening on a TLS broker's port while it runs. Its listeners set SO_REUSEPORT
// (for a renewal's second one, listener.ts), so any process of the same user that sets it too can
// listen on the same address and port later, and the kernel then hands it a share of the new
// connections (or all of them, for an address the broker takes only through its wildcard:
// port-sharers.ts takesFrom): clients that land there never reach the broker, with nothing in the
// broker's log. The start refuses such a port (listener.ts); this looks again every PORT_CHECK_MS
// and at each SIGHUP, says so at error while it lasts (again every REMIND_MS) and once it is over,
// and keeps broker_port_sharers at the count.
import type { Log } from "../log/log.ts";
import { PortSharers } from "./port-sharers.ts";

/** How often the port is looked at: a few hundred bytes of /proc/self/net/tcp{,6}, 0.2 ms with
 *  10,000 connections open (port-sharers.ts); the descriptors are gone through only when a
 *  listener not seen before appears. */
export const PORT_CHECK_MS = 10_000;
/** How often the error is said again while another process still listens. */
export const REMIND_MS = 10 * 60_000;

/** Where the count goes: broker_port_sharers (metrics.ts). */
type CountGauge = { set(value: number): void };

export class PortWatch {
  #sharers = 0;
  #saidAt = Number.NEGATIVE_INFINITY;
  readonly #count: () => number;

  /** `count`: how many others listen (default: PortSharers, from /proc); `now`: a monotonic clock
   *  in ms. */
  constructor(
    private readonly port: number,
    private readonly log: Log,
    private readonly gauge: CountGauge,
    count?: () => number,
    private readonly now: () => number = () => performance.now(),
  ) {
    const sharers = new PortSharers(port);
    this.#count = count ?? (() => sharers.count());
  }

  /** One look. Never throws. */
  check(): void {
    const n = this.#count();
    this.gauge.set(n);
    const now = this.now();
    if (n > 0 && (n !== this.#sharers || now - this.#saidAt >= REMIND_MS)) {
      this.#saidAt = now;
      this.log.error(`another process listens on port ${this.port} beside this broker (SO_REUSEPORT) and takes some or all of its new connections: the clients it gets never reach the broker`, {
        port: this.port,
        sharers: n,
        fix: `find it with ss -ltnp 'sport = :${this.port}' (this broker is PID ${process.pid}) and stop it, or give it another port; two brokers must not share a port`,
      });
    } else if (n === 0 && this.#sharers > 0) {
      this.log.info(`the other listeners on port ${this.port} are gone: every new connection reaches this broker again`, { port: this.port });
    }
    this.#sharers = n;
  }

  /** A watch of `port` that looks every PORT_CHECK_MS until `stop` (its timer keeps no process
   *  alive). */
  static start(port: number, log: Log, gauge: CountGauge): { check(): void; stop(): void } {
    const watch = new PortWatch(port, log, gauge);
    const timer = setInterval(() => watch.check(), PORT_CHECK_MS);
    timer.unref?.();
    return { check: () => watch.check(), stop: () => clearInterval(timer) };
  }
}
