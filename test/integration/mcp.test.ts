// claudemesh mcp with a real MCP client over stdio, against a real broker: two Claude Code
// sessions exchange DMs and topic posts; channel pushes carry string-only meta; a push is only a
// doorbell (the message stays pending until a tool or a hook shows it); nothing is lost across an
// MCP restart; ask/reply round trip and timeout.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { cli, ok, until } from "../helpers/cli.ts";
import { hookInput, runHook, startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";
import { connect } from "../helpers/mesh.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { sweepRound } from "../../src/broker/timers.ts";
import { shellCommand } from "../../src/config/command-line.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { MeshSession } from "../../src/client/mesh-session.ts";
import { requestKeys } from "../../src/client/key-request.ts";

const dir = () => tempDir("cm-mcp-");

/** alice owns a mesh, bob joined: two config dirs made by the real CLI. */
async function twoMembers(b: TestBroker) {
  const alice = dir();
  const bob = dir();
  expect((await cli(alice, ["new", "Team", "--broker", b.url, "--display-name", "alice"])).code).toBe(0);
  const link = (await cli(alice, ["invite", "--json"])).json().link;
  expect((await cli(bob, ["join", link, "--name", "bob"])).code).toBe(0);
  return { alice, bob };
}

/** alice's and bob's Claude Code sessions ("sess-alice-<n>", "sess-bob-<n>"), both connected;
 *  closed at the end of an `await using` scope. */
async function twoSessions(b: TestBroker, n: number) {
  const { alice, bob } = await twoMembers(b);
  const a = await startMcp(alice, `sess-alice-${n}`);
  const bb = await startMcp(bob, `sess-bob-${n}`);
  await bb.call("mesh_peers"); // in use, as a real session is from its SessionStart hook on
  await waitPeer(a, "bob/app");
  return { alice, bob, a, bb, [Symbol.asyncDispose]: () => Promise.all([a.close(), bb.close()]).then(() => {}) };
}

const hook = (configDir: string, event: string, sessionId: string) => runHook(configDir, event, hookInput(sessionId, event));

describe("claudemesh mcp", () => {
  test("two sessions exchange DMs and topic posts; pushes are framed, meta is strings only", async () => {
    await using b = await startBroker();
    const { alice, bob } = await twoMembers(b);
    await using a = await startMcp(alice, "sess-alice-1", "/work/projects/web");
    await using bb = await startMcp(bob, "sess-bob-1", "/work/projects/api");
    const caps = a.client.getServerCapabilities();
    expect(caps?.experimental).toEqual({ "claude/channel": {} });
    expect((await a.client.listTools()).tools.map((t) => t.name).sort()).toEqual(["mesh_ask", "mesh_inbox", "mesh_peers", "mesh_reply", "mesh_send", "mesh_status"]);
    // Wait until both sessions are connected (peers shows the other session).
    await waitPeer(a, "bob/api");

    expect((await a.call("mesh_send", { to: "bob", message: "what does /orders return?" })).isError).toBe(false);
    const n = await bb.waitNotification((x) => x.content.includes("/orders"));
    expect(n.content).toContain('Message from peer "alice/web"');
    expect(n.content).toContain("not from your user");
    expect(Object.values(n.meta).every((v) => typeof v === "string")).toBe(true);
    expect(Object.keys(n.meta).every((k) => /^[A-Za-z0-9_]+$/.test(k))).toBe(true);
    expect(n.meta).toMatchObject({ from_name: "alice/web", mesh: "team", priority: "next", topic: "", reply_to: "" });

    await a.call("mesh_send", { to: "#general", message: "main is green" });
    const t = await bb.waitNotification((x) => x.content.includes("main is green"));
    expect(t.meta.topic).toBe("general");

    const inbox = await bb.call("mesh_inbox");
    expect(inbox.text).toContain("what does /orders return?");
    expect(inbox.text).toContain("main is green");
    expect((await bb.call("mesh_inbox")).text).toBe("No new messages.");
    await a.close();
    await bb.close();
  }, 60_000);

  test("mesh_send takes as long a body as the CLI does, and refuses a longer one in bytes", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 7);
    const { a, bb } = sessions;
    const long = `${"x".repeat(44_990)}-the-end`;
    expect((await a.call("mesh_send", { to: "bob", message: long })).isError).toBe(false);
    expect((await bb.call("mesh_inbox")).text).toContain(long);
    const tooLong = await a.call("mesh_send", { to: "bob", message: "é".repeat(22_501) }); // 45,002 bytes in 22,501 characters
    expect(tooLong.isError).toBe(true);
    expect(tooLong.text).toContain("The message is 45002 bytes; the limit is 45000.");
    await a.close();
    await bb.close();
  }, 60_000);

  test("a push is a doorbell: unseen messages survive an MCP restart and are delivered by the next hook", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 2);
    const { bob, a, bb: first } = sessions;
    let bb = first;
    await a.call("mesh_send", { to: "bob", message: "rung but never read" });
    await bb.waitNotification((x) => x.content.includes("rung but never read"));
    await bb.close(); // Claude never called mesh_inbox: the message was not seen.
    await a.call("mesh_send", { to: "bob", message: "sent while bob was down" });
    bb = await startMcp(bob, "sess-bob-2"); // same Claude session id → same session key and mailbox
    await bb.waitNotification((x) => x.content.includes("sent while bob was down"));
    const h = await hook(bob, "user-prompt-submit", "sess-bob-2");
    expect(h.code).toBe(0);
    const ctx = h.out.hookSpecificOutput;
    expect(ctx.hookEventName).toBe("UserPromptSubmit");
    expect(ctx.additionalContext).toContain("rung but never read");
    expect(ctx.additionalContext).toContain("sent while bob was down");
    // The hook injected them, so they are seen: nothing left for the inbox tool.
    expect((await bb.call("mesh_inbox")).text).toBe("No new messages.");
    await a.close();
    await bb.close();
  }, 60_000);

  test("ask blocks until the peer replies; an unanswered ask times out and is reminded at Stop", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 3);
    const { bob, a, bb } = sessions;
    const asking = a.call("mesh_ask", { to: "bob", question: "is the migration done?", timeout_seconds: 20 });
    const q = await bb.waitNotification((x) => x.content.includes("migration"));
    expect(q.content).toContain("waiting for an answer");
    await bb.call("mesh_inbox");
    expect((await bb.call("mesh_reply", { message_id: q.meta.message_id, message: "yes, shipped at 14:02" })).isError).toBe(false);
    const answer = await asking;
    expect(answer.text).toContain("yes, shipped at 14:02");

    const unanswered = await a.call("mesh_ask", { to: "bob", question: "and the backfill?", timeout_seconds: 5 });
    expect(unanswered.text).toMatch(/No reply from "bob" \([0-9a-f]{12}\) within 5 s/);
    await bb.waitNotification((x) => x.content.includes("backfill"));
    await bb.call("mesh_inbox");
    const stop = await hook(bob, "stop", "sess-bob-3");
    expect(stop.out.hookSpecificOutput.additionalContext).toContain("Unanswered questions from peers");
    expect(stop.out.hookSpecificOutput.additionalContext).toContain("and the backfill?");
    await a.close();
    await bb.close();
  }, 60_000);

  test("the asyncRewake hook wakes an idle session when a message arrives; SessionStart summarises peers", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 5);
    const { bob, a, bb } = sessions;
    const start = await hook(bob, "session-start", "sess-bob-5");
    expect(start.out.hookSpecificOutput.additionalContext).toContain("alice/app");
    const waiting = hook(bob, "wait", "sess-bob-5");
    await Bun.sleep(300);
    await a.call("mesh_send", { to: "bob", message: "wake up, CI is red" });
    const w = await waiting;
    expect(w.code).toBe(2);
    expect(w.stderr).toContain("wake up, CI is red");
    expect((await bb.call("mesh_inbox")).text).toBe("No new messages.");
    await a.close();
    await bb.close();
  }, 60_000);

  test("a 20,000-character message: push and hook show a marked preview, mesh_inbox returns it whole", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 7);
    const { bob, a, bb } = sessions;
    const body = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, "0")} of the report.`).join("\n").padEnd(20_000, "=").slice(0, 19_991) + "\nTHE END.";
    expect(body.length).toBe(20_000);
    expect((await a.call("mesh_send", { to: "bob", message: body })).isError).toBe(false);

    const n = await bb.waitNotification((x) => x.content.includes("line 0000 of the report"));
    // 3,702 of its characters: 4,000 as shown, with "> " before each of its lines.
    expect(n.content).toContain("Only the first 3702 of 20000 characters are shown here. The message stays unread: call mesh_inbox to read it whole.");
    expect(n.content).not.toContain("THE END.");
    // A hook shows the same preview once, and leaves the message unread for the tool.
    const first = await hook(bob, "user-prompt-submit", "sess-bob-7");
    expect(first.out.hookSpecificOutput.additionalContext).toContain("call mesh_inbox to read it whole");
    expect(first.out.hookSpecificOutput.additionalContext).not.toContain("THE END.");
    expect((await hook(bob, "user-prompt-submit", "sess-bob-7")).out).toEqual({});

    const inbox = await bb.call("mesh_inbox");
    expect({ isError: inbox.isError, whole: inbox.text.includes(`\n${body.replace(/^/gm, "> ")}\nReply with mesh_reply`) }).toEqual({ isError: false, whole: true });
    expect((await bb.call("mesh_inbox")).text).toBe("No new messages.");
    await a.close();
    await bb.close();
  }, 60_000);

  test("a cancelled mesh_ask stops waiting: the later reply is pushed and stays pending until mesh_inbox shows it", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 10);
    const { a, bb } = sessions;
    // The user presses Esc: Claude Code cancels the tool call (notifications/cancelled).
    const ac = new AbortController();
    const asking = a.client.callTool({ name: "mesh_ask", arguments: { to: "bob", question: "cancelled question?", timeout_seconds: 60 } }, undefined, { signal: ac.signal }).catch((e: Error) => e);
    const q = await bb.waitNotification((x) => x.content.includes("cancelled question?"));
    ac.abort();
    expect(await asking).toBeInstanceOf(Error);
    await bb.call("mesh_inbox");
    expect((await bb.call("mesh_reply", { message_id: q.meta.message_id, message: "THE ANSWER 42" })).isError).toBe(false);
    const pushed = await a.waitNotification((x) => x.content.includes("THE ANSWER 42"));
    expect(pushed.meta.reply_to).toBe(q.meta.message_id);
    // Pending like any message: mesh_inbox shows it, once.
    const inbox = await a.call("mesh_inbox");
    expect(inbox.text).toContain("THE ANSWER 42");
    expect((await a.call("mesh_inbox")).text).toBe("No new messages.");
    await a.close();
    await bb.close();
  }, 60_000);

  test("several meshes, one broker down: mesh_peers lists the others and mesh_status applies to them, naming the one skipped", async () => {
    await using b1 = await startBroker();
    await using b2 = await startBroker();
    const alice = dir();
    expect((await cli(alice, ["new", "Team", "--broker", b1.url, "--display-name", "alice"])).code).toBe(0);
    expect((await cli(alice, ["new", "Ops", "--broker", b2.url, "--display-name", "alice"])).code).toBe(0);
    await using a = await startMcp(alice, "sess-alice-11");
    await waitConnected(a);
    await b2.stop();
    let peers = await a.call("mesh_peers");
    await until(async () => (peers = await a.call("mesh_peers")).text.includes("Mesh ops: not listed"), "mesh ops listed as down");
    expect(peers.isError).toBe(false);
    expect(peers.text).toContain("Mesh ops: not listed — unavailable: Not connected to mesh ops right now");
    expect(peers.text).toMatch(/Mesh team:\n[^]*"alice\/app" \(you\): idle/);

    const status = await a.call("mesh_status", { status: "dnd" });
    expect(status.isError).toBe(false);
    expect(status.text).toContain("Updated status: dnd on team.");
    expect(status.text).toContain("Not applied on:\n- ops: unavailable");
    expect((await a.call("mesh_peers", { mesh: "team" })).text).toContain('"alice/app" (you): dnd');
    // Only the down mesh asked for: an error, as before.
    expect(await a.call("mesh_peers", { mesh: "ops" })).toMatchObject({ isError: true, text: expect.stringContaining("Mesh ops: not listed") });
    await a.close();
  }, 60_000);

  test("an ask answered with mesh_send reply_to is closed like one answered with mesh_reply: no Stop reminder", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 12);
    const { bob, a, bb } = sessions;
    const asking = a.call("mesh_ask", { to: "bob", question: "which branch?", timeout_seconds: 20 });
    const q = await bb.waitNotification((x) => x.content.includes("which branch?"));
    await bb.call("mesh_inbox");
    expect((await bb.call("mesh_send", { to: "alice", message: "main", reply_to: q.meta.message_id })).isError).toBe(false);
    expect((await asking).text).toContain("main");
    // Unanswered, it would be reminded at this Stop (the ask test above).
    expect(JSON.stringify((await hook(bob, "stop", "sess-bob-12")).out)).not.toContain("which branch?");
    await a.close();
    await bb.close();
  }, 60_000);

  test("tool errors are isError results with what to do", async () => {
    await using b = await startBroker();
    const { alice } = await twoMembers(b);
    await using a = await startMcp(alice, "sess-alice-4");
    await waitConnected(a);
    const r = await a.call("mesh_send", { to: "nobody-here", message: "x" });
    expect(r).toMatchObject({ isError: true });
    expect(r.text).toContain("mesh_peers");
    const bad = await a.call("mesh_reply", { message_id: "never-seen-1", message: "x" });
    expect(bad.isError).toBe(true);
    await a.close();
  }, 60_000);

  test("a broker notice naming an open question is not its answer; the ask keeps waiting for the peer", async () => {
    await using b = await startBroker({ messageTtl: 1500 });
    await using sessions = await twoSessions(b, 10);
    const { a, bb } = sessions;
    const asking = a.call("mesh_ask", { to: "bob", question: "are you there?", timeout_seconds: 5 });
    await bb.waitNotification((x) => x.content.includes("are you there?")); // queued for bob, unread
    // Past its TTL on the broker's clock: it expires in bob's queue, and its expiry notice
    // (replyTo: the question) goes to alice.
    const clock = b.ctx as { now: () => number };
    const realNow = clock.now;
    clock.now = () => realNow() + 2500;
    await sweepRound(b.ctx);
    const r = await asking;
    expect(r.text).toStartWith('No reply from "bob"');
    expect((await a.call("mesh_inbox")).text).toContain("Notice from the claudemesh broker");
    await a.close();
  }, 60_000);

  test("the owner's MCP server survives a key request it cannot answer (the member list fails)", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 11);
    const { bob, a } = sessions;
    // Both reads that can check a sender fail: the whole member list, and the sender's own rows
    // (member_lookup, which a client asks first since session 35).
    const failing = async () => {
      throw new Error("db says no");
    };
    Object.assign(b.ctx.store, { listAdmissions: failing, getAdmission: failing });
    const m = loadConfig(bob).meshes[0]!;
    const peer = await connect(b.url, { meshId: m.meshId, memberId: m.memberId, keys: { publicKey: m.publicKey, secretKey: m.secretKey }, displayName: "bob", role: "member" });
    await requestKeys(new MeshSession({ meshId: m.meshId, publicKey: m.publicKey, secretKey: m.secretKey, memberPubkey: m.publicKey, memberSecretKey: m.secretKey, ownerPubkey: m.ownerPubkey }, m.meshKeys), peer.client);
    // The request is a DM from a member key alice's server has not checked yet: reading the member
    // list to check it fails first (before session 31 it was answering the request that failed).
    await until(() => a.stderr().includes("member list not read"), "alice's server to fail reading the member list for the key request");
    expect((await a.call("mesh_status", { summary: "still here" })).isError).toBe(false);
    peer.close();
    await a.close();
  }, 60_000);

  test("after `claudemesh rekey` in a terminal, the owner's running session posts under the new key and hands it out", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 12);
    const { alice, a, bb } = sessions;
    ok(await cli(alice, ["rekey"]));
    await Bun.sleep(300); // key_rotated reaches both servers
    const post = await a.call("mesh_send", { to: "#general", message: "sealed with epoch 1" });
    expect(post).toMatchObject({ isError: false });
    // bob's session reads it once bob's keys message (from the rekey) is in.
    await bb.waitNotification((x) => x.content.includes("sealed with epoch 1"));
    expect(loadConfig(alice).meshes[0]!.meshKeys.map((k) => k.epoch)).toEqual([0, 1]);
    await a.close();
    await bb.close();
  }, 60_000);

  test("a send without confirmation names its client_message_id; retrying with it never delivers twice", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 9);
    const { a, bb } = sessions;
    const writes = b.ctx.writes;
    const send = writes.send.bind(writes);
    writes.send = () => Promise.reject(new Error("the disk caught fire")); // answered `internal`
    const failed = await a.call("mesh_send", { to: "bob", message: "deploy is done" });
    writes.send = send;
    expect(failed.isError).toBe(true);
    const id = /client_message_id "([A-Za-z0-9_-]+)"/.exec(failed.text)?.[1];
    expect(id).toBeDefined();
    const first = await a.call("mesh_send", { to: "bob", message: "deploy is done", client_message_id: id });
    const again = await a.call("mesh_send", { to: "bob", message: "deploy is done", client_message_id: id });
    expect([first.isError, again.isError]).toEqual([false, false]);
    const messageId = (t: string) => /message id ([A-Za-z0-9_-]+)/.exec(t)?.[1];
    expect(messageId(again.text)).toBe(messageId(first.text)!);
    await bb.waitNotification((x) => x.content.includes("deploy is done"));
    // A later message arrives after any duplicate would have (a sender's messages come in order).
    await a.call("mesh_send", { to: "bob", message: "and the logs are clean" });
    await bb.waitNotification((x) => x.content.includes("logs are clean"));
    expect((await bb.call("mesh_inbox")).text.split("deploy is done").length - 1).toBe(1);
    expect((await a.call("mesh_send", { to: "bob", message: "x", client_message_id: "bad id!" })).isError).toBe(true);
    await a.close();
    await bb.close();
  }, 60_000);
});

const fixture = (event: string, sessionId: string) => readFileSync(join(import.meta.dir, "../fixtures/hooks", `${event}.json`), "utf8").replaceAll("SESSION", sessionId);

describe("hooks fed recorded Claude Code hook JSON", () => {
  test("with the broker down, hooks still answer within budget and deliver what the MCP server holds", async () => {
    await using b = await startBroker();
    await using sessions = await twoSessions(b, 6);
    const { bob, a, bb } = sessions;
    await a.call("mesh_send", { to: "bob", message: "held while the broker goes away" });
    await bb.waitNotification((x) => x.content.includes("held while"));
    await b.stop();
    for (const event of ["session-start", "user-prompt-submit", "stop", "session-end"]) {
      const h = await runHook(bob, event, fixture(event, "sess-bob-6"));
      expect({ event, code: h.code, valid: typeof h.out === "object" }).toEqual({ event, code: 0, valid: true });
      expect(h.ms).toBeLessThan(4000);
      if (event === "user-prompt-submit") expect(h.out.hookSpecificOutput.additionalContext).toContain("held while the broker goes away");
    }
    await a.close();
    await bb.close();
  }, 60_000);
});

describe("hooks without a running MCP server or broker", () => {
  test("every event prints valid output quickly and exits 0", async () => {
    const cfg = dir();
    for (const event of ["session-start", "user-prompt-submit", "stop", "session-end"]) {
      const h = await hook(cfg, event, "no-such-session");
      expect({ event, code: h.code, out: h.out }).toEqual({ event, code: 0, out: {} });
      expect(h.ms).toBeLessThan(5000);
    }
    const w = await hook(cfg, "wait", "no-such-session");
    expect(w.code).toBe(0);
  }, 60_000);
});

describe("mcp server start-up", () => {
  test("a config dir too long for the hooks' socket: the server still serves MCP and says why hooks cannot reach it", async () => {
    const cfg = join(dir(), "a-config-directory-path-long-enough-that-its-socket-address".repeat(2));
    mkdirSync(cfg, { recursive: true, mode: 0o700 });
    writeFileSync(join(cfg, "config.json"), JSON.stringify({ version: 1, meshes: [] }), { mode: 0o600 });
    await using s = await startMcp(cfg, "sess-long-dir");
    expect((await s.client.listTools()).tools.length).toBeGreaterThan(0);
    await until(() => s.stderr().includes("cannot listen on its socket"), "the socket warning");
    expect(s.stderr()).toContain("hooks cannot reach this server: it cannot listen on its socket");
    await s.close();
  }, 30_000);

  // util-linux script(1) gives the server a terminal for stdin. Run by hand it printed nothing and
  // seemed to hang; now one line on stderr says what it is for, and stdout stays empty.
  const utilLinuxScript = process.platform === "linux" && Bun.spawnSync(["script", "--version"]).stdout?.toString().includes("util-linux");
  test.skipIf(!utilLinuxScript)("run by hand in a terminal: one line on stderr says it is for Claude Code and how to quit; Ctrl-C quits", async () => {
    const cfg = dir();
    const [out, err] = [join(cfg, "stdout"), join(cfg, "stderr")];
    const command = `${shellCommand([process.execPath, "run", join(import.meta.dir, "../../src/main.ts"), "mcp"])} >${shellCommand([out])} 2>${shellCommand([err])}`;
    const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], { env: { ...process.env, CLAUDEMESH_CONFIG_DIR: join(cfg, "config") }, stdin: "pipe", stdout: "ignore", stderr: "ignore" });
    const stderr = () => (existsSync(err) ? readFileSync(err, "utf8") : "");
    try {
      await until(() => stderr().includes("\n"), "the note on stderr");
      expect(stderr().split("\n")[0]).toBe("claudemesh mcp speaks MCP over stdio for Claude Code, not to a person: run claudemesh install to set Claude Code up. Ctrl-C to quit.");
      proc.stdin.write("\x03"); // through the terminal: SIGINT
      proc.stdin.flush();
      // 0 once its shutdown handler is installed (server.ts), 130 (the signal) if it came before.
      expect([0, 130]).toContain(await proc.exited);
      expect(readFileSync(out, "utf8")).toBe("");
    } finally {
      proc.kill(); // script hangs up the server with it
    }
  }, 30_000);

  // It no longer stops (mcp-unusable-config.test.ts): Claude learns why from its tools.
  test("a config others can read: its reason and fix are logged on stderr, nothing on stdout, no stack trace", async () => {
    const cfg = dir();
    writeFileSync(join(cfg, "config.json"), JSON.stringify({ meshes: [] }), { mode: 0o644 });
    chmodSync(join(cfg, "config.json"), 0o644);
    const proc = Bun.spawn([process.execPath, "run", join(import.meta.dir, "../../src/main.ts"), "mcp"], { env: { ...process.env, CLAUDEMESH_CONFIG_DIR: cfg }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(0); // stdin was closed at once, as a client going away
    expect(stdout).toBe("");
    expect(JSON.parse(stderr.split("\n")[0]!)).toMatchObject({ level: "warn", msg: "mcp server started on no mesh", problem: expect.stringContaining("Fix: chmod 600") });
    expect(stderr).not.toContain("    at ");
  }, 30_000);
});
