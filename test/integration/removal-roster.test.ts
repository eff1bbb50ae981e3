// A removed member leaves the roster cache (src/broker/roster.ts) by a patch made once its removal
// is stored: before `leave` or `member_revoke` is answered, so that no list_peers or peer_lookup
// handled after the answer lists it, and before its presence goes away, so that the read of its
// row that a presence going away starts finds nothing to compare and reloads nothing.
import { describe, expect, test } from "bun:test";
import type { Roster } from "../../src/broker/roster.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh, joinWithInvite } from "../helpers/mesh.ts";

/** The roster cache's entry for the mesh, read directly: a reload is not visible on the wire. */
const cached = (b: TestBroker, meshId: string) => (b.ctx.roster as unknown as { meshes: Map<string, Roster> }).meshes.get(meshId);

describe("a removed member and the roster", () => {
  test("is listed by no list_peers or peer_lookup sent once its leave or removal was answered", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const o = await connect(b.url, owner);
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = await joinWithInvite(b.url, await createInvite(b.url, owner), `member-${i}`);
      const c = await connect(b.url, m);
      await o.client.request("list_peers", {}); // the roster loaded, with the member in it
      // Asked the moment the answer is in: nothing between gives a deferred patch time to run.
      const peers = i % 2 === 0 ? c.client.request("leave", {}).then(() => o.client.request("list_peers", {})) : o.client.request("member_revoke", { memberId: m.memberId, ban: false }).then(() => o.client.request("list_peers", {}));
      const listed = (await peers).peers.some((p) => p.pubkey === m.keys.publicKey);
      const found = (await o.client.request("peer_lookup", { text: m.displayName })).peers.length > 0;
      if (listed || found) seen.push(`${i % 2 === 0 ? "left" : "removed"} member-${i}: ${listed ? "listed" : ""} ${found ? "looked up" : ""}`);
      c.close();
    }
    expect(seen).toEqual([]);
    o.close();
  }, 60_000);

  test("a connected member's leave or removal patches the cached roster instead of dropping it", async () => {
    await using b = await startBroker({ presenceGrace: 0 });
    const { owner } = await createTestMesh(b.url);
    const inv = await createInvite(b.url, owner, { maxUses: 4 });
    const [carol, eve] = await Promise.all(["carol", "eve"].map((n) => joinWithInvite(b.url, inv, n)));
    const o = await connect(b.url, owner);
    const [c, e] = await Promise.all([connect(b.url, carol!), connect(b.url, eve!)]);
    await o.client.request("list_peers", {});
    const before = cached(b, owner.meshId);
    await c.client.request("leave", {});
    await o.client.request("member_revoke", { memberId: eve!.memberId, ban: false });
    // Both presences gone, and the reads of their rows they started are answered.
    await o.waitEvent((ev) => ev.event === "peer_left" && ev.data.pubkey === carol!.keys.publicKey);
    await o.waitEvent((ev) => ev.event === "peer_left" && ev.data.pubkey === eve!.keys.publicKey);
    const { peers } = await o.client.request("list_peers", {});
    expect({ same: cached(b, owner.meshId) === before, names: peers.map((p) => p.displayName) }).toEqual({ same: true, names: ["owner"] });
    for (const p of [o, c, e]) p.close();
  }, 60_000);
});
