// The client address used for per-IP limits. X-Forwarded-For is believed only when the direct
// peer is a configured trusted proxy; then the right-most address that is not itself a trusted
// proxy is the client. Entries may be addresses or CIDR ranges (config/trusted-proxies.ts).
import { proxyMatcher } from "../config/trusted-proxies.ts";

/** One compiled matcher per config list (the config is frozen and lives as long as the broker). */
const matchers = new WeakMap<readonly string[], (address: string) => boolean>();

/** Whether `address` (as Bun reports it, IPv4-mapped on a dual-stack listener) is a trusted proxy. */
export function isTrustedProxy(address: string, trusted: readonly string[]): boolean {
  if (trusted.length === 0) return false;
  let match = matchers.get(trusted);
  if (!match) matchers.set(trusted, (match = proxyMatcher(trusted)));
  return match(address);
}

/** Loopback, private (RFC 1918), link-local and unique-local (fc00::/7) addresses: what a
 *  reverse proxy on the same host or network connects from. */
const isLocalNetwork = proxyMatcher(["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"]);

/** Whether `address` is a loopback or private one (an IPv4-mapped one as its IPv4 address). */
export const isLocalAddress = (address: string): boolean => isLocalNetwork(unmapped(address));

/** For a per-address refusal from a loopback or private address: the likely cause, a reverse proxy
 *  whose clients all count as its one address. */
export const proxyHint = (ip: string) =>
  isLocalAddress(ip) ? { hint: "a loopback or private address: if a reverse proxy connects from it, list it in trustedProxies so that each client counts as its own address (docs/operations.md, Behind a reverse proxy)" } : {};

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4, what a listener on :: reports for IPv4 peers) as
 *  its IPv4 address, so that one client has one per-address count whatever the listener. */
const unmapped = (address: string) => /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1] ?? address;

/** An X-Forwarded-For entry as an address: some proxies add the client's port (`1.2.3.4:5678`,
 *  `[2001:db8::1]:443`), which would give each source port its own allowance. Null when the entry
 *  is no address at all (`unknown`, a name). */
function forwardedAddress(entry: string): string | null {
  const e = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(e);
  const address = bracketed ? bracketed[1]! : /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(e)?.[1] ?? e;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return address.split(".").every((n) => Number(n) <= 255) ? address : null;
  return ipv6Groups(address) ? unmapped(address) : null;
}

/** The client of `request` from its peer address (`direct`: Bun's requestIP, "unknown" when it has
 *  none) and its X-Forwarded-For, believed only from a trusted proxy. */
export const requestIp = (direct: string | undefined, request: Request, trusted: readonly string[]): string =>
  clientIp(direct ?? "unknown", request.headers.get("x-forwarded-for"), trusted);

export function clientIp(direct: string, forwardedFor: string | null, trusted: readonly string[]): string {
  const peer = unmapped(direct);
  if (!forwardedFor || !isTrustedProxy(peer, trusted)) return peer;
  const hops = forwardedFor.split(",").filter((s) => s.trim() !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = forwardedAddress(hops[i]!);
    // An entry that is no address cannot be counted apart: the proxy's own allowance applies.
    if (hop === null) return peer;
    if (!isTrustedProxy(hop, trusted)) return hop;
  }
  return peer;
}

/** An IPv6 address as its eight groups (lowercase, no leading zeros), or null if it is not one.
 *  A dotted IPv4 tail counts as the last two groups; a zone (`%eth0`) is dropped. */
function ipv6Groups(address: string): string[] | null {
  const [head = "", tail, ...more] = address.split("%")[0]!.toLowerCase().split("::");
  if (more.length > 0) return null;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const h = split(head);
  const t = tail === undefined ? [] : split(tail);
  // An IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for the last two groups.
  const last = t.length > 0 ? t : h;
  if (last.at(-1)?.includes(".")) {
    if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(last.at(-1)!) || last.at(-1)!.split(".").some((n) => Number(n) > 255)) return null;
    last.splice(-1, 1, "0", "0");
  }
  const gap = 8 - h.length - t.length;
  if (tail === undefined ? gap !== 0 : gap < 1) return null;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : gap).fill("0"), ...t];
  return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups.map((g) => g.replace(/^0+(?=.)/, "")) : null;
}

/** The key a per-address limit counts a client under: its IPv4 address, or its IPv6 address's
 *  /64 (one host or home network is usually given a whole /64, and would otherwise get a fresh
 *  allowance from each of its 2^64 addresses). Anything else is its own key. */
export function addressKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const groups = ipv6Groups(ip);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : ip;
}
