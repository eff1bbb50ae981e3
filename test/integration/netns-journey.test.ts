// The user journey across real machines, and the faults a loopback link never shows (docs/protocol.md
// §2.7 presence and grace, §2.8 liveness, §10 reconnect and "Pongs and liveness"): a broker on a
// "vps" network namespace bound to its own address, two "laptops" with their own config dirs, the
// real CLI and a real MCP server over stdio on them (test/helpers/netns.ts). Faults are real: a
// laptop's link goes down (packets vanish, no FIN, no RST), a path drops the broker's answers
// (`tc` pfifo of length 0), the broker is killed with SIGKILL, a client is suspended with SIGSTOP.
// Timeouts are shortened through the broker's settings only (pingInterval 1 s, presenceGrace 3 s);
// the clients take theirs from the broker's hello_ack. Needs root and iproute2
// (scripts/test-tools.sh). No delay or loss: `tc netem` was not available (docs/decisions.md,
// Session 28).
import { expect, test } from "bun:test";
import { netLab, type Laptop, type NetLab } from "../helpers/netns.ts";
import { serveProcess, type ServeProcess } from "../helpers/process.ts";
import { cli, cliStream, ok } from "../helpers/cli.ts";
import { startMcp, waitConnected, type McpSession } from "../helpers/mcp.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/until.ts";

const PING_MS = 1000;
const GRACE = "3s";
const LISTENING = /"msg":"broker listening","url":"([^"]+)"/;

/** `claudemesh serve` on the vps, bound to its address (not 127.0.0.1). */
function serveOn(lab: NetLab, dataDir: string, port = "0"): ServeProcess {
  const args = ["--host", lab.vps.ip, "--port", port, "--data-dir", dataDir, "--ping-interval", `${PING_MS}ms`, "--presence-grace", GRACE];
  return serveProcess(args, { command: lab.vps.claudemesh, env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
}

/** alice on laptop 0 creates a mesh, invites, and bob on laptop 1 joins with the link on stdin. */
async function team(lab: NetLab, url: string) {
  const [lapA, lapB] = lab.laptops as [Laptop, Laptop];
  const alice = tempDir("cm-alice-");
  const bob = tempDir("cm-bob-");
  const onA = { command: lapA.claudemesh };
  const onB = { command: lapB.claudemesh };
  ok(await cli(alice, ["new", "Shop team", "--broker", url, "--display-name", "alice"], onA), "new");
  const { link } = ok(await cli(alice, ["invite", "--json"], onA), "invite").json();
  ok(await cli(bob, ["join", "-", "--display-name", "bob"], { ...onB, stdin: `${link}\n` }), "join");
  /** Online peers as alice's CLI sees them. */
  const online = async (dir = alice, on = onA) => (ok(await cli(dir, ["peers", "--json"], on)).json().peers as { displayName: string; online: boolean }[]).filter((p) => p.online).map((p) => p.displayName);
  return { lapA, lapB, alice, bob, onA, onB, online };
}

/** How many times `marker` occurs in `text`. */
const count = (text: string, marker: string) => text.split(marker).length - 1;

test("journey: invite, join, DMs, a topic, inbox --follow and MCP pushes; a laptop's link dies silently and comes back", async () => {
  await using lab = netLab(2);
  await using serve = serveOn(lab, tempDir("cm-vps-"));
  const [, url] = await serve.waitFor(LISTENING);
  expect(url).toStartWith(`http://${lab.vps.ip}:`);
  const t = await team(lab, url!);
  await using mcp = await startMcp(t.alice, "sess-alice", "/work/shop-api", t.lapA.claudemesh);
  await waitConnected(mcp, 15_000);
  ok(await cli(t.alice, ["topic", "create", "deploys"], t.onA), "topic create");
  ok(await cli(t.bob, ["topic", "join", "deploys"], t.onB), "topic join");
  await using follow = cliStream(t.bob, ["inbox", "--follow"], t.onB);
  await until(() => follow.stderr().includes("Following"), "bob's inbox --follow to connect", 15_000);
  ok(await cli(t.alice, ["send", "bob", "<dm-1> what does /orders return?"], t.onA));
  ok(await cli(t.alice, ["topic", "post", "deploys", "<topic-1> main is red"], t.onA));
  await until(() => follow.stdout().includes("<dm-1>") && follow.stdout().includes("<topic-1>"), "bob's follow to show the DM and the post", 15_000);
  ok(await cli(t.bob, ["send", "alice/shop-api", "<to-session> a list of orders"], t.onB));
  await mcp.waitNotification((n) => n.content.includes("<to-session>"), 15_000);
  expect((await t.online()).sort()).toEqual(["alice", "alice/shop-api", "bob"]);

  // bob's link goes down: nothing is closed, packets vanish both ways.
  t.lapB.linkDown();
  const downAt = performance.now();
  // Broker side (§2.8): reaped within two ping intervals; peers see bob offline from then on.
  await serve.waitFor(/closing unresponsive connection/, 4 * PING_MS);
  await until(async () => !(await t.online()).includes("bob"), "bob offline in alice's peers", 6 * PING_MS);
  expect(performance.now() - downAt).toBeLessThan(2 * PING_MS + 3000);
  // Sent to bob while his link is down: acknowledged (exit 0), so queued for him.
  for (const i of [1, 2, 3]) ok(await cli(t.alice, ["send", "bob", `<while-down-${i}>`], t.onA));
  // Client side (§10): bob's follower notices the dead link by itself, while it is still down.
  await until(() => follow.stderr().includes("Lost the connection"), "bob's follower to notice the dead link", 3 * PING_MS + 2000);
  // bob sending while down is refused as unsent, never half-sent.
  const refused = await cli(t.bob, ["send", "alice", "<never>"], t.onB);
  expect({ code: refused.code, said: refused.stderr.includes("nothing was sent") }).toEqual({ code: 6, said: true });

  t.lapB.linkUp();
  await until(() => [1, 2, 3].every((i) => follow.stdout().includes(`<while-down-${i}>`)), "the messages sent while bob was down", 20_000);
  await until(() => follow.stderr().includes("again"), "bob's follower to say it is connected again", 5_000);
  await until(async () => (await t.online()).includes("bob"), "bob online again in alice's peers", 5_000);
  // Once each: nothing acked is shown twice, and what bob could not send never arrived.
  const out = follow.stdout();
  expect(["<dm-1>", "<topic-1>", "<while-down-1>", "<while-down-2>", "<while-down-3>"].map((m) => count(out, m))).toEqual([1, 1, 1, 1, 1]);
  expect(mcp.notifications.filter((n) => n.content.includes("<never>"))).toEqual([]);

  // A path that drops the broker's answers (its SYN-ACK too): the connect hangs until the
  // command's timeout, and since a command goes out only after hello_ack, it says nothing was sent.
  t.lapB.blackhole();
  const silent = await cli(t.bob, ["send", "alice", "<never-2>"], { ...t.onB, env: { CLAUDEMESH_TIMEOUT: "2s" } });
  // Silence is also how a broker that moved away looks: the fix names the command for that.
  expect([silent.code, silent.stderr]).toEqual([6, `claudemesh: The broker at ${url} did not answer within 2 s, so nothing was sent.\n  fix: if the broker moved to a new address: claudemesh set-broker <new URL> (it checks that the address serves this mesh before saving it)\n`]);
  t.lapB.clear();
}, 60_000);

/** alice's MCP server on laptop 0 (a Claude Code session in /work/shop-api), connected. */
async function aliceSession(t: Awaited<ReturnType<typeof team>>): Promise<McpSession> {
  const mcp = await startMcp(t.alice, "sess-alice", "/work/shop-api", t.lapA.claudemesh);
  await waitConnected(mcp, 15_000);
  return mcp;
}

test("the broker host is killed with SIGKILL and restarted while both laptops send: every acknowledged message arrives once", async () => {
  await using lab = netLab(2);
  const data = tempDir("cm-vps-");
  let serve = serveOn(lab, data);
  // Stopped in `finally` too: a failed wait left both loops sending for the rest of the run, the
  // CLI's through a namespace deleted under it (a process spawned per failing attempt, at once).
  let sending = true;
  const loops: Promise<void>[] = [];
  try {
    const [, url] = await serve.waitFor(LISTENING);
    const t = await team(lab, url!);
    await using mcp = await aliceSession(t);
    await using follow = cliStream(t.bob, ["inbox", "--follow"], t.onB);
    await until(() => follow.stderr().includes("Following"), "bob's inbox --follow to connect", 15_000);
    // alice's session sends through MCP, bob through the CLI, each one message after the other.
    const acked = { alice: [] as string[], bob: [] as string[] };
    const unsent: string[] = [];
    const aliceSends = (async () => {
      for (let i = 0; sending; i++) {
        const r = await mcp.call("mesh_send", { to: "bob", message: `<a-${i}>` });
        if (!r.isError) acked.alice.push(`<a-${i}>`);
        else if (r.text.includes("Nothing was sent")) unsent.push(`<a-${i}>`);
      }
    })();
    const bobSends = (async () => {
      for (let i = 0; sending; i++) {
        const r = await cli(t.bob, ["send", "alice/shop-api", `<b-${i}>`], t.onB);
        if (r.code === 0) acked.bob.push(`<b-${i}>`);
        else if (r.stderr.includes("nothing was sent")) unsent.push(`<b-${i}>`);
      }
    })();
    loops.push(aliceSends, bobSends);
    await until(() => acked.alice.length >= 5 && acked.bob.length >= 2, "traffic from both laptops", 20_000);
    serve.proc.kill("SIGKILL");
    await serve.ended;
    serve = serveOn(lab, data, new URL(url!).port);
    await serve.waitFor(LISTENING);
    const [a0, b0] = [acked.alice.length, acked.bob.length];
    await until(() => acked.alice.length >= a0 + 5 && acked.bob.length >= b0 + 2, "traffic after the restart", 30_000);
    sending = false;
    await Promise.all([aliceSends, bobSends]);
    await until(() => acked.alice.every((m) => follow.stdout().includes(m)), "bob's follower to show every message alice's session had acknowledged", 15_000);
    await until(() => acked.bob.every((m) => mcp.notifications.some((n) => n.content.includes(m))), "alice's session to be pushed every message bob's CLI had acknowledged", 15_000);
    const pushed = mcp.notifications.map((n) => n.content).join("\n");
    expect(acked.alice.filter((m) => count(follow.stdout(), m) !== 1)).toEqual([]);
    expect(acked.bob.filter((m) => count(pushed, `> ${m}\n`) !== 1)).toEqual([]);
    // "Nothing was sent" is the truth: such a message never arrives.
    expect(unsent.filter((m) => follow.stdout().includes(m) || pushed.includes(`> ${m}\n`))).toEqual([]);
  } finally {
    sending = false;
    await Promise.allSettled(loops);
    await serve[Symbol.asyncDispose]();
  }
}, 60_000);

test("a laptop suspends (SIGSTOP) past the broker's liveness window, then resumes: it leaves peers, gets what was sent meanwhile once, and sends again", async () => {
  await using lab = netLab(2);
  await using serve = serveOn(lab, tempDir("cm-vps-"));
  const [, url] = await serve.waitFor(LISTENING);
  const t = await team(lab, url!);
  await using mcp = await aliceSession(t);
  await using follow = cliStream(t.bob, ["inbox", "--follow"], t.onB);
  await until(() => follow.stderr().includes("Following"), "bob's inbox --follow to connect", 15_000);
  const bobSees = () => t.online(t.bob, t.onB);
  expect(await bobSees()).toContain("alice/shop-api");
  process.kill(mcp.pid, "SIGSTOP");
  const stoppedAt = performance.now();
  ok(await cli(t.bob, ["send", "alice/shop-api", "<while-asleep>"], t.onB));
  await until(async () => !(await bobSees()).includes("alice/shop-api"), "the suspended session offline in bob's peers", 6 * PING_MS);
  expect(performance.now() - stoppedAt).toBeLessThan(2 * PING_MS + 3000);
  // Asleep for longer than the grace too: its presence is gone, not only its connection.
  await serve.waitFor(/closing unresponsive connection/, 4 * PING_MS);
  await Bun.sleep(3 * PING_MS + 500);
  process.kill(mcp.pid, "SIGCONT");
  await mcp.waitNotification((n) => n.content.includes("<while-asleep>"), 15_000);
  await until(async () => (await bobSees()).includes("alice/shop-api"), "the resumed session online again", 10_000);
  const sent = await mcp.call("mesh_send", { to: "bob", message: "<awake>" });
  expect(sent).toMatchObject({ isError: false });
  await until(() => follow.stdout().includes("<awake>"), "bob to get the resumed session's message", 10_000);
  expect(mcp.notifications.filter((n) => n.content.includes("<while-asleep>")).length).toBe(1);
}, 60_000);

test("a session sends while its own link is dead: each call is acknowledged or says nothing was sent, and the retry it asks for arrives once", async () => {
  await using lab = netLab(2);
  await using serve = serveOn(lab, tempDir("cm-vps-"));
  const [, url] = await serve.waitFor(LISTENING);
  const t = await team(lab, url!);
  await using mcp = await aliceSession(t);
  await using follow = cliStream(t.bob, ["inbox", "--follow"], t.onB);
  await until(() => follow.stderr().includes("Following"), "bob's inbox --follow to connect", 15_000);
  expect(await mcp.call("mesh_send", { to: "bob", message: "<before>" })).toMatchObject({ isError: false });
  t.lapA.linkDown();
  const downAt = performance.now();
  // The first call waits on the dead link until the client gives it up (about 2.5 s here, §10);
  // the next ones are told at once that the mesh is reconnecting.
  const answers: { text: string; isError: boolean }[] = [];
  for (const i of [1, 2, 3]) answers.push(await mcp.call("mesh_send", { to: "bob", message: `<out-${i}>` }));
  expect(performance.now() - downAt).toBeLessThan(2 * PING_MS + 4000);
  expect(answers.map((a) => a.isError && /Nothing was sent|Not connected/.test(a.text))).toEqual([true, true, true]);
  t.lapA.linkUp();
  await waitConnected(mcp, 20_000);
  // What the tool asked for: the same call again.
  for (const i of [1, 2, 3]) expect(await mcp.call("mesh_send", { to: "bob", message: `<out-${i}>` })).toMatchObject({ isError: false });
  await until(() => [1, 2, 3].every((i) => follow.stdout().includes(`<out-${i}>`)), "bob to get the retried messages", 10_000);
  expect(["<before>", "<out-1>", "<out-2>", "<out-3>"].map((m) => count(follow.stdout(), m))).toEqual([1, 1, 1, 1]);
}, 60_000);
