// Costs that must not grow with the mesh (docs/decisions.md, session 34: shapes beyond the
// benchmark). Each test counts what the broker reads from its store, or looks at, for one
// operation in a mesh bigger than the operation needs; a count, not a time, since the machine
// running the tests is shared.
import { expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { createInvite, createTestMesh, joinWithInvite, type TestMember } from "../helpers/mesh.ts";
import { connectSession } from "../helpers/next-session.ts";
import { storeReads } from "../helpers/store-reads.ts";

/** Members of the mesh besides its owner: more rows than any of the operations below may read. */
const MEMBERS = 60;

async function bigMesh(b: TestBroker) {
  const { owner } = await createTestMesh(b.url);
  const invite = await createInvite(b.url, owner, { maxUses: MEMBERS + 1 });
  const members: TestMember[] = [];
  for (let i = 0; i < MEMBERS; i += 20) members.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => joinWithInvite(b.url, invite, `m${i + k}`)))));
  return { owner, members, invite };
}

test("a session hello reads its own member's sessions, not every live session of the mesh", async () => {
  await using b = await startBroker();
  const { owner, members } = await bigMesh(b);
  // 300 live sessions of one member, as its hellos would have stored them.
  for (let i = 0; i < 300; i++) {
    const pubkey = generateSigningKeypair().publicKey;
    await b.ctx.store.upsertSession({ meshId: owner.meshId, pubkey, memberId: members[0]!.memberId, displayName: `m0/s${i}`, cwd: "/", hostname: "h", lastSeenAt: Date.now(), attestation: null });
  }
  using reads = storeReads(b.ctx.store);
  const s = await connectSession(b.url, owner);
  // Before: the member's session limit listed the mesh's 300 sessions and kept the owner's none.
  expect(reads.rows()).toBeLessThan(10);
  s.close();
});
