// Reliability plan T17 from the receiving side, through the real MCP server (`claudemesh mcp` over
// stdio, as Claude Code runs it): a broker that repeats, replays, re-targets, moves and
// re-attributes what it pushes (test/helpers/evil-broker.ts). What must hold: a repeat is pushed
// to the model once, as a channel notification and in mesh_inbox, without a word; a push whose
// envelope disagrees with it is never shown, mesh_inbox says how many were dropped, and the
// messages after it arrive; an honest message is never flagged (docs/security.md, "What a
// recipient detects from a malicious broker").
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomId } from "../../src/crypto/hash.ts";
import type { MessagePushFrame } from "../../src/protocol/server-frames.ts";
import { cli, cliTeam, ok, until } from "../helpers/cli.ts";
import { evilBroker, type EvilBroker } from "../helpers/evil-broker.ts";
import { startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";

let team: Awaited<ReturnType<typeof cliTeam<readonly ["alice", "bob", "carol"]>>>;
let evil: EvilBroker;
let alice: string, carol: string;
let keys: Record<"alice" | "bob" | "carol", string>;
let bob: McpSession;

beforeAll(async () => {
  team = await cliTeam(["alice", "bob", "carol"]);
  [alice, , carol] = team.dirs;
  keys = { alice: team.mesh.members.alice!.pubkey, bob: team.mesh.members.bob!.pubkey, carol: team.mesh.members.carol!.pubkey };
  evil = evilBroker();
  bob = await startMcp(team.dirs[1], "evil-bob");
  await waitConnected(bob);
}, 60_000);
afterEach(() => void (evil.rewrite = null));
afterAll(async () => {
  await bob.close();
  evil[Symbol.dispose]();
  await team[Symbol.asyncDispose]();
});

/** Sends with the CLI; resolves to the broker's messageId. */
const send = async (from: string, to: string, body: string): Promise<string> => ok(await cli(from, ["send", to, body, "--json"]), `send ${body}`).json().messageId;
const newId = (m: MessagePushFrame): MessagePushFrame => ({ ...m, messageId: randomId() });
const notified = (text: string) => bob.notifications.filter((n) => n.content.includes(text)).length;
/** Sends `body` to bob through the rewrite in place, waits for its channel push (pushes keep their
 *  order on the connection, so everything the broker pushed before it was handled by then) and
 *  reads mesh_inbox, which marks it seen. */
async function sendAndRead(body: string, to = "bob") {
  await send(alice, to, body);
  await bob.waitNotification((n) => n.content.includes(body));
  evil.rewrite = null;
  return bob.call("mesh_inbox");
}

describe("the MCP server, behind a broker that lies", () => {
  test("the same push twice is shown once, silently", async () => {
    evil.rewrite = (m) => [m, m];
    const inbox = await sendAndRead("pushed twice");
    expect({ notified: notified("pushed twice"), inInbox: inbox.text.split("pushed twice").length - 1, isError: inbox.isError }).toEqual({ notified: 1, inInbox: 1, isError: false });
    expect(inbox.text).not.toContain("failed verification");
  }, 30_000);

  test("a message already seen, replayed under a new messageId, is not shown again", async () => {
    await sendAndRead("seen once");
    const old = evil.handed.filter((h) => h.to.meshId === team.mesh.meshId && h.m.kind === "direct").at(-1)!.m;
    evil.rewrite = (m) => [newId(old), m];
    const inbox = await sendAndRead("after the replay");
    expect({ notified: notified("seen once"), replayedInInbox: inbox.text.includes("seen once") }).toEqual({ notified: 1, replayedInInbox: false });
    expect(inbox.text).not.toContain("failed verification");
  }, 30_000);

  test("a DM for carol, one re-attributed, one moved into #general and a post moved to #secret are dropped, said, and do not block the next", async () => {
    const forCarolId = await send(alice, "carol", "for carol only");
    ok(await cli(carol, ["inbox"]));
    const forCarol = evil.handed.find((h) => h.m.messageId === forCarolId)!.m;
    const carolFrom = { memberId: team.mesh.members.carol!.memberId, memberPubkey: keys.carol, pubkey: keys.carol, name: "carol" };
    evil.rewrite = (m) => [{ ...newId(forCarol), to: m.to }, { ...newId(m), from: carolFrom }, { ...newId(m), kind: "topic", topic: "general" }, m];
    const inbox = await sendAndRead("the honest one");
    expect(notified("for carol only")).toBe(0);
    expect(bob.notifications.filter((n) => n.content.includes("the honest one")).map((n) => n.meta.from_pubkey)).toEqual([keys.alice]);
    expect(inbox.text).toContain("3 message(s) failed verification and were dropped");
    // Said once: the next read does not repeat it.
    expect((await bob.call("mesh_inbox")).text).toBe("No new messages.");

    let first = true; // only the first post: the one after it is honest
    evil.rewrite = (m) => (first ? ((first = false), [{ ...m, topic: "secret" }]) : [m]);
    await send(alice, "#general", "not for #secret");
    const post = await sendAndRead("#general after it", "#general");
    expect({ secret: notified("not for #secret"), topics: bob.notifications.filter((n) => n.content.includes("#general after it")).map((n) => n.meta.topic) }).toEqual({ secret: 0, topics: ["general"] });
    expect(post.text).toContain("1 message(s) failed verification and were dropped");
    // Each is a warning in the server's log (Claude Code's MCP log), and nothing there is a crash.
    expect(bob.stderr().match(/"level":"warn","msg":"message not shown"/g)?.length).toBe(4);
    expect(bob.stderr()).not.toMatch(/\n\s+at /);
  }, 30_000);

  test("a message the push alone calls a reply is not taken as the answer to mesh_ask", async () => {
    const asking = bob.call("mesh_ask", { to: "alice", question: "may I drop the orders table?", timeout_seconds: 5 });
    let question = "";
    await until(async () => {
      const r = ok(await cli(alice, ["inbox", "--json"])).json();
      question = r.messages.find((m: { body: string }) => m.body === "may I drop the orders table?")?.messageId ?? "";
      return question !== "";
    }, "alice to read the question");
    // alice writes about something else; the broker marks it as her answer.
    evil.rewrite = (m) => [{ ...m, replyTo: question }];
    await send(alice, "bob", "yes, go ahead with lunch");
    const answer = await asking;
    expect(answer.text).not.toContain("lunch");
    expect(answer.text).toStartWith("No reply from");
    // It is shown as what it is: a message from alice.
    await bob.waitNotification((n) => n.content.includes("yes, go ahead with lunch"));
    evil.rewrite = null;
    await bob.call("mesh_inbox");
  }, 30_000);

  test("after a rotation, a post seen under the old key and replayed is not shown again", async () => {
    await sendAndRead("before the rotation", "#general");
    const before = evil.handed.filter((h) => h.m.kind === "topic").at(-1)!.m;
    ok(await cli(alice, ["rekey"]));
    evil.rewrite = (m) => (m.kind === "topic" ? [newId(before), m] : [m]);
    const inbox = await sendAndRead("after the rotation", "#general");
    expect({ notified: notified("before the rotation"), inInbox: inbox.text.includes("before the rotation") }).toEqual({ notified: 1, inInbox: false });
    expect(inbox.text).not.toContain("failed verification");
  }, 30_000);
});
