// The member_revoked event says who removed whom (docs/protocol.md §4.4.5): an owner learns live
// of a kick or ban an admin made, and a member that left is named as its own remover.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createInvite, createTestMesh, joinWithInvite } from "../helpers/mesh.ts";

test("the owner hears of an admin's kick and ban, and of a leave, with who did it", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  const bob = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "bob");
  const [carol, dave, erin] = [await addMember(b.url, owner, "carol"), await addMember(b.url, owner, "dave"), await addMember(b.url, owner, "erin")];
  const alice = await connect(b.url, owner);
  const admin = await connect(b.url, bob);
  const leaver = await connect(b.url, erin);
  const revoked = async (memberId: string) => (await alice.waitEvent((e) => e.event === "member_revoked" && e.data.memberId === memberId)).data;

  await admin.client.request("member_revoke", { memberId: carol.memberId, ban: false, reason: "spam" });
  expect(await revoked(carol.memberId)).toEqual({ memberId: carol.memberId, reason: "kicked", by: bob.memberId });
  await admin.client.request("member_revoke", { memberId: dave.memberId, ban: true });
  expect(await revoked(dave.memberId)).toEqual({ memberId: dave.memberId, reason: "banned", by: bob.memberId });
  await leaver.client.request("leave", {});
  expect(await revoked(erin.memberId)).toEqual({ memberId: erin.memberId, reason: "left", by: erin.memberId });
  alice.close();
  admin.close();
});
