// An install made before session 38 gave the wake hook (`hook wait`) a 1900 s timeout, which ended
// its wait after 30 minutes (docs/claude-code.md "What wakes an idle session"). Such a hook is
// installed, but not as this claudemesh needs it: doctor says so and names the fix, and running
// install again rewrites it, leaving the user's own hooks as they were.
import { BARE_PATH } from "../helpers/bare-path.ts";
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ok } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { WAKE_HOOK_TIMEOUT_S } from "../../src/mcp/wake-wait.ts";

// Without claude on PATH, install edits ~/.claude.json itself: no real Claude Code runs here.
const at = (h: string, args: string[]) => cli(join(h, ".claudemesh"), args, { env: { HOME: h, PATH: BARE_PATH }, timeoutMs: 60_000 });
const hooksCheck = (r: { json(): any }) => r.json().checks.find((c: { check: string }) => c.check === "hooks");
const waitHooks = (settings: any) => settings.hooks.Stop.flatMap((g: any) => g.hooks).filter((x: any) => x.command.includes(" hook wait "));

test("an older install's 30-minute wake hook: doctor flags it, install updates it", async () => {
  const h = tempDir("cm-wake-home-");
  ok(await at(h, ["install"]));
  const path = join(h, ".claude", "settings.json");
  // What an install before session 38 wrote, beside a Stop hook of the user's own.
  const old = JSON.parse(readFileSync(path, "utf8"));
  waitHooks(old)[0].timeout = 1900;
  old.hooks.Stop.unshift({ hooks: [{ type: "command", command: "say done", timeout: 7 }] });
  writeFileSync(path, JSON.stringify(old, null, 2));

  // Before: "all installed", ok.
  expect(hooksCheck(await at(h, ["doctor", "--json"]))).toEqual({
    check: "hooks",
    ok: false,
    detail: `installed in ${path} by an older claudemesh: hook wait's timeout is 1900 s, not ${WAKE_HOOK_TIMEOUT_S} s`,
    fix: "claudemesh install",
  });

  const again = ok(await at(h, ["install"]));
  expect(again.stdout).toContain(`Updated claudemesh hooks in ${path}`);
  const now = JSON.parse(readFileSync(path, "utf8"));
  expect(waitHooks(now).map((x: any) => [x.timeout, x.asyncRewake])).toEqual([[WAKE_HOOK_TIMEOUT_S, true]]);
  expect(now.hooks.Stop[0]).toEqual({ hooks: [{ type: "command", command: "say done", timeout: 7 }] });
  expect(hooksCheck(await at(h, ["doctor", "--json"]))).toEqual({ check: "hooks", ok: true, detail: "all installed", fix: null });
}, 90_000);
