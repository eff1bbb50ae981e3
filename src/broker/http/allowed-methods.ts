// A request whose path exists under other methods (GET /v1/meshes, which only takes POST, POST
// /health): 405 method_not_allowed (RFC 9110 §15.5.6), the message naming the method to use and
// Allow listing them.
import { MeshError } from "../../protocol/errors.ts";
import { errorResponse } from "./errors.ts";

export type RouteInfo = { method: string; path: string };

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const isParam = (segment: string) => segment.startsWith(":") || segment === "*";

/** Whether an Elysia route pattern (`/v1/invites/:inviteId/claim`) matches `pathname`. A trailing
 *  slash is ignored, as Elysia's router does (`/docs/` is served as `/docs`). */
function matches(pattern: string, pathname: string): boolean {
  const want = pattern.split("/");
  const got = (pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname).split("/");
  if (want.at(-1) === "*") return got.length >= want.length - 1 && want.slice(0, -1).every((s, i) => isParam(s) || s === got[i]);
  return want.length === got.length && want.every((s, i) => (isParam(s) ? got[i] !== "" : s === got[i]));
}

/** A pattern whose every segment is a parameter (the dashboard's `/:file`) matches any path of its
 *  length, so says nothing about one; `/` has no segment and is no catch-all. */
function catchAll(pattern: string): boolean {
  const segments = pattern.split("/").filter(Boolean);
  return segments.length > 0 && segments.every(isParam);
}

/** The methods `routes` serve `pathname` with, sorted; HEAD wherever GET is (the server answers
 *  it). Catch-all patterns are left out. */
export function allowedMethods(routes: readonly RouteInfo[], pathname: string): string[] {
  const methods = routes.filter((r) => METHODS.has(r.method) && !catchAll(r.path) && matches(r.path, pathname)).map((r) => r.method);
  if (methods.includes("GET")) methods.push("HEAD");
  return [...new Set(methods)].sort();
}

/** The 405 for `method` on a path served only with `allow`: names them, and sets Allow. */
export function wrongMethodResponse(method: string, pathname: string, allow: readonly string[]): Response {
  const res = errorResponse(new MeshError("method_not_allowed", `${method} is not allowed on ${pathname}; use ${allow.join(" or ")}.`));
  res.headers.set("allow", allow.join(", "));
  return res;
}
