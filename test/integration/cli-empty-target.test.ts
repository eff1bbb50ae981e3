// A peer named by nothing (an empty or blank word, or "mesh:" with nothing after it) is a usage
// error for every command that resolves a peer. "" is a prefix of every name, so it used to resolve
// to the only other member: `claudemesh kick ' '` removed them, `block ''` blocked them.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

test("kick, ban, block, grant, revoke and send refuse an empty or blank peer (exit 2) and change nothing", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { b, dirs: [alice], mesh } = team;
  const refusal = (input: string) => `claudemesh: No peer named: the target is empty${input ? " (only spaces)" : ""}. Give a peer's name or a public-key prefix (≥ 6 hex), after the "mesh:" prefix if you use one.\n`;
  const cases: [string[], string][] = [
    [["kick", " "], " "],
    [["ban", ""], ""],
    [["block", ""], ""],
    [["grant", " ", "dm"], " "],
    [["revoke", "\t", "dm"], "\t"],
    [["send", "", "hi"], ""],
    [["send", `${mesh.slug}:`, "hi"], ""],
    [["send", `${mesh.slug}: `, "hi"], " "],
  ];
  for (const [args, input] of cases) {
    const r = await cli(alice, args);
    expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: "", stderr: refusal(input) });
  }
  const json = await cli(alice, ["kick", " ", "--json"]);
  expect({ code: json.code, error: json.json().error }).toEqual({ code: 2, error: { code: "invalid_argument", message: expect.stringContaining("the target is empty") } });
  // bob is still a member, with no grant entry, and nothing was sent.
  const db = (b.ctx.store as SqliteStore).db;
  expect(ok(await cli(alice, ["peers", "--json"])).json().peers.map((p: { displayName: string }) => p.displayName).sort()).toEqual(["alice", "bob"]);
  expect(ok(await cli(alice, ["grants", "--json"])).json().grants).toEqual([]);
  expect(db.query("SELECT COUNT(*) AS n FROM messages").get()).toEqual({ n: 0 });
}, 60_000);
