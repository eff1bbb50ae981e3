// Reliability plan T17's count, in-process: 10,000 pushes that a broker changed, each opened by a
// fresh recipient (test/integration/malicious-broker-*.test.ts drive the same cases one by one
// through the real CLI and MCP server). Whatever the broker changes, a push either is refused or
// shows exactly what a sender sealed in the ciphertext it carries (mesh, sender key, target,
// kind, topic, text, id, reply);
// and a push changed only in what the broker is allowed to say (its messageId, the display name,
// time, priority, its own copies of the client id and the reply id, a topic post's offset) is
// never refused: no false alarm.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MeshSession, makeMeshKey, type Delivered, type Identity } from "../../src/client/mesh-session.ts";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import { BROKER_SENDER, type MessagePushFrame } from "../../src/protocol/server-frames.ts";

const MESH = "mesh-unit-tamper";
const [alice, bob, carol, owner] = [0, 1, 2, 3].map(() => generateSigningKeypair()) as [SigningKeypair, SigningKeypair, SigningKeypair, SigningKeypair];
const key0 = makeMeshKey(0);
const ident = (kp: SigningKeypair): Identity => ({ meshId: MESH, publicKey: kp.publicKey, secretKey: kp.secretKey, memberPubkey: kp.publicKey, memberSecretKey: kp.secretKey, ownerPubkey: owner.publicKey });
const senders = { alice, carol } as const;
const fromOf = (kp: SigningKeypair, name: string) => ({ memberId: `member-${name}`, memberPubkey: kp.publicKey, pubkey: kp.publicKey, name });

/** A message as the honest broker pushes it, and whether bob can read it. */
function sealed(by: keyof typeof senders, to: string, body: string, replyTo?: string): { push: MessagePushFrame; forBob: boolean } {
  const s = new MeshSession(ident(senders[by]), [key0]).seal(to, body, "text", replyTo ? { replyTo } : {});
  const kind = /^[0-9a-f]{64}$/.test(to) ? "direct" : to === "*" ? "broadcast" : to.startsWith("@") ? "group" : "topic";
  const push: MessagePushFrame = {
    type: "message", messageId: `msg-${s.clientMessageId}`, meshId: MESH, kind, from: fromOf(senders[by], by), to, priority: "next",
    clientMessageId: s.clientMessageId, nonce: s.nonce, ciphertext: s.ciphertext, createdAt: 1_700_000_000_000,
    ...(kind === "topic" ? { topic: to.slice(1), topicOffset: 7 } : {}), ...(replyTo ? { replyTo } : {}),
  };
  return { push, forBob: to !== carol.publicKey };
}

const originals = [
  sealed("alice", bob.publicKey, "for bob"),
  sealed("alice", bob.publicKey, "an answer", "question-id-0001"),
  sealed("alice", carol.publicKey, "for carol"),
  sealed("alice", "#general", "a general post"),
  sealed("alice", "#random", "a random post"),
  sealed("carol", "#general", "carol's post"),
  sealed("alice", "*", "to everyone"),
  sealed("alice", "@ops", "to ops"),
];

/** Each original as bob opens it unchanged (null for the one that is carol's). */
const honest = originals.map((o) => (o.forBob ? new MeshSession(ident(bob), [key0]).open(o.push, { sendersRead: true }) : null));

/** What a reader is shown as the sender's sealed words (never the broker's labels around them). */
const view = (m: Delivered) => ({ meshId: m.meshId, from: m.from.pubkey, member: m.from.memberPubkey, to: m.to, kind: m.kind, topic: m.topic, body: m.body, id: m.clientMessageId, replyTo: m.replyTo });

type Mutation = { harmless: boolean; apply: (m: MessagePushFrame) => MessagePushFrame };
const keys = [alice, bob, carol, owner].map((k) => k.publicKey);
const targets = [...keys, "#general", "#random", "#secret", "*", "@ops", "@dev"];
const flip = (b64: string, bit: number) => {
  const bytes = Buffer.from(b64, "base64");
  bytes[(bit >> 3) % bytes.length]! ^= 1 << (bit & 7);
  return bytes.toString("base64");
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // What the broker may say: none of these changes what the sender sealed.
  fc.constantFrom<Mutation>(
    { harmless: true, apply: (m) => ({ ...m, messageId: `other-${m.messageId}` }) },
    { harmless: true, apply: (m) => ({ ...m, from: { ...m.from, name: "somebody else" } }) },
    { harmless: true, apply: (m) => ({ ...m, createdAt: 1 }) },
    { harmless: true, apply: (m) => ({ ...m, priority: "now" }) },
    { harmless: true, apply: (m) => ({ ...m, clientMessageId: "another-client-id" }) },
    { harmless: true, apply: (m) => ({ ...m, replyTo: "not-the-question" }) },
    { harmless: true, apply: (m) => (m.kind === "topic" ? { ...m, topicOffset: 99 } : m) },
  ),
  // What it may not.
  fc.constantFrom(...["another-mesh-id", "mesh-unit-tampe"]).map((meshId): Mutation => ({ harmless: false, apply: (m) => ({ ...m, meshId }) })),
  fc.constantFrom(...keys).map((k): Mutation => ({ harmless: false, apply: (m) => ({ ...m, from: { ...m.from, pubkey: k, memberPubkey: k } }) })),
  fc.constantFrom(...keys).map((k): Mutation => ({ harmless: false, apply: (m) => ({ ...m, from: { ...m.from, memberPubkey: k } }) })),
  fc.constant<Mutation>({ harmless: false, apply: (m) => ({ ...m, from: { ...BROKER_SENDER, memberPubkey: BROKER_SENDER.pubkey } }) }),
  fc.constantFrom(...targets).map((to): Mutation => ({ harmless: false, apply: (m) => ({ ...m, to }) })),
  fc.constantFrom(...(["direct", "broadcast", "group", "topic", "system"] as const)).map((kind): Mutation => ({ harmless: false, apply: (m) => ({ ...m, kind }) })),
  fc.constantFrom("general", "random", "secret").map((topic): Mutation => ({ harmless: false, apply: (m) => ({ ...m, topic }) })),
  fc.constant<Mutation>({ harmless: false, apply: ({ topic: _t, topicOffset: _o, ...m }) => m }),
  fc.constant<Mutation>({ harmless: false, apply: (m) => ({ ...m, topicOffset: 3 }) }),
  fc.nat(4096).map((bit): Mutation => ({ harmless: false, apply: (m) => ({ ...m, ciphertext: flip(m.ciphertext, bit) }) })),
  fc.nat(191).map((bit): Mutation => ({ harmless: false, apply: (m) => ({ ...m, nonce: flip(m.nonce, bit) }) })),
  fc.nat(originals.length - 1).map((i): Mutation => ({ harmless: false, apply: (m) => ({ ...m, nonce: originals[i]!.push.nonce, ciphertext: originals[i]!.push.ciphertext }) })),
);

describe("pushes a broker changed, opened by the recipient", () => {
  test("10,000 changes: refused, or shown exactly as sealed; changes the broker may make are never refused", () => {
    const counts = { refused: 0, shownAsSealed: 0, notices: 0 };
    fc.assert(
      fc.property(fc.nat(originals.length - 1), fc.array(mutation, { minLength: 0, maxLength: 3 }), (i, ms) => {
        const { push, forBob } = originals[i]!;
        const changed = ms.reduce((m, x) => x.apply(m), push);
        const r = new MeshSession(ident(bob), [key0]).open(changed, { sendersRead: true }); // senders: not this property's subject
        // A ciphertext carried over from another message shows that message (a replay, which the
        // replay memory drops: not this property's subject); anything else shows this one or nothing.
        const source = originals.find((o) => o.push.ciphertext === changed.ciphertext && o.push.nonce === changed.nonce);
        const expected = source?.forBob ? honest[originals.indexOf(source)]! : null;
        if (!r.ok) {
          // A false alarm: only what the broker may say was changed, on a message bob can read.
          expect(forBob && ms.every((x) => x.harmless)).toBe(false);
          counts.refused++;
        } else if (r.message.kind === "system") {
          // The broker's own notice, under its own sender: never a peer's words.
          expect({ from: r.message.from.pubkey, body: r.message.body }).toEqual({ from: BROKER_SENDER.pubkey, body: "{}" });
          counts.notices++;
        } else {
          expect(expected?.ok).toBe(true);
          expect(view(r.message)).toEqual(view((expected as { ok: true; message: Delivered }).message));
          counts.shownAsSealed++;
        }
      }),
      { numRuns: 10_000 },
    );
    // Most runs change something that matters, or the property says little about refusals.
    expect(counts.refused).toBeGreaterThan(6_000);
    expect(counts.shownAsSealed).toBeGreaterThan(500);
    expect(counts.notices).toBeGreaterThan(0); // the broker-notice branch ran
  }, 60_000);

  test("every original opens for bob, except the DM sealed for carol", () => {
    expect(honest.map((h) => h?.ok ?? null)).toEqual([true, true, null, true, true, true, true, true]);
  });
});
