// Holding a config dir's config.lock from the test process, as a command of that user would (its
// PID is running): the processes under test wait for it (src/client/local/config-lock.ts).
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_LOCK } from "../../src/client/local/config-lock.ts";

export type HeldLock = { release(): void; [Symbol.dispose](): void };

/** Takes `dir`'s config lock until release() or the end of the `using` scope. */
export function holdConfigLock(dir: string): HeldLock {
  const path = join(dir, CONFIG_LOCK);
  writeFileSync(path, String(process.pid), { mode: 0o600, flag: "wx" });
  const release = () => rmSync(path, { force: true });
  return { release, [Symbol.dispose]: release };
}

/** The line an MCP server logs when one of its config writes waits for the lock. */
export const LOCK_WAIT_LOG = "config.json is locked by another process; waiting";
