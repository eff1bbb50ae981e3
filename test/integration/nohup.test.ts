// `nohup claudemesh …` starts a command with SIGHUP ignored, so that it outlives the terminal it was
// started from; a shell without job control does the same to SIGINT for what it runs with `&`. A
// handler for such a signal undoes that choice: the MCP server and the dashboard stopped on the
// SIGHUP of the terminal they were meant to outlive. A signal ignored at the start stays ignored
// (src/local-file/interrupt.ts, onStop), for them and for `inbox --follow`; SIGTERM still stops
// each. Session 36, "long-running commands end cleanly on every signal" (docs/decisions.md).
import { expect, test } from "bun:test";
import { MAIN, cli, cliStream, cliTeam, dashboardServing, ok, until } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { alive } from "../helpers/process.ts";

/** Runs the CLI as `nohup` would: with SIGHUP ignored (the shell that ignores it becomes the CLI). */
const NOHUP = ["sh", "-c", 'trap "" HUP; exec "$0" "$@"', process.execPath, "run", MAIN];

test("inbox --follow started under nohup goes on following after SIGHUP; SIGTERM stops it with exit 0", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice, bob] = team.dirs;
  await using follow = cliStream(bob, ["inbox", "--follow"], { command: NOHUP });
  await until(() => follow.stderr().includes("Following"), "the follower to start");
  follow.proc.kill("SIGHUP");
  ok(await cli(alice, ["send", "bob", "after the hangup"]));
  expect((await follow.lines(1))[0]).toContain("after the hangup");
  follow.proc.kill("SIGTERM");
  expect(await follow.proc.exited).toBe(0);
}, 60_000);

test("the MCP server started under nohup stays on its mesh after SIGHUP", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice] = team.dirs;
  await using a = await startMcp(alice, "sess-nohup", undefined, NOHUP);
  await waitConnected(a);
  process.kill(a.pid, "SIGHUP");
  await Bun.sleep(1000);
  expect(alive(a.pid)).toBe(true);
  expect((await a.call("mesh_peers")).isError).toBe(false);
}, 60_000);

test("the dashboard started under nohup goes on serving after SIGHUP; SIGTERM stops it with exit 0", async () => {
  await using team = await cliTeam(["alice"]);
  const [alice] = team.dirs;
  await using served = await dashboardServing(alice, ["--no-open"], { command: NOHUP });
  served.proc.kill("SIGHUP");
  await Bun.sleep(1000);
  expect(served.proc.exitCode).toBeNull();
  expect((await fetch(served.json.local)).status).toBe(200);
  served.proc.kill("SIGTERM");
  expect(await served.proc.exited).toBe(0);
}, 60_000);
