// `claudemesh inbox --follow` after its process did not run (docs/protocol.md §10 "Waking"): the
// real CLI, stopped with SIGSTOP while its link to a real broker went dead (a TCP proxy that
// forwards nothing), then continued. Both of its clocks ran on while it was stopped, so this is the
// late-timer half of wake detection with real clocks; a laptop's suspend (the wall clock alone runs
// on) is simulated in client-wake.test.ts. The shared BrokerClient does it, so the MCP server,
// which uses the same client, does it too.
import { expect, test } from "bun:test";
import { cliStream, cliTeam, until, useBroker } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { WAKE_CHECK_MS, WAKE_GAP_MS, WAKE_PONG_TIMEOUT_MS } from "../../src/client/wake.ts";

/** Longer than a check period and the gap together, so that the stop counts as a wake wherever in
 *  the period it fell. */
const STOPPED_MS = WAKE_CHECK_MS + WAKE_GAP_MS + 1_000;

test("inbox --follow stopped while its link died says so within seconds of continuing, not ~50 s, and reconnects", async () => {
  await using team = await cliTeam(["alice"], { pingInterval: 60_000 });
  using proxy = linkProxy(team.b.port);
  useBroker(team.dirs[0], proxy.url);
  await using follower = cliStream(team.dirs[0], ["inbox", "--follow"]);
  await until(() => follower.stderr().includes("Following"), "the follower to start");
  proxy.freeze();
  follower.proc.kill("SIGSTOP");
  await Bun.sleep(STOPPED_MS); // the time the process is stopped: what the test is about
  follower.proc.kill("SIGCONT");
  // Continued: the overdue check runs at once, the probe gets WAKE_PONG_TIMEOUT_MS, then slack.
  await until(() => follower.stderr().includes("Lost the connection"), "the follower to give the dead link up", WAKE_PONG_TIMEOUT_MS + 3_000);
  proxy.thaw();
  await until(() => follower.stderr().includes("again."), "the follower to reconnect");
  expect(follower.stderr().split("\n").slice(1)).toEqual([`Lost the connection to the broker at ${proxy.url}; reconnecting until it answers (Ctrl-C to stop).`, `Connected to the broker at ${proxy.url} again.`, ""]);
}, 60_000);
