// A request whose path exists under other methods (GET /v1/meshes, which only takes POST). The
// catalog has no 405 code and every HTTP error carries its code's status (docs/protocol.md §6.1),
// so it stays 404 not_found; the message names the method to use, and Allow lists them.
import { MeshError } from "../../protocol/errors.ts";
import { errorResponse } from "./errors.ts";

export type RouteInfo = { method: string; path: string };

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const isParam = (segment: string) => segment.startsWith(":") || segment === "*";

/** Whether an Elysia route pattern (`/v1/invites/:inviteId/claim`) matches `pathname`. */
function matches(pattern: string, pathname: string): boolean {
  const want = pattern.split("/");
  const got = pathname.split("/");
  if (want.at(-1) === "*") return got.length >= want.length - 1 && want.slice(0, -1).every((s, i) => isParam(s) || s === got[i]);
  return want.length === got.length && want.every((s, i) => (isParam(s) ? got[i] !== "" : s === got[i]));
}

/** The methods `routes` serve `pathname` with, sorted; HEAD wherever GET is (the server answers
 *  it). A catch-all pattern (every segment a parameter, like the dashboard's `/:file`) says
 *  nothing about a path and is left out. */
export function allowedMethods(routes: readonly RouteInfo[], pathname: string): string[] {
  const methods = routes.filter((r) => METHODS.has(r.method) && !r.path.split("/").filter(Boolean).every(isParam) && matches(r.path, pathname)).map((r) => r.method);
  if (methods.includes("GET")) methods.push("HEAD");
  return [...new Set(methods)].sort();
}

/** The 404 for `method` on a path served only with `allow`: names them, and sets Allow. */
export function wrongMethodResponse(method: string, pathname: string, allow: readonly string[]): Response {
  const res = errorResponse(new MeshError("not_found", `${method} ${pathname} is not a route; use ${allow.join(" or ")}.`));
  res.headers.set("allow", allow.join(", "));
  return res;
}
