// The user journey across real machines, and the faults a loopback link never shows (docs/protocol.md
// §2.7 presence and grace, §2.8 liveness, §10 reconnect and "Pongs and liveness"): a broker on a
// "vps" network namespace bound to its own address, two "laptops" with their own config dirs, the
// real CLI and a real MCP server over stdio on them (test/helpers/netns.ts). Faults are real: a
// laptop's link goes down (packets vanish, no FIN, no RST), the broker is killed with SIGKILL,
// a client is suspended with SIGSTOP. Timeouts are shortened through the broker's settings only
// (pingInterval 1 s, presenceGrace 3 s); the clients take theirs from the broker's hello_ack.
// Needs root and iproute2 (scripts/test-tools.sh); `tc netem` is not used (see docs/decisions.md,
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
  await until(async () => !(await t.online()).includes("bob"), "bob offline in alice's peers", 4 * PING_MS);
  expect(performance.now() - downAt).toBeLessThan(2 * PING_MS + 2000);
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
}, 60_000);
