// `claudemesh mcp` started by another MCP client (an inspector, a script) inside a Claude Code
// session's Bash tool inherits that session's CLAUDE_CODE_SESSION_ID (docs/claude-code.md,
// "Started without CLAUDE_CODE_SESSION_ID"). Taken as its own, it replaced the session's server at
// the broker (4004: the session's tools stayed disconnected until /mcp) and read the messages the
// session was waiting for. A session id its parent process holds too was inherited: the server
// then takes an identity of its own, as one started without a session id.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { cli, cliTeam } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
/** `claudemesh mcp` under a shell that stays its parent (no exec), as from a Bash tool. */
const UNDER_A_SHELL = ["sh", "-c", `"${process.execPath}" run "${MAIN}" mcp; :`];

test("a server whose parent holds the session id leaves that session's peer and messages alone", async () => {
  await using t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  await using a = await startMcp(alice, "sess-in-claude");
  await waitConnected(a);
  expect((await cli(bob, ["send", "alice/app", "for the Claude Code session"])).code).toBe(0);
  await a.waitNotification((n) => n.content.includes("for the Claude Code session"));

  // startMcp appends "mcp", which `sh -c` takes as $0.
  await using other = await startMcp(alice, "sess-in-claude", "/work/projects/tool", UNDER_A_SHELL.slice(0, 3));
  const inbox = await other.call("mesh_inbox");
  expect(inbox.text).not.toContain("for the Claude Code session");
  const peers = (await other.call("mesh_peers")).text;
  const key = (text: string, who: string) => new RegExp(`"${who}" \\(you\\).*session key ([0-9a-f]{12})`).exec(text)?.[1];
  const aPeers = await a.call("mesh_peers");
  expect({ isError: aPeers.isError, distinct: key(peers, "alice/tool") !== key(aPeers.text, "alice/app") }).toEqual({ isError: false, distinct: true });
  expect((await a.call("mesh_inbox")).text).toContain("> for the Claude Code session");
}, 60_000);
