// HTTP answers counted by the code they carry, in one afterResponse hook of the app (app.ts): it
// runs once a request has been answered, whatever refused it. The body's parse and schema checks
// run before the handler, so a count inside the handler would miss them.
import { Elysia } from "elysia";
import type { MeshError } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import { rejectedLabels } from "../metrics.ts";

/** How a route's answers are counted:
 *  - `hook`: every answer, in broker_hook_requests_total{outcome}, `ok` or the error's code;
 *  - `request`: the routes that run a request as the signed-in member (runRequest) count a refusal
 *    in broker_messages_rejected_total{reason}, as the same request refused over the WebSocket
 *    does (ws/session.ts replyError), whether admission, the handler, the session or the route's
 *    own checks of its input refused it. */
export type Counted = "hook" | "request";

/** The `counted` route option, declared beside each counted route (`.use(counting)` first), so
 *  that a route cannot be added or renamed without its count. It registers nothing itself: the
 *  option stays in the route's hooks, where countedRoutes reads it. */
export const counting = new Elysia({ name: "counting" }).macro({ counted: (_kind: Counted) => ({}) });

/** How the answers of each path are counted (every method of it), from the routes' `counted`
 *  option. */
export function countedRoutes(routes: readonly { path: string; hooks: unknown }[]): ReadonlyMap<string, Counted> {
  const counted = new Map<string, Counted>();
  for (const r of routes) {
    const kind = (r.hooks as { counted?: Counted } | undefined)?.counted;
    if (kind) counted.set(r.path, kind);
  }
  return counted;
}

/** Counts one answer of a route counted as `kind` (undefined: not counted, or no route matched):
 *  `refusal` is the error it was answered with, as app.ts's onError mapped it, or undefined for a
 *  success. */
export function countAnswer(ctx: BrokerContext, kind: Counted | undefined, refusal: MeshError | undefined): void {
  if (kind === "hook") ctx.metrics.hookRequests.inc({ outcome: refusal?.code ?? "ok" });
  else if (kind === "request" && refusal) ctx.metrics.messagesRejected.inc(rejectedLabels(refusal));
}
