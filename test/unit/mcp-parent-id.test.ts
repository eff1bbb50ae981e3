// The identity of an MCP server started without CLAUDE_CODE_SESSION_ID (src/mcp/process-tree.ts
// parentProcessId): its parent's pid and start time, so that a restart under the same parent
// resumes it and a later process that reuses the pid does not.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parentProcessId } from "../../src/mcp/process-tree.ts";

describe("parentProcessId", () => {
  test.skipIf(process.platform !== "linux")("is the pid and the start time from /proc, the same at every call", () => {
    const stat = readFileSync(`/proc/${process.pid}/stat`, "utf8");
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    expect(start).toMatch(/^\d+$/);
    expect(parentProcessId(process.pid)).toBe(`ppid-${process.pid}-${start}`);
    expect(parentProcessId(process.pid)).toBe(parentProcessId(process.pid));
  });

  test("two live processes differ; a pid that names no process has no start time", async () => {
    const child = Bun.spawn(["sleep", "5"]);
    try {
      expect(parentProcessId(child.pid)).not.toBe(parentProcessId(process.pid));
      expect(parentProcessId(child.pid)).toMatch(new RegExp(`^ppid-${child.pid}-[A-Za-z0-9]+$`));
    } finally {
      child.kill();
      await child.exited;
    }
    expect(parentProcessId(2 ** 30)).toBe(`ppid-${2 ** 30}`);
  });
});
