// The identifier shapes the crypto layer relies on, and the one copy of them as regular
// expressions: client/ and cli/ import these rather than writing their own. They mirror
// src/protocol/fields.ts (Id, Hex32, Hex64, Target, TopicName, GroupName), the wire schemas;
// crypto/ is a leaf and cannot import those, so test/unit/crypto-inner checks that both agree.
// None admits `|`, so every associated-data and label string built from them is injective.

/** Ids chosen by clients or the broker (mesh ids, message ids, invite ids). */
export const ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
/** An ed25519 public key: 32 bytes, lowercase hex. */
export const PUBKEY_RE = /^[0-9a-f]{64}$/;
/** An ed25519 signature: 64 bytes, lowercase hex. */
export const SIGNATURE_RE = /^[0-9a-f]{128}$/;
/** An ed25519 secret key (seed and public key): 64 bytes, lowercase hex — a signature's shape. */
export const SECRET_KEY_RE = SIGNATURE_RE;
export const TOPIC_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const GROUP_RE = /^[a-z0-9][a-z0-9_/-]{0,63}$/;

/** True for `*`, `@group` and `#topic`: the targets read with a mesh purpose key. */
export function isFanoutTarget(target: string): boolean {
  if (target === "*") return true;
  if (target.startsWith("@")) return GROUP_RE.test(target.slice(1));
  if (target.startsWith("#")) return TOPIC_RE.test(target.slice(1));
  return false;
}

/** True for any routing target: a public key (direct) or a fan-out target. */
export const isTarget = (target: string): boolean => PUBKEY_RE.test(target) || isFanoutTarget(target);

/** Milliseconds since the epoch, the same bound as the protocol's TimestampMs. */
export const isTimestampMs = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= 8.64e15;
