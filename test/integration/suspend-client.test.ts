// A laptop closed with Claude Code running: its `claudemesh mcp` server and its `inbox --follow`
// are stopped (SIGSTOP) for longer than the broker's liveness reap and presence grace, while a peer
// sends the sleeping member direct messages (to the session and to the member), topic posts and
// broadcasts; then continued (SIGCONT). The broker is a real process (`serve`) at a short ping
// interval and grace; the CLI and the MCP server are real processes too. Loopback keeps the
// broker's close in the stopped process's socket; the second test loses it on the way (a proxy
// standing for a NAT that forgot the flow), as a sleeping laptop's network does, and stops the
// session with a message read but not yet acked and one pushed but not yet read. The third runs
// at a default broker (30 s pings), which has not noticed anything when the session wakes.
import { expect, test } from "bun:test";
import { tempDir } from "../helpers/temp-dir.ts";
import { cli, cliMesh, cliStream, identities, ok, until, useBroker } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { startBroker } from "../helpers/broker.ts";
import { WAKE_CHECK_MS, WAKE_GAP_MS, WAKE_PONG_TIMEOUT_MS } from "../../src/client/wake.ts";
import { spawnBroker } from "../helpers/process.ts";
import { hookInput, runHook, startMcp, waitPeer } from "../helpers/mcp.ts";

const PING_MS = 500;
const GRACE_MS = 1500;

type Peer = { displayName: string; online: boolean; status: string; summary?: string; kind: string };
const peersOf = async (dir: string) => ok(await cli(dir, ["peers", "--json"])).json().peers as Peer[];
const count = (text: string, s: string) => text.split(s).length - 1;

test("a laptop asleep past the reap and the grace: back within seconds, each message shown once, one entry per peer, status and summary kept", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  await using broker = await spawnBroker(tempDir("cm-suspend-"), ["--ping-interval", `${PING_MS}ms`, "--presence-grace", `${GRACE_MS}ms`]);
  await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
  await using mcp = await startMcp(alice, "sess-alice-lid");
  await using follow = cliStream(alice, ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "alice's inbox --follow to connect");
  await waitPeer(mcp, "bob");
  // Mid-turn as the lid closes: the prompt's hook said working, the model set its summary.
  expect((await runHook(alice, "user-prompt-submit", hookInput("sess-alice-lid", "UserPromptSubmit"))).code).toBe(0);
  expect((await mcp.call("mesh_status", { summary: "fixing the flaky build" })).isError).toBe(false);
  await until(async () => (await peersOf(bob)).some((p) => p.displayName === "alice/app" && p.status === "working"), "alice's session working in bob's peers");
  const before = await peersOf(bob);

  // The lid closes. Bob writes to the session, to alice, to a topic and to everyone: while the
  // broker still counts her connection, and after her presence ended (peer_left).
  for (const pid of [mcp.pid, follow.proc.pid]) process.kill(pid, "SIGSTOP");
  const all: string[] = [];
  const writeAll = async (round: number) => {
    const kinds: [what: string, args: (text: string) => string[]][] = [
      ["dm to the session", (t) => ["send", "alice/app", t]],
      ["dm to the member", (t) => ["send", "alice", t]],
      ["topic post", (t) => ["topic", "post", "general", t]],
      ["broadcast", (t) => ["send", "*", t]],
    ];
    for (const [what, args] of kinds) {
      all.push(`${what} ${round}`);
      ok(await cli(bob, args(`${what} ${round}`)));
    }
  };
  await writeAll(1);
  await until(async () => !(await peersOf(bob)).some((p) => p.displayName === "alice/app" && p.online), "the sleeping session offline in bob's peers", 10_000);
  await Bun.sleep(GRACE_MS + 2 * PING_MS); // past the grace too: the presence is over
  await writeAll(2);

  // The lid opens.
  for (const pid of [mcp.pid, follow.proc.pid]) process.kill(pid, "SIGCONT");
  const woke = performance.now();
  const toSession = all;
  const toMember = all.filter((t) => !t.includes("to the session"));
  await until(() => toMember.every((t) => follow.stdout().includes(t)), "alice's follower to show what was sent while asleep", 15_000);
  const followerMs = performance.now() - woke;
  await until(async () => (await peersOf(bob)).some((p) => p.displayName === "alice/app" && p.online), "alice's session online again in bob's peers", 15_000);
  const presenceMs = performance.now() - woke;
  let shown = "";
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), toSession.every((t) => shown.includes(`> ${t}\n`))), "alice's session to read what was sent while asleep", 15_000);
  const sessionMs = performance.now() - woke;
  console.log(`woke: follower showed all after ${Math.round(followerMs)} ms, session online in peers after ${Math.round(presenceMs)} ms, session read all after ${Math.round(sessionMs)} ms`);

  // Once a marker sent now is here, everything before it is (one mailbox, in order): nothing twice.
  ok(await cli(bob, ["send", "alice/app", "marker"]));
  ok(await cli(bob, ["send", "alice", "member marker"]));
  await until(() => follow.stdout().includes("member marker"), "the follower's marker");
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> marker\n")), "the session's marker");
  expect(toSession.map((t) => [t, count(shown, `> ${t}\n`)])).toEqual(toSession.map((t) => [t, 1]));
  const pushed = mcp.notifications.map((n) => n.content).join("\n---\n");
  expect(toSession.map((t) => [t, count(pushed, t) <= 1])).toEqual(toSession.map((t) => [t, true]));
  expect(toMember.map((t) => [t, count(follow.stdout(), t)])).toEqual(toMember.map((t) => [t, 1]));

  // One entry per peer, as before the sleep, with the status and summary the session had (its
  // working is said again as it connects: waited for, since the reconnect does not wait for it).
  const shape = (ps: Peer[]) => ps.map((p) => ({ name: p.displayName, kind: p.kind, online: p.online, status: p.status, summary: p.summary ?? null })).sort((a, b) => a.name.localeCompare(b.name));
  let after = shape(await peersOf(bob));
  await until(async () => ((after = shape(await peersOf(bob))), JSON.stringify(after) === JSON.stringify(shape(before))), "the peer list as before the sleep", 5_000).catch(() => {});
  expect(after).toEqual(shape(before));
}, 60_000);

test("a session asleep behind a link that lost the broker's close: left within seconds of waking; what it was pushed but had not read, and what it had read but not acked, come back right", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  await using broker = await spawnBroker(tempDir("cm-suspend-"), ["--ping-interval", `${PING_MS}ms`, "--presence-grace", `${GRACE_MS}ms`]);
  const { members } = await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
  // The laptop reaches the broker through a NAT: asleep, the flow is forgotten and the broker's
  // close never arrives.
  using nat = linkProxy(Number(new URL(broker.url).port));
  useBroker(alice, nat.url);
  await using mcp = await startMcp(alice, "sess-alice-nat", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitPeer(mcp, "bob");
  const opens = () => count(mcp.stderr(), '"state":"open"');
  const sessionKey = (await peersOf(bob)).find((p) => p.displayName === "alice/app")!;

  ok(await cli(bob, ["send", "alice/app", "read just before the lid closed"]));
  await mcp.waitNotification((n) => n.content.includes("read just before the lid closed"));
  expect((await mcp.call("mesh_inbox")).text).toContain("> read just before the lid closed\n");
  ok(await cli(bob, ["send", "alice/app", "pushed but not read before the lid closed"]));
  await mcp.waitNotification((n) => n.content.includes("pushed but not read"));

  // At once: the read's ack (sent once its replay memory is saved) has not gone out.
  process.kill(mcp.pid, "SIGSTOP");
  nat.forget();
  const opensBefore = opens();
  ok(await cli(bob, ["send", "alice/app", "sent while asleep"]));
  await until(async () => !(await peersOf(bob)).some((p) => p.displayName === "alice/app" && p.online), "the sleeping session offline in bob's peers", 10_000);
  await Bun.sleep(GRACE_MS + 2 * PING_MS); // past the grace: the presence is over

  process.kill(mcp.pid, "SIGCONT"); // the network is back as the lid opens; the old flow stays dead
  const woke = performance.now();
  await until(() => opens() > opensBefore, "the session to reconnect", WAKE_CHECK_MS + WAKE_PONG_TIMEOUT_MS + 5_000);
  const backMs = performance.now() - woke;
  let shown = "";
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> sent while asleep\n")), "the session to read what came while it slept");
  console.log(`woke behind a dead flow: reconnected after ${Math.round(backMs)} ms`);
  ok(await cli(bob, ["send", "alice/app", "marker"]));
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> marker\n")), "the session's marker");
  expect(["read just before the lid closed", "pushed but not read before the lid closed", "sent while asleep", "marker"].map((t) => count(shown, `> ${t}\n`))).toEqual([0, 1, 1, 1]);
  // The same peer, under the same key: no second entry for the session.
  const after = (await peersOf(bob)).filter((p) => p.displayName.startsWith("alice"));
  expect(after.map((p) => [p.displayName, (p as unknown as { pubkey: string }).pubkey, p.online])).toEqual([
    ["alice", members.alice!.pubkey, false],
    ["alice/app", (sessionKey as unknown as { pubkey: string }).pubkey, true],
  ]);
}, 60_000);

test("at a default broker, a session whose flow was forgotten while it slept is back within the wake's bound, and gets what was sent meanwhile once", async () => {
  // The broker pings every 30 s and has not reaped the link yet: only the client's wake can tell
  // it that its flow is gone (its silence timer did not count the time stopped past its own 40 s).
  await using b = await startBroker();
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
  using nat = linkProxy(b.port);
  useBroker(alice, nat.url);
  await using mcp = await startMcp(alice, "sess-alice-default", undefined, undefined, { CLAUDEMESH_DEBUG: "1" });
  await waitPeer(mcp, "bob");
  const opens = () => count(mcp.stderr(), '"state":"open"');
  const opensBefore = opens();
  process.kill(mcp.pid, "SIGSTOP");
  nat.forget();
  ok(await cli(bob, ["send", "alice/app", "sent while asleep"]));
  await Bun.sleep(WAKE_CHECK_MS + WAKE_GAP_MS); // stopped long enough to count as a wake
  process.kill(mcp.pid, "SIGCONT");
  const woke = performance.now();
  // The overdue check runs at once, the probe gets WAKE_PONG_TIMEOUT_MS, a first reconnect waits
  // 0.5-1 s; then slack for a loaded host. (On a Linux suspend the check comes up to 2 s later.)
  await until(() => opens() > opensBefore, "the session to reconnect", WAKE_PONG_TIMEOUT_MS + 1_000 + 3_000);
  console.log(`woke at a default broker behind a forgotten flow: reconnected after ${Math.round(performance.now() - woke)} ms`);
  let shown = "";
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> sent while asleep\n")), "the message sent while asleep");
  ok(await cli(bob, ["send", "alice/app", "marker"]));
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> marker\n")), "the session's marker");
  expect(["sent while asleep", "marker"].map((t) => count(shown, `> ${t}\n`))).toEqual([1, 1]);
}, 60_000);
