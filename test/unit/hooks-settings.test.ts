// Editing Claude Code's settings: our entries are added once, replaced on reinstall with another
// binary, and removed exactly, leaving the user's hooks and settings as they were.
import { describe, expect, test } from "bun:test";
import { MARKER, missingHooks, removeOurHooks, withOurHooks, type Settings } from "../../src/cli/claude-code/hooks-settings.ts";
import { shellCommand } from "../../src/config/command-line.ts";

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

  test("paths with spaces are quoted for the shell", () => {
    expect(shellCommand(["/Users/a b/bin/bun", "run", "/x/src/main.ts"])).toBe("'/Users/a b/bin/bun' run /x/src/main.ts");
  });
});
