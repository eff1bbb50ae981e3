// What the reference clients subscribe to (docs/protocol.md §4.3.1 `events`): the client library
// asks for what its caller's onEvent wants plus `key_rotated`, which it reads itself; the CLI and
// the MCP server read no presence, so a real broker sends them none of it, and they still follow
// a key rotation. A broker older than the field refuses it, and the client says its hello again
// without it. Each test waits for an event the client does hear, after the ones it must not, so
// that "none" cannot be read off a socket that heard nothing yet.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliStream, cliTeam, ok, useBroker } from "../helpers/cli.ts";
import { bySessionId, tapEvents } from "../helpers/event-tap.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { brokerBeforeEvents } from "../helpers/older-broker.ts";
import { until } from "../helpers/until.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { BrokerClient } from "../../src/client/client.ts";

/** A member connection of `dir`'s identity (a CLI config dir) through the test helper: it hears
 *  every event (its onEvent), and makes presence changes for the others to (not) hear. */
function memberOf(url: string, dir: string) {
  const e = loadConfig(dir).meshes[0]!;
  return connect(url, { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: e.displayName, role: e.role });
}

describe("what the reference clients subscribe to", () => {
  test("the client library without onEvent asks for key_rotated alone, and its key epoch follows a rotation", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const client = new BrokerClient({ url: b.url, credentials: { kind: "member", meshId: bob.meshId, memberId: bob.memberId, keys: bob.keys }, where: { sessionId: "quiet-bob", pid: 1, cwd: "/tmp" } });
    expect((await client.connect()).mesh.keyEpoch).toBe(0);
    const heard = tapEvents(b, bySessionId("quiet-bob"));
    const c = await connect(b.url, carol);
    await c.client.request("set_status", { status: "working" });
    const o = await connect(b.url, owner);
    await o.client.request("key_rotate", { epoch: 1 });
    await until(() => client.ack?.mesh.keyEpoch === 1, "bob's client to take the new key epoch");
    expect(heard).toEqual(["key_rotated"]);
    for (const x of [client, c.client, o.client]) x.close();
  }, 30_000);

  test("onEvent is given what `events` names (the hello asks for that and key_rotated), or everything with 'all'", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const carol = await addMember(b.url, owner, "carol");
    const some = await connect(b.url, bob, { sessionId: "some" }, { events: ["peer_status"] });
    const all = await connect(b.url, owner, { sessionId: "all" }, { events: "all" });
    const asked = [...b.ctx.hub.allConns()].map((conn) => [conn.where?.sessionId, conn.events && [...conn.events].sort()]);
    expect(Object.fromEntries(asked)).toEqual({ some: ["key_rotated", "peer_status"], all: null });
    const c = await connect(b.url, carol);
    await c.client.request("set_status", { status: "working" });
    await some.waitEvent((e) => e.event === "peer_status");
    await all.waitEvent((e) => e.event === "peer_status");
    expect({ some: some.events.map((e) => e.event), all: all.events.map((e) => e.event) }).toEqual({ some: ["peer_status"], all: ["peer_joined", "peer_status"] });
    for (const x of [some, all, c]) x.close();
  }, 30_000);

  test("against a broker older than the field, the client says its hello again without it, and hears everything as before", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    using older = brokerBeforeEvents(b.url);
    const narrow = await connect(older.url, owner, {}, { events: ["peer_joined"] });
    expect(older.hellos).toEqual([true, false]);
    const bb = await connect(b.url, bob);
    await bb.client.request("set_status", { status: "working" });
    await until(() => narrow.events.length > 0, "the owner to hear bob join");
    await narrow.client.request("list_peers", {}); // whatever else the broker sent is in by its result
    expect(narrow.events.map((e) => e.event)).toEqual(["peer_joined"]); // what onEvent asked for, of all it was sent
    // A CLI command of today through that broker.
    await using team = await cliTeam(["alice"]);
    using older2 = brokerBeforeEvents(team.b.url);
    useBroker(team.dirs[0], older2.url);
    const peers = await cli(team.dirs[0], ["peers", "--json"]);
    expect({ code: peers.code, stderr: peers.stderr, hellos: older2.hellos }).toEqual({ code: 0, stderr: "", hellos: [true, false] });
    narrow.close();
    bb.close();
  }, 60_000);

  test("an MCP server that met a broker older than the field asks for key_rotated alone again once that broker is upgraded (it reconnects)", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    using older = brokerBeforeEvents(team.b.url);
    useBroker(alice, older.url);
    await using a = await startMcp(alice, "sess-alice-upgraded");
    await waitConnected(a);
    expect(older.hellos).toEqual([true, false]);
    // The broker is replaced by one that knows the field (a restart); the server reconnects.
    older.upgrade();
    const mine = () => [...team.b.ctx.hub.allConns()].find(bySessionId("sess-alice-upgraded"));
    await until(() => older.hellos.length >= 3 && mine() !== undefined, "the MCP server to reconnect");
    expect({ hellos: older.hellos, events: mine()!.events && [...mine()!.events!] }).toEqual({ hellos: [true, false, true], events: ["key_rotated"] });
    const heard = tapEvents(team.b, bySessionId("sess-alice-upgraded"));
    const bb = await memberOf(team.b.url, bob);
    await bb.client.request("set_summary", { summary: "reviewing" });
    ok(await cli(alice, ["rekey"]));
    await until(() => heard.length > 0, "the server's connection to be sent the key rotation");
    expect(heard).toEqual(["key_rotated"]);
    bb.close();
  }, 60_000);

  test("`inbox --follow` hears no presence and still prints what comes; the mesh's rekey reaches it", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    await using follower = cliStream(alice, ["inbox", "--follow"]);
    await until(() => follower.stderr().includes("Following"), "the follower to start");
    const heard = tapEvents(team.b, bySessionId(`cli-${follower.proc.pid}`));
    const bb = await memberOf(team.b.url, bob);
    await bb.client.request("set_status", { status: "working" });
    ok(await cli(alice, ["rekey"]));
    await until(() => heard.length > 0, "the follower's connection to be sent the key rotation");
    ok(await cli(bob, ["send", "alice", "still there?"]));
    expect((await follower.lines(1)).join("\n")).toContain("still there?");
    expect(heard).toEqual(["key_rotated"]);
    bb.close();
  }, 60_000);

  test("the MCP server hears no presence, and seals under the new key after a rekey it was told of", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    await using a = await startMcp(alice, "sess-alice-quiet");
    await waitConnected(a);
    const heard = tapEvents(team.b, bySessionId("sess-alice-quiet"));
    const bb = await memberOf(team.b.url, bob);
    await bb.client.request("set_summary", { summary: "reviewing" }); // peer_status (a working status would hold the post back, §5.7)
    ok(await cli(alice, ["rekey"]));
    await until(() => heard.length > 0, "alice's MCP server to be sent the key rotation");
    expect(heard).toEqual(["key_rotated"]);
    expect((await a.call("mesh_send", { to: "#general", message: "sealed under epoch 1" })).isError).toBe(false);
    await until(() => bb.messages.some((m) => m.kind === "topic"), "bob to be pushed the post");
    const post = bb.messages.find((m) => m.kind === "topic");
    // A fan-out envelope starts 0x02 and its epoch (u32 big-endian): the server knew of the rotation.
    expect([...Buffer.from(post!.ciphertext, "base64").subarray(0, 5)]).toEqual([2, 0, 0, 0, 1]);
    bb.close();
  }, 60_000);
});
