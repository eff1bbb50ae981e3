// Who else listens on the broker's port. A broker serving TLS listens with SO_REUSEPORT (so that a
// renewed certificate can be put in force by a second listener, listener.ts), and the kernel then
// lets any other socket of the same user that sets it too listen on the same address and port,
// sharing the new connections with the broker at random. `serve` checks the port before it starts
// (serve-problems.ts listenProblem, without the option: refused while anything listens), but a
// second broker started in the same instant passes that check too, before either listens
// (measured: two `serve --tls-cert` started together both served, 3 times out of 3). So once the
// broker listens, it looks: Linux lists every listening socket of the network namespace in
// /proc/self/net/tcp{,6}, with its inode, and the broker's own are among its descriptors.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** A listening socket from /proc/net/tcp{,6}: its local address ("*4"/"*6" for a wildcard, a
 *  dotted IPv4 address, or 32 hex digits of IPv6) and inode. */
type Listening = { address: string; inode: string };

const LISTEN_STATE = "0A";

/** The IPv4 address of /proc's 8 hex digits (the kernel's byte order, little-endian here). */
const v4 = (hex: string) => [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".");

/** An address of /proc/net/tcp{,6} as compared here: an IPv4-mapped IPv6 address as IPv4. */
function addressOf(hex: string): string {
  if (hex.length === 8) return /^0+$/.test(hex) ? "*4" : v4(hex);
  if (/^0+$/.test(hex)) return "*6";
  // Four 32-bit words, each in the kernel's byte order: ::ffff:a.b.c.d is 0000…0000 FFFF0000 <v4>.
  if (hex.slice(0, 16) === "0".repeat(16) && hex.slice(16, 24).toUpperCase() === "FFFF0000") return v4(hex.slice(24));
  return hex.toUpperCase();
}

/** Whether two listeners' addresses catch the same connections: the same address, or a wildcard
 *  of the same family (IPv6's also takes IPv4, as Bun listens dual-stack). */
function overlap(a: string, b: string): boolean {
  if (a === b || a === "*6" || b === "*6") return true;
  const isV4 = (x: string) => x === "*4" || x.includes(".");
  return (a === "*4" && isV4(b)) || (b === "*4" && isV4(a));
}

/** The listening sockets on `port` in this network namespace; null where /proc says nothing of
 *  them (not Linux). */
function listeners(port: number): Listening[] | null {
  const out: Listening[] = [];
  let read = false;
  for (const file of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // no IPv6 on this machine, or no /proc
    }
    read = true;
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== LISTEN_STATE || !f[1] || !f[9]) continue;
      const [addr, hexPort] = f[1].split(":");
      if (parseInt(hexPort!, 16) === port) out.push({ address: addressOf(addr!), inode: f[9] });
    }
  }
  return read ? out : null;
}

/** The inodes of this process's sockets. */
function ownSockets(): Set<string> {
  const own = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) own.add(m[1]!);
    } catch {
      // closed since the listing
    }
  }
  return own;
}

/** How many sockets of other processes listen on `port` where they take connections meant for
 *  this process's own listeners there: 0 when none, or when this cannot be known (not Linux, or
 *  /proc unreadable: the check before the start is then all there is). */
export function portSharers(port: number): number {
  try {
    const all = listeners(port);
    if (!all) return 0;
    const own = ownSockets();
    const mine = all.filter((l) => own.has(l.inode));
    return all.filter((l) => !own.has(l.inode) && mine.some((m) => overlap(m.address, l.address))).length;
  } catch {
    return 0;
  }
}
