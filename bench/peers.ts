// Lean load-generator clients: raw WebSockets with hand-built frames and no schema validation,
// so the client spends as little of its core as possible. One PeerSet holds many sockets and
// routes what they receive to the running scenario's handlers. Two dialects: the broker's
// protocol (signed hello, `send`, pushes acked in batches once per event-loop turn) and the raw
// relay's (unsigned hello, the frame itself is forwarded, nothing to ack). A broker send goes to a
// peer (by index) or to a fan-out target (`#topic`, `@group`, `*`).
import { randomBytes } from "node:crypto";
import { buildHello } from "../src/client/credentials.ts";
import { randomId } from "../src/crypto/hash.ts";
import type { Member } from "./setup.ts";

/** ~300 bytes of "ciphertext" (base64 of 225 random bytes) and a 24-byte nonce, reused by every
 *  message: neither the broker nor the relay looks inside. */
export const CIPHERTEXT = randomBytes(225).toString("base64");
/** ~1 KiB of "ciphertext" (1,024 random bytes, 1,368 characters of base64), the size the
 *  reliability plan's load test (T8) sends. */
export const CIPHERTEXT_1KIB = randomBytes(1024).toString("base64");
const NONCE = randomBytes(24).toString("base64");
/** The broker accepts at most this many ids per ack frame (src/protocol/limits.ts MAX_ACK_BATCH). */
const ACK_BATCH = 512;
/** How long one socket may take to open and get its hello_ack. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Whom a send goes to: peer `i`, or a fan-out target the broker resolves (`#topic`, `@group`, `*`). */
export type SendTarget = number | `#${string}` | `@${string}` | "*";

export type Dialect = {
  kind: "broker" | "raw";
  /** The public key (mailbox) of peer i. */
  key(i: number): string;
  hello(i: number): string;
  /** A send frame; `id` is its request id (the broker's `result` echoes it; the raw relay has no
   *  requests and ignores it). The raw relay throws on a fan-out target: it has none. */
  send(from: number, to: SendTarget, clientMessageId: string, id: number): string;
};

/** The broker's protocol for these members (peer i is members[i]); every send carries
 *  `ciphertext` (default CIPHERTEXT, ~300 bytes). */
export function brokerDialect(members: readonly Member[], ciphertext = CIPHERTEXT): Dialect {
  return {
    kind: "broker",
    key: (i) => members[i]!.keys.publicKey,
    hello: (i) => {
      const m = members[i]!;
      const where = { sessionId: randomId(), pid: process.pid, cwd: "/bench", hostname: "bench", receive: "push" as const };
      return JSON.stringify(buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, where));
    },
    send: (_from, to, cid, id) =>
      `{"type":"send","id":${id},"to":"${typeof to === "number" ? members[to]!.keys.publicKey : to}","clientMessageId":"${cid}","nonce":"${NONCE}","ciphertext":"${ciphertext}","priority":"now"}`,
  };
}

export function rawDialect(): Dialect {
  const key = (i: number) => `peer${i}`;
  return {
    kind: "raw",
    key,
    hello: (i) => `{"type":"hello","pubkey":"${key(i)}"}`,
    send: (_from, to, cid) => {
      if (typeof to !== "number") throw new Error(`the raw relay has no fan-out target (${to})`);
      return `{"type":"message","to":"${key(to)}","clientMessageId":"${cid}","nonce":"${NONCE}","ciphertext":"${CIPHERTEXT}"}`;
    },
  };
}

export type Handlers = {
  /** A message pushed to peer `to`; `at` is performance.now() when it arrived. */
  onPush(to: number, clientMessageId: string, at: number): void;
  /** A `result` or request `error` reached peer `from` (the broker answered one of its requests);
   *  `latencyMs` is send → answer for a `result` of a send made through PeerSet.send, and `id`
   *  the request id PeerSet.send returned (NaN when the frame carried none we could read). */
  onReply?(from: number, ok: boolean, latencyMs?: number, id?: number): void;
};

const NO_HANDLERS: Handlers = { onPush: () => {} };

export class PeerSet {
  readonly sockets = new Map<number, WebSocket>();
  handlers: Handlers = NO_HANDLERS;
  errors = 0;
  firstError = "";
  /** performance.now() of the last frame any socket received (see quiesce). */
  lastFrameAt = 0;
  unexpectedCloses = 0;
  private readonly pendingAcks = new Map<number, string[]>();
  private ackScheduled = false;
  private closing = false;

  constructor(
    readonly dialect: Dialect,
    private readonly wsUrl: string,
  ) {}

  /** Opens sockets for these peer indexes, `concurrency` at a time; resolves when every one has
   *  its hello_ack. Rejects on the first failure. */
  async connect(indexes: readonly number[], concurrency = 100): Promise<void> {
    for (let i = 0; i < indexes.length; i += concurrency) {
      await Promise.all(indexes.slice(i, i + concurrency).map((p) => this.open(p)));
    }
  }

  private open(i: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.wsUrl);
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`peer ${i}: no hello_ack within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      ws.onopen = () => ws.send(this.dialect.hello(i));
      ws.onmessage = (ev) => {
        const text = ev.data as string;
        if (!ready) {
          if (!text.startsWith('{"type":"hello_ack"')) return reject(new Error(`peer ${i}: expected hello_ack, got ${text.slice(0, 200)}`));
          ready = true;
          clearTimeout(timer);
          this.sockets.set(i, ws);
          resolve();
          return;
        }
        this.onFrame(i, text);
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`peer ${i}: closed during hello (${ev.code} ${ev.reason})`));
        else if (!this.closing) this.unexpectedCloses++;
      };
    });
  }

  /** performance.now() of each send still waiting for its result, by request id (broker only). */
  private readonly sentAt = new Map<number, number>();
  private nextId = 0;

  /** Sends from peer `from`; returns the request id its `result` will carry (see onReply). */
  send(from: number, to: SendTarget, clientMessageId: string): number {
    const id = ++this.nextId;
    if (this.dialect.kind === "broker") this.sentAt.set(id, performance.now());
    this.sockets.get(from)!.send(this.dialect.send(from, to, clientMessageId, id));
    return id;
  }

  private onFrame(i: number, text: string): void {
    this.lastFrameAt = performance.now();
    if (text.startsWith('{"type":"message"')) {
      const at = performance.now();
      const f = JSON.parse(text) as { messageId?: string; clientMessageId: string };
      if (f.messageId !== undefined) this.queueAck(i, f.messageId);
      this.handlers.onPush(i, f.clientMessageId, at);
    } else if (text.startsWith('{"type":"result"')) {
      // {"type":"result","id":<n>,...: the id is read without parsing the frame.
      const id = Number(text.slice(22, text.indexOf(",", 22)));
      const sent = this.sentAt.get(id);
      this.sentAt.delete(id);
      this.handlers.onReply?.(i, true, sent === undefined ? undefined : performance.now() - sent, id);
    } else if (text.startsWith('{"type":"error"')) {
      this.errors++;
      if (!this.firstError) this.firstError = text.slice(0, 300);
      const m = /"id":(\d+)/.exec(text);
      if (m) this.sentAt.delete(Number(m[1]));
      if (text.includes('"id":')) this.handlers.onReply?.(i, false, undefined, m ? Number(m[1]) : NaN);
    }
    // `event` frames (peer_joined, ...) are ignored.
  }

  /** Acks go out once per event-loop turn, batched per socket. */
  private queueAck(i: number, messageId: string): void {
    let list = this.pendingAcks.get(i);
    if (!list) this.pendingAcks.set(i, (list = []));
    list.push(messageId);
    if (!this.ackScheduled) {
      this.ackScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    for (const [i, ids] of this.pendingAcks) {
      const ws = this.sockets.get(i);
      for (let k = 0; ws && k < ids.length; k += ACK_BATCH) ws.send(`{"type":"ack","messageIds":["${ids.slice(k, k + ACK_BATCH).join('","')}"]}`);
    }
    this.pendingAcks.clear();
  }

  /** Waits until no socket has received anything for `quietMs` (at most `timeoutMs`), so a
   *  scenario never sees the tail of the previous one. Returns whether it got quiet. */
  async quiesce(quietMs: number, timeoutMs: number): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (performance.now() - this.lastFrameAt < quietMs) {
      if (performance.now() > end) return false;
      await Bun.sleep(quietMs / 4);
    }
    return true;
  }

  close(): void {
    this.closing = true;
    for (const ws of this.sockets.values()) ws.close(1000, "bench done");
    this.sockets.clear();
  }
}
