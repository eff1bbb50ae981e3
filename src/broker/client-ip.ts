// The client address used for per-IP limits. X-Forwarded-For is believed only when the direct
// peer is a configured trusted proxy; then the right-most address that is not itself a trusted
// proxy is the client.

export function clientIp(direct: string, forwardedFor: string | null, trusted: readonly string[]): string {
  if (!forwardedFor || !trusted.includes(direct)) return direct;
  const hops = forwardedFor.split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted.includes(hops[i]!)) return hops[i]!;
  return direct;
}
