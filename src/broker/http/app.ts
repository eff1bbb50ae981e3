// The HTTP application: every route, its OpenAPI document and an offline API reference UI.
// Bodies are parsed once here; the raw text is kept for signature checks over the exact bytes.
import { Elysia } from "elysia";
import { swagger } from "@elysiajs/swagger";
// The package does not export this path, so it is imported by location; the bundler embeds it.
import scalarBundle from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with { type: "file" };
import { MeshError } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import { errorResponse, fromElysia } from "./errors.ts";
import { parseBody, readBody } from "./body.ts";
import { countAnswer, countedRoutes, type Counted } from "./refusals.ts";
import { allowedMethods, wrongMethodResponse, type RouteInfo } from "./allowed-methods.ts";
import { meshRoutes } from "./meshes.ts";
import { hookRoutes } from "./hook.ts";
import { opsRoutes } from "./ops.ts";
import { dashboardRoutes } from "./dashboard.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { ERROR_SCHEMA, SECURITY_SCHEMES } from "./openapi.ts";

export function createHttpApp(ctx: BrokerContext, version: string, startedAt: number, dash: Dashboard) {
  const raw = new WeakMap<Request, string>();
  const rawBody = (req: Request) => raw.get(req) ?? "";
  // The error each refused request was answered with, mapped once (onError), counted once answered.
  const refusals = new WeakMap<Request, MeshError>();
  // Read when a request is answered, once every route below is registered.
  let routes: () => readonly RouteInfo[] = () => [];
  let counted: ReadonlyMap<string, Counted> = new Map();
  // normalize: false → an unknown body field is a 400, never silently dropped.
  // standardHostname: false → Elysia looks for the path from just past `http://`, not from index
  // 11 (it assumes a host of 4 characters or more): under `Host: x` it found none, and every
  // route answered 405. Every URL handed to it starts `http://`, a TLS request's too (path-prefix.ts).
  const app = new Elysia({ normalize: false, handler: { standardHostname: false } })
    .onParse(async ({ request }) => {
      const text = await readBody(request);
      raw.set(request, text);
      return text === "" ? undefined : parseBody(text);
    })
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") {
        const path = new URL(request.url).pathname;
        const allow = allowedMethods(routes(), path);
        if (allow.length > 0) return wrongMethodResponse(request.method, path, allow);
      }
      const err = fromElysia(code, error);
      if (err.code === "internal") ctx.log.error("http request failed", { err: error });
      ctx.failures.note(err, "http");
      refusals.set(request, err);
      return errorResponse(err);
    })
    .onAfterResponse(({ request, route }) => countAnswer(ctx, counted.get(route), refusals.get(request)))
    .use(
      swagger({
        // The reference page asks for docs/json and docs/scalar.js relative to itself, so that it
        // works at /docs and behind a reverse proxy that serves the broker under a path (/cm/docs
        // asks for /cm/docs/json). /docs/ is redirected to it (server.ts).
        path: "/docs",
        scalarCDN: "docs/scalar.js",
        // No controls for Scalar's hosted services (its AI agent, MCP generator, deploy and share
        // toolbar) or its telemetry: this page is offline, and its CSP would block them anyway.
        // (The plugin's type predates these options of the Scalar version we bundle.)
        scalarConfig: { withDefaultFonts: false, spec: { url: "docs/json" }, ...({ agent: { disabled: true }, mcp: { disabled: true }, showToolbar: "never", showDeveloperTools: "never", telemetry: false } as object) },
        documentation: {
          // The reference's request examples (and its "Test Request") name the broker as clients
          // reach it, a proxy's path included (https://example.com/cm/v1/meshes); without
          // publicUrl, the page's own origin, which is right at the root.
          ...(ctx.config.publicUrl ? { servers: [{ url: ctx.config.publicUrl.replace(/\/+$/, ""), description: "this broker, at its publicUrl" }] } : {}),
          info: { title: "claudemesh broker", version, description: "HTTP routes of the claudemesh broker. The WebSocket protocol at /ws is specified in docs/protocol.md." },
          // Each route's credentials and answers (openapi.ts); its body schema comes from the route.
          components: { securitySchemes: SECURITY_SCHEMES, schemas: { Error: ERROR_SCHEMA } } as never,
          tags: [
            { name: "meshes", description: "Mesh creation and enrolment (signed)" },
            { name: "presence", description: "Status from Claude Code hooks" },
            { name: "operations", description: "Health and metrics" },
            { name: "dashboard", description: "The web dashboard's session, views and live events (cookie or operator token)" },
          ],
        },
        exclude: ["/docs/scalar.js"],
      }),
    )
    .get("/docs/scalar.js", () => new Response(Bun.file(scalarBundle), { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=86400" } }), { detail: { hide: true } })
    .use(opsRoutes(ctx, version, startedAt))
    .use(meshRoutes(ctx, rawBody, (req) => dash.server?.requestIP(req)?.address))
    .use(hookRoutes(ctx, rawBody))
    .use(dashboardRoutes(ctx, dash));
  routes = () => app.routes;
  counted = countedRoutes(app.routes);
  return app;
}
