// The session label: the project directory's name unless install gave one. A directory whose name
// holds a control character made every session hello malformed, which the broker refuses for good,
// and the session stayed on no mesh with nothing saying why (session 31's MCP review).
import { expect, test } from "bun:test";
import { cliTeam } from "../helpers/cli.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";
import { defaultSessionLabel } from "../../src/cli/display-name.ts";

test("a project directory named with a tab or an invisible character still connects, under its cleaned name", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  await using a = await startMcp(alice, "sess-alice-label", "/w/my\tproj\u200b");
  await using bb = await startMcp(bob, "sess-bob-label");
  expect(await waitPeer(bb, "alice/myproj")).toContain("alice/myproj");
  expect((await a.call("mesh_peers")).isError).toBe(false);
}, 60_000);

test("defaultSessionLabel keeps what a label may hold, cut to its bound, else says session", () => {
  expect(defaultSessionLabel("backend")).toBe("backend");
  expect(defaultSessionLabel("my\tproj\u202e")).toBe("myproj");
  expect(defaultSessionLabel("\u0007\u200b")).toBe("session");
  expect(defaultSessionLabel("x".repeat(40))).toBe("x".repeat(32));
});
