// Connections and unsent output per client address (its /64 for IPv6, client-ip.ts addressKey;
// behind a trusted proxy the forwarded client's). Each connection stops being handled at 2 MiB its
// client has not read (conn.ts PAUSE_BYTES), but an address may hold maxConnectionsPerIp of them and
// one answer can be megabytes: a hundred sockets of one address that asked for member_list in a
// mesh of 3,000 and read nothing made the broker hold 432 MiB (decisions.md, session 37). So the
// address's connections share maxUnsentPerIp: while they hold it together, each is held to its share
// of it (the cap over the address's open connections). Conn applies the rule to its frames, its
// pushes and its answers; a connection refused an answer handles nothing more until it answers a
// ping (a non-reader never does), so it has the broker build at most one answer for nothing.
//
// Bound: a connection grows past its share only while the address is within its cap, so an address
// holds at most twice the cap, plus one frame per connection (a push, an error, an event); in
// practice about the cap. A client that reads holds next to nothing, so a NAT's honest clients keep
// working beside one that does not read, except for answers larger than their share.
import { MeshError } from "../protocol/errors.ts";
import type { BrokerContext } from "./context.ts";
import { type Conn, connFields } from "./conn.ts";
import { proxyHint } from "./client-ip.ts";
import { KeyedThrottledLogs } from "./throttled-log.ts";

/** How long a client refused an answer is told to wait: a reader's output moves in milliseconds, a
 *  non-reader's is closed by liveness within two ping intervals. */
const REFUSED_RETRY_MS = 1000;

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/** One client address: its open connections and what they hold unsent, as last counted. */
export class AddressShare {
  connections = 0;
  /** Bytes unsent of all its connections, as each last counted them (Conn.recount). */
  unsent = 0;

  constructor(
    /** The per-address key (addressKey): an IPv4 address, an IPv6 /64. */
    readonly key: string,
    /** The cap in force (maxUnsentPerIp), read at each check: a SIGHUP may change it. */
    private readonly cap: () => number,
    /** Told each time a connection of this address is held by the cap (AddressOutput). */
    readonly held: (share: AddressShare, action: "paused" | "refused", conn: Conn) => void,
  ) {}

  get capBytes(): number {
    return this.cap();
  }

  /** Whether the address's connections hold its cap or more together. */
  get full(): boolean {
    return this.unsent >= this.capBytes;
  }

  /** What one connection may hold while the address is full. */
  get shareBytes(): number {
    return Math.floor(this.capBytes / Math.max(1, this.connections));
  }

  /** Whether a connection holding `own` bytes unsent is held: the address is full and the
   *  connection holds its share. */
  holds(own: number): boolean {
    return this.full && own >= this.shareBytes;
  }

  /** Bytes more a connection holding `own` may be given: what the cap has left, or what its share has. */
  room(own: number): number {
    return Math.max(this.capBytes - this.unsent, this.shareBytes - own);
  }

  /** The error that answers a request whose answer (`chars` long) was not sent. */
  refusal(chars: number): MeshError {
    const message = `The answer (${mib(chars)}) was not sent: connections from your address hold ${mib(this.unsent)} of output they have not read, and may hold ${mib(this.capBytes)} together (the broker's maxUnsentPerIp). Retry in a moment; if it keeps happening, a program at your address, or behind the same NAT or proxy, connects and does not read what it is sent.`;
    return new MeshError("rate_limited", message, { limit: "unsent", retryAfterMs: REFUSED_RETRY_MS });
  }
}

export class AddressOutput {
  private readonly addresses = new Map<string, AddressShare>();

  constructor(
    /** The cap in force, read at each check (a lower one holds connections from their next frame
     *  on, and drops nothing already written; a higher one lets them go on as their output moves). */
    private readonly capBytes: () => number,
    private readonly held: AddressShare["held"],
  ) {}

  /** Open connections of the address `key` (0 when none). */
  connections(key: string): number {
    return this.addresses.get(key)?.connections ?? 0;
  }

  /** Counts a connection opened from `key`, and returns the address it shares. */
  open(key: string): AddressShare {
    let share = this.addresses.get(key);
    if (!share) this.addresses.set(key, (share = new AddressShare(key, this.capBytes, this.held)));
    share.connections++;
    return share;
  }

  /** Counts a connection closed, and its unsent bytes out of its address's. */
  close(conn: Conn): void {
    const share = conn.leaveAddress();
    if (share && --share.connections <= 0) this.addresses.delete(share.key);
  }
}

const CAPPED_MSG = "client address over its unsent-output cap";

/** The broker's AddressOutput (maxUnsentPerIp), whose holds are counted in
 *  broker_address_unsent_capped_total and logged, throttled per address (a non-reader is held on
 *  every frame), with what a reverse proxy not listed in trustedProxies would cause. */
export function watchedAddresses(ctx: BrokerContext): AddressOutput {
  const logs = new KeyedThrottledLogs(ctx.log, "warn", () => ctx.now(), 1024);
  return new AddressOutput(() => ctx.config.maxUnsentPerIp, (share, action, conn) => {
    ctx.metrics.addressUnsentCapped.inc({ action });
    const fields = { ...connFields(conn), address: share.key, action, unsentBytes: share.unsent, capBytes: share.capBytes, connections: share.connections, shareBytes: share.shareBytes };
    logs.get(share.key, CAPPED_MSG)?.note({ ...fields, ...proxyHint(conn.transport.remoteAddress) });
  });
}
