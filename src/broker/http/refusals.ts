// HTTP answers counted by the code they carry. Elysia's afterResponse hook runs once a route has
// answered, whatever refused the request: the body's parse and schema checks run before the
// handler, so a count inside the handler would miss them.
import type { ErrorCode } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import { fromElysia } from "./errors.ts";

/** `ok`, or the error code the answer carried (mapped as app.ts's onError maps it). After an
 *  error Elysia's context is its error context, with `code` and `error` (its types leave them out
 *  of an afterResponse hook's). */
export function answeredWith(c: object): "ok" | ErrorCode {
  const { code, error } = c as { code?: string | number; error?: unknown };
  return error === undefined ? "ok" : fromElysia(code ?? "UNKNOWN", error).code;
}

/** afterResponse for the routes that run a request as the signed-in member (runRequest): a refused
 *  request counts in broker_messages_rejected_total under its code, as the same request refused
 *  over the WebSocket does (ws/session.ts replyError), whether the refusal came from admission
 *  (rate_limited, revoked, unavailable), the handler, or the route's own checks of its input. */
export const countRefusal = (ctx: BrokerContext) => (c: object) => {
  const code = answeredWith(c);
  if (code !== "ok") ctx.metrics.messagesRejected.inc({ reason: code });
};
