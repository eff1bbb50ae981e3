// Editing Claude Code's settings: our entries are added once, replaced on reinstall with another
// binary, and removed exactly, leaving the user's hooks and settings as they were.
import { describe, expect, test } from "bun:test";
import { MARKER, missingHooks, OUR_HOOKS, outdatedHooks, removeOurHooks, withOurHooks, type Settings } from "../../src/cli/claude-code/hooks-settings.ts";
import { shellCommand } from "../../src/config/command-line.ts";
import { WAKE_HOOK_TIMEOUT_S, WAKE_WAIT_MS } from "../../src/mcp/wake-wait.ts";

const user: Settings = { env: { A: "1" }, hooks: { Stop: [{ hooks: [{ type: "command", command: "say done" }] }] } };

describe("hooks in settings.json", () => {
  test("add, no-op on repeat, remove restores the user's file exactly", () => {
    const once = withOurHooks(user, "/bin/claudemesh");
    expect(withOurHooks(once, "/bin/claudemesh")).toEqual(once);
    expect(missingHooks(once, "/bin/claudemesh")).toEqual([]);
    expect(once.hooks!.Stop![0]).toEqual(user.hooks!.Stop![0]);
    expect(once.hooks!.Stop![1]!.hooks.map((h) => [h.command, h.asyncRewake ?? false])).toEqual([
      [`/bin/claudemesh hook stop ${MARKER}`, false],
      [`/bin/claudemesh hook wait ${MARKER}`, true],
    ]);
    expect(removeOurHooks(once)).toEqual(user);
    expect(removeOurHooks({ hooks: withOurHooks({}, "/x").hooks })).toEqual({});
  });

  test("reinstalling from another path replaces our entries instead of adding more", () => {
    const moved = withOurHooks(withOurHooks(user, "/old/claudemesh"), "/new/claudemesh");
    expect(JSON.stringify(moved)).not.toContain("/old/claudemesh");
    expect(missingHooks(moved, "/old/claudemesh").length).toBe(5);
    expect(missingHooks(moved, "/new/claudemesh")).toEqual([]);
  });

  test("an older install's settings of our hooks are outdated; reinstalling rewrites them", () => {
    const current = withOurHooks(user, "/bin/claudemesh");
    expect(outdatedHooks(current, "/bin/claudemesh")).toEqual([]);
    const old = structuredClone(current);
    const wait = old.hooks!.Stop![1]!.hooks[1]!;
    wait.timeout = 1900;
    delete wait.asyncRewake;
    expect(outdatedHooks(old, "/bin/claudemesh")).toEqual([`hook wait's timeout is 1900 s, not ${WAKE_HOOK_TIMEOUT_S} s`, "hook wait is not asyncRewake"]);
    expect(missingHooks(old, "/bin/claudemesh")).toEqual([]);
    expect(withOurHooks(old, "/bin/claudemesh")).toEqual(current);
  });

  test("the wake hook's timeout fits Claude Code's timer, and the hook ends its wait before it", () => {
    // Claude Code times a hook with one setTimeout: a delay over 2^31 - 1 ms fires at once.
    expect(WAKE_HOOK_TIMEOUT_S * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(OUR_HOOKS.Stop!.find((h) => h.event === "wait")).toEqual({ event: "wait", timeout: WAKE_HOOK_TIMEOUT_S, asyncRewake: true });
    expect(WAKE_WAIT_MS).toBeLessThan(WAKE_HOOK_TIMEOUT_S * 1000 - 60_000);
    expect(WAKE_WAIT_MS).toBeGreaterThan(7 * 24 * 3600_000);
  });

  test("paths with spaces are quoted for the shell", () => {
    expect(shellCommand(["/Users/a b/bin/bun", "run", "/x/src/main.ts"])).toBe("'/Users/a b/bin/bun' run /x/src/main.ts");
  });
});
