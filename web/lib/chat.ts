// Topic posts, end to end in the page: sealing with the newest mesh key and the member key, opening
// with every epoch's key, with the same envelope code as the CLI (src/crypto/envelope.ts). The
// broker only relays {nonce, ciphertext}.
import { openEnvelope, sealEnvelope } from "../../src/crypto/envelope.ts";
import { fromBase64, toBase64Url } from "../../src/crypto/encoding.ts";
import type { PageKeys } from "../../src/client/dashboard-link.ts";
import { routeMatchesTarget } from "../../src/client/push-route.ts";
import { looksAlike } from "../../src/client/name-match.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";

/** Who wrote a post, as its signature proves: the member key, and the session key when a Claude Code
 *  session of that member signed it (its attestation by the member key verified too). */
export type Signer = { memberKey: string; sessionKey: string | null };

/** A post as the page shows it. `signer` is null when the post does not open and verify: then only
 *  `claimed` is known, the sender the broker names, which nothing backs. */
export type Post = { offset: number | null; at: number; body: string | null; problem: string | null; signer: Signer | null; claimed: { name: string; memberKey: string } };

/** A random 22-character client message id (16 bytes), like the CLI's. */
const newMessageId = () => toBase64Url(crypto.getRandomValues(new Uint8Array(16)));

/** Seals `body` for `#topic` under the newest key held at or below `meshEpoch`, the mesh's as the
 *  broker says (one above it is a rotation a stopped rekey saved here first and never recorded:
 *  members may never get it; protocol.md §3.4). Throws when there is no such key or the text is
 *  unusable. */
export function sealPost(meshId: string, keys: PageKeys, topic: string, body: string, meshEpoch = Infinity): { clientMessageId: string; nonce: string; ciphertext: string } {
  const newest = keys.meshKeys.reduce<PageKeys["meshKeys"][number] | null>((a, k) => (k.epoch <= meshEpoch && (!a || k.epoch > a.epoch) ? k : a), null);
  if (!newest) throw new Error("There is no mesh key in this tab: run `claudemesh dashboard` on a machine that holds the keys.");
  const clientMessageId = newMessageId();
  const sealed = sealEnvelope(
    { mesh: meshId, from: keys.publicKey, to: `#${topic}`, id: clientMessageId, ts: Date.now(), kind: "text", body },
    { mySecret: keys.secretKey, meshKey: { epoch: newest.epoch, key: fromBase64(newest.key) } },
  );
  return { clientMessageId, ...sealed };
}

/** Opens a post of `#topic` for display; a post that does not verify, or was sealed for another
 *  target than this topic (the broker chose what its history of this topic holds), is shown as
 *  such, never as text. */
export function openPost(m: MessagePushFrame, keys: PageKeys, topic: string): Post {
  const base = { offset: m.topicOffset ?? null, at: m.createdAt, claimed: { name: m.from.name, memberKey: m.from.memberPubkey } };
  if (m.to !== `#${topic}`) return { ...base, body: null, problem: `sent to ${m.to.slice(0, 70)}, not #${topic}; the broker put it here`, signer: null };
  // Sealed for this topic, but the push's kind or topic says otherwise: the reason names the claim.
  const claim = m.kind === "topic" ? `a post in #${String(m.topic).slice(0, 64)}` : `a ${String(m.kind).slice(0, 16)} message`;
  if (!routeMatchesTarget(m)) return { ...base, body: null, problem: `sealed for #${topic}, but the broker calls it ${claim}`, signer: null };
  const meshKeys = new Map(keys.meshKeys.map((k) => [k.epoch, fromBase64(k.key)]));
  const r = openEnvelope({ nonce: m.nonce, ciphertext: m.ciphertext, meshId: m.meshId, fromPubkey: m.from.pubkey, to: m.to, fromMemberPubkey: m.from.memberPubkey }, { mySecret: keys.secretKey, meshKeys });
  if (!r.ok) return { ...base, body: null, problem: r.reason, signer: null };
  // Signed by inner.from; a session's attestation names its member key (both checked above).
  const { from, att } = r.inner;
  return { ...base, body: r.inner.body, problem: null, signer: att ? { memberKey: att.parentMemberPubkey, sessionKey: from } : { memberKey: from, sessionKey: null } };
}

/** The short form of a key the CLI shows (`claudemesh peers`, MCP tools): its first 12 hex digits. */
export const keyPrefix = (hex: string) => hex.slice(0, 12);

/** Whether two display names read the same: compared as `send` and `kick` compare them
 *  (src/client/name-match.ts), so case, width, surrounding spaces, characters that show nothing
 *  (which the page does not show either, dom.ts peerText), the Cyrillic, Greek, Armenian and
 *  Cherokee look-alikes of Latin letters, and digits, symbols and letter pairs that pass for letters
 *  (a1ice; aIice, one shape with alice in the page's sans-serif font) do not tell two names apart. */
export const sameName = looksAlike;
