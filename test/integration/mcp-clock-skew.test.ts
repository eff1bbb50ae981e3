// An MCP server whose clock is off by more than the hello's ±60 s (docs/protocol.md §2.3) keeps
// retrying (client/reconnect.ts) and says why: its tools' answer carries the broker's refusal and
// the clock's fix (which clock is ahead, as the CLI says), and its stderr says it once, not at each
// retry. Before, the tools said only "reconnecting" and stderr stayed empty. The clock is shifted
// for the server alone, through libfaketime (test/helpers/faked-clock.ts).
import { expect, test } from "bun:test";
import { cliTeam } from "../helpers/cli.ts";
import { fakedClock } from "../helpers/faked-clock.ts";
import { startMcp } from "../helpers/mcp.ts";
import { until } from "../helpers/until.ts";

test("a refused hello is said in the tool's answer with its fix, and once on stderr", async () => {
  await using team = await cliTeam(["alice"]);
  await using s = await startMcp(team.dirs[0], "sess-skew-1", "/work/projects/app", undefined, fakedClock(Date.now() + 120_000).env);
  // The broker's count, not its log: it logs a run of refusals once (src/broker, refusal log).
  const refusals = async () => Number(/broker_connections_rejected_total\{reason="timestamp_skew"\} (\d+)/.exec(await (await fetch(`${team.b.url}/metrics`)).text())?.[1] ?? 0);
  // Three refused hellos: the first attempt and two retries (backoff ~1 s, ~2 s).
  await until(async () => (await refusals()) >= 3, "three refused hellos", 20_000);
  const r = await s.call("mesh_peers");
  expect(r.isError).toBe(true);
  expect(r.text).toMatch(/Not connected to mesh team\S* right now \(reconnecting\).*Its last attempt: .*timestamp is 1(19|20|21) s from the broker clock.* Fix: this machine's clock is 1(19|20|21) s ahead of the broker's: set this machine's clock right/s);
  const warned = s.stderr().split("\n").filter((l) => l.includes("the broker refuses this connection"));
  expect(warned.length).toBe(1);
  expect(JSON.parse(warned[0]!)).toMatchObject({ level: "warn", code: "timestamp_skew", why: expect.stringContaining("s ahead of the broker's") });
}, 60_000);
