// The CLI over a slow link: a satellite or hotel Wi-Fi path (1.6–2.4 s round trips, 20 KB/s),
// emulated in user space (test/helpers/slow-link.ts; `tc netem` is not available here) between the
// real CLI and a real broker on port 0. What a user on such a link expects: `send` succeeds, once;
// `inbox --follow` keeps receiving and shows each message once; a message near the frame limit gets
// through the bandwidth cap; the client does not give up on a link that is slow but alive, and a
// stall (TCP retransmitting after a burst of loss) longer than its pong timeout costs one reconnect
// and nothing else. The broker pings every 5 s instead of 30 s (docs/protocol.md §2.8), so that
// the stall test takes seconds, not a minute; its clients take their timings from it.
import { expect, test } from "bun:test";
import { cli, cliStream, cliTeam, ok, until, useBroker } from "../helpers/cli.ts";
import { slowLink } from "../helpers/slow-link.ts";
import { livenessFor } from "../../src/client/liveness.ts";

const PING_MS = 5_000;
const SATELLITE = { delayMs: 800, jitterMs: 400, bytesPerSec: 20_000 };
/** Near the most one message can carry (MAX_SEND_BODY_BYTES, 45,000): ~60 KB sealed on the wire,
 *  3 s at 20 KB/s each way. */
const BIG = "q".repeat(44_000);
const count = (text: string, marker: string) => text.split(marker).length - 1;

test("send and inbox --follow over a 2 s, 20 KB/s link: a message near the size limit is sent once, the follower shows each message once, on one connection", async () => {
  await using team = await cliTeam(["alice", "bob"], { pingInterval: PING_MS });
  using toAlice = await slowLink(team.b.port, SATELLITE);
  using toBob = await slowLink(team.b.port, SATELLITE);
  useBroker(team.dirs[0], toAlice.url);
  useBroker(team.dirs[1], toBob.url);
  await using follow = cliStream(team.dirs[1], ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "bob's follower to connect over the slow link", 30_000);
  const big = await cli(team.dirs[0], ["send", "bob", `<big> ${BIG}`]);
  await until(() => follow.stdout().includes("<big>"), "the large message at bob's follower", 30_000);
  expect({ code: big.code, sent: big.stdout.startsWith("Sent to"), stderr: big.stderr }).toEqual({ code: 0, sent: true, stderr: "" });
  expect({
    shown: [count(follow.stdout(), "<big>"), count(follow.stdout(), BIG)],
    notes: follow.stderr().split("\n").filter((l) => l && !l.startsWith("Following")),
    // One connection for the send and one for the follower: nothing reconnected.
    connections: [toAlice.connections(), toBob.connections()],
  }).toEqual({ shown: [1, 1], notes: [], connections: [1, 1] });
}, 60_000);

test("a stall a few seconds past the client's pong timeout costs the follower one reconnect; what was sent meanwhile is shown once", async () => {
  await using team = await cliTeam(["alice", "bob"], { pingInterval: PING_MS });
  using toBob = await slowLink(team.b.port, SATELLITE);
  useBroker(team.dirs[1], toBob.url);
  await using follow = cliStream(team.dirs[1], ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "bob's follower to connect over the slow link", 30_000);
  ok(await cli(team.dirs[0], ["send", "bob", "<before>"]));
  await until(() => follow.stdout().includes("<before>"), "the first message at bob's follower", 15_000);
  // The client pings after idleMs of silence and gives up timeoutMs later: stalled for a few
  // seconds more than both, nothing passes either way, on the open connection or a new one.
  const { idleMs, timeoutMs } = livenessFor(PING_MS);
  const stalled = toBob.stall(idleMs + timeoutMs + 3_000);
  // Sent by alice on her own link while bob's is stalled: pushed to his stalled connection,
  // never acked there, so redelivered on the next one.
  for (const i of [1, 2, 3]) ok(await cli(team.dirs[0], ["send", "bob", `<during-${i}>`]));
  await stalled;
  await until(() => follow.stdout().includes("<during-3>") && follow.stderr().includes("again."), "bob's follower back with the messages sent during the stall", 30_000);
  expect({
    shown: ["<before>", "<during-1>", "<during-2>", "<during-3>"].map((m) => count(follow.stdout(), m)),
    notes: follow.stderr().split("\n").slice(1),
    connections: toBob.connections(),
  }).toEqual({
    shown: [1, 1, 1, 1],
    notes: [`Lost the connection to the broker at ${toBob.url}; reconnecting until it answers (Ctrl-C to stop).`, `Connected to the broker at ${toBob.url} again.`, ""],
    connections: 2,
  });
}, 60_000);
