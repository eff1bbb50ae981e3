// A question pushed over the channel says "reply with mesh_reply (message_id …)": the model may do
// just that, without calling mesh_inbox first, and the answer goes at priority `now` (the asker is
// blocked in mesh_ask during its turn). The push does not make the message read: mesh_inbox still
// shows it. A message that only the "more are waiting" notice stood for was not pushed, and
// mesh_reply still refuses it until mesh_inbox shows it. A person at a terminal answers a
// session's mesh_ask too: `inbox` (and `inbox --follow`) marks the question and prints the
// command that answers it, and `claudemesh reply <id> <text>` sends the reply the ask waits for
// (replyTo in the inner payload and the send frame, docs/protocol.md §11.1).
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliStream, cliTeam, ok, until } from "../helpers/cli.ts";
import { runHook, startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";
import { DOORBELL_NOTICE, DOORBELL_NOTIFICATIONS_PER_MINUTE } from "../../src/mcp/doorbell.ts";

test("mesh_reply and mesh_send reply_to answer a question pushed over the channel, at priority now", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  await using a = await startMcp(alice, "sess-alice-chreply");
  await using bb = await startMcp(bob, "sess-bob-chreply");
  await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
  // Bob's turn starts: his session is `working`, so a `next` answer would be held until it ends.
  const hook = (event: string, input: Record<string, unknown>) => runHook(bob, event, JSON.stringify({ session_id: "sess-bob-chreply", cwd: "/work/projects/app", ...input }));
  expect((await hook("user-prompt-submit", { hook_event_name: "UserPromptSubmit", prompt: "go" })).code).toBe(0);
  await until(async () => /bob\/app"?: working/.test((await a.call("mesh_peers")).text), "bob working");

  for (const [i, answer] of [
    [1, (id: string) => a.call("mesh_reply", { message_id: id, message: "yes-1, shipped" })],
    [2, (id: string) => a.call("mesh_send", { to: "bob/app", reply_to: id, message: "yes-2, shipped" })],
  ] as const) {
    const asking = bb.call("mesh_ask", { to: "alice/app", question: `migration ${i} done?`, timeout_seconds: 8 });
    const q = await a.waitNotification((n) => n.content.includes(`migration ${i} done?`));
    expect(q.content).toContain(`reply with mesh_reply (message_id "${q.meta.message_id}")`);
    // Straight from the push, as it says: no mesh_inbox in between.
    const t0 = Date.now();
    expect(await answer(String(q.meta.message_id))).toMatchObject({ isError: false });
    const r = await asking;
    expect(r.text).toContain(`yes-${i}, shipped`);
    expect(r.text).toContain("priority now");
    expect(Date.now() - t0).toBeLessThan(3000);
  }
  // Pushed is not read: both questions are still unread.
  const inbox = (await a.call("mesh_inbox")).text;
  expect([inbox.includes("migration 1 done?"), inbox.includes("migration 2 done?")]).toEqual([true, true]);
}, 60_000);

test("a message the doorbell did not push (only the notice) is not answerable until mesh_inbox shows it", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice] = team.dirs;
  await using a = await startMcp(alice, "sess-alice-chnotice");
  await using bb = await startMcp(team.dirs[1], "sess-bob-chnotice");
  await Promise.all([waitPeer(a, "bob/app"), waitPeer(bb, "alice/app")]);
  // The burst is spent on these; the next one gets only the notice.
  for (let i = 0; i < DOORBELL_NOTIFICATIONS_PER_MINUTE; i++) expect((await bb.call("mesh_send", { to: "alice/app", message: `filler ${i}`, priority: "now" })).isError).toBe(false);
  const sent = await bb.call("mesh_send", { to: "alice/app", message: "past the limit", priority: "now" });
  const id = /message id ([^,)]+)/.exec(sent.text)?.[1];
  expect(id).toBeDefined();
  await a.waitNotification((n) => n.content === DOORBELL_NOTICE);
  expect(a.notifications.some((n) => n.meta.message_id === id)).toBe(false);
  // Only the notice stood for it: the model has not seen it.
  expect(await a.call("mesh_reply", { message_id: id!, message: "too early" })).toEqual({ isError: true, text: expect.stringMatching(new RegExp(`^not_found: No message ${id} was shown in this session`)) });
  // Shown by mesh_inbox now: answerable.
  expect((await a.call("mesh_inbox", { limit: 50 })).text).toContain("past the limit");
  expect(await a.call("mesh_reply", { message_id: id!, message: "seen it" })).toMatchObject({ isError: false });
}, 60_000);

test("a person at a terminal answers a session's mesh_ask: inbox marks the question with the command, claudemesh reply ends the ask", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  await using a = await startMcp(alice, "sess-alice-terminal");
  await waitConnected(a);
  const question = (q: string) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d "alice/app" \\([0-9a-f]{12}\\) \\[question\\]: ${q}$`);
  const hint = /^ {2}answer with: claudemesh reply ([A-Za-z0-9_-]{8,64}) <your answer>$/;

  // inbox --follow shows the question as one, with the command that answers it.
  await using follower = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follower.stderr().includes("Following"), "the follower to start");
  const first = a.call("mesh_ask", { to: "bob", question: "what port?", timeout_seconds: 30 });
  const [line, under] = await follower.lines(2, 20_000);
  expect([line, under]).toEqual([expect.stringMatching(question("what port\\?")), expect.stringMatching(hint)]);
  // Answered from another terminal, the follower still running, once it logged what it showed
  // (reply finds the sender there; the line is written first).
  const firstId = hint.exec(under!)![1]!;
  const log = join(bob, "messages", `${team.mesh.meshId}.jsonl`);
  await until(() => existsSync(log) && readFileSync(log, "utf8").includes(firstId), "the follower to log the question");
  const replied = ok(await cli(bob, ["reply", firstId, "8080"]));
  expect(replied.stdout).toMatch(/^Replied to "alice\/app" \([0-9a-f]{12}\)\. id [A-Za-z0-9_-]+\n$/);
  // The ask got it, at priority now (the asker is working while it waits).
  const answered = await first;
  expect(answered.isError).toBe(false);
  expect(answered.text).toContain("8080");
  expect(answered.text).toContain("priority now");
  await follower[Symbol.asyncDispose]();

  // The one-shot inbox marks it too; the reply may come on stdin, and --json says what it answered.
  const second = a.call("mesh_ask", { to: "bob", question: "which branch?", timeout_seconds: 30 });
  let shown = "";
  await until(async () => (shown += ok(await cli(bob, ["inbox"])).stdout).includes("which branch?"), "the second question in bob's inbox", 20_000);
  const lines = shown.trimEnd().split("\n");
  expect(lines).toEqual([expect.stringMatching(question("which branch\\?")), expect.stringMatching(hint)]);
  const id = hint.exec(lines[1]!)![1]!;
  const json = ok(await cli(bob, ["reply", id, "-", "--json"], { stdin: "main\n" })).json();
  expect(json).toMatchObject({ name: "alice/app", replyTo: id, duplicate: false });
  expect((await second).text).toContain("main");
  // An id nobody read here is refused, naming what to do; nothing is sent.
  const unknown = await cli(bob, ["reply", "NoSuchMessage1", "x"]);
  expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 4, stderr: 'claudemesh: No message NoSuchMessage1 among those you read on this machine. Read it first with `claudemesh inbox` (its id is in the "answer with" line under a question, and in --json), then reply.\n' });
}, 90_000);
