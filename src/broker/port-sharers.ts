// Who else listens on the broker's port. A broker serving TLS listens with SO_REUSEPORT (so that a
// renewed certificate can be put in force by a second listener, listener.ts), and the kernel then
// lets any other socket of the same user that sets it too listen on the same address and port,
// sharing the new connections with the broker at random. `serve` checks the port before it starts
// (serve-problems.ts listenProblem, without the option: refused while anything listens), but a
// second broker started in the same instant passes that check too, before either listens
// (measured: two `serve --tls-cert` started together both served, 3 times out of 3), and any
// process may join later. So once the broker listens, it looks, and looks again while it runs
// (port-watch.ts): Linux lists every listening socket of the network namespace in
// /proc/self/net/tcp{,6}, with its inode, and the broker's own are among its descriptors. Another
// namespace cannot share the port (it has its own), and the kernel lets only a socket of the same
// user join, so what this sees is all there is.
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";

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

/** Whether a listener on `theirs` takes connections that would reach one on `ours` without it.
 *  The kernel (net/ipv4/inet_hashtables.c __inet_lookup_listener) looks for a listener on the
 *  connection's own address first and on a wildcard only if there is none, prefers an IPv4
 *  socket to a dual-stack IPv6 one, and shares at random only within one address's SO_REUSEPORT
 *  group. Measured with IPv4 clients and both sockets SO_REUSEPORT (ours + theirs → who got 60
 *  connections): 127.0.0.1 + 127.0.0.1, 0.0.0.0 + 0.0.0.0, :: + :: → shared about evenly;
 *  0.0.0.0 + 127.0.0.1, :: + 127.0.0.1, :: + 0.0.0.0 → all theirs; 127.0.0.1 + 0.0.0.0,
 *  127.0.0.1 + ::, 0.0.0.0 + :: → all ours. So: the same address shares; an IPv4 wildcard loses
 *  the connections to any IPv4 address listened on by itself; a dual-stack wildcard loses those
 *  of every IPv4 listener and of every IPv6 address listened on by itself. */
export function takesFrom(ours: string, theirs: string): boolean {
  if (ours === theirs || ours === "*6") return true;
  return ours === "*4" && theirs.includes(".");
}

/** Whether an address (addressOf) is IPv6's: only then do the listeners of /proc's tcp6 matter. */
const isV6 = (address: string) => address === "*6" || /^[0-9A-F]{32}$/.test(address);

const TCP4 = "/proc/self/net/tcp";
const TCP6 = "/proc/self/net/tcp6";

/** The listening sockets on `port` in this network namespace, from `files`; null where /proc says
 *  nothing of them (not Linux). */
function listeners(port: number, files: readonly string[]): Listening[] | null {
  const out: Listening[] = [];
  let read = false;
  for (const file of files) {
    const lines = listeningLines(file);
    if (lines === null) continue; // no IPv6 on this machine, or no /proc
    read = true;
    for (const f of lines) {
      const [addr, hexPort] = f[1]!.split(":");
      if (parseInt(hexPort!, 16) === port) out.push({ address: addressOf(addr!), inode: f[9]! });
    }
  }
  return read ? out : null;
}

/** Bytes read from /proc at a time. */
const CHUNK_BYTES = 4096;

/** The fields of the LISTEN lines of `file`, or null when it cannot be read. The kernel writes the
 *  listening sockets first, then the others (tcp_seq_start: the listening hash, then the
 *  established one), and makes the text as it is read: reading stops at the first line that is
 *  not LISTEN, so a broker with 10,000 connections reads a few lines, not 1.5 MB (measured: 0.2 ms
 *  instead of 25 ms). If the first line is not LISTEN the order is not the one expected, and the
 *  whole file is read. */
function listeningLines(file: string): string[][] | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  const out: string[][] = [];
  try {
    const buf = Buffer.alloc(CHUNK_BYTES);
    let rest = "";
    let header = true;
    let ordered = true;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      const lines = (rest + buf.toString("latin1", 0, n)).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (header) {
          header = false;
          continue;
        }
        const f = line.trim().split(/\s+/);
        if (f[3] === LISTEN_STATE && f[1] && f[9]) out.push(f);
        else if (out.length === 0) ordered = false;
        else if (ordered) return out;
      }
    }
    return out;
  } finally {
    closeSync(fd);
  }
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

/** Counts, for one port, the sockets of other processes listening where they take connections
 *  meant for this process's own listeners there (takesFrom). Which listening sockets are this
 *  process's is remembered by inode, so that its descriptors (one per connection: 45 ms to go
 *  through 9,000) are looked through only when a listener it has not seen appears (another
 *  process's, or a renewal's new one). Once its own are known to be IPv4 only, tcp6 is not read:
 *  no IPv6 listener takes their connections, and the kernel walks every connection of the
 *  namespace to list a tcp6 without any (6 ms with 8,000 sockets). */
export class PortSharers {
  /** Listening sockets seen on the port, by inode: whether each is this process's. */
  readonly #ours = new Map<string, boolean>();
  /** Whether this process listens on the port over IPv6; unknown (null) until a first look. */
  #ownV6: boolean | null = null;

  constructor(readonly port: number) {}

  /** 0 when none, or when this cannot be known (not Linux, or /proc unreadable: the check before
   *  the start is then all there is). Never throws. */
  count(): number {
    try {
      const all = listeners(this.port, this.#ownV6 === false ? [TCP4] : [TCP4, TCP6]);
      if (!all) return 0;
      if (all.some((l) => !this.#ours.has(l.inode))) {
        const own = ownSockets();
        this.#ours.clear();
        for (const l of all) this.#ours.set(l.inode, own.has(l.inode));
      }
      const mine = all.filter((l) => this.#ours.get(l.inode));
      if (this.#ownV6 === null && mine.length > 0) this.#ownV6 = mine.some((m) => isV6(m.address));
      return all.filter((l) => !this.#ours.get(l.inode) && mine.some((m) => takesFrom(m.address, l.address))).length;
    } catch {
      return 0;
    }
  }
}

/** How many sockets of other processes listen on `port` where they take connections meant for
 *  this process's own listeners there (PortSharers.count, looked at once). */
export const portSharers = (port: number): number => new PortSharers(port).count();
