// The identifier shapes the crypto layer relies on. They mirror src/protocol/fields.ts (Id, Target,
// TopicName, GroupName); crypto/ is a leaf and cannot import them, so test/unit/crypto-envelope
// checks that both agree. None admits `|`, so every associated-data and label string built from
// them is injective.

/** Ids chosen by clients or the broker (mesh ids, message ids, invite ids). */
export const ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
export const PUBKEY_RE = /^[0-9a-f]{64}$/;
export const SIGNATURE_RE = /^[0-9a-f]{128}$/;
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
