// How many groups a member may be in (docs/protocol.md §4.3.16, MAX_GROUPS_PER_MEMBER), against a
// real broker on port 0 and the CLI as a subprocess. Before the bound, one member's group_join
// loop (10,000 names from 20 of its sessions, under a second at the default frame allowance) made
// every other member's list_peers answer larger than the 40 MiB a client reads: `claudemesh peers`
// and `mesh_peers` failed for the whole mesh. (How a member's groups are read: mesh-scoped-reads.)
import { expect, test } from "bun:test";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { MAX_GROUPS_PER_MEMBER } from "../../src/protocol/limits.ts";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliTeam } from "../helpers/cli.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";

const name = (i: number) => `g${String(i).padStart(4, "0")}`;
const REFUSAL = `You are in ${MAX_GROUPS_PER_MEMBER} groups, the most a member may be in: leave one first (claudemesh group leave NAME).`;

test("a join past the bound is refused and stores nothing; a group already joined still answers, and a leave makes room", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const mallory = await addMember(b.url, owner, "mallory");
  const m = await connect(b.url, mallory, { receive: "pull" });
  const o = await connect(b.url, owner, { receive: "pull" });
  // Sent together, as a flood would be: exactly the bound gets in, whatever the order.
  const tries = await Promise.allSettled(Array.from({ length: MAX_GROUPS_PER_MEMBER + 40 }, (_, i) => m.client.request("group_join", { group: name(i) })));
  const refusals = tries.flatMap((t) => (t.status === "rejected" ? [{ code: t.reason.code, message: t.reason.message }] : []));
  expect({ joined: tries.length - refusals.length, refusals: new Set(refusals.map((r) => JSON.stringify(r))) }).toEqual({
    joined: MAX_GROUPS_PER_MEMBER,
    refusals: new Set([JSON.stringify({ code: "invalid_argument", message: REFUSAL })]),
  });
  const groupsOf = async () => (await o.client.request("list_peers", {})).peers.find((p) => p.pubkey === mallory.keys.publicKey)!.groups;
  const mine = await groupsOf();
  expect(mine.length).toBe(MAX_GROUPS_PER_MEMBER);
  // Idempotent at the bound; a new name is not, until a leave.
  expect(await m.client.request("group_join", { group: mine[0]! })).toEqual({ group: mine[0]! });
  await expect(m.client.request("group_join", { group: "one-more" })).rejects.toMatchObject({ code: "invalid_argument" });
  await m.client.request("group_leave", { group: mine[0]! });
  expect(await m.client.request("group_join", { group: "one-more" })).toEqual({ group: "one-more" });
  expect((await groupsOf()).length).toBe(MAX_GROUPS_PER_MEMBER);
  // Another member's groups are its own to count.
  expect(await o.client.request("group_join", { group: "one-more" })).toEqual({ group: "one-more" });
  m.close();
  o.close();
}, 60_000);

test("`claudemesh group join` past the bound exits 2 with the broker's words", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { b, dirs: [, bob] } = team;
  const e = loadConfig(bob).meshes[0]!;
  const peer = await connect(b.url, { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: e.displayName, role: e.role }, { receive: "pull" });
  for (let i = 0; i < MAX_GROUPS_PER_MEMBER; i++) await peer.client.request("group_join", { group: name(i) });
  peer.close();
  const r = await cli(bob, ["group", "join", "frontend"]);
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: `claudemesh: ${REFUSAL}\n` });
}, 60_000);
