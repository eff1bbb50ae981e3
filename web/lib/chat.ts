// Topic posts, end to end in the page: sealing with the newest mesh key and the member key, opening
// with every epoch's key, with the same envelope code as the CLI (src/crypto/envelope.ts). The
// broker only relays {nonce, ciphertext}.
import { openEnvelope, sealEnvelope } from "../../src/crypto/envelope.ts";
import { fromBase64, toBase64Url } from "../../src/crypto/encoding.ts";
import type { PageKeys } from "../../src/client/dashboard-link.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";

export type Post = { offset: number | null; from: string; at: number; body: string | null; problem: string | null };

/** A random 22-character client message id (16 bytes), like the CLI's. */
const newMessageId = () => toBase64Url(crypto.getRandomValues(new Uint8Array(16)));

/** Seals `body` for `#topic`. Throws when there is no mesh key or the text is unusable. */
export function sealPost(meshId: string, keys: PageKeys, topic: string, body: string): { clientMessageId: string; nonce: string; ciphertext: string } {
  const newest = keys.meshKeys.reduce<PageKeys["meshKeys"][number] | null>((a, k) => (!a || k.epoch > a.epoch ? k : a), null);
  if (!newest) throw new Error("There is no mesh key in this tab: run `claudemesh dashboard` on a machine that holds the keys.");
  const clientMessageId = newMessageId();
  const sealed = sealEnvelope(
    { mesh: meshId, from: keys.publicKey, to: `#${topic}`, id: clientMessageId, ts: Date.now(), kind: "text", body },
    { mySecret: keys.secretKey, meshKey: { epoch: newest.epoch, key: fromBase64(newest.key) } },
  );
  return { clientMessageId, ...sealed };
}

/** Opens a post for display; a post that does not verify is shown as such, never as text. */
export function openPost(m: MessagePushFrame, keys: PageKeys): Post {
  const base = { offset: m.topicOffset ?? null, from: m.from.name, at: m.createdAt };
  const meshKeys = new Map(keys.meshKeys.map((k) => [k.epoch, fromBase64(k.key)]));
  const r = openEnvelope({ nonce: m.nonce, ciphertext: m.ciphertext, meshId: m.meshId, fromPubkey: m.from.pubkey, to: m.to, fromMemberPubkey: m.from.memberPubkey }, { mySecret: keys.secretKey, meshKeys });
  return r.ok ? { ...base, body: r.inner.body, problem: null } : { ...base, body: null, problem: r.reason };
}
