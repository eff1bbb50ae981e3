// Display names (docs/protocol.md §4.2, src/protocol/names.ts): `join` took names with invisible,
// text-direction and C1 characters that the terminal then stripped ("c\u200barol" showed as a
// second "carol"), and names with ":" that read as another mesh's peer ("lab:bob"). The CLI and
// the broker now refuse them; names an older broker stored are shown escaped, never stripped, and
// a Claude Code session of such a member still connects.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliMesh, cliTeam, identities, ok, until } from "../helpers/cli.ts";
import { addMember, connect, createInvite, createTestMesh } from "../helpers/mesh.ts";
import { startMcp } from "../helpers/mcp.ts";
import { startBroker, storedName } from "../helpers/broker.ts";
import { claimInvite, createMesh } from "../../src/client/http.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { DISPLAY_NAME_RULE, SESSION_NAME_RULE } from "../../src/protocol/names.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

const MCP_MAIN = join(import.meta.dir, "../../src/main.ts");
const TAKES = 'it takes 1–64 characters of visible text, without ":" or "/" and not starting with "#" or "@" (e.g. "Alice K").';

test("join and new refuse names with invisible, text-direction or C1 characters, or that read as an address (exit 2), and enrol nobody", async () => {
  await using team = await cliTeam(["alice"]);
  const [alice] = team.dirs;
  await using ids = identities(1);
  const cases: [string, string][] = [
    ["c\u200barol", "holds U+200B, a control, invisible or text-direction character"],
    ["\u202eevil", "holds U+202E, a control, invisible or text-direction character"],
    ["x\u009b31mred", "holds U+009B, a control, invisible or text-direction character"],
    ["lab:bob", 'holds ":", which makes it read as a mesh prefix ("lab:bob" is bob in mesh lab)'],
    ["a/b", 'holds "/", which makes it read as a session ("a/b" is session b of member a)'],
    ["#ops", 'starts with "#", which makes it read as a topic'],
  ];
  const { link } = ok(await cli(alice, ["invite", "--json"])).json();
  for (const [name, why] of cases) {
    const r = await cli(ids.dirs[0]!, ["join", link, "--display-name", name]);
    expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 2, stderr: `claudemesh: --display-name ${why}; ${TAKES}\n  fix: see \`claudemesh join --help\`\n` });
  }
  const created = await cli(ids.dirs[0]!, ["new", "Lab", "--broker", team.b.url, "--display-name", "lab:bob"]);
  expect({ code: created.code, stderr: created.stderr.split("\n")[0] }).toEqual({ code: 2, stderr: `claudemesh: --display-name ${cases[3]![1]}; ${TAKES}` });
  expect(ok(await cli(alice, ["peers", "--json"])).json().peers.map((p: { displayName: string }) => p.displayName)).toEqual(["alice"]);
}, 60_000);

test("the broker refuses such names itself: invalid_name over HTTP, malformed for a session hello, each saying the rule", async () => {
  await using b = await startBroker();
  const url = b.url;
  const meshRefusal = await createMesh(url, generateSigningKeypair(), { meshId: randomId(), slug: "lab", name: "Lab", ownerDisplayName: "lab:bob" }).catch((e) => e);
  expect({ code: meshRefusal.code, message: meshRefusal.message }).toEqual({ code: "invalid_name", message: `Invalid request: /ownerDisplayName: ${DISPLAY_NAME_RULE}.` });
  const { owner } = await createTestMesh(url, "owner");
  const inv = await createInvite(url, owner);
  const claimRefusal = await claimInvite(url, { inviteId: inv.inviteId, meshId: inv.meshId, inviteKeys: inv.inviteKeys, joiner: generateSigningKeypair(), displayName: "c\u200barol" }).catch((e) => e);
  expect({ code: claimRefusal.code, message: claimRefusal.message }).toEqual({ code: "invalid_name", message: `Invalid request: /displayName: ${DISPLAY_NAME_RULE}.` });
  const member = await addMember(url, owner, "bob");
  const session = { kind: "session" as const, meshId: member.meshId, memberId: member.memberId, memberKeys: member.keys, sessionKeys: generateSigningKeypair() };
  const hello = await connect(url, member, { displayName: "lab:bob/api" }, { credentials: session }).catch((e) => e);
  expect(String(hello.message)).toContain(SESSION_NAME_RULE);
}, 60_000);

test("names an older broker stored: peers and the audit log show their invisible characters escaped, and the member's Claude Code session still connects", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  const store = team.b.ctx.store as SqliteStore;
  // As an older broker took them: straight into the store, past today's schema.
  const { inviteId } = ok(await cli(alice, ["invite", "--json"])).json();
  const now = Date.now();
  await store.claimInvite({ inviteId, nowMs: now, member: { id: randomId(), pubkey: generateSigningKeypair().publicKey, displayName: "c\u200barol" }, claim: { timestamp: now, inviteSignature: "0".repeat(128) } });
  storedName(team.b, team.mesh.meshId, ok(await cli(bob, ["whoami", "--json"])).json().identities[0].memberId, "lab:bob");
  const configFile = join(bob, "config.json");
  const config = JSON.parse(readFileSync(configFile, "utf8"));
  config.meshes[0].displayName = "lab:bob";
  writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });

  const peers = ok(await cli(alice, ["peers"])).stdout;
  expect(peers).toContain('"c\\u200barol" ');
  expect(peers).not.toMatch(/"carol"/);
  const audit = ok(await cli(alice, ["audit", "log"])).stdout;
  expect(audit).toContain('{"displayName":"c\\u200barol"');
  // Every other place a name is printed escapes it too: here `send`'s answer naming its recipient.
  const sent = await cli(alice, ["send", "carol", "hi"]);
  expect(sent.stdout + sent.stderr).toContain('"c\\u200barol" (');
  expect(sent.stdout + sent.stderr).not.toContain('"carol"');

  await using mcp = await startMcp(bob, "sess-bob-names", "/work/projects/app");
  await until(async () => ok(await cli(alice, ["peers", "--json"])).json().peers.some((p: { displayName: string; online: boolean }) => p.online && p.displayName === "lab\\u003abob/app"), "bob's session to connect under an escaped name");
  expect((await mcp.call("mesh_peers")).isError).toBe(false);
}, 60_000);

test("list: the broker column lines up between owner and member rows", async () => {
  await using team = await cliTeam(["alice"]);
  const [alice] = team.dirs;
  await using ids = identities(1);
  // alice also joins a mesh dave owns: one owner row, one member row.
  await cliMesh(team.b.url, [[ids.dirs[0]!, "dave"], [alice, "田中"]], "Other");
  const lines = ok(await cli(alice, ["list"])).stdout.trimEnd().split("\n");
  expect(lines.length).toBe(2);
  expect(lines.map((l) => Bun.stringWidth(l.slice(0, l.indexOf("http://"))))).toEqual([lines[0]!.indexOf("http://"), lines[0]!.indexOf("http://")]);
  expect(lines.some((l) => l.includes('"田中" (member)'))).toBe(true);
}, 60_000);

test("a mesh an older broker stored under a name today's rules refuse is still reached, by the client and the CLI", async () => {
  await using team = await cliTeam(["alice"]);
  const [alice] = team.dirs;
  const store = team.b.ctx.store as SqliteStore;
  for (const name of ["Team \u2764\ufe0f", "ops ", "a\u200db"]) {
    store.db.query("UPDATE meshes SET name = ? WHERE id = ?").run(name, team.mesh.meshId);
    // Before: hello_ack's mesh name failed the client's schema, the frame was dropped, and every
    // command waited out its timeout ("did not answer within 15 s").
    const r = await cli(alice, ["peers", "--json"]);
    expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: "" });
  }
}, 60_000);

test("an MCP server registered by an older install with a label today's rule refuses starts, with the label cleaned and said why", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  // As Claude Code runs a registration `install --label "tea☕️"` wrote before session 33 (U+FE0F
  // was allowed then): `claudemesh mcp --label …`. Before, the server exited with a usage error.
  const withLabel = ["sh", "-c", `exec "${process.execPath}" run "${MCP_MAIN}" "$@" --label "tea\u2615\ufe0f"`, "sh"];
  await using mcp = await startMcp(bob, "sess-bob-label", "/work/projects/app", withLabel);
  await until(async () => ok(await cli(alice, ["peers", "--json"])).json().peers.some((p: { displayName: string; online: boolean }) => p.online && p.displayName === "bob/tea\u2615"), "bob's session under the cleaned label");
  expect(mcp.stderr()).toContain("the registered --label is not one install takes today");
  expect((await mcp.call("mesh_peers")).isError).toBe(false);
}, 60_000);
