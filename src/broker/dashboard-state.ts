// What the dashboard keeps while a broker runs: cookie sessions and the chart sampler. Created
// with the broker, stopped with it.
import type { ServerView } from "./path-prefix.ts";
import type { BrokerContext } from "./context.ts";
import { MetricSampler } from "./dashboard-samples.ts";
import { SessionStore } from "./dashboard-sessions.ts";
import { loginThrottle } from "./dashboard-login.ts";
import type { AddressThrottle } from "./address-throttle.ts";
import { ThrottledLog } from "./throttled-log.ts";

export type Dashboard = {
  readonly sessions: SessionStore;
  readonly sampler: MetricSampler;
  readonly version: string;
  /** performance.now() when the broker started (uptimeS in http/ops.ts). */
  readonly startedAt: number;
  /** Closes live event streams (SSE) when the broker stops; registered by the events route. */
  readonly streams: Set<() => void>;
  /** Per-address throttle of logins and of operator token attempts (dashboard-login.ts). */
  readonly logins: AddressThrottle;
  /** Refused logins and operator tokens, logged at a bounded rate (a guesser cannot flood it). */
  readonly refusedLogins: ThrottledLog;
  /** The Bun server, once listening: the client address of a request, and per-request timeouts
   *  (Elysia's own `server` is null because the broker hands requests to app.handle itself).
   *  Asked about a request rewritten under publicUrl's path, it answers for the one received
   *  (path-prefix.ts), so routes never ask Bun itself. */
  server: ServerView | null;
  stop(): void;
};

export function createDashboard(ctx: BrokerContext, version: string, startedAt: number): Dashboard {
  const sampler = new MetricSampler(ctx.metrics, ctx.store);
  sampler.start();
  const streams = new Set<() => void>();
  return {
    sessions: new SessionStore(() => performance.now()), // monotonic: a clock set back extends no session
    sampler,
    version,
    startedAt,
    streams,
    logins: loginThrottle(() => ctx.config.trustedProxies),
    refusedLogins: new ThrottledLog(ctx.log, "warn", "dashboard login refused", () => ctx.now()),
    server: null,
    stop() {
      sampler.stop();
      for (const close of [...streams]) close();
    },
  };
}
