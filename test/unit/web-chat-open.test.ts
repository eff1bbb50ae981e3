// The dashboard's #general opens only posts sealed for #general (web/lib/chat.ts openPost): the
// broker chooses what a topic's history holds, and a post another topic's members were sent opens
// with the same mesh key, so the seal's target is checked against the topic shown (T17).
import { describe, expect, test } from "bun:test";
import { openPost, sealPost } from "../../web/lib/chat.ts";
import type { PageKeys } from "../../src/client/dashboard-link.ts";
import { toBase64 } from "../../src/crypto/encoding.ts";
import { newMeshKey } from "../../src/crypto/mesh-keys.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";

const MESH = "mesh_T3stVect0r";
const alice = generateSigningKeypair();
const keys: PageKeys = { ...alice, meshKeys: [{ epoch: 0, key: toBase64(newMeshKey()) }], brokerUrl: "http://127.0.0.1:1", slug: "t" } as PageKeys;

/** The history entry a broker hands out for a post alice sealed for `#topic`, with `shownAs` as
 *  the topic the broker names. */
function entry(topic: string, shownAs = topic): MessagePushFrame {
  const sealed = sealPost(MESH, keys, topic, `a post for #${topic}`);
  return {
    type: "message",
    messageId: "m1",
    meshId: MESH,
    kind: "topic",
    from: { memberId: "mbr_a", memberPubkey: alice.publicKey, pubkey: alice.publicKey, name: "alice" },
    to: `#${topic}`,
    topic: shownAs,
    topicOffset: 1,
    priority: "next",
    clientMessageId: sealed.clientMessageId,
    nonce: sealed.nonce,
    ciphertext: sealed.ciphertext,
    createdAt: Date.now(),
  } as MessagePushFrame;
}

describe("the dashboard's #general opens posts sealed for #general only", () => {
  test("a #general post opens, signed by its author", () => {
    const p = openPost(entry("general"), keys, "general");
    expect([p.body, p.problem, p.signer]).toEqual(["a post for #general", null, { memberKey: alice.publicKey, sessionKey: null }]);
  });

  test("a #secret post in #general's history is shown as misplaced, never as text", () => {
    for (const m of [entry("secret"), entry("secret", "general")]) {
      const p = openPost(m, keys, "general");
      expect([p.body, p.signer, p.problem]).toEqual([null, null, "sent to #secret, not #general; the broker put it here"]);
    }
  });

  test("a #general post whose push calls it something else is refused, and the reason says what the push claims", () => {
    const general = entry("general");
    const cases: [MessagePushFrame, string][] = [
      [{ ...general, topic: "secret" }, "sealed for #general, but the broker calls it a post in #secret"],
      [{ ...general, kind: "direct" }, "sealed for #general, but the broker calls it a direct message"],
    ];
    for (const [m, problem] of cases) expect([openPost(m, keys, "general").body, openPost(m, keys, "general").problem]).toEqual([null, problem]);
  });
});

test("a post is sealed under the newest key at or below the mesh's epoch, never one a stopped rekey saved above it", () => {
  const stranded: PageKeys = { ...keys, meshKeys: [...keys.meshKeys, { epoch: 1, key: toBase64(newMeshKey()) }] };
  const onlyEpoch0: PageKeys = { ...keys, meshKeys: keys.meshKeys };
  const open = (k: PageKeys, sealed: ReturnType<typeof sealPost>) => openPost({ ...entry("general"), nonce: sealed.nonce, ciphertext: sealed.ciphertext, clientMessageId: sealed.clientMessageId }, k, "general").body;
  // A member holding epoch 0 only can read the post the owner (who also holds 1) makes while the
  // broker's mesh is at 0; before, the owner's page sealed under 1.
  expect(open(onlyEpoch0, sealPost(MESH, stranded, "general", "hello", 0))).toBe("hello");
  expect(open(onlyEpoch0, sealPost(MESH, stranded, "general", "hello"))).toBeNull();
});
