// The conformance client's transports, from docs/protocol.md alone: signed HTTP requests (§6)
// and the WebSocket connection with its hellos (§1.1, §2).
import { type Key, freshTs, helloCanonical, inviteClaimCanonical, makeAttestation, requestCanonical, sessionHelloCanonical, sha256hex, sign } from "./wire.ts";

// ---------------------------------------------------------------- HTTP (§6)

export type HttpAnswer = { status: number; body: any };

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

/** A signed request (§6.2): the body is hashed and sent byte for byte as given. */
export async function signedRequest(
  base: string,
  method: string,
  path: string,
  bodyText: string,
  key: Key,
  opts: { timestamp?: number; signature?: string; contentType?: string | null } = {},
): Promise<HttpAnswer> {
  const timestamp = opts.timestamp ?? freshTs(key.pub);
  const signature = opts.signature ?? sign(requestCanonical(method, path, timestamp, sha256hex(bodyText)), key);
  const type = opts.contentType === undefined ? "application/json" : opts.contentType;
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(type === null ? {} : { "content-type": type }),
      "x-claudemesh-pubkey": key.pub,
      "x-claudemesh-timestamp": String(timestamp),
      "x-claudemesh-signature": signature,
    },
    body: bodyText,
  });
  return answer(res);
}

export async function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return answer(res);
}

/** POST /v1/meshes (§6.3), signed by the new owner key. */
export function createMesh(base: string, owner: Key, o: { meshId: string; slug: string; name: string; ownerDisplayName: string }) {
  const body = JSON.stringify({ meshId: o.meshId, slug: o.slug, name: o.name, ownerPubkey: owner.pub, ownerDisplayName: o.ownerDisplayName });
  return signedRequest(base, "POST", "/v1/meshes", body, owner);
}

/** The body of POST /v1/invites/{inviteId}/claim (§6.4, §3.5). */
export function claimBody(o: { meshId: string; inviteId: string; inviteKey: Key; joiner: Key; displayName: string; timestamp?: number }) {
  const timestamp = o.timestamp ?? freshTs(o.joiner.pub);
  const canonical = inviteClaimCanonical(o.inviteId, o.joiner.pub, timestamp);
  return {
    meshId: o.meshId,
    pubkey: o.joiner.pub,
    displayName: o.displayName,
    timestamp,
    inviteSignature: sign(canonical, o.inviteKey),
    signature: sign(canonical, o.joiner),
  };
}

// ---------------------------------------------------------------- WebSocket connection (§1.1, §2)

export type Frame = Record<string, any>;
export type Closed = { code: number; reason: string };

export class Conn {
  readonly frames: Frame[] = []; // received and not yet taken
  readonly log: Frame[] = []; // everything received, in order
  private readonly closing: Promise<Closed>;
  closeInfo: Closed | null = null;
  private waiters: Array<() => void> = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    this.closing = new Promise<Closed>((resolve) => {
      ws.addEventListener("close", (e) => {
        this.closeInfo = { code: e.code, reason: e.reason };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.addEventListener("message", (e) => {
      const f = JSON.parse(String(e.data)) as Frame;
      this.frames.push(f);
      this.log.push(f);
      this.wake();
    });
  }

  /** Opens `<base>/ws` (http→ws) and waits for the upgrade (at most 5 s). */
  static async open(base: string): Promise<Conn> {
    const ws = new WebSocket(base.replace(/^http/, "ws") + "/ws");
    const c = new Conn(ws);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(), { once: true });
        ws.addEventListener("error", () => reject(new Error("websocket error before open")), { once: true });
        ws.addEventListener("close", (e) => reject(new Error(`websocket closed before open (${e.code} ${e.reason})`)), { once: true });
      }),
      5000,
      "the websocket to open",
    );
    return c;
  }

  /** The close code and reason, once the socket closes. Fails after 5 s with what was received,
   *  so that a close that never comes names itself instead of running into the test's timeout. */
  get closed(): Promise<Closed> {
    return within(this.closing, 5000, `the close (received: ${JSON.stringify(this.log)})`);
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  sendRaw(data: string | Uint8Array) {
    this.ws.send(typeof data === "string" ? data : new Uint8Array(data));
  }
  sendFrame(f: Frame) {
    this.ws.send(JSON.stringify(f));
  }

  /** Takes the first received frame matching `pred`, waiting up to `timeoutMs`. */
  async take(pred: (f: Frame) => boolean, timeoutMs = 5000, what = "frame"): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closeInfo) throw new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** True if a frame matching `pred` is received within `ms` (used to assert that nothing comes). */
  async sees(pred: (f: Frame) => boolean, ms: number): Promise<boolean> {
    try {
      await this.take(pred, ms);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a request with a fresh id and returns its `result` or `error` frame (matched by id, §1.1). */
  async call(f: Frame, timeoutMs = 5000): Promise<Frame> {
    const id = f.id ?? String(this.nextId++);
    this.sendFrame({ ...f, id });
    return this.take((r) => (r.type === "result" || r.type === "error") && r.id === id, timeoutMs, `reply to ${f.type} ${id}`);
  }

  /** Like `call`, but fails unless the reply is a `result`; returns its `data`. */
  async ok(f: Frame, timeoutMs = 5000): Promise<any> {
    const r = await this.call(f, timeoutMs);
    if (r.type !== "result") throw new Error(`${f.type} failed: ${JSON.stringify(r)}`);
    return r.data;
  }

  message(pred: (m: Frame) => boolean = () => true, timeoutMs = 5000) {
    return this.take((f) => f.type === "message" && pred(f), timeoutMs, "message push");
  }
  event(name: string, pred: (d: any) => boolean = () => true, timeoutMs = 5000) {
    return this.take((f) => f.type === "event" && f.event === name && pred(f.data), timeoutMs, `event ${name}`);
  }

  close(code = 1000) {
    this.ws.close(code);
    return this.closed;
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export type Member = { meshId: string; memberId: string; key: Key; name: string };

export function helloFrame(m: Member, extra: Frame = {}): Frame {
  const timestamp = extra.timestamp ?? freshTs(m.key.pub);
  return {
    type: "hello",
    meshId: m.meshId,
    memberId: m.memberId,
    pubkey: m.key.pub,
    sessionId: `conformance-${m.name}`,
    pid: process.pid,
    cwd: `/work/${m.name}`,
    hostname: "conformance-host",
    protocolVersion: 1,
    timestamp,
    signature: sign(helloCanonical(m.meshId, m.memberId, m.key.pub, timestamp), m.key),
    ...extra,
  };
}

export function sessionHelloFrame(parent: Member, session: Key, extra: Frame = {}): Frame {
  const timestamp = extra.timestamp ?? freshTs(session.pub);
  return {
    type: "session_hello",
    meshId: parent.meshId,
    parentMemberId: parent.memberId,
    parentMemberPubkey: parent.key.pub,
    sessionPubkey: session.pub,
    attestation: makeAttestation(parent.key, session),
    sessionId: `session-${session.pub.slice(0, 8)}`,
    pid: process.pid,
    cwd: `/work/${parent.name}/project`,
    hostname: "conformance-host",
    protocolVersion: 1,
    timestamp,
    signature: sign(sessionHelloCanonical(parent.meshId, parent.key.pub, session.pub, timestamp), session),
    ...extra,
  };
}

/** Sends a hello frame as the first frame and returns the first reply (hello_ack or error). */
export async function handshake(base: string, hello: Frame): Promise<{ conn: Conn; reply: Frame }> {
  const conn = await Conn.open(base);
  conn.sendFrame(hello);
  const reply = await conn.take((f) => f.type === "hello_ack" || f.type === "error", 5000, "hello reply");
  return { conn, reply };
}

/** Connects and fails unless admitted. */
export async function connect(base: string, hello: Frame): Promise<{ conn: Conn; ack: Frame }> {
  const { conn, reply } = await handshake(base, hello);
  if (reply.type !== "hello_ack") throw new Error(`hello refused: ${JSON.stringify(reply)}`);
  return { conn, ack: reply };
}

/** Polls `fn` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
