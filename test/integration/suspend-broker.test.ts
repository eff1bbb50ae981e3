// A broker's VPS paused (live migration, a hypervisor's snapshot): `claudemesh serve` stopped with
// SIGSTOP for longer than its clients' liveness timeouts, then continued, while a Claude Code
// session (`claudemesh mcp`, a real MCP client over stdio) and a terminal's `inbox --follow` are
// connected, and sends are in flight. The broker is a real process at a short ping interval.
import { expect, test } from "bun:test";
import { tempDir } from "../helpers/temp-dir.ts";
import { cli, cliMesh, cliStream, identities, ok, until } from "../helpers/cli.ts";
import { spawnBroker } from "../helpers/process.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";

const PING_MS = 500;
const GRACE_MS = 3000;
/** Longer than the clients' liveness at PING_MS (1 s of silence, then 1 s for the ping: §10). */
const PAUSED_MS = 4000;

type Peer = { displayName: string; online: boolean; status: string; kind: string };
const peersOf = async (dir: string) => ok(await cli(dir, ["peers", "--json"])).json().peers as Peer[];
const count = (text: string, s: string) => text.split(s).length - 1;
const bodies = (text: string) => [...text.matchAll(/^> (?!").*$/gm)].map((m) => m[0].slice(2));

test("a broker paused past its clients' liveness: they are back within seconds of it, sends in flight are answered once, nothing acked is lost or doubled", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  await using broker = await spawnBroker(tempDir("cm-paused-"), ["--ping-interval", `${PING_MS}ms`, "--presence-grace", `${GRACE_MS}ms`]);
  await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
  await using mcp = await startMcp(alice, "sess-alice-vps");
  await using follow = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "bob's inbox --follow to connect");
  await waitPeer(mcp, "bob");
  expect((await mcp.call("mesh_send", { to: "bob", message: "before the pause" })).isError).toBe(false);
  await until(() => follow.stdout().includes("before the pause"), "bob to get the first message");
  const before = await peersOf(bob);

  broker.proc.kill("SIGSTOP");
  const paused = performance.now();
  // Tool calls in flight across the pause. A send to everyone needs no lookup first: its `send`
  // waits for the broker and is answered once. One to a name looks the name up first, and a lookup
  // ends with the link: "Nothing was sent", at once, and the same call again sends it.
  const inFlight = mcp.call("mesh_send", { to: "*", message: "in flight across the pause", client_message_id: "paused-0001" });
  const named = mcp.call("mesh_send", { to: "bob", message: "named in flight" });
  // A terminal's send with a short timeout: it fails, saying nothing was sent (its hello was not
  // answered) or naming the id to retry with (its send was not).
  const short = await cli(bob, ["send", "alice/app", "sent with a short timeout"], { env: { CLAUDEMESH_TIMEOUT: "1500ms" } });
  expect(short.code).toBe(6);
  const retryId = /--client-message-id (\S+)/.exec(short.stderr)?.[1];
  // Both clients gave up their links meanwhile (the follower says so).
  await until(() => follow.stderr().includes("Lost the connection"), "bob's follower to give up the frozen link", PAUSED_MS);
  await Bun.sleep(Math.max(0, PAUSED_MS - (performance.now() - paused))); // the pause itself
  broker.proc.kill("SIGCONT");
  const resumed = performance.now();

  const sent = await inFlight;
  const sentMs = performance.now() - resumed;
  expect({ isError: sent.isError, text: sent.text }).toEqual({ isError: false, text: expect.stringContaining("Sent to") });
  await until(() => follow.stderr().includes("again."), "bob's follower to reconnect", 15_000);
  const followerMs = performance.now() - resumed;
  const namedAnswer = await named;
  if (namedAnswer.isError) {
    expect(namedAnswer.text).toContain("Nothing was sent");
    expect((await mcp.call("mesh_send", { to: "bob", message: "named in flight" })).isError).toBe(false);
  }
  console.log(`resumed: the send in flight answered after ${Math.round(sentMs)} ms, bob's follower back after ${Math.round(followerMs)} ms`);
  // The terminal's retry with the id it was given: stored once, whether the first try was.
  if (retryId) ok(await cli(bob, ["send", "alice/app", "sent with a short timeout", "--client-message-id", retryId]));
  else {
    expect(short.stderr).toContain("so nothing was sent");
    ok(await cli(bob, ["send", "alice/app", "sent with a short timeout"]));
  }

  // The same tool call again (a model that did not trust the answer): the broker's stored copy.
  expect((await mcp.call("mesh_send", { to: "*", message: "in flight across the pause", client_message_id: "paused-0001" })).isError).toBe(false);
  expect((await mcp.call("mesh_send", { to: "bob", message: "after the pause" })).isError).toBe(false);
  await until(() => follow.stdout().includes("after the pause"), "bob to get the message sent after the pause");
  expect(["before the pause", "in flight across the pause", "named in flight", "after the pause"].map((t) => count(follow.stdout(), t))).toEqual([1, 1, 1, 1]);
  ok(await cli(bob, ["send", "alice/app", "marker"]));
  let read = "";
  await until(async () => ((read += (await mcp.call("mesh_inbox")).text + "\n"), read.includes("> marker\n")), "alice's session to read bob's marker");
  expect(bodies(read).sort()).toEqual(["marker", "sent with a short timeout"]);

  const shape = (ps: Peer[]) => ps.map((p) => ({ name: p.displayName, kind: p.kind, online: p.online, status: p.status })).sort((a, b) => a.name.localeCompare(b.name));
  await until(async () => JSON.stringify(shape(await peersOf(bob))) === JSON.stringify(shape(before)), "the peer list as before the pause", 10_000);
}, 60_000);
