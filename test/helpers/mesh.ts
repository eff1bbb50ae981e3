// Mesh fixtures that go through the real flows: a signed POST /v1/meshes, invites created over
// the WebSocket with a real signature, and claims over HTTP.
import { randomBytes } from "node:crypto";
import { inviteCanonical, inviteKeyCanonical } from "../../src/protocol/canonical.ts";
import type { MessagePushFrame, EventFrame, HelloAckFrame } from "../../src/protocol/server-frames.ts";
import { generateSigningKeypair, signDetached, signingKeypairFromSeed, type SigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { BrokerClient, type ClientOptions } from "../../src/client/client.ts";
import { claimInvite, createMesh } from "../../src/client/http.ts";
import type { Whereabouts } from "../../src/client/credentials.ts";

export type TestMember = { meshId: string; memberId: string; keys: SigningKeypair; displayName: string; role: string };

export async function createTestMesh(url: string, ownerName = "owner", slug = `mesh-${randomId(4).toLowerCase().replace(/[^a-z0-9]/g, "x")}`) {
  const keys = generateSigningKeypair();
  const meshId = randomId();
  const { mesh, member } = await createMesh(url, keys, { meshId, slug, name: `Mesh ${slug}`, ownerDisplayName: ownerName });
  const owner: TestMember = { meshId: mesh.id, memberId: member.memberId, keys, displayName: ownerName, role: "owner" };
  return { mesh, owner };
}

export type InviteSpec = { maxUses?: number; expiresInS?: number; role?: "member" | "admin"; keysBlob?: string };

/** Creates an invite as `admin` (over `via`, or its own short-lived connection); returns the
 *  link's secrets. */
export async function createInvite(url: string, admin: TestMember, spec: InviteSpec = {}, via?: TestPeer) {
  const seed = new Uint8Array(randomBytes(32));
  const inviteKeys = signingKeypairFromSeed(seed);
  const inviteId = randomId();
  const expiresAt = Math.floor(Date.now() / 1000) + (spec.expiresInS ?? 3600);
  const role = spec.role ?? "member";
  const signature = signDetached(inviteCanonical(admin.meshId, inviteId, expiresAt, role, admin.keys.publicKey), admin.keys.secretKey);
  const peer = via ?? (await connect(url, admin, { receive: "pull" }));
  try {
    const maxUses = spec.maxUses ?? 1;
    const keySignature = signDetached(inviteKeyCanonical(admin.meshId, inviteId, inviteKeys.publicKey, maxUses), admin.keys.secretKey);
    await peer.client.request("invite_create", { inviteId, expiresAt, role, maxUses, invitePubkey: inviteKeys.publicKey, signature, keySignature, ...(spec.keysBlob ? { keysBlob: spec.keysBlob } : {}) });
  } finally {
    if (!via) peer.close();
  }
  return { inviteId, inviteKeys, expiresAt, meshId: admin.meshId };
}

export async function joinWithInvite(url: string, inv: Awaited<ReturnType<typeof createInvite>>, name: string): Promise<TestMember & { keysBlob: string | null }> {
  const keys = generateSigningKeypair();
  const r = await claimInvite(url, { inviteId: inv.inviteId, meshId: inv.meshId, inviteKeys: inv.inviteKeys, joiner: keys, displayName: name });
  return { meshId: inv.meshId, memberId: r.member.memberId, keys, displayName: name, role: r.member.role, keysBlob: r.keysBlob };
}

export async function addMember(url: string, admin: TestMember, name: string): Promise<TestMember> {
  return joinWithInvite(url, await createInvite(url, admin), name);
}

export type TestPeer = {
  client: BrokerClient;
  ack: HelloAckFrame;
  messages: MessagePushFrame[];
  events: EventFrame[];
  waitMessages(n: number, timeoutMs?: number): Promise<MessagePushFrame[]>;
  waitEvent(pred: (e: EventFrame) => boolean, timeoutMs?: number): Promise<EventFrame>;
  close(): void;
};

/** Waits until `check` returns a value, re-checking whenever `notify` fires. */
function waiter() {
  const listeners = new Set<() => void>();
  return {
    notify: () => listeners.forEach((l) => l()),
    until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
      return new Promise((resolve, reject) => {
        const tryNow = () => {
          const v = check();
          if (v !== undefined) {
            listeners.delete(tryNow);
            clearTimeout(timer);
            resolve(v);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(tryNow);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        listeners.add(tryNow);
        tryNow();
      });
    },
  };
}

export async function connect(url: string, m: TestMember, where: Partial<Whereabouts> = {}, extra: Partial<ClientOptions> = {}): Promise<TestPeer> {
  const messages: MessagePushFrame[] = [];
  const events: EventFrame[] = [];
  const w = waiter();
  const client = new BrokerClient({
    url,
    credentials: { kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys },
    where: { sessionId: randomId(), pid: process.pid, cwd: "/tmp/test", hostname: "test-host", ...where },
    onMessage: (msg) => {
      messages.push(msg);
      w.notify();
    },
    onEvent: (e) => {
      events.push(e);
      w.notify();
    },
    ...extra,
  });
  const ack = await client.connect();
  return {
    client,
    ack,
    messages,
    events,
    waitMessages: (n, t = 5000) => w.until(() => (messages.length >= n ? messages.slice(0, n) : undefined), t, `${n} messages (have ${messages.length})`),
    waitEvent: (pred, t = 5000) => w.until(() => events.find(pred), t, "event"),
    close: () => client.close(),
  };
}

/** An opaque envelope for broker tests: the "ciphertext" is base64 of the text (the broker cannot
 *  tell), so tests can read it back. Real clients encrypt; see src/crypto. */
export function envelope(text: string) {
  return { nonce: randomBytes(24).toString("base64"), ciphertext: Buffer.from(text).toString("base64") };
}

export const textOf = (m: MessagePushFrame) => Buffer.from(m.ciphertext, "base64").toString();

export function sendText(peer: TestPeer, to: string, text: string, extra: { priority?: "now" | "next" | "low"; clientMessageId?: string } = {}) {
  return peer.client.request("send", { to, clientMessageId: extra.clientMessageId ?? randomId(), ...envelope(text), ...(extra.priority ? { priority: extra.priority } : {}) });
}
