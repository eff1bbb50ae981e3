// HTTP answers counted by the code they carry, in one afterResponse hook of the app (app.ts): it
// runs once a request has been answered, whatever refused it. The body's parse and schema checks
// run before the handler, so a count inside the handler would miss them.
import type { MeshError } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";

/** The routes whose answers are counted, by path as registered (every method of it), and in what:
 *  - `hook`: every answer, in broker_hook_requests_total{outcome}, `ok` or the error's code;
 *  - `request`: the routes that run a request as the signed-in member (runRequest) count a refusal
 *    in broker_messages_rejected_total{reason}, as the same request refused over the WebSocket
 *    does (ws/session.ts replyError), whether admission, the handler, the session or the route's
 *    own checks of its input refused it. */
const COUNTED: ReadonlyMap<string, "hook" | "request"> = new Map([
  ["/hook/set-status", "hook"],
  ["/v1/dashboard/mesh", "request"],
  ["/v1/dashboard/invites", "request"],
  ["/v1/dashboard/invites/:inviteId/revoke", "request"],
  ["/v1/dashboard/topics/:topic/history", "request"],
  ["/v1/dashboard/topics/:topic/messages", "request"],
]);

/** Counts one answer of `route` (undefined when no route matched): `refusal` is the error it was
 *  answered with, as app.ts's onError mapped it, or undefined for a success. */
export function countAnswer(ctx: BrokerContext, route: string | undefined, refusal: MeshError | undefined): void {
  const kind = route === undefined ? undefined : COUNTED.get(route);
  if (kind === "hook") ctx.metrics.hookRequests.inc({ outcome: refusal?.code ?? "ok" });
  else if (kind === "request" && refusal) ctx.metrics.messagesRejected.inc({ reason: refusal.code });
}

/** Throws unless every counted path is one of `paths`: a route renamed without this table would
 *  silently stop counting. */
export function assertCountedRoutes(paths: readonly string[]): void {
  const missing = [...COUNTED.keys()].filter((p) => !paths.includes(p));
  if (missing.length > 0) throw new Error(`refusals.ts counts routes that do not exist: ${missing.join(", ")}`);
}
