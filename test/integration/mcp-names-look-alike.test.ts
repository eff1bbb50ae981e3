// mesh_send resolves names as the CLI does (src/client/resolve.ts, name-match.ts), checked over a
// real MCP client and a real broker (session 33 review): a member named "me/app" (by an older broker), the name
// of another member's live Claude Code session, is not sent that session's messages, and a name
// that only looks like another ("саrol" in Cyrillic) is refused as ambiguous with the keys to pick by.
// Session 39: so is a name that only looks like another through a digit ("a1ice" beside alice).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { storedName } from "../helpers/broker.ts";

test("mesh_send to a session's name that a member also took, or to a look-alike name, is refused as ambiguous", async () => {
  await using team = await cliTeam(["owner", "me", "carol"]);
  const { root, dirs: [owner, me, carol] } = team;
  const invite = async () => ok(await cli(owner, ["invite", "--json"])).json().link as string;
  // "me/app" is refused at join today ("/" reads as a session); an older broker took it, so the
  // impostor gets it straight in the store.
  const impostor = ok(await cli(join(root, "impostor"), ["join", await invite(), "--display-name", "imp", "--json"])).json().member.pubkey as string;
  storedName(team.b, team.mesh.meshId, ok(await cli(join(root, "impostor"), ["whoami", "--json"])).json().identities[0].memberId, "me/app");
  const cyrillic = ok(await cli(join(root, "cyrillic"), ["join", await invite(), "--display-name", "\u0441\u0430rol", "--json"])).json().member.pubkey as string;
  await using session = await startMcp(me, "sess-me-app", "/work/projects/app");
  await using c = await startMcp(carol, "sess-carol-web", "/work/projects/web");
  await waitConnected(c);
  type Row = { kind: string; displayName: string; pubkey: string; online: boolean };
  let sessionKey = "";
  await until(async () => {
    const rows = ok(await cli(owner, ["peers", "--json"])).json().peers as Row[];
    sessionKey = rows.find((p) => p.kind === "session" && p.displayName === "me/app" && p.online)?.pubkey ?? "";
    return sessionKey !== "";
  }, "me's session on the roster");
  const send = (to: string) => c.call("mesh_send", { to, message: "secret" });

  const refusal = (await send("me/app")).text.split("\n");
  expect(refusal[0]).toBe('invalid_argument: "me/app" matches 2 peers; use a longer name or a key prefix:');
  expect(refusal.slice(1).map((l) => l.match(/\((session|member) (\w{12})/)?.slice(1))).toEqual([
    ["session", sessionKey.slice(0, 12)],
    ["member", impostor.slice(0, 12)],
  ]);

  const lookAlike = (await send("carol")).text.split("\n");
  expect(lookAlike[0]).toBe('invalid_argument: "carol" matches 2 peers; use a longer name or a key prefix:');
  expect(lookAlike).toContain(`  "\u0441\u0430rol" (member ${cyrillic.slice(0, 12)}, has U+0441 U+0430)`);
  expect(lookAlike.at(-1)).toBe('Some of these names only look alike (the characters marked "has U+…" differ): name the one you mean by its key prefix.');
  // Nothing reached the impostor; by key, the session is reached.
  expect(ok(await cli(join(root, "impostor"), ["inbox", "--json"])).json().messages).toEqual([]);
  expect(await c.call("mesh_send", { to: sessionKey.slice(0, 12), message: "hello" })).toMatchObject({ isError: false });
  await session.waitNotification((n) => n.content.includes("hello"));
}, 90_000);

test("mesh_send to alice beside an impostor a1ice is refused as ambiguous, and nothing reaches the impostor", async () => {
  await using team = await cliTeam(["owner", "alice", "carol"]);
  const { root, dirs: [owner, alice, carol] } = team;
  const link = ok(await cli(owner, ["invite", "--json"])).json().link as string;
  const impostor = ok(await cli(join(root, "impostor"), ["join", link, "--display-name", "a1ice", "--json"])).json().member.pubkey as string;
  await using c = await startMcp(carol, "sess-carol-web", "/work/projects/web");
  await waitConnected(c);
  const refusal = (await c.call("mesh_send", { to: "alice", message: "secret" })).text.split("\n");
  expect(refusal).toEqual([
    'invalid_argument: "alice" matches 2 peers; use a longer name or a key prefix:',
    `  "alice" (member ${team.mesh.members.alice!.pubkey.slice(0, 12)})`,
    `  "a1ice" (member ${impostor.slice(0, 12)}, has "1")`,
    'Some of these names only look alike (the characters marked "has …" differ): name the one you mean by its key prefix.',
  ]);
  expect(ok(await cli(join(root, "impostor"), ["inbox", "--json"])).json().messages).toEqual([]);
  // By key prefix, alice is reached.
  expect(await c.call("mesh_send", { to: team.mesh.members.alice!.pubkey.slice(0, 12), message: "hello" })).toMatchObject({ isError: false });
  expect((ok(await cli(alice, ["inbox", "--json"])).json().messages as { body: string }[]).map((m) => m.body)).toEqual(["hello"]);
}, 90_000);
