// A PATH of the system's own tools with no `claude` on it, for the tests that run `install`,
// `doctor` or `upgrade` as on a machine without Claude Code. "/usr/bin:/bin" stops being that once
// `npm install -g @anthropic-ai/claude-code` runs where npm's global prefix is /usr: claude is then
// /usr/bin/claude, and `install` registered through it instead of editing ~/.claude.json.
import { existsSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SYSTEM_DIRS = ["/usr/bin", "/bin"];

function bare(): string {
  if (!SYSTEM_DIRS.some((d) => existsSync(join(d, "claude")))) return SYSTEM_DIRS.join(":");
  // Every tool of those directories but claude, linked into one of our own (the first one wins, as
  // on PATH).
  const dir = mkdtempSync(join(tmpdir(), "cm-bare-path-"));
  for (const d of SYSTEM_DIRS) {
    for (const name of readdirSync(d)) {
      if (name !== "claude" && !existsSync(join(dir, name))) symlinkSync(join(d, name), join(dir, name));
    }
  }
  return dir;
}

export const BARE_PATH = bare();
