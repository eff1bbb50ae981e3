// Sending by name in a big mesh (docs/decisions.md, session 35): a fresh `claudemesh send <name>`
// and the MCP server's mesh_send asked the broker for the whole peer list and the whole member
// list to resolve one name and vouch for one key: 7 MB and ~60 ms of broker time at 5,000
// members. They now ask peer_lookup and member_lookup (docs/protocol.md §4.3.28–29), whose answers
// do not grow with the mesh; a broker without them is met as before. Real broker on port 0, the
// real CLI as a subprocess through a byte-counting proxy, a real MCP client over stdio.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliOwnedMesh, cliTeam, ok, useBroker } from "../helpers/cli.ts";
import { createInvite, joinWithInvite } from "../helpers/mesh.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { brokerWithoutLookups } from "../helpers/older-broker.ts";
import { requestsHandled } from "../helpers/requests-handled.ts";
import { storeReads } from "../helpers/store-reads.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

test("a fresh CLI's send by name reads as much in a mesh of 140 as in one of 20", async () => {
  // All 140 claim from this one address: more than the default claim allowance (50 at once).
  await using b = await startBroker({ claimBurst: 140 });
  await using made = await cliOwnedMesh(b.url);
  const { dir, owner } = made;
  const inv = await createInvite(b.url, owner, { maxUses: 140 });
  const grow = async (from: number, to: number) => {
    for (let i = from; i < to; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => joinWithInvite(b.url, inv, `m${i + k}`)));
  };
  let down = 0;
  using proxy = linkProxy(b.port, (d) => void (down += d.length));
  useBroker(dir, proxy.url);
  using reads = storeReads(b.ctx.store);
  /** What the broker sent the CLI and read from its store for one send, the roster (which any
   *  traffic keeps loaded) loaded before. */
  const sendCost = async () => {
    await b.ctx.roster.get(owner.meshId);
    down = 0;
    reads.reset();
    const r = await cli(dir, ["send", "m7", "hello"]);
    expect({ code: r.code, stdout: r.stdout.replace(/id \S+/, "id …"), stderr: r.stderr }).toEqual({ code: 0, stdout: expect.stringMatching(/^Sent to "m7" \([0-9a-f]{12}\)\. id …\n$/), stderr: "" });
    return { bytes: down, rows: reads.rows() };
  };
  await grow(0, 20);
  const small = await sendCost();
  await grow(20, 140);
  const big = await sendCost();
  // Before: 120 more members were ~170 KB more (each a peer row and a member row with its
  // evidence) and 240 more rows read (listMembers, listAdmissions).
  expect({ moreBytes: big.bytes - small.bytes < 256, moreRows: big.rows - small.rows }).toEqual({ moreBytes: true, moreRows: 0 });
  expect(big.bytes).toBeLessThan(8_000);
}, 90_000);

test("against a broker without the lookups, send by name resolves, refuses and says it as against one with them", async () => {
  await using team = await cliTeam(["alice", "bob", "bobby", "carol"]);
  const [alice] = team.dirs;
  const cases = [["bob"], ["BOBB"], ["bo"], ["zed"], ["carl"], [team.mesh.members.carol!.pubkey.slice(0, 8)], ["alice"]] as const;
  const said = async () => {
    const out: string[] = [];
    for (const [to] of cases) {
      const r = await cli(alice, ["send", to, "hi"]);
      out.push(`${r.code} ${r.stdout.replace(/id \S+/, "id …")}${r.stderr}`);
    }
    return out;
  };
  const withLookups = await said();
  using older = brokerWithoutLookups();
  expect(await said()).toEqual(withLookups);
  // Asked by the first command only: the CLI remembers the refusal (refusal-memory.ts).
  expect(older.asked).toBe(1);
  expect(withLookups).toEqual([
    expect.stringMatching(/^0 Sent to "bob" /),
    expect.stringMatching(/^0 Sent to "bobby" /),
    expect.stringContaining('"bo" matches 2 peers'),
    expect.stringContaining('No peer matches "zed"'),
    expect.stringContaining('Did you mean "carol"?'),
    expect.stringMatching(/^0 Sent to "carol" /),
    expect.stringContaining("is you"),
  ]);
}, 120_000);

test("mesh_send by name in a Claude Code session reads neither whole list, and looks the key up once", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice] = team.dirs;
  await using a = await startMcp(alice, "sess-alice-lookup");
  await waitConnected(a);
  using handled = requestsHandled();
  for (let i = 0; i < 2; i++) expect(await a.call("mesh_send", { to: "bob", message: `hi ${i}` })).toMatchObject({ isError: false });
  const asked = Object.fromEntries((["list_peers", "member_list", "peer_lookup", "member_lookup"] as const).map((t) => [t, handled.count(t)]));
  expect(asked).toEqual({ list_peers: 0, member_list: 0, peer_lookup: 2, member_lookup: 1 });
}, 60_000);
