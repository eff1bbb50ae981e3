// Operations endpoints: liveness, readiness, Prometheus metrics. Unauthenticated by design; they
// reveal no mesh state, and liveness never touches the database (see db-health.ts).
import { Elysia } from "elysia";
import type { BrokerContext } from "../context.ts";
import { DbHealth } from "../db-health.ts";
import { describe } from "./openapi.ts";

/** Whole seconds since `startedAt`, a performance.now() reading: never negative after the wall
 *  clock is stepped back. */
export const uptimeS = (startedAt: number) => Math.round((performance.now() - startedAt) / 1000);

export function opsRoutes(ctx: BrokerContext, version: string, startedAt: number) {
  const db = new DbHealth(ctx.store, ctx.metrics.dbHealthy);
  void db.probe(); // the gauge and liveness know the database from the start
  return new Elysia({ name: "ops" })
    .get(
      "/health",
      () => {
        // Liveness: 200 whatever the database does, at once and without writing, so a supervisor
        // does not restart a process that only needs its disk (or another process's lock) back.
        // `db` is what the last probe found.
        return { status: "ok", version, uptimeS: uptimeS(startedAt), db: db.up ? "up" : "down" };
      },
      { detail: { summary: "Liveness", tags: ["operations"], ...describe({ auth: "none", ok: { 200: "Alive, also while the database is down (`db` says which)." }, errors: [] }) } },
    )
    .get(
      "/health/ready",
      async ({ set }) => {
        const h = await db.ready();
        let reason: string | null = null;
        if (ctx.draining) reason = "draining";
        else if (!h.writable) reason = "db_unwritable";
        else if (h.schemaVersion !== h.expectedVersion) reason = "migration_mismatch";
        if (reason) set.status = 503;
        return { status: reason ? "not_ready" : "ready", reason, schemaVersion: h.schemaVersion, expectedVersion: h.expectedVersion, ...(h.error ? { error: h.error } : {}) };
      },
      { detail: { summary: "Readiness: database writable and schema at the expected version", tags: ["operations"], ...describe({ auth: "none", ok: { 200: "Ready.", 503: "Not ready: `reason` is draining, db_unwritable or migration_mismatch." }, errors: [] }) } },
    )
    .get(
      "/metrics",
      async ({ set }) => {
        await db.refreshForScrape();
        ctx.metrics.queueDepth.set(await ctx.store.totalQueueDepth());
        let unsent = 0;
        let paused = 0;
        for (const c of ctx.hub.allConns()) {
          unsent += c.transport.buffered();
          if (c.readingIsPaused) paused++;
        }
        ctx.metrics.unsentBytes.set(unsent);
        ctx.metrics.connectionsPaused.set(paused);
        const checkpoints = ctx.store.checkpointStats?.();
        if (checkpoints) {
          // The thread counts; the counter mirrors its totals.
          ctx.metrics.walCheckpoints.reset();
          ctx.metrics.walCheckpoints.inc({ result: "ok" }, checkpoints.checkpoints);
          ctx.metrics.walCheckpoints.inc({ result: "busy" }, checkpoints.busy);
          ctx.metrics.walCheckpoints.inc({ result: "failed" }, checkpoints.failures);
        }
        set.headers["content-type"] = ctx.metrics.registry.contentType;
        return ctx.metrics.registry.metrics();
      },
      { detail: { summary: "Prometheus metrics", tags: ["operations"], ...describe({ auth: "none", ok: { 200: "Prometheus text exposition format." }, errors: [] }) } },
    );
}
