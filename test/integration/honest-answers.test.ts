// Answers an honest broker gives pass the checks every answer meets (src/protocol/result-schemas.ts,
// docs/protocol.md §4.4.2): a session whose hello names none is called `<member name>/<last cwd
// segment>` by the broker (§4.3.2), up to MAX_SHOWN_NAME_LEN characters, which list_peers shows and
// a message it sends carries as `from.name`. Checked against the bounds of names people choose (64,
// and 256 for a sender), one such session (a client that leaves the name to the broker, in a folder
// whose name and its member's pass 64 characters) made `peers` and Claude Code's `mesh_peers` fail
// for everyone in the mesh (exit 6), its messages were dropped unread as pushes, and `inbox` failed
// for good for whoever it wrote to: the message stays queued and every page held it. A broker that answers as one from before `invitesRevoked`
// (§4.3.20) is read as its absence means, as the other fields added within version 1 are.
// The real broker, the CLI as a subprocess and the MCP server over stdio.
import { describe, expect, test } from "bun:test";
import { makeAttestation } from "../../src/client/credentials.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { MAX_CWD_LEN } from "../../src/protocol/limits.ts";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { evilBroker } from "../helpers/evil-broker.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { connect } from "../helpers/mesh.ts";

describe("a session the broker names from its cwd", () => {
  test("a name of 1,027 characters: peers, send by name, inbox, mesh_peers and a push take it", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const [alice, bob] = team.dirs;
    const e = loadConfig(bob).meshes[0]!;
    const memberKeys = { publicKey: e.publicKey, secretKey: e.secretKey };
    const sessionKeys = generateSigningKeypair();
    const folder = "w".repeat(MAX_CWD_LEN - 1);
    const credentials = { kind: "session" as const, meshId: e.meshId, memberId: e.memberId, memberKeys, sessionKeys };
    const s = await connect(team.b.url, { meshId: e.meshId, memberId: e.memberId, keys: memberKeys, displayName: e.displayName, role: e.role }, { cwd: `/${folder}` }, { credentials });
    const name = `bob/${folder}`;
    expect(s.ack.displayName).toBe(name);
    await using mcp = await startMcp(alice, "honest-alice");
    await waitConnected(mcp);

    const peers = await cli(alice, ["peers", "--json"]);
    expect({ code: peers.code, names: peers.code === 0 ? peers.json().peers.map((p: { displayName: string }) => p.displayName.length) : peers.stdout }).toEqual({ code: 0, names: expect.arrayContaining([name.length]) });
    expect((await cli(alice, ["send", "bob", "to bob, past his long-named session"])).code).toBe(0);

    const to = team.mesh.members.alice!.pubkey;
    const id = randomId();
    const att = makeAttestation(memberKeys, sessionKeys.publicKey, Date.now() + 3_600_000);
    const sealed = sealEnvelope({ mesh: e.meshId, from: sessionKeys.publicKey, to, id, ts: Date.now(), kind: "text", body: "from the long-named session", att }, { mySecret: sessionKeys.secretKey });
    await s.client.request("send", { to, clientMessageId: id, nonce: sealed.nonce, ciphertext: sealed.ciphertext });
    const pushed = await mcp.waitNotification((n) => n.content.includes("from the long-named session"), 10_000);
    expect(pushed.content).toContain("from the long-named session");
    const inbox = await cli(alice, ["inbox", "--json"]);
    expect({ code: inbox.code, bodies: inbox.code === 0 ? inbox.json().messages.map((m: { body: string }) => m.body) : inbox.stdout }).toEqual({ code: 0, bodies: ["from the long-named session"] });
    expect(await mcp.call("mesh_peers")).toEqual({ isError: false, text: expect.stringContaining("bob/www") });
    s.close();
  }, 90_000);
});

describe("a broker from before member_revoke's invitesRevoked", () => {
  test("a kick is done, the key rotated, and nothing said about invites", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    using evil = evilBroker();
    evil.answer = (type, d) => (type === "member_revoke" ? { memberId: d.memberId, banned: d.banned, disconnected: d.disconnected } : undefined);
    const kick = await cli(team.dirs[0], ["kick", "carol", "--json"]);
    expect({ code: kick.code, json: kick.code === 0 ? kick.json() : kick.stdout }).toEqual({ code: 0, json: expect.objectContaining({ name: "carol", invitesRevoked: [], keyEpoch: 1 }) });
    const members = ok(await cli(team.dirs[0], ["peers", "--json"])).json().peers.map((p: { displayName: string }) => p.displayName);
    expect(members).not.toContain("carol");
  }, 60_000);
});
