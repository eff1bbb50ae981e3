// The operator's commands on a broker's host: `claudemesh admin …` as a real subprocess, and a
// data directory holding a real broker database for them to work on.
import { expect } from "bun:test";
import { cli, type CliOptions, type CliResult } from "./cli.ts";
import { tempDir } from "./temp-dir.ts";

/** The CLI's config dir for these commands (they read none of it, but every command has one). */
let configDir: string | undefined;
const adminConfigDir = () => (configDir ??= tempDir("cm-admin-cfg-"));

/** `claudemesh admin <args>` to its exit, killed after 30 s: a backup or restore of a padded
 *  database takes a while on a loaded host. */
export function admin(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return cli(adminConfigDir(), ["admin", ...args], { timeoutMs: 30_000, ...opts });
}

/** A data directory as `serve` leaves it (`serve --check` made it): a real broker database at
 *  the latest schema and the lock file. */
export async function dataDirWithDatabase(prefix = "cm-admin-data-"): Promise<string> {
  const dataDir = tempDir(prefix);
  const r = await cli(adminConfigDir(), ["serve", "--check", "--port", "0", "--data-dir", dataDir]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return dataDir;
}
