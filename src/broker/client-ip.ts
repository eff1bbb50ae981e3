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

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4, what a listener on :: reports for IPv4 peers) as
 *  its IPv4 address, so that one client has one per-address count whatever the listener. */
const unmapped = (address: string) => /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1] ?? address;

export function clientIp(direct: string, forwardedFor: string | null, trusted: readonly string[]): string {
  const peer = unmapped(direct);
  if (!forwardedFor || !isTrustedProxy(peer, trusted)) return peer;
  const hops = forwardedFor.split(",").map((s) => unmapped(s.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!isTrustedProxy(hops[i]!, trusted)) return hops[i]!;
  return peer;
}
