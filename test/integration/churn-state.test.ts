// What churn leaves behind on a broker that runs for months (docs/decisions.md, "Session 35: state
// that churn left behind"), on a real broker on port 0:
// - meshes come and go (anyone may create one, and most are used for a while and never again):
//   what the broker keeps in memory per mesh (its presences' set in the hub, its cached roster with
//   every member and session row, the audit prefix a check left) must go once the mesh is no longer
//   in use, not stay until a restart;
// - members join and leave, and a member's row stays for good after it left (its key may never
//   come back): what a join or a roster load costs must not grow with those rows.
import { expect, test } from "bun:test";
import { AUDIT_RECHECK_MS } from "../../src/protocol/limits.ts";
import { startBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh, joinWithInvite, sendText } from "../helpers/mesh.ts";
import { storeReads } from "../helpers/store-reads.ts";
import { until } from "../helpers/until.ts";

/** Meshes one address may create at once (MESH_CREATE_BURST is 20). */
const MESHES = 10;

test("a mesh used once and left keeps nothing in the hub, the roster cache or the audit verifier", async () => {
  let ahead = 0;
  await using b = await startBroker({ presenceGrace: 100 }, { now: () => Date.now() + ahead });
  const { hub, roster, audit } = b.ctx;
  // The first mesh stays connected throughout: its state is the one that may stay.
  const { owner: kept } = await createTestMesh(b.url);
  const stays = await connect(b.url, kept);
  for (let i = 0; i < MESHES; i++) {
    const { owner } = await createTestMesh(b.url);
    const peer = await connect(b.url, owner);
    await peer.client.request("list_peers", {});
    expect(await peer.client.request("audit_verify", {})).toMatchObject({ valid: true });
    peer.close();
  }
  await until(() => hub.size === 1, "the left meshes' presences to end (the grace)");
  expect(hub.meshCount).toBe(1);
  // A roster is used for 30 s and an audit prefix for AUDIT_RECHECK_MS; past that, the next use
  // of either drops every one that ran out.
  ahead = AUDIT_RECHECK_MS;
  await stays.client.request("list_peers", {});
  expect(await stays.client.request("audit_verify", {})).toMatchObject({ valid: true });
  expect({ meshes: hub.meshCount, rosters: roster.size, prefixes: audit.size }).toEqual({ meshes: 1, rosters: 1, prefixes: 1 });
  stays.close();
});

/** Members who joined and left before the reads are counted: more rows than a join may read. */
const LEFT = 40;

test("a join and a roster load read the mesh's members, not every member who ever left", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const alice = await connect(b.url, owner);
  const invite = await createInvite(b.url, owner, { maxUses: LEFT + 1 }, alice);
  for (let i = 0; i < LEFT; i++) {
    const m = await connect(b.url, await joinWithInvite(b.url, invite, `left${i}`));
    await m.client.request("leave", {});
    m.close();
  }
  using reads = storeReads(b.ctx.store);
  const newcomer = await joinWithInvite(b.url, invite, "newcomer");
  const joined = reads.rows();
  // A roster load (every 30 s, or after a grant changes) for the DM that follows.
  b.ctx.roster.invalidate(owner.meshId);
  reads.reset();
  await sendText(alice, newcomer.keys.publicKey, "welcome");
  // Before: each read the 42 member rows of the mesh, the 40 who left with the 2 still in it.
  expect({ joined, load: reads.rows() }).toEqual({ joined: 2, load: 2 });
  alice.close();
});
