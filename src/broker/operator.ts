// The operator token: the credential for broker-wide views (all meshes, health) in the dashboard
// and for admin commands over HTTP. Only its SHA-256 is stored; the token itself is shown once,
// when `serve` first runs on a data directory, or when `claudemesh admin token` replaces it.
import { randomId, safeEqual, sha256Hex } from "../crypto/hash.ts";
import type { Store } from "../store/types.ts";

const KEY = "operator_token_sha256";
export const TOKEN_PREFIX = "cmo_";

/** Creates the token if this database has none yet; returns it then, otherwise null. */
export async function ensureOperatorToken(store: Store): Promise<string | null> {
  if (await store.getMeta(KEY)) return null;
  return issueOperatorToken(store);
}

/** The broker_meta key holding the current token's hash. */
export const OPERATOR_TOKEN_KEY = KEY;

/** A fresh token and the hash that is stored for it. */
export function mintOperatorToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomId(32);
  return { token, hash: sha256Hex(token) };
}

/** Replaces the token (the previous one stops working) and returns the new one. */
async function issueOperatorToken(store: Store): Promise<string> {
  const { token, hash } = mintOperatorToken();
  await store.setMeta(KEY, hash);
  return token;
}

export async function verifyOperatorToken(store: Store, token: string): Promise<boolean> {
  const hash = await store.getMeta(KEY);
  return hash !== null && token.startsWith(TOKEN_PREFIX) && safeEqual(hash, sha256Hex(token));
}

/** SHA-256 (hex) of the current token, or null before the first one. A dashboard operator session
 *  records the hash it was opened with and ends when this changes. */
export const currentOperatorTokenHash = (store: Store): Promise<string | null> => store.getMeta(KEY);
