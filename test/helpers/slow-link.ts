// A slow, lossy path between a client and a real broker, emulated in user space (`tc netem` is not
// available where the tests run): a TCP pass-through that delays each direction's bytes (latency
// and jitter), paces them (a bandwidth cap) and can hold them all for a while ("stall"), which is
// what a burst of packet loss looks like to an application: TCP never loses or reorders bytes, it
// retransmits, and the bytes behind the lost segment wait. Bytes keep their order in each
// direction, whatever the jitter.
//
// What it does not emulate: a segment size (bytes are paced in slices of SLICE_BYTES), slow start,
// and a stall's release at the link's rate (held bytes are all released at once when it ends).
import { connect as netConnect, createServer, type Socket } from "node:net";

/** The path's shape, the same both ways (a satellite hop, a hotel Wi-Fi). */
export type PathShape = {
  /** One-way delay, milliseconds: the round trip is twice this. */
  delayMs: number;
  /** Up to this much more delay for each slice, random; never reorders. */
  jitterMs?: number;
  /** Bytes per second in each direction (absent: no cap). */
  bytesPerSec?: number;
};

export type Direction = "up" | "down";

/** Bytes are paced and delayed in slices this large (about one TCP segment). */
const SLICE_BYTES = 1400;
/** Bytes held in one direction past which the sender is paused, as a full TCP window and send
 *  buffer pause it: a sender sees a slow link as a slow socket, not as a fast one into a large
 *  buffer. Resumed below half of it. */
const WINDOW_BYTES = 64 * 1024;

type Held = Record<Direction, number>;

/** One direction of one connection: bytes from `src`, written to `dst` when their time comes. */
class Pipe {
  private readonly queue: { at: number; bytes: Buffer }[] = [];
  private queuedBytes = 0;
  /** When the last slice so far has finished going out at the capped rate. */
  private freeAt: number;
  /** When the last slice so far is delivered: none is delivered before it (order). */
  private lastAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ending = false;
  /** Bytes delivered so far. */
  delivered = 0;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly shape: () => PathShape,
    private readonly heldUntil: () => number,
    readyAt: number,
  ) {
    this.freeAt = readyAt;
  }

  push(d: Buffer): void {
    const now = performance.now();
    const { delayMs, jitterMs = 0, bytesPerSec } = this.shape();
    for (let i = 0; i < d.length; i += SLICE_BYTES) {
      const bytes = d.subarray(i, i + SLICE_BYTES);
      this.freeAt = Math.max(now, this.freeAt) + (bytesPerSec ? (bytes.length * 1000) / bytesPerSec : 0);
      this.lastAt = Math.max(this.lastAt, this.freeAt + delayMs + Math.random() * jitterMs);
      this.queue.push({ at: this.lastAt, bytes });
    }
    this.queuedBytes += d.length;
    if (this.queuedBytes > WINDOW_BYTES) this.src.pause();
    this.arm();
  }

  /** The sender ended (FIN): it travels behind the bytes sent before it. */
  end(): void {
    this.ending = true;
    this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  private arm(): void {
    if (this.timer) return;
    const head = this.queue[0];
    if (!head) return void (this.ending && this.dst.end());
    const at = Math.max(head.at, this.heldUntil());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, at - performance.now()));
  }

  private flush(): void {
    const now = performance.now();
    // A stall begun after the timer was armed holds what is due as well.
    while (this.queue[0] && this.queue[0].at <= now && this.heldUntil() <= now) {
      const { bytes } = this.queue.shift()!;
      this.queuedBytes -= bytes.length;
      this.delivered += bytes.length;
      if (!this.dst.destroyed) this.dst.write(bytes);
    }
    if (this.queuedBytes < WINDOW_BYTES / 2) this.src.resume();
    this.arm();
  }
}

export type SlowLink = {
  url: string;
  /** Connections accepted so far: a client that reconnects opens one more. */
  connections(): number;
  /** Bytes delivered so far in each direction, over all connections. */
  delivered(): Record<Direction, number>;
  /** Changes the path's shape for the bytes sent from now on. */
  reshape(shape: PathShape): void;
  /** Holds every byte in `dirs` (both by default), on open connections and new ones, for `ms`
   *  from now, then releases them in order; resolves when it ends. */
  stall(ms: number, dirs?: Direction[]): Promise<void>;
  [Symbol.dispose](): void;
};

/** A slow path to the broker on 127.0.0.1:`port`. A connection's first bytes reach the broker one
 *  round trip after the client connected (the TCP handshake it would have made over the path).
 *  `tap` sees each chunk as it enters the path, before it is delayed (the broker's WebSocket
 *  frames are not masked: a test can stall the path on what the broker has just answered). */
export async function slowLink(port: number, initial: PathShape, tap: (dir: Direction, d: Buffer) => void = () => {}): Promise<SlowLink> {
  let shape = initial;
  const held: Held = { up: 0, down: 0 };
  const open = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>();
  let accepted = 0;
  const done: Record<Direction, number> = { up: 0, down: 0 };
  const server = createServer((client) => {
    accepted++;
    const upstream = netConnect(port, "127.0.0.1");
    const readyAt = performance.now() + 2 * shape.delayMs;
    const up = new Pipe(client, upstream, () => shape, () => held.up, readyAt);
    const down = new Pipe(upstream, client, () => shape, () => held.down, 0);
    const pair = { client, upstream, pipes: [up, down] };
    open.add(pair);
    client.on("data", (d: Buffer) => (tap("up", d), up.push(d)));
    upstream.on("data", (d: Buffer) => (tap("down", d), down.push(d)));
    client.on("end", () => up.end());
    upstream.on("end", () => down.end());
    const gone = () => {
      if (!open.delete(pair)) return;
      done.up += up.delivered;
      done.down += down.delivered;
      // A reset (an error) ends the other side at once, as the path would carry the RST.
      up.stop();
      down.stop();
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on("error", gone);
      s.on("close", (hadError: boolean) => (hadError ? gone() : s === client ? up.end() : down.end()));
    }
    // Both ends closed: nothing more can pass.
    let closed = 0;
    for (const s of [client, upstream]) s.on("close", () => ++closed === 2 && gone());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => accepted,
    delivered: () => {
      const d = { ...done };
      for (const p of open) (d.up += p.pipes[0]!.delivered), (d.down += p.pipes[1]!.delivered);
      return d;
    },
    reshape: (s) => void (shape = s),
    stall(ms, dirs = ["up", "down"]) {
      const until = performance.now() + ms;
      for (const d of dirs) held[d] = Math.max(held[d], until);
      return Bun.sleep(ms);
    },
    [Symbol.dispose]() {
      server.close();
      for (const p of open) {
        p.pipes.forEach((x) => x.stop());
        p.client.destroy();
        p.upstream.destroy();
      }
      open.clear();
    },
  };
}
