// The one check of a broker URL, wherever it comes from: a flag, CLAUDEMESH_BROKER_URL, an invite,
// the config file. No imports beyond node:net and shown-url.ts, so a command can check a URL before
// loading crypto.
import { isIP } from "node:net";
import { shownUrl } from "../shown-url.ts";

/** A broker URL the client cannot use, said in words a user can act on (the CLI prints it as a
 *  usage error, exit 2). Thrown before anything is contacted. */
export class BrokerUrlError extends Error {
  override readonly name = "BrokerUrlError";
}

const SCHEMES = ["http:", "https:", "ws:", "wss:"];

/** A host that is on this machine or written as an address, where plain http is the usual
 *  choice (a development broker, a LAN box); a name on the internet should use https. */
function httpByDefault(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host.endsWith(".localhost") || isIP(host) !== 0;
}

/** A host only this machine reaches (a name or address of loopback): a broker URL with one works
 *  here alone, so an invite naming it cannot be used from another machine. Takes a URL's
 *  `hostname` (IPv6 in brackets) or a bare host. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^(::ffff:)?127\./.test(host);
}

/** A path that ends in one of the broker's own HTTP routes (docs/protocol.md §6) other than
 *  /ws: a page of the broker pasted for its base URL (`…/health/ready`), refused with the base
 *  rather than sent to `…/health/ready/v1/meshes` for a "No such route". Only the routes
 *  themselves: a proxy may serve a broker under any prefix, `/v1/claudemesh` included. */
const ROUTE_SUFFIX = /\/(?:health(?:\/ready)?|metrics|docs(?:\/json)?|hook\/set-status|v1\/(?:meshes|invites\/[^/]+\/claim|dashboard(?:\/[^]*)?))\/?$/;

/** `text` as a refusal quotes it: without a user name, password, query or fragment it may carry
 *  (shownUrl), since the refusal reaches terminals, logs and, from the MCP server, the model. */
const shown = (text: string) => `"${shownUrl(text)}"`;

/** Accepts http, https, ws and wss with a host, and a bare `host:port`
 *  for localhost or an IP address, read as http:// (`assumed` is then true, for the caller to
 *  say so). Returns the http(s) base without a trailing slash or `/ws`; a path ending in another of
 *  the broker's routes is refused, naming the base. Throws BrokerUrlError. */
export function brokerBase(input: string): { base: string; assumed: boolean } {
  const text = input.trim();
  if (!text) throw new BrokerUrlError("The broker URL is empty; give one like https://mesh.example.com or http://127.0.0.1:7900.");
  const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text);
  let u: URL;
  try {
    u = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw new BrokerUrlError(`${shown(text)} is not a URL; give the broker's address like https://mesh.example.com or http://127.0.0.1:7900.`);
  }
  if (!SCHEMES.includes(u.protocol)) throw new BrokerUrlError(`${shown(text)} is not a broker URL: one starts with http://, https://, ws:// or wss://.`);
  if (!u.hostname) throw new BrokerUrlError(`${shown(text)} names no host; give one like https://mesh.example.com.`);
  if (u.search || u.hash || u.username || u.password) throw new BrokerUrlError(`${shown(text)} has a user, ?query or #fragment; a broker URL is only scheme, host, port and path, like https://mesh.example.com.`);
  if (!hasScheme && !httpByDefault(u.hostname)) throw new BrokerUrlError(`${shown(text)} has no scheme; did you mean https://${text}? (http:// is assumed only for localhost and IP addresses.)`);
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  const route = ROUTE_SUFFIX.exec(u.pathname)?.[0];
  if (route) {
    u.pathname = u.pathname.slice(0, -route.length);
    throw new BrokerUrlError(`${shown(text)} is the address of the broker's ${route.replace(/\/$/, "")} route, not of the broker: give its base URL, ${u.toString().replace(/\/$/, "")}.`);
  }
  u.pathname = u.pathname.replace(/\/ws\/?$/, "").replace(/\/$/, "");
  return { base: u.toString().replace(/\/$/, ""), assumed: !hasScheme };
}

/** The WebSocket URL of a broker base (http → ws, https → wss, path /ws). */
export function wsUrl(base: string): string {
  const u = new URL(base);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (!u.pathname.endsWith("/ws")) u.pathname = u.pathname.replace(/\/$/, "") + "/ws";
  return u.toString();
}
