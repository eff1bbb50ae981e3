// Every test process gets its own HOME and config/data dirs, so no test reads or writes the
// developer's real claudemesh files.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const home = mkdtempSync(join(tmpdir(), "cm-home-"));
process.env.HOME = home;
// A hook registered in the preload runs once, after every test file of the process.
afterAll(() => rmSync(home, { recursive: true, force: true }));
process.env.XDG_DATA_HOME = join(home, ".local", "share");
process.env.XDG_CONFIG_HOME = join(home, ".config");
process.env.CLAUDEMESH_CONFIG_DIR = join(home, ".config", "claudemesh");
