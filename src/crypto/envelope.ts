// Sealing and opening whole messages. The broker only ever sees the returned {nonce, ciphertext}.
//
// Direct (to a 64-hex key): box.ts over the inner JSON; ciphertext = base64(0x01 ‖ box).
// Fan-out (`*`, `@group`, `#topic`): sign, then encrypt.
//   sig       = ed25519_detached("claudemesh-msg-v1|" + innerJson) by the sender identity key
//   plaintext = UTF-8 JSON.stringify({inner: innerJson, sig: <hex>})
//   AEAD      = XChaCha20-Poly1305, key = purposeKey(meshKey[epoch], target), random 24-byte nonce,
//               associated data = UTF-8 "claudemesh-fanout-v1|<meshId>|<epoch>|<target>"
//   wire      = nonce: base64(nonce); ciphertext: base64(0x02 ‖ epoch u32 BE ‖ AEAD output)
// The signature stops members forging each other in shared channels (reliability.md §0 item 2);
// the associated data and the inner fields stop the broker re-routing a ciphertext.
// Replays are not detected here: after a successful open the caller asks a ReplayGuard.
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from "./aead.ts";
import { attestationSignatureValid } from "./attestation.ts";
import { BoxCache, DIRECT_VERSION, MAX_SEALED_B64_LEN, openDirectBytes, sealDirect, type Sealed } from "./box.ts";
import { fromBase64, toBase64, utf8 } from "./encoding.ts";
import { ID_RE, PUBKEY_RE, SECRET_KEY_RE, isFanoutTarget } from "./fields.ts";
import { encodeInner, parseInner, type Inner, type InnerFields } from "./inner.ts";
import { isEpoch, MESH_KEY_BYTES, purposeKey } from "./mesh-keys.ts";
import { signDetached, verifyDetached } from "./sign.ts";

export { ReplayGuard } from "./replay-guard.ts";
export type { Inner, InnerFields, InnerKind } from "./inner.ts";

export const FANOUT_VERSION = 0x02;
/** The label of the fan-out signature (protocol.md §3, §11.3): signed text = label + inner JSON. */
export const MSG_SIG_PREFIX = "claudemesh-msg-v1|";
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

export type OpenFailure = "unknown_epoch" | "bad_mac" | "bad_signature" | "context_mismatch" | "malformed" | "bad_attestation";
export type OpenResult = { ok: true; inner: Inner } | { ok: false; reason: OpenFailure };

export type SealKeys = {
  /** The sender's ed25519 secret key (128 hex); its public key must equal `fields.from`. */
  mySecret: string;
  /** The current epoch's mesh key; required for fan-out targets. */
  meshKey?: { epoch: number; key: Uint8Array };
};

/** The push as delivered, i.e. what the broker claims about the message. */
export type OpenInput = Sealed & {
  meshId: string;
  /** The key the broker says sent it (push `from.pubkey`). */
  fromPubkey: string;
  /** The push's target (`to`). */
  to: string;
  /** My key the message was sent to; defaults to the public key of `keys.mySecret`. */
  recipientPubkey?: string;
  /** Push `from.memberPubkey`. If given and different from `fromPubkey`, the sender is a session
   *  and the message must carry a valid attestation from exactly this member key; if equal, it
   *  must carry none. If omitted, an attestation present is still verified, and the caller
   *  compares `inner.att.parentMemberPubkey` with the member it expects. */
  fromMemberPubkey?: string;
};

export type OpenKeys = { mySecret: string; meshKeys: ReadonlyMap<number, Uint8Array> };

const fanoutAd = (meshId: string, epoch: number, target: string) => utf8(`claudemesh-fanout-v1|${meshId}|${epoch}|${target}`);

/** The public key embedded in a libsodium ed25519 secret key (seed ‖ public key). */
const publicOfSecret = (secretHex: string): string => secretHex.slice(64);

/**
 * Encrypts a message for `fields.to`. Throws TypeError if a field is invalid, `fields.from` is not
 * the key of `keys.mySecret`, the recipient key is unusable, or a fan-out target has no mesh key;
 * the caller reports the error and sends nothing.
 */
export function sealEnvelope(fields: InnerFields, keys: SealKeys, cache?: BoxCache): Sealed {
  const json = encodeInner(fields);
  if (!SECRET_KEY_RE.test(keys.mySecret) || publicOfSecret(keys.mySecret) !== fields.from) {
    throw new TypeError("fields.from is not the public key of the sending secret key");
  }
  if (PUBKEY_RE.test(fields.to)) return sealDirect(utf8(json), fields.to, keys.mySecret, cache);
  if (!keys.meshKey || !isEpoch(keys.meshKey.epoch)) throw new TypeError("a fan-out message needs the current mesh key and epoch");
  const { epoch, key } = keys.meshKey;
  const sig = signDetached(MSG_SIG_PREFIX + json, keys.mySecret);
  const plaintext = utf8(JSON.stringify({ inner: json, sig }));
  const { nonce, ciphertext } = aeadSeal(plaintext, fanoutAd(fields.mesh, epoch, fields.to), purposeKey(key, fields.to));
  const out = new Uint8Array(5 + ciphertext.length);
  out[0] = FANOUT_VERSION;
  new DataView(out.buffer).setUint32(1, epoch, false);
  out.set(ciphertext, 5);
  return { nonce: toBase64(nonce), ciphertext: toBase64(out) };
}

/** The inner JSON and signature of a fan-out plaintext, or null unless it is exactly
 *  JSON.stringify({inner, sig}) with two strings. The signature is checked by the caller. */
function unwrapFanout(plaintext: Uint8Array): { json: string; sig: string } | null {
  let o: unknown;
  let text: string;
  try {
    text = utf8Strict.decode(plaintext);
    o = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof o !== "object" || o === null) return null;
  const { inner, sig } = o as Record<string, unknown>;
  if (typeof inner !== "string" || typeof sig !== "string") return null;
  if (JSON.stringify({ inner, sig }) !== text) return null; // exactly these two keys, one encoding
  return { json: inner, sig };
}

/** Null if the decrypted payload says what the push says and any attestation holds up. */
function contextFailure(inner: Inner, input: OpenInput, recipient: string | null): OpenFailure | null {
  if (inner.mesh !== input.meshId || inner.from !== input.fromPubkey || inner.to !== input.to) return "context_mismatch";
  if (recipient !== null && inner.to !== recipient) return "context_mismatch";
  const { att } = inner;
  if (input.fromMemberPubkey !== undefined) {
    // The broker says whether the sender is a session; the payload must agree, and name that member.
    const isSession = input.fromMemberPubkey !== input.fromPubkey;
    if (isSession !== (att !== undefined)) return "bad_attestation";
    if (att && att.parentMemberPubkey !== input.fromMemberPubkey) return "bad_attestation";
  }
  // A key carries an attestation only for itself, valid when the message was written. Expiry is
  // judged at the sender's `ts`, because queued messages are read long after they were sent.
  if (att && (att.sessionPubkey !== inner.from || inner.ts > att.expiresAt || !attestationSignatureValid(att))) return "bad_attestation";
  return null;
}

function decodeInner(bytes: Uint8Array): Inner | null {
  try {
    return parseInner(utf8Strict.decode(bytes));
  } catch {
    return null; // invalid UTF-8
  }
}

function openDirectEnvelope(input: OpenInput, nonce: Uint8Array, ct: Uint8Array, keys: OpenKeys, cache?: BoxCache): OpenResult {
  const mine = publicOfSecret(keys.mySecret);
  if (input.recipientPubkey !== undefined && input.recipientPubkey !== mine) return { ok: false, reason: "context_mismatch" };
  const plaintext = openDirectBytes(nonce, ct, input.fromPubkey, keys.mySecret, cache);
  if (!plaintext) return { ok: false, reason: "bad_mac" };
  const inner = decodeInner(plaintext);
  if (!inner) return { ok: false, reason: "malformed" };
  const failure = contextFailure(inner, input, mine);
  return failure ? { ok: false, reason: failure } : { ok: true, inner };
}

function openFanoutEnvelope(input: OpenInput, nonce: Uint8Array, ct: Uint8Array, keys: OpenKeys): OpenResult {
  if (ct.length < 5 + AEAD_TAG_BYTES || nonce.length !== AEAD_NONCE_BYTES) return { ok: false, reason: "malformed" };
  if (!isFanoutTarget(input.to)) return { ok: false, reason: "context_mismatch" };
  const epoch = new DataView(ct.buffer, ct.byteOffset, ct.byteLength).getUint32(1, false);
  const meshKey = keys.meshKeys.get(epoch);
  if (meshKey?.length !== MESH_KEY_BYTES) return { ok: false, reason: "unknown_epoch" }; // absent, or unusable
  const plaintext = aeadOpen(ct.subarray(5), fanoutAd(input.meshId, epoch, input.to), nonce, purposeKey(meshKey, input.to));
  if (!plaintext) return { ok: false, reason: "bad_mac" };
  const wrapped = unwrapFanout(plaintext);
  const inner = wrapped && parseInner(wrapped.json);
  if (!wrapped || !inner) return { ok: false, reason: "malformed" };
  // Context first (cheap), then the signature by the key the payload and the push name as sender.
  const failure = contextFailure(inner, input, null);
  if (failure) return { ok: false, reason: failure };
  if (!verifyDetached(wrapped.sig, MSG_SIG_PREFIX + wrapped.json, inner.from)) return { ok: false, reason: "bad_signature" };
  return { ok: true, inner };
}

/**
 * Opens a pushed message and checks it against the push. Never throws. On `ok: true` the inner
 * payload is authentic (direct: pairwise box; fan-out: the sender's signature) and matches the
 * push's mesh, sender and target; the caller then asks its ReplayGuard and drops repeats. On
 * `ok: false` the caller drops the message (and may count `reason`). `unknown_epoch` may be
 * retried once the member has received that epoch's key.
 */
export function openEnvelope(input: OpenInput, keys: OpenKeys, cache?: BoxCache): OpenResult {
  if (!ID_RE.test(input.meshId) || !PUBKEY_RE.test(input.fromPubkey) || !SECRET_KEY_RE.test(keys.mySecret)) return { ok: false, reason: "malformed" };
  let nonce: Uint8Array;
  let ct: Uint8Array;
  try {
    if (input.ciphertext.length > MAX_SEALED_B64_LEN) return { ok: false, reason: "malformed" };
    nonce = fromBase64(input.nonce);
    ct = fromBase64(input.ciphertext);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (ct[0] === DIRECT_VERSION) return openDirectEnvelope(input, nonce, ct, keys, cache);
  if (ct[0] === FANOUT_VERSION) return openFanoutEnvelope(input, nonce, ct, keys);
  return { ok: false, reason: "malformed" };
}
