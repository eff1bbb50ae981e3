// Every test process gets its own HOME and config/data dirs, so no test reads or writes the
// developer's real claudemesh files. Temporary directories made through scratchDir are removed
// when the process's tests end, whether or not the test that made one cleaned up after itself.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const scratch: string[] = [];

/** A new directory under the system temp dir, removed after every test file of the process. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

// A hook registered in the preload runs once, after every test file of the process.
afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 120_000);

const home = scratchDir("cm-home-");
process.env.HOME = home;
process.env.XDG_DATA_HOME = join(home, ".local", "share");
process.env.XDG_CONFIG_HOME = join(home, ".config");
process.env.CLAUDEMESH_CONFIG_DIR = join(home, ".config", "claudemesh");
