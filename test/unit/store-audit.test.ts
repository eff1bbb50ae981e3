// Pins the audit chain as stored: every audited change links into one verifiable chain per
// mesh, appends from two connections never fork it, and an edited row is caught at its seq.
import { afterEach, describe, expect, test } from "bun:test";
import { GENESIS, verifyChain } from "../../src/protocol/audit-chain.ts";
import { addMember, invite, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";
import { wholeChain } from "../helpers/audit-chain.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

async function busyMesh() {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const peer = await addMember(store, owner, "peer");
  const inv = await invite(store, owner, { maxUses: 3 });
  await store.revokeInvite(mesh.id, inv.id, owner.id);
  await store.createTopic(mesh.id, "ops", "", peer.id);
  await store.setGrant(mesh.id, peer.id, owner.pubkey, ["dm"], peer.id);
  await store.setKeyEpoch(mesh.id, 1, owner.id, null);
  await store.appendAudit({ meshId: mesh.id, eventType: "custom", actor: null, payload: { nested: { b: 1, a: [true, null, "x"] } } });
  await store.revokeMember(mesh.id, peer.id, { actor: owner.id, ban: false, reason: "done", self: false });
  return { store, mesh, owner, peer };
}

describe("audit chain", () => {
  test("a mix of operations yields one valid chain in order", async () => {
    const { store, mesh } = await busyMesh();
    const chain = await wholeChain(store, mesh.id);
    expect(chain.map((e) => e.eventType)).toEqual([
      "mesh_created",
      "invite_created",
      "member_joined",
      "invite_claimed",
      "invite_created",
      "invite_revoked",
      "topic_created",
      "grant_changed",
      "key_rotated",
      "custom",
      "member_revoked",
    ]);
    expect(chain[0]!.prevHash).toBe(GENESIS);
    expect(verifyChain(chain)).toMatchObject({ valid: true, entries: 11, head: chain.at(-1)!.hash });
    expect(chain[9]!.payload).toEqual({ nested: { a: [true, null, "x"], b: 1 } });
    expect(await store.listAudit(mesh.id, 4, 3)).toEqual(chain.slice(4, 7));
  });

  test("appendAudit returns the stored entry; chains of two meshes are independent", async () => {
    const store = await tmp.open();
    const a = await seedMesh(store, "a");
    const b = await seedMesh(store, "b");
    const entry = await store.appendAudit({ meshId: a.mesh.id, eventType: "note", actor: a.owner.id, payload: { k: 1 } });
    expect(entry.seq).toBe(2);
    expect((await wholeChain(store, a.mesh.id)).at(-1)).toEqual(entry);
    expect((await wholeChain(store, b.mesh.id)).map((e) => e.seq)).toEqual([1]);
  });

  test("interleaved appends from two stores on one file keep one chain", async () => {
    const dir = tmp.make();
    const x = await tmp.open(dir);
    const y = await tmp.open(dir);
    const { mesh } = await seedMesh(x);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? x : y).appendAudit({ meshId: mesh.id, eventType: "tick", actor: null, payload: { i } })));
    expect(verifyChain(await wholeChain(y, mesh.id))).toMatchObject({ valid: true, entries: 41 });
  });

  test("an edited payload is detected at its seq", async () => {
    const { store, mesh } = await busyMesh();
    store.db.run("UPDATE audit_log SET payload = ? WHERE mesh_id = ? AND seq = 8", [JSON.stringify({ recipient: "x", sender: pubkey(), caps: ["dm", "topic"] }), mesh.id]);
    expect(verifyChain(await wholeChain(store, mesh.id))).toMatchObject({ valid: false, brokenAt: 8, reason: "hash does not match the entry's contents" });
  });

  test("a deleted entry is detected", async () => {
    const { store, mesh } = await busyMesh();
    store.db.run("DELETE FROM audit_log WHERE mesh_id = ? AND seq = 5", [mesh.id]);
    expect(verifyChain(await wholeChain(store, mesh.id))).toMatchObject({ valid: false, brokenAt: 6 });
  });
});
