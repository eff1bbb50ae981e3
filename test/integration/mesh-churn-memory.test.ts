// Meshes come and go: anyone may create one, and most are used for a while and never again. What
// the broker keeps in memory per mesh must go once the mesh is no longer in use, not stay until a
// restart (docs/decisions.md, "Session 34: state that churn left behind"): its set of presences
// in the hub, its cached roster (every member and session row of the mesh) and the audit prefix a
// check left. A real broker on port 0 whose clock the test moves; meshes created, connected,
// listed, checked and left; then the broker's per-mesh state counted.
import { expect, test } from "bun:test";
import { AUDIT_RECHECK_MS } from "../../src/protocol/limits.ts";
import { startBroker } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
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
