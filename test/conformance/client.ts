// An independent claudemesh client written from docs/protocol.md alone (no imports from src/).
// Section numbers in comments refer to that document. Crypto: libsodium-wrappers (a package.json
// dependency) for ed25519 / crypto_box / BLAKE2b / XChaCha20-Poly1305, node:crypto for SHA-256
// and Argon2id.
import { createHash } from "node:crypto";
import sodium from "libsodium-wrappers";

await sodium.ready;
export { sodium };

// ---------------------------------------------------------------- encodings (§1.3)

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
/** Standard base64 with padding (RFC 4648 §4). A 24-byte nonce has no padding: 32 characters. */
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));
export const unb64url = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64url"));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const sha256hex = (s: string | Uint8Array): string => createHash("sha256").update(s).digest("hex");
export const randomId = (prefix = "id"): string => `${prefix}_${hex(sodium.randombytes_buf(9))}`;

// ---------------------------------------------------------------- keys (§1.4, §12.1)

export type Key = { seed: Uint8Array; publicKey: Uint8Array; secretKey: Uint8Array; pub: string };

export function keyFromSeed(seed: Uint8Array): Key {
  const kp = sodium.crypto_sign_seed_keypair(seed);
  return { seed, publicKey: kp.publicKey, secretKey: kp.privateKey, pub: hex(kp.publicKey) };
}
export const newKey = (): Key => keyFromSeed(sodium.randombytes_buf(32));

/** ed25519 detached signature over the UTF-8 bytes of `text`, 128 lowercase hex (§3). */
export const sign = (text: string, key: Key): string => hex(sodium.crypto_sign_detached(utf8(text), key.secretKey));
export function verify(text: string, sigHex: string, pubHex: string): boolean {
  try {
    return sodium.crypto_sign_verify_detached(unhex(sigHex), utf8(text), unhex(pubHex));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- canonical strings (§3)

export const helloCanonical = (meshId: string, memberId: string, pubkey: string, timestamp: number) =>
  `${meshId}|${memberId}|${pubkey}|${timestamp}`;
export const attestationCanonical = (parentMemberPubkey: string, sessionPubkey: string, expiresAt: number) =>
  `claudemesh-session-attest|${parentMemberPubkey}|${sessionPubkey}|${expiresAt}`;
export const sessionHelloCanonical = (meshId: string, parentMemberPubkey: string, sessionPubkey: string, timestamp: number) =>
  `claudemesh-session-hello|${meshId}|${parentMemberPubkey}|${sessionPubkey}|${timestamp}`;
export const inviteV2Canonical = (meshId: string, inviteId: string, expiresAtS: number, role: string, issuerPubkey: string) =>
  `v=2|${meshId}|${inviteId}|${expiresAtS}|${role}|${issuerPubkey}`;
export const inviteKeyCanonical = (meshId: string, inviteId: string, invitePubkey: string, maxUses: number) =>
  `claudemesh-invite-key-v2|${meshId}|${inviteId}|${invitePubkey}|${maxUses}`;
export const inviteKeyCanonicalV1 = (meshId: string, inviteId: string, invitePubkey: string) =>
  `claudemesh-invite-key|${meshId}|${inviteId}|${invitePubkey}`;
export const inviteClaimCanonical = (inviteId: string, joinerPubkey: string, timestamp: number) =>
  `claudemesh-invite-claim|${inviteId}|${joinerPubkey}|${timestamp}`;
export const requestCanonical = (method: string, path: string, timestamp: number, bodySha256: string) =>
  `claudemesh-request|${method}|${path}|${timestamp}|${bodySha256}`;
export const dashboardLoginCanonical = (meshId: string, memberId: string, nonce: string, expiresAt: number) =>
  `claudemesh-dashboard-login|${meshId}|${memberId}|${nonce}|${expiresAt}`;

/**
 * A fresh millisecond timestamp for one key: never the same twice for a key, because two
 * signatures over the same canonical string are the same bytes and the second is `replayed` (§2.5, §10).
 */
const lastTs = new Map<string, number>();
export function freshTs(pub: string): number {
  let t = Date.now();
  const last = lastTs.get(pub) ?? 0;
  if (t <= last) t = last + 1;
  lastTs.set(pub, t);
  return t;
}

export type Attestation = { sessionPubkey: string; parentMemberPubkey: string; expiresAt: number; signature: string };
export function makeAttestation(parent: Key, session: Key, expiresAt = Date.now() + 12 * 3600_000): Attestation {
  return {
    sessionPubkey: session.pub,
    parentMemberPubkey: parent.pub,
    expiresAt,
    signature: sign(attestationCanonical(parent.pub, session.pub, expiresAt), parent),
  };
}

// ---------------------------------------------------------------- canonical JSON and audit (§9)

export function canonicalJson(v: unknown, depth = 0): string {
  if (depth > 64) throw new Error("canonicalJson: too deep");
  if (v === null || v === true || v === false) return String(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error("canonicalJson: non-finite number");
    return JSON.stringify(v); // -0 → "0", 1e21 → "1e+21"
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, depth + 1)).join(",")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort(); // default sort = UTF-16 code units
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], depth + 1)}`).join(",")}}`;
  }
  throw new Error(`canonicalJson: refused ${typeof v}`);
}

export type AuditEntry = {
  seq: number;
  meshId: string;
  eventType: string;
  actor: string | null;
  payload: unknown;
  createdAt: string;
  prevHash: string;
  hash: string;
};
export const auditLine = (e: Pick<AuditEntry, "prevHash" | "meshId" | "eventType" | "actor" | "payload" | "createdAt">) =>
  `${e.prevHash}|${e.meshId}|${e.eventType}|${e.actor ?? "null"}|${canonicalJson(e.payload)}|${e.createdAt}`;
export const auditHash = (e: Parameters<typeof auditLine>[0]) => sha256hex(auditLine(e));

export function verifyChain(entries: AuditEntry[]) {
  let prev = "genesis";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let ok = e.seq === i + 1 && e.prevHash === prev;
    if (ok) {
      try {
        ok = auditHash(e) === e.hash;
      } catch {
        ok = false;
      }
    }
    if (!ok) return { valid: false, entries: entries.length, head: prev, brokenAt: e.seq };
    prev = e.hash;
  }
  return { valid: true, entries: entries.length, head: prev, brokenAt: null };
}

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

// ---------------------------------------------------------------- end-to-end envelopes (§11)

export type Inner = {
  v: 1;
  mesh: string;
  from: string;
  to: string;
  id: string;
  ts: number;
  kind: "text" | "ask" | "keys" | "system";
  body: string;
  replyTo?: string;
  att?: Attestation;
};

/** §11.1: fixed key order, optional keys omitted, exactly JSON.stringify. */
export function encodeInner(i: Inner): string {
  const o: Record<string, unknown> = { v: 1, mesh: i.mesh, from: i.from, to: i.to, id: i.id, ts: i.ts, kind: i.kind, body: i.body };
  if (i.replyTo !== undefined) o.replyTo = i.replyTo;
  if (i.att !== undefined)
    o.att = { sessionPubkey: i.att.sessionPubkey, parentMemberPubkey: i.att.parentMemberPubkey, expiresAt: i.att.expiresAt, signature: i.att.signature };
  return JSON.stringify(o);
}

/** §11.1: accept only if re-encoding gives back the same bytes. */
export function decodeInner(text: string): Inner {
  const i = JSON.parse(text) as Inner;
  if (typeof i !== "object" || i === null || Array.isArray(i)) throw new Error("inner payload is not an object");
  const ID = /^[A-Za-z0-9_-]{8,64}$/;
  const HEX32 = /^[0-9a-f]{64}$/;
  const target = /^(\*|#[a-z0-9][a-z0-9_-]{0,63}|@[a-z0-9][a-z0-9_/-]{0,63}|[0-9a-f]{64})$/;
  const okFields =
    i.v === 1 && typeof i.mesh === "string" && ID.test(i.mesh) && typeof i.from === "string" && HEX32.test(i.from) &&
    typeof i.to === "string" && target.test(i.to) && typeof i.id === "string" && ID.test(i.id) && Number.isSafeInteger(i.ts) && i.ts >= 0 &&
    ["text", "ask", "keys", "system"].includes(i.kind) && typeof i.body === "string" && utf8(i.body).length <= 64 * 1024 &&
    (i.replyTo === undefined || (typeof i.replyTo === "string" && ID.test(i.replyTo)));
  if (!okFields) throw new Error("inner payload has an invalid field");
  if (encodeInner(i) !== text) throw new Error("inner payload is not canonical");
  return i;
}

const curvePk = (edPub: Uint8Array) => sodium.crypto_sign_ed25519_pk_to_curve25519(edPub);
const curveSk = (edSecret: Uint8Array) => sodium.crypto_sign_ed25519_sk_to_curve25519(edSecret);

/** §11.2: a direct message. */
export function sealDirect(sender: Key, recipientPub: string, inner: string): { nonce: string; ciphertext: string } {
  const nonce = sodium.randombytes_buf(24);
  const box = sodium.crypto_box_easy(utf8(inner), nonce, curvePk(unhex(recipientPub)), curveSk(sender.secretKey));
  return { nonce: b64(nonce), ciphertext: b64(new Uint8Array([0x01, ...box])) };
}

export type MeshKeys = Map<number, Uint8Array>; // epoch → 32-byte key

/** §11.3 step 3. */
export function purposeKey(meshKey: Uint8Array, target: string): Uint8Array {
  let label: string;
  if (target === "*") label = "claudemesh-broadcast-v1";
  else if (target.startsWith("@")) label = `claudemesh-group-v1|${target.slice(1)}`;
  else if (target.startsWith("#")) label = `claudemesh-topic-v1|${target.slice(1)}`;
  else throw new Error(`not a fan-out target: ${target}`);
  return sodium.crypto_generichash(32, utf8(label), meshKey);
}

/** §11.3: sign, then encrypt with the purpose key of the mesh key of `epoch`. */
export function sealFanout(sender: Key, meshKey: Uint8Array, epoch: number, meshId: string, target: string, inner: string) {
  const sig = sign(`claudemesh-msg-v1|${inner}`, sender);
  const plaintext = JSON.stringify({ inner, sig });
  const nonce = sodium.randombytes_buf(24);
  const ad = `claudemesh-fanout-v1|${meshId}|${epoch}|${target}`;
  const aead = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(utf8(plaintext), utf8(ad), null, nonce, purposeKey(meshKey, target));
  const head = new Uint8Array(5);
  head[0] = 0x02;
  new DataView(head.buffer).setUint32(1, epoch, false);
  return { nonce: b64(nonce), ciphertext: b64(new Uint8Array([...head, ...aead])) };
}

export type Push = {
  meshId: string;
  from: { pubkey: string; memberPubkey?: string };
  to: string;
  nonce: string;
  ciphertext: string;
};

/**
 * §11.4: open a pushed message and run every recipient check. `me` are the keys this client holds
 * (a DM must be addressed to one of them); `meshKeys` by epoch for fan-out messages.
 */
export function openMessage(push: Push, me: Key[], meshKeys: MeshKeys = new Map()): Inner {
  const raw = unb64(push.ciphertext);
  const nonce = unb64(push.nonce);
  let innerText: string;
  if (raw[0] === 0x01) {
    const mine = me.find((k) => k.pub === push.to);
    if (!mine) throw new Error("direct message not addressed to one of my keys");
    const plain = sodium.crypto_box_open_easy(raw.subarray(1), nonce, curvePk(unhex(push.from.pubkey)), curveSk(mine.secretKey));
    innerText = new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } else if (raw[0] === 0x02) {
    const epoch = new DataView(raw.buffer, raw.byteOffset + 1, 4).getUint32(0, false);
    const meshKey = meshKeys.get(epoch);
    if (!meshKey) throw new Error(`unknown epoch ${epoch}`);
    const ad = `claudemesh-fanout-v1|${push.meshId}|${epoch}|${push.to}`;
    const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, raw.subarray(5), utf8(ad), nonce, purposeKey(meshKey, push.to));
    const outer = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as { inner: string; sig: string };
    if (JSON.stringify({ inner: outer.inner, sig: outer.sig }) !== new TextDecoder().decode(plain)) throw new Error("fan-out plaintext not canonical");
    const from = (JSON.parse(outer.inner) as Inner).from;
    if (!verify(`claudemesh-msg-v1|${outer.inner}`, outer.sig, from)) throw new Error("fan-out signature does not verify");
    innerText = outer.inner;
  } else throw new Error(`unknown envelope type ${raw[0]}`);
  const inner = decodeInner(innerText);
  if (inner.mesh !== push.meshId) throw new Error("inner.mesh does not match the push");
  if (inner.from !== push.from.pubkey) throw new Error("inner.from does not match the push");
  if (inner.to !== push.to) throw new Error("inner.to does not match the push");
  // The push says whether the sender is a session (from.memberPubkey ≠ from.pubkey); the payload
  // must agree: `att` exactly for a session, naming that member and this session key, signed by
  // the member, and not expired at the message's own `ts` (src/crypto/envelope.ts: ts ≤ expiresAt).
  const memberPubkey = push.from.memberPubkey ?? push.from.pubkey;
  const isSession = memberPubkey !== push.from.pubkey;
  const att = inner.att;
  if (isSession !== (att !== undefined)) throw new Error(isSession ? "session sender without attestation" : "attestation from a member key");
  if (att) {
    if (att.sessionPubkey !== inner.from || att.parentMemberPubkey !== memberPubkey) throw new Error("attestation names other keys");
    if (!verify(attestationCanonical(att.parentMemberPubkey, att.sessionPubkey, att.expiresAt), att.signature, memberPubkey))
      throw new Error("attestation does not verify");
    if (inner.ts > att.expiresAt) throw new Error("attestation expired at the message's time");
  }
  return inner;
}

/** Recipient replay memory keyed by (inner.from, inner.id) (§11.4). */
export class ReplayMemory {
  private seen = new Set<string>();
  fresh(i: Inner): boolean {
    const k = `${i.from}|${i.id}`;
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    return true;
  }
}

// ---------------------------------------------------------------- invite secrets and key blobs (§11.5)

export function inviteSecretKeys(s: Uint8Array) {
  const inviteKey = keyFromSeed(sodium.crypto_generichash(32, utf8("claudemesh-invite-sign-v1"), s));
  const blobKey = sodium.crypto_generichash(32, utf8("claudemesh-invite-keys-v1"), s);
  return { inviteKey, blobKey };
}

export function sealKeysBlob(blobKey: Uint8Array, inviteId: string, keys: MeshKeys): string {
  const json = JSON.stringify({ keys: [...keys].map(([epoch, key]) => ({ epoch, key: b64(key) })) });
  const nonce = sodium.randombytes_buf(24);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(utf8(json), utf8(`claudemesh-invite-keys-v1|${inviteId}`), null, nonce, blobKey);
  return b64(new Uint8Array([...nonce, ...ct]));
}

export function openKeysBlob(blobKey: Uint8Array, inviteId: string, keysBlob: string): { json: string; keys: MeshKeys } {
  const raw = unb64(keysBlob);
  const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, raw.subarray(24), utf8(`claudemesh-invite-keys-v1|${inviteId}`), raw.subarray(0, 24), blobKey);
  const json = new TextDecoder().decode(plain);
  const parsed = JSON.parse(json) as { keys: Array<{ epoch: number; key: string }> };
  return { json, keys: new Map(parsed.keys.map((k) => [k.epoch, unb64(k.key)])) };
}

// ---------------------------------------------------------------- invite creation (§4.3.22)

export type Invite = { inviteId: string; s: Uint8Array; inviteKey: Key; blobKey: Uint8Array; expiresAt: number; role: "member" | "admin" };

/** Builds an `invite_create` frame signed by `issuer` (§3.4, §3.4b), with the mesh keys sealed for joiners. */
export function inviteFrame(issuer: Member, o: { role?: "member" | "admin"; maxUses?: number; meshKeys?: MeshKeys; keySignature?: boolean } = {}) {
  const s = sodium.randombytes_buf(32);
  const { inviteKey, blobKey } = inviteSecretKeys(s);
  const inviteId = randomId("inv");
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const role = o.role ?? "member";
  const maxUses = o.maxUses ?? 1;
  const frame: Frame = {
    type: "invite_create",
    inviteId,
    expiresAt,
    role,
    maxUses,
    invitePubkey: inviteKey.pub,
    signature: sign(inviteV2Canonical(issuer.meshId, inviteId, expiresAt, role, issuer.key.pub), issuer.key),
  };
  if (o.keySignature !== false) frame.keySignature = sign(inviteKeyCanonical(issuer.meshId, inviteId, inviteKey.pub, maxUses), issuer.key);
  if (o.meshKeys) frame.keysBlob = sealKeysBlob(blobKey, inviteId, o.meshKeys);
  const invite: Invite = { inviteId, s, inviteKey, blobKey, expiresAt, role };
  return { frame, invite };
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

/** The body of a `keys` message (§11.5): every epoch, as in the keysBlob. */
export const keysBody = (keys: MeshKeys): string => JSON.stringify({ keys: [...keys].map(([epoch, key]) => ({ epoch, key: b64(key) })) });

/**
 * Applies a `keys` message (§11.5): only a direct message whose sender's member key is the mesh
 * owner's; an epoch already held is never replaced. Returns the epochs added, or null if refused.
 */
export function applyKeys(push: Push & { kind?: string }, inner: Inner, ownerPubkey: string, keys: MeshKeys): number[] | null {
  if (inner.kind !== "keys" || push.kind !== "direct" || (push.from.memberPubkey ?? push.from.pubkey) !== ownerPubkey) return null;
  const parsed = JSON.parse(inner.body) as { keys?: Array<{ epoch: number; key: string }> };
  if (!Array.isArray(parsed.keys)) return null;
  const added: number[] = [];
  for (const k of parsed.keys) {
    const key = unb64(k.key);
    if (!Number.isInteger(k.epoch) || k.epoch < 0 || k.epoch > 2 ** 31 || key.length !== 32 || keys.has(k.epoch)) continue;
    keys.set(k.epoch, key);
    added.push(k.epoch);
  }
  return added;
}
