// What the real `claudemesh serve` and `serve --check` say when something other than a file stands
// where the database or one of SQLite's side files belongs (docs/operations.md "Exit codes"). Each
// is named by what it is, with what to do, and exits with the code that tells a supervisor whether
// a restart can help. Before: a FIFO as claudemesh.db hung the start for good (opening it for
// writing waits for a reader); a directory as claudemesh.db-wal was "belongs to uid 0 …; this
// process runs as uid 0 … chown -R" (exit 77), as -shm "attempt to write a readonly database" and
// as -journal "the disk … reported an I/O error: check the disk (dmesg, SMART)" (exit 1); a FIFO
// as -wal was that I/O error too; a link into a missing directory was "nothing can be created in"
// the (writable) data directory. Every case here fails as root too.
import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { mkdevice, mkfifo } from "../helpers/special-files.ts";
import { cli } from "../helpers/cli.ts";
import { ServeExit } from "../../src/cli/serve-problems.ts";

const cfg = tempDir("cm-serve-shape-cfg-");

/** A data directory as a started broker leaves it (database file, lock file), then `lay` run on it. */
async function dataDirWith(lay: (db: string) => void, fresh = false): Promise<{ data: string; db: string }> {
  const data = tempDir("cm-serve-shape-");
  if (!fresh) expect((await cli(cfg, ["serve", "--check", "--port", "0", "--data-dir", data], { timeoutMs: 15_000 })).code).toBe(0);
  const db = join(data, "claudemesh.db");
  lay(db);
  return { data, db };
}


/** `serve --check` and `serve` on `data`: the exit code and stderr of each. */
async function both(data: string) {
  const run = async (args: string[]) => {
    const r = await cli(cfg, ["serve", ...args, "--port", "0", "--data-dir", data], { timeoutMs: 15_000 });
    return { code: r.code, stderr: r.stderr };
  };
  return { check: await run(["--check"]), serve: await run([]) };
}

const said = (data: string, sentence: string, code: number) => ({
  check: { code, stderr: `claudemesh serve: cannot open the database in ${data}: ${sentence}\n` },
  serve: { code, stderr: `claudemesh serve: cannot start: ${sentence}\n` },
});

describe("serve names what stands where the database's files belong", () => {
  test("a named pipe as claudemesh.db: refused at once (exit 65), not a start that waits forever", async () => {
    const { data, db } = await dataDirWith(mkfifo, true);
    expect(await both(data)).toEqual(said(data, `${db} is a named pipe (FIFO), not a database file: move it away and start again`, ServeExit.badData));
  }, 60_000);

  test("a device as claudemesh.db", async () => {
    const { data, db } = await dataDirWith(mkdevice, true);
    expect(await both(data)).toEqual(said(data, `${db} is a device, not a database file: move it away and start again`, ServeExit.badData));
  }, 60_000);

  test.each([
    ["-wal", "write-ahead log", "a directory", (p: string) => mkdirSync(p)],
    ["-shm", "shared-memory index", "a directory", (p: string) => mkdirSync(p)],
    ["-journal", "rollback journal", "a directory", (p: string) => mkdirSync(p)],
    ["-wal", "write-ahead log", "a named pipe (FIFO)", mkfifo],
  ])("%s as %s that is %s: named, exit 65", async (suffix, holds, is, lay) => {
    const { data, db } = await dataDirWith((db) => lay(db + suffix));
    expect(await both(data)).toEqual(said(data, `${db}${suffix} should be the database's ${holds} but is ${is}: move it away and start again`, ServeExit.badData));
  }, 60_000);

  test("a claudemesh.db link into a directory that does not exist (a disk not mounted yet): named, exit 1 (may pass)", async () => {
    const target = join(tempDir("cm-serve-shape-gone-"), "not-mounted", "claudemesh.db");
    const { data, db } = await dataDirWith((db) => symlinkSync(target, db), true);
    const sentence = `${db} is a symbolic link to ${target}, whose directory ${join(target, "..")} does not exist: mount or create it, or point the link at the database file`;
    expect(await both(data)).toEqual(said(data, sentence, ServeExit.mayPass));
  }, 60_000);
});
