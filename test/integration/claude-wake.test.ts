// The real interactive Claude Code (the npm dev dependency, in a terminal; claude-tui.ts) with
// claudemesh installed, against a stand-in for the Anthropic API: an idle session is woken by a
// peer's message through the wake hook (docs/claude-code.md "What wakes an idle session"). Claude
// Code starts a wake hook at every Stop and ends none at a new prompt, so each turn used to leave
// one more process waiting (each for up to 30 minutes; now the wait lasts as long as the session
// is idle): the newest now replaces the others. The installed timeout is one Claude Code's timer
// holds (a larger one is killed at once), and killing Claude Code leaves no hook behind.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, ok, until } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { startFakeAnthropic } from "../helpers/fake-anthropic.ts";
import { processesOf, startClaudeTui } from "../helpers/claude-tui.ts";
import { WAKE_HOOK_TIMEOUT_S } from "../../src/mcp/wake-wait.ts";

const BIN = resolve(import.meta.dir, "../../node_modules/.bin");

test("an idle interactive session keeps one wake hook across turns, is woken by a message, and leaves none when killed", async () => {
  await using b = await startBroker();
  await using api = startFakeAnthropic();
  const h = tempDir("cm-home-");
  const alice = join(h, ".claudemesh");
  const bob = join(tempDir("cm-bob-"), "id");
  await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
  ok(await cli(alice, ["install"], { env: { HOME: h, PATH: `${BIN}:${process.env.PATH}` }, timeoutMs: 90_000 }));
  const settings = JSON.parse(readFileSync(join(h, ".claude", "settings.json"), "utf8"));
  expect(settings.hooks.Stop.flatMap((g: any) => g.hooks).find((x: any) => x.asyncRewake).timeout).toBe(WAKE_HOOK_TIMEOUT_S);
  const project = join(h, "shop");
  mkdirSync(project);
  const wakeHooks = () => processesOf(h, " hook wait");

  await using claude = await startClaudeTui(h, project, api, { CLAUDEMESH_CONFIG_DIR: alice });
  for (const turn of ["first turn", "second turn", "third turn"]) {
    await claude.type(turn);
    await until(() => api.seen().some((t) => t.includes(turn)), `the model to be asked "${turn}"`, 20_000).catch((err) => {
      throw new Error(`${err.message}; the terminal shows:\n${claude.screen().slice(-3000)}`);
    });
    // Its Stop hooks run once the answer is in: the wake hook starts beside the others.
    await until(() => wakeHooks().length > 0, "a wake hook after the turn", 20_000);
    await Bun.sleep(1500);
  }
  // Before: three, one per turn.
  await until(() => wakeHooks().length === 1, `one wake hook left (running: ${wakeHooks().length})`, 10_000);
  const waiting = wakeHooks()[0]!;

  const asked = api.requests.length;
  ok(await cli(bob, ["send", "alice", "the build broke on main"]));
  // The hook exits 2 with the message, and Claude Code starts a turn with it, unprompted.
  await until(() => api.requests.length > asked && api.seen().some((t) => t.includes("the build broke on main")), "the message to wake the idle session", 20_000);
  await until(() => !processesOf(h, " hook wait").includes(waiting), "the hook that woke it to end", 10_000);

  // That turn's Stop starts the next wake hook; killed, Claude Code ends none of them itself.
  await until(() => wakeHooks().length === 1, "the next wake hook", 20_000);
  claude.proc.kill("SIGKILL");
  await claude.proc.exited;
  await until(() => wakeHooks().length === 0 && processesOf(h, " mcp").length === 0, "no hook or server left", 15_000);
}, 180_000);
