// What trustedProxies entries may hold, and how an address is matched against them: IPv4 or IPv6
// addresses and CIDR ranges (10.0.0.0/8, fd00::/8). Both families are compared as 128-bit IPv6
// numbers, IPv4 as its IPv4-mapped form ::ffff:a.b.c.d, so a dual-stack listener's peer
// "::ffff:127.0.0.1" matches "127.0.0.1" and "127.0.0.0/8" alike.
import { isIPv4, isIPv6 } from "node:net";

const ALL_BITS = (1n << 128n) - 1n;
/** ::ffff:0:0, the IPv4-mapped prefix (RFC 4291 §2.5.5.2). */
const MAPPED = 0xffffn << 32n;

const v4Bits = (t: string) => t.split(".").reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
const maskOf = (prefix: number) => ALL_BITS ^ ((1n << BigInt(128 - prefix)) - 1n);

/** An IP literal as a 128-bit number (IPv4 mapped), or null when `text` is not one. A zone id
 *  (fe80::1%eth0) is ignored. */
export function ipBits(text: string): bigint | null {
  const t = text.includes("%") ? text.slice(0, text.indexOf("%")) : text;
  if (isIPv4(t)) return MAPPED | v4Bits(t);
  if (!isIPv6(t)) return null;
  // An IPv4 tail (::ffff:1.2.3.4) becomes its two 16-bit groups.
  const tail = t.slice(t.lastIndexOf(":") + 1);
  const hex = tail.includes(".") ? `${t.slice(0, t.length - tail.length)}${(v4Bits(tail) >> 16n).toString(16)}:${(v4Bits(tail) & 0xffffn).toString(16)}` : t;
  const [head, rest] = hex.split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : 8 - left.length - right.length).fill("0"), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export type ProxyRange = { network: bigint; mask: bigint };

/** One trustedProxies entry: an address, or a range `address/prefix` (prefix up to 32 for IPv4,
 *  128 for IPv6; host bits are ignored). Null when it is neither. */
export function parseProxyEntry(entry: string): ProxyRange | null {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const bits = ipBits(address);
  if (bits === null) return null;
  if (slash < 0) return { network: bits, mask: ALL_BITS };
  const prefixText = entry.slice(slash + 1);
  const v4 = isIPv4(address);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > (v4 ? 32 : 128)) return null;
  const mask = maskOf(Number(prefixText) + (v4 ? 96 : 0));
  return { network: bits & mask, mask };
}

/** Why a trustedProxies list is refused (for "<key> from <source>: <reason>"), or null when every
 *  entry is an address or a range. */
export function trustedProxiesProblem(entries: readonly string[]): string | null {
  const bad = entries.find((e) => parseProxyEntry(e) === null);
  return bad === undefined ? null : `"${bad}" is not an IP address or a CIDR range (e.g. 127.0.0.1, ::1, 10.0.0.0/8, fd00::/8)`;
}

/** A predicate over peer addresses for a validated list (invalid entries match nothing). */
export function proxyMatcher(entries: readonly string[]): (address: string) => boolean {
  const ranges = entries.map(parseProxyEntry).filter((r): r is ProxyRange => r !== null);
  return (address) => {
    const bits = ranges.length === 0 ? null : ipBits(address);
    return bits !== null && ranges.some((r) => (bits & r.mask) === r.network);
  };
}
