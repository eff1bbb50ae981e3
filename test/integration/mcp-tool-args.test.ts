// The tools' arguments are checked whole (docs/claude-code.md "Tools"): an argument a tool does not
// have is refused, naming it, and nothing is done. It used to be dropped, and the call made without
// it: a misspelt `replyTo` sent a plain message (the asker's mesh_ask kept waiting), a `timeout`
// waited the default 120 s.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

test("an argument a tool does not have is refused by name, and nothing is sent", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  await using s = await startMcp(alice, "sess-args");
  await waitConnected(s);
  const schemas = (await s.client.listTools()).tools.map((x) => [x.name, x.inputSchema.additionalProperties]);
  expect(schemas).toEqual(schemas.map(([name]) => [name, false]));
  const started = performance.now();
  const refused = await Promise.all([
    s.call("mesh_send", { to: "bob", message: "8080", replyTo: "V7-ZTk0gAivEQ0CJCJEfIw" }),
    s.call("mesh_ask", { to: "bob", question: "which port?", timeout: 5 }),
    s.call("mesh_inbox", { max: 5 }),
  ]);
  expect(refused.map((r) => ({ isError: r.isError, names: /Unrecognized key/.test(r.text) && /"(replyTo|timeout|max)"/.test(r.text) }))).toEqual(Array(3).fill({ isError: true, names: true }));
  expect(performance.now() - started).toBeLessThan(5000);
  expect(ok(await cli(bob, ["inbox", "--json"])).json().messages).toEqual([]);
}, 60_000);
