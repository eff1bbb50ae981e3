// The conformance client's end-to-end layer, from docs/protocol.md alone: message envelopes
// (§11), invite secrets and key blobs (§11.5), invite frames (§4.3.22) and keys messages.
import { type Attestation, type Key, attestationCanonical, b64, inviteKeyCanonical, inviteV2Canonical, keyFromSeed, randomId, sign, sodium, unb64, unhex, utf8, verify } from "./wire.ts";
import { type Frame, type Member } from "./transport.ts";

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
