// `claudemesh hook <event>` given stdin that is JSON but not the hook object Claude Code sends
// (docs/claude-code.md: unusable input gives `{}` and exit 0). `null` and a non-string session id
// used to crash the hook with a stack trace and exit 1 (src/cli/commands/hook.ts readInput).
import { describe, expect, test } from "bun:test";
import { runHook } from "../helpers/mcp.ts";
import { tempDir } from "../helpers/broker.ts";

const ODD_INPUTS = ["null", "[]", '"a string"', "42", "true", '{"session_id":123}', '{"session_id":{"a":1}}', '{"session_id":["x"],"cwd":7,"stop_hook_active":"yes","reason":null}'];

describe("hooks fed JSON that is not a hook object", () => {
  test("each prints {} with nothing on stderr and exits 0", async () => {
    const cfg = tempDir("cm-hook-input-");
    for (const event of ["user-prompt-submit", "stop", "session-start", "session-end"]) {
      for (const input of ODD_INPUTS) {
        const h = await runHook(cfg, event, input);
        expect({ event, input, code: h.code, out: h.out, stderr: h.stderr }).toEqual({ event, input, code: 0, out: {}, stderr: "" });
      }
    }
  }, 120_000);
});
