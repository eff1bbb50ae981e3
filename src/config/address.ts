// What `host` and `publicUrl` may hold. Both used to take any string: `"host": ""` made Bun listen
// on every interface, and a publicUrl without a scheme was dropped by the dashboard's origin check.
import { isIP } from "node:net";

/** One DNS label: letters, digits and inner hyphens, at most 63 characters (RFC 1123). */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** RFC 1035's limit on a whole name. */
const MAX_HOSTNAME_CHARS = 253;

/** The host to listen on: an IPv4 or IPv6 literal (brackets around IPv6 are dropped, "[::]" → "::")
 *  or a hostname. Returns the address, or a reason (for "<key> from <source>: <reason>"). */
export function checkHost(raw: string): { host: string } | { problem: string } {
  const bracketed = /^\[(.*)\]$/.exec(raw);
  const host = bracketed ? bracketed[1]! : raw;
  if (isIP(host) === 6 || (!bracketed && isIP(host) === 4)) return { host };
  const expected = "expected an IP address (127.0.0.1, 0.0.0.0, ::) or a hostname";
  if (raw.trim() === "") return { problem: `empty, which would listen on every interface; ${expected}` };
  if (raw.includes("://")) return { problem: `a URL; ${expected} (the URL clients use goes in publicUrl)` };
  if (/^[^:]+:\d+$/.test(raw)) return { problem: `includes a port; ${expected} (the port goes in port)` };
  const labels = (host.endsWith(".") ? host.slice(0, -1) : host).split(".");
  // An all-digit last label is a malformed IPv4 address (1.2.3, 999.0.0.1), not a name.
  if (bracketed || host.length > MAX_HOSTNAME_CHARS || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!)) return { problem: expected };
  return { host };
}

/** The URL clients use to reach the broker: absolute http(s), no credentials, query or fragment
 *  (a path is fine: clients append /ws to it). Returns null when valid, else the reason. */
export function publicUrlProblem(raw: string): string | null {
  const example = "e.g. https://mesh.example.com";
  // URL parsing drops them, but the setting is kept and shown as given (banner, API reference).
  if (raw !== raw.trim()) return "has spaces or line breaks around it; remove them";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `not an absolute URL; give the scheme and host, ${example}`;
  }
  // `mesh.example.com:443` parses, with "mesh.example.com:" as its scheme.
  if (url.protocol !== "http:" && url.protocol !== "https:") return `must start with https:// or http://, ${example}`;
  if (!url.hostname) return `has no host, ${example}`;
  if (url.username || url.password) return "must not carry a user name or password";
  if (url.search || url.hash) return "must not have a query (?) or fragment (#)";
  const first = publicPathPrefix(raw).split("/")[1];
  if (first !== undefined && (ROOT_ROUTE_NAMES.includes(first) || first.includes("."))) {
    const what = first.includes(".") ? "a name with a dot, as the dashboard's files are named at the root" : `the broker's own /${first} route`;
    return `its path begins with /${first}, ${what}: behind a proxy that passes the path through, /${first}/… could be either; choose another path, e.g. /claudemesh`;
  }
  return null;
}

/** The first path segments of the broker's own routes (http/ and the WebSocket at /ws). A
 *  publicUrl path may not begin with one: the broker serves both at the root and under that path
 *  (broker/path-prefix.ts), and /health/ready would be the root's route or /ready under /health.
 *  test/integration/prefix-pass.test.ts checks every registered route against this list. */
export const ROOT_ROUTE_NAMES: readonly string[] = ["v1", "docs", "ws", "health", "metrics", "hook", "join"];

/** The path of a valid `publicUrl` without its trailing slashes, as the broker also serves
 *  under: "" (none, or only "/") or "/cm", "/a/b". Percent-escapes stay as the URL has them, as
 *  they arrive in a request's path. */
export function publicPathPrefix(publicUrl: string): string {
  if (publicUrl === "") return "";
  return new URL(publicUrl).pathname.replace(/\/+$/, "");
}

