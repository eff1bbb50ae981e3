// Removals and key rotations in the log (docs/operations.md "Logs"). The on-call review found a
// mesh's creation and invite claims logged, but not a kick, a ban, a leave or a key rotation:
// an operator asked "who removed bob, and when?" had to read the audit chain.
import { expect, test } from "bun:test";
import { until } from "../helpers/until.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";

test("a kick, a ban, a leave and a key rotation each log one info line naming the mesh, the member and who did it", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const [bob, carol, dave] = [await addMember(b.url, owner, "bob"), await addMember(b.url, owner, "carol"), await addMember(b.url, owner, "dave")];
  const o = await connect(b.url, owner);
  const bobs = [await connect(b.url, bob, {}, { reconnect: false }), await connect(b.url, bob, {}, { reconnect: false })];
  const d = await connect(b.url, dave, {}, { reconnect: false });
  await o.client.request("member_revoke", { memberId: bob.memberId, ban: false });
  await o.client.request("member_revoke", { memberId: carol.memberId, ban: true });
  await d.client.request("leave", {});
  await o.client.request("key_rotate", { epoch: 1 });
  const lines = () => b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "member removed" || l.msg === "mesh key rotated");
  await until(() => lines().length === 4, "four lines");
  // (The leave's line comes once its connections are closed, after its result: order left open.)
  expect(lines().map(({ ts: _, ...l }) => l)).toEqual(expect.arrayContaining([
    { level: "info", msg: "member removed", meshId: owner.meshId, memberId: bob.memberId, by: owner.memberId, how: "kicked", connectionsClosed: 2 },
    { level: "info", msg: "member removed", meshId: owner.meshId, memberId: carol.memberId, by: owner.memberId, how: "banned", connectionsClosed: 0 },
    { level: "info", msg: "mesh key rotated", meshId: owner.meshId, epoch: 1, by: owner.memberId },
    { level: "info", msg: "member removed", meshId: owner.meshId, memberId: dave.memberId, by: dave.memberId, how: "left", connectionsClosed: 1 },
  ]));
  for (const p of [o, ...bobs, d]) p.close();
});
