// Operations endpoints: liveness, readiness, Prometheus metrics. Unauthenticated by design; they
// reveal no mesh state.
import { Elysia } from "elysia";
import type { BrokerContext } from "../context.ts";

export function opsRoutes(ctx: BrokerContext, version: string, startedAt: number) {
  return new Elysia({ name: "ops" })
    .get(
      "/health",
      async () => {
        // Liveness: 200 even when the database has a transient problem, so a supervisor does not
        // restart a process that only needs its disk back.
        const h = await ctx.store.health();
        return { status: "ok", version, uptimeS: Math.round((Date.now() - startedAt) / 1000), db: h.writable ? "up" : "down" };
      },
      { detail: { summary: "Liveness", tags: ["operations"] } },
    )
    .get(
      "/health/ready",
      async ({ set }) => {
        const h = await ctx.store.health();
        ctx.metrics.dbHealthy.set(h.writable ? 1 : 0);
        let reason: string | null = null;
        if (ctx.draining) reason = "draining";
        else if (!h.writable) reason = "db_unwritable";
        else if (h.schemaVersion !== h.expectedVersion) reason = "migration_mismatch";
        if (reason) set.status = 503;
        return { status: reason ? "not_ready" : "ready", reason, schemaVersion: h.schemaVersion, expectedVersion: h.expectedVersion, ...(h.error ? { error: h.error } : {}) };
      },
      { detail: { summary: "Readiness: database writable and schema at the expected version", tags: ["operations"] } },
    )
    .get(
      "/metrics",
      async ({ set }) => {
        ctx.metrics.queueDepth.set(await ctx.store.totalQueueDepth());
        set.headers["content-type"] = ctx.metrics.registry.contentType;
        return ctx.metrics.registry.metrics();
      },
      { detail: { summary: "Prometheus metrics", tags: ["operations"] } },
    );
}
