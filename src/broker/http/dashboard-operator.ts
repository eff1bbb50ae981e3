// Broker-wide views for the operator (the token `serve` prints on first run, or a new one from
// `claudemesh admin token`): every mesh with its size and live connections, and health.
import { Elysia } from "elysia";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { requireOperator } from "./dashboard-auth.ts";
import { uptimeS } from "./ops.ts";
import { describe } from "./openapi.ts";

export function dashboardOperatorRoutes(ctx: BrokerContext, dash: Dashboard) {
  return new Elysia({ name: "dashboard-operator" }).get(
    "/v1/dashboard/operator/overview",
    async ({ request }) => {
      await requireOperator(ctx, dash, request);
      const [health, meshes] = await Promise.all([ctx.store.health(), ctx.store.listMeshes()]);
      let connections = 0;
      for (const _ of ctx.hub.allConns()) connections++;
      return {
        version: dash.version,
        uptimeS: uptimeS(dash.startedAt),
        draining: ctx.draining,
        health,
        presences: ctx.hub.size,
        connections,
        queueDepth: await ctx.store.totalQueueDepth(),
        meshes: meshes.map((m) => ({ ...m, connections: ctx.hub.meshConnectionCount(m.id) })),
      };
    },
    { detail: { summary: "All meshes and broker health (operator token)", description: "Cookie from /v1/dashboard/operator/login, or Authorization: Bearer <operator token>.", tags: ["dashboard"], ...describe({ auth: "operator", ok: { 200: "Every mesh with its counts, and the broker's health." }, errors: ["unauthorized", "page_key_required", "rate_limited"] }) } },
  );
}
