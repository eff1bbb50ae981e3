// A night's sleep as the processes see it (docs/protocol.md §10 "Waking"): on a real suspend the
// wall clock jumps by the time asleep while the monotonic clock (performance.now(), timers) does
// not count it. Every process here (the broker, a Claude Code session's `claudemesh mcp`, a
// terminal's `inbox --follow`, the CLI) reads one wall clock through libfaketime, which the test
// moves 13 hours forward while the laptop's processes are stopped (SIGSTOP): past the 12 h of a
// session's attestation, past the hello's ±60 s, as the broker's host and the laptop agree again
// after the night. What mixes the two clocks (hello timestamps, attestations, the wake watch, the
// liveness timers, "sent … ago") must come out right.
import { expect, test } from "bun:test";
import { tempDir } from "../helpers/temp-dir.ts";
import { cli, cliMesh, cliStream, identities, ok, until } from "../helpers/cli.ts";
import { spawnBroker } from "../helpers/process.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";
import { steppedChildClock } from "../helpers/faked-clock.ts";

const PING_MS = 500;
const GRACE_MS = 1500;
const NIGHT_MS = 13 * 3600_000;

type Peer = { displayName: string; online: boolean; pubkey: string };
const count = (text: string, s: string) => text.split(s).length - 1;

test("the wall clock 13 hours on when the lid opens: back within seconds, each message once and said to be old, one entry per peer", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  const clock = steppedChildClock(ids.root);
  const on = { env: clock.env };
  const peersOf = async (dir: string) => ok(await cli(dir, ["peers", "--json"], on)).json().peers as Peer[];
  await using broker = await spawnBroker(tempDir("cm-night-"), ["--ping-interval", `${PING_MS}ms`, "--presence-grace", `${GRACE_MS}ms`], undefined, clock.env);
  await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
  await using mcp = await startMcp(alice, "sess-alice-night", undefined, undefined, { ...clock.env, CLAUDEMESH_DEBUG: "1" });
  await using follow = cliStream(alice, ["inbox", "--follow"], on);
  await until(() => follow.stderr().includes("Following"), "alice's inbox --follow to connect");
  await waitPeer(mcp, "bob");
  const before = (await peersOf(bob)).map((p) => [p.displayName, p.pubkey]);
  const opens = () => count(mcp.stderr(), '"state":"open"');

  for (const pid of [mcp.pid, follow.proc.pid]) process.kill(pid, "SIGSTOP");
  const opensBefore = opens();
  ok(await cli(bob, ["send", "alice/app", "sent as the lid closed"], on));
  ok(await cli(bob, ["send", "alice", "to the member as the lid closed"], on));
  await until(async () => !(await peersOf(bob)).some((p) => p.displayName === "alice/app" && p.online), "the sleeping session offline in bob's peers");
  await Bun.sleep(GRACE_MS + 2 * PING_MS);
  clock.step(NIGHT_MS);
  ok(await cli(bob, ["send", "alice/app", "sent in the morning"], on));

  for (const pid of [mcp.pid, follow.proc.pid]) process.kill(pid, "SIGCONT");
  const woke = performance.now();
  await until(() => opens() > opensBefore, "the session to reconnect", 15_000);
  const sessionMs = performance.now() - woke;
  await until(() => follow.stdout().includes("to the member as the lid closed"), "the follower to show what came in the night", 15_000);
  const followerMs = performance.now() - woke;
  console.log(`woke 13 h later: session back after ${Math.round(sessionMs)} ms, follower showed the night's message after ${Math.round(followerMs)} ms`);

  let shown = "";
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> sent in the morning\n")), "the session to read the night's messages");
  ok(await cli(bob, ["send", "alice/app", "marker"], on));
  await until(async () => ((shown += (await mcp.call("mesh_inbox")).text + "\n"), shown.includes("> marker\n")), "the session's marker");
  expect(["sent as the lid closed", "to the member as the lid closed", "sent in the morning", "marker"].map((t) => count(shown, `> ${t}\n`))).toEqual([1, 1, 1, 1]);
  // A message from the evening is said to be 13 hours old; one from the morning is not.
  expect(count(shown, "sent 13 hours ago")).toBe(2);
  expect(count(follow.stdout(), "to the member as the lid closed")).toBe(1);
  // No refusal for the clocks on either side, and the same peers under the same keys.
  expect(mcp.stderr()).not.toMatch(/timestamp_skew|expired|bad_attestation/);
  expect(follow.stderr()).not.toMatch(/timestamp_skew|clock/i);
  expect((await peersOf(bob)).map((p) => [p.displayName, p.pubkey])).toEqual(before);
  expect((await peersOf(bob)).filter((p) => p.online).map((p) => p.displayName).sort()).toEqual(["alice", "alice/app", "bob"]);
}, 60_000);
