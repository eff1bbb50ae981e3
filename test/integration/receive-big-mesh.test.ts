// Receiving a direct message in a big mesh (docs/decisions.md, "Session 35: receiving in a big
// mesh"): `claudemesh inbox` and the MCP server read the whole member list to trace one sender
// they had not traced yet, MiBs at 5,000 members. They now ask member_lookup for that sender
// (docs/protocol.md §4.3.29), as a send vouches for its recipient. Real broker on port 0, the real
// CLI as a subprocess through a byte-counting proxy, a real MCP client over stdio.
import { expect, test } from "bun:test";
import { MeshSession } from "../../src/client/mesh-session.ts";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliOwnedMesh, cliTeam, ok, useBroker } from "../helpers/cli.ts";
import { connect, createInvite, joinWithInvite, type TestMember } from "../helpers/mesh.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { requestsHandled } from "../helpers/requests-handled.ts";
import { storeReads } from "../helpers/store-reads.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

test("a fresh CLI's inbox reads as much for a DM from a member it has not traced in a mesh of 140 as in one of 20", async () => {
  // All 140 claim from this one address: more than the default claim allowance (50 at once).
  await using b = await startBroker({ claimBurst: 140 });
  await using made = await cliOwnedMesh(b.url);
  const { dir, owner } = made;
  const inv = await createInvite(b.url, owner, { maxUses: 140 });
  const joined: TestMember[] = [];
  const grow = async (from: number, to: number) => {
    for (let i = from; i < to; i += 20) joined.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => joinWithInvite(b.url, inv, `m${i + k}`)))));
  };
  let down = 0;
  using proxy = linkProxy(b.port, (d) => void (down += d.length));
  useBroker(dir, proxy.url);
  using reads = storeReads(b.ctx.store);
  /** What the broker sent the owner's CLI and read from its store for one `inbox` holding one DM
   *  from m7 (a member no run of the CLI traced: each is a new process). */
  const inboxCost = async (body: string) => {
    const m7 = joined[7]!;
    const sender = await connect(b.url, m7);
    const s = new MeshSession({ meshId: m7.meshId, publicKey: m7.keys.publicKey, secretKey: m7.keys.secretKey, memberPubkey: m7.keys.publicKey, memberSecretKey: m7.keys.secretKey, ownerPubkey: owner.keys.publicKey }, []);
    await s.send(sender.client, owner.keys.publicKey, body);
    sender.close();
    await b.ctx.roster.get(owner.meshId);
    down = 0;
    reads.reset();
    const r = ok(await cli(dir, ["inbox", "--json"])).json();
    expect(r.messages.map((m: { body: string; untraced?: true }) => [m.body, m.untraced ?? false])).toEqual([[body, false]]);
    return { bytes: down, rows: reads.rows() };
  };
  await grow(0, 20);
  const small = await inboxCost("in a mesh of 20");
  await grow(20, 140);
  const big = await inboxCost("in a mesh of 140");
  // Before: 120 more members were ~100 KB more (each a member row with its evidence) and 240 more
  // rows read (listMembers, listAdmissions).
  expect({ moreBytes: big.bytes - small.bytes < 256, moreRows: big.rows - small.rows }).toEqual({ moreBytes: true, moreRows: 0 });
  expect(big.bytes).toBeLessThan(8_000);
}, 90_000);

test("the MCP server traces a DM's sender with one member_lookup, not the member list, and not again for the next", async () => {
  await using team = await cliTeam(["alice", "bob", "carol"]);
  const [, bob, carol] = team.dirs;
  await using bb = await startMcp(bob, "sess-bob-receive");
  await waitConnected(bb);
  using handled = requestsHandled();
  for (const body of ["first from carol", "second from carol"]) {
    ok(await cli(carol, ["send", "bob", body]));
    const n = await bb.waitNotification((x) => x.content.includes(body));
    expect(n.content).not.toContain("Warning");
  }
  // Each `claudemesh send` of carol's is a new process that vouches for bob once (member_lookup);
  // bob's server traces carol once.
  const asked = Object.fromEntries((["member_list", "list_peers", "member_lookup"] as const).map((t) => [t, handled.count(t)]));
  expect(asked).toEqual({ member_list: 0, list_peers: 0, member_lookup: 3 });
}, 60_000);
