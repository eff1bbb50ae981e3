// Reliability plan T17 as the hooks tell it: a session that never calls mesh_inbox must still learn
// that its broker handed over messages that failed verification. The real MCP server runs behind a
// broker whose handed-out messages the test rewrites (test/helpers/evil-broker.ts), and the real
// `claudemesh hook` commands ask it, as Claude Code runs them. What must hold: the context a hook
// injects says how many were dropped and what to do, in mesh_inbox's words, once per new batch
// (whichever of the hooks and mesh_inbox says it first); a Stop hook does not continue the turn
// for it alone, and the wake hook does not wake the session for it alone (docs/claude-code.md).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomId } from "../../src/crypto/hash.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { evilBroker, type EvilBroker } from "../helpers/evil-broker.ts";
import { hookInput, runHook, startHook, startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";
import { askIpc, runningServer } from "../../src/mcp/ipc.ts";
import type { Refusal } from "../../src/mcp/refusal-note.ts";

const SID = "evil-hooks-bob";
let team: Awaited<ReturnType<typeof cliTeam<readonly ["alice", "bob", "carol"]>>>;
let evil: EvilBroker;
let alice: string, bobDir: string;
let bob: McpSession;
let carolFrom: MessagePushFrame["from"];

beforeAll(async () => {
  team = await cliTeam(["alice", "bob", "carol"]);
  [alice, bobDir] = team.dirs;
  const carol = team.mesh.members.carol!;
  carolFrom = { memberId: carol.memberId, memberPubkey: carol.pubkey, pubkey: carol.pubkey, name: "carol" };
  evil = evilBroker();
  bob = await startMcp(bobDir, SID);
  await waitConnected(bob);
}, 60_000);
afterEach(() => void (evil.rewrite = null));
afterAll(async () => {
  await bob.close();
  evil[Symbol.dispose]();
  await team[Symbol.asyncDispose]();
});

/** Sends to bob with priority `now`, pushed even while a hook made his session `working`. */
const send = async (body: string) => void ok(await cli(alice, ["send", "bob", body, "--priority", "now"]), `send ${body}`);
/** The push re-attributed to carol, who did not seal it: refused by the recipient. */
const forged = (m: MessagePushFrame, id = randomId()): MessagePushFrame => ({ ...m, messageId: id, from: carolFrom });
/** The context a hook of bob's session injects ("" for none), after checking it exited 0. */
async function hook(event: "user-prompt-submit" | "stop", name: string): Promise<string> {
  const r = await runHook(bobDir, event, hookInput(SID, name));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return r.out?.hookSpecificOutput?.additionalContext ?? (expect(r.out).toEqual({}), "");
}
const refusals = () => bob.stderr().match(/"msg":"message not shown"/g)?.length ?? 0;
const note = (n: number) => `claudemesh: ${n} message(s) failed verification and were dropped (mesh ${team.mesh.slug}); they were not shown. The broker may have changed them`;

describe("the hooks of a session behind a broker that lies", () => {
  test("UserPromptSubmit tells of a refused push beside the message after it, once", async () => {
    evil.rewrite = (m) => [forged(m), m];
    await send("honest after a forgery");
    await bob.waitNotification((n) => n.content.includes("honest after a forgery"));
    evil.rewrite = null;
    const ctx = await hook("user-prompt-submit", "UserPromptSubmit");
    expect(ctx.split("honest after a forgery").length - 1).toBe(1);
    expect(ctx).toContain(`\n\n${note(1)}`);
    expect(ctx).toContain("tell your user");
    // Told: neither the next hook nor mesh_inbox says it again.
    expect(await hook("user-prompt-submit", "UserPromptSubmit")).toBe("");
    expect((await bob.call("mesh_inbox")).text).toBe("No new messages.");
  }, 30_000);

  test("a Stop with nothing else to inject does not continue the turn for it; the next prompt tells of it", async () => {
    const before = refusals();
    // The only copy handed out is refused (and acked, as every refused push is): nothing is pending.
    evil.rewrite = (m) => [forged(m, m.messageId)];
    await send("only a forgery arrives");
    await until(() => refusals() > before, "the server to refuse the push");
    evil.rewrite = null;
    expect(await hook("stop", "Stop")).toBe("");
    expect(await hook("user-prompt-submit", "UserPromptSubmit")).toStartWith(note(1));
    expect(await hook("user-prompt-submit", "UserPromptSubmit")).toBe("");
  }, 30_000);

  test("the wake hook tells of it with the message that wakes the session", async () => {
    await using waiting = startHook(bobDir, "wait", hookInput(SID, "Stop"));
    evil.rewrite = (m) => [forged(m), forged(m), m];
    await send("wakes with a note");
    const [code, stderr] = await Promise.all([waiting.exited, new Response(waiting.stderr).text()]);
    evil.rewrite = null;
    expect(code).toBe(2);
    expect(stderr).toContain("wakes with a note");
    expect(stderr).toContain(`\n\n${note(2)}`);
    expect(await hook("user-prompt-submit", "UserPromptSubmit")).toBe("");
  }, 30_000);

  // A hook asks for what to inject (`pending`), prints it, then confirms (`seen`). A mesh_inbox in
  // between tells of everything counted so far; the confirmation must not then cancel a refusal
  // counted after that: it says how far the hook's note went, not how many to take off.
  test("a refusal counted while a hook prints, after a mesh_inbox in between, is still told", async () => {
    const sock = await runningServer(bobDir, SID, 5000);
    expect(sock).not.toBeNull();
    const refuseOne = async (body: string) => {
      const before = refusals();
      evil.rewrite = (m) => [forged(m, m.messageId)];
      await send(body);
      await until(() => refusals() > before, "the server to refuse the push");
      evil.rewrite = null;
    };
    await refuseOne("refused before the hook asks");
    const asked = await askIpc<{ refusals?: Refusal[] }>(sock!, { op: "pending", limit: 50 }, 2000);
    expect(asked?.refusals?.map((r) => r.count)).toEqual([1]);
    await refuseOne("refused while the hook prints");
    expect((await bob.call("mesh_inbox")).text).toContain(note(2).replace("claudemesh: ", ""));
    await refuseOne("refused after mesh_inbox told");
    await askIpc(sock!, { op: "seen", ids: [], refused: asked!.refusals! }, 2000);
    expect((await bob.call("mesh_inbox")).text).toContain(note(1).replace("claudemesh: ", ""));
  }, 30_000);

  test("mesh_inbox says it first: the hooks do not repeat it", async () => {
    const before = refusals();
    evil.rewrite = (m) => [forged(m, m.messageId)];
    await send("read by mesh_inbox first");
    await until(() => refusals() > before, "the server to refuse the push");
    evil.rewrite = null;
    expect((await bob.call("mesh_inbox")).text).toStartWith(`No new messages.\n\n${note(1).replace("claudemesh: ", "")}`);
    expect(await hook("user-prompt-submit", "UserPromptSubmit")).toBe("");
  }, 30_000);
});
