// Authentication of HTTP requests by a member or session key: the client signs
// requestCanonical(method, path, timestamp, sha256(body)) and sends X-Claudemesh-Pubkey,
// X-Claudemesh-Timestamp and X-Claudemesh-Signature. Same skew window and replay rule as hello.
import { requestCanonical } from "../../protocol/canonical.ts";
import { MeshError } from "../../protocol/errors.ts";
import { sha256Hex } from "../../crypto/hash.ts";
import { isPubkeyHex, isSignatureHex, verifyDetached } from "../../crypto/sign.ts";
import type { Store } from "../../store/types.ts";
import { checkSkew, consumeSignature } from "../auth.ts";

export const SIGNED_HEADERS = { pubkey: "x-claudemesh-pubkey", timestamp: "x-claudemesh-timestamp", signature: "x-claudemesh-signature" } as const;

/** Verifies the signature headers over the exact body text; returns the signer's public key.
 *  `authorize`, for a route only some keys may use, refuses the signer after its signature
 *  verified and before the signature is recorded against replay: a key nobody enrolled then
 *  costs the broker no write. */
export async function verifySignedRequest(store: Store, req: { method: string; path: string; headers: Headers; body: string }, now: number, authorize: (pubkey: string) => Promise<void> = async () => {}): Promise<string> {
  const pubkey = req.headers.get(SIGNED_HEADERS.pubkey) ?? "";
  const tsText = req.headers.get(SIGNED_HEADERS.timestamp) ?? "";
  const signature = req.headers.get(SIGNED_HEADERS.signature) ?? "";
  if (!pubkey && !signature) throw new MeshError("unauthorized", "This route needs a signed request (X-Claudemesh-Pubkey, -Timestamp, -Signature).");
  const timestamp = /^\d{1,16}$/.test(tsText) ? Number(tsText) : NaN;
  if (!Number.isSafeInteger(timestamp)) throw new MeshError("malformed", "X-Claudemesh-Timestamp must be milliseconds since the epoch.");
  checkSkew(timestamp, now, "Request");
  if (!isPubkeyHex(pubkey) || !isSignatureHex(signature)) throw new MeshError("malformed", "Signed-request headers: pubkey 64 hex, signature 128 hex.");
  if (!verifyDetached(signature, requestCanonical(req.method, req.path, timestamp, sha256Hex(req.body)), pubkey)) throw new MeshError("bad_signature");
  await authorize(pubkey);
  await consumeSignature(store, signature, timestamp, "request");
  return pubkey;
}
