// One database, one holder, also through a `claudemesh.db` link (src/broker/database-lock.ts;
// docs/operations.md "Files in the data directory", "Symbolic links"). The lock was the data
// directory's alone, so two data directories whose claudemesh.db linked to one file both served
// it, and a restore through one replaced the database the other's broker had open (which went on
// acknowledging writes into the file moved aside). The database's own lock (beside it, or
// `<file>.lock`) is taken with the directory's and released with it.
import { describe, expect, test } from "bun:test";
import { mkdirSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { admin } from "../helpers/admin.ts";
import { cli } from "../helpers/cli.ts";
import { serveOnce, spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** Data directories `a` and `b` (0700) under one temporary root, and a `disk` directory. */
function layout(): { a: string; b: string; disk: string } {
  const root = tempDir("cm-linked-lock-");
  const [a, b, disk] = ["a", "b", "disk"].map((d) => join(root, d)) as [string, string, string];
  for (const d of [a, b, disk]) mkdirSync(d, { mode: 0o700 });
  return { a, b, disk };
}

const refusal = (database: string, link: string, lock: string) =>
  `another broker or admin restore is using the database ${database} through a link (${link} links to it, and ${lock} is locked)`;

describe("a database two data directories link to", () => {
  test("a second broker and a restore through the other link are refused while one serves; both are free once it stopped", async () => {
    const { a, b, disk } = layout();
    const database = join(disk, "claudemesh.db");
    symlinkSync(database, join(a, "claudemesh.db"));
    symlinkSync(database, join(b, "claudemesh.db"));
    const said = refusal(database, join(b, "claudemesh.db"), join(disk, "claudemesh.lock"));
    const backup = join(tempDir("cm-linked-lock-bk-"), "bk.db");
    {
      await using one = await spawnBroker(a);
      expect(statSync(join(disk, "claudemesh.lock")).mode & 0o777).toBe(0o600);
      expect(await serveOnce(b)).toEqual({ code: 1, stderr: `claudemesh serve: ${said}; two brokers must not share one database.\n` });
      const check = await cli(tempDir("cm-linked-lock-cfg-"), ["serve", "--check", "--port", "0", "--data-dir", b]);
      expect({ code: check.code, verdict: check.stdout.trimEnd().split("\n").at(-1) }).toEqual({ code: 0, verdict: `configuration ok; ${said}, so the database was not opened` });
      expect((await admin(["backup", "--data-dir", a, "--out", backup])).code).toBe(0);
      const r = await admin(["restore", backup, "--force", "--data-dir", b]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 5, stderr: `claudemesh: A${said.slice(1)}. Stop it first, then restore.\n` });
      expect(one.proc.exitCode).toBeNull();
    }
    // Released with the directory's lock: each side can take it now.
    expect(await serveOnce(b)).toBe("started");
    expect((await admin(["restore", backup, "--force", "--data-dir", b])).code).toBe(0);
  }, 60_000);

  test("a link to a database of another name locks `<file>.lock`, also before the database exists", async () => {
    const { a, b, disk } = layout();
    const database = join(disk, "mesh.sqlite");
    symlinkSync(database, join(a, "claudemesh.db"));
    symlinkSync(database, join(b, "claudemesh.db"));
    await using _one = await spawnBroker(a);
    expect(await serveOnce(b)).toEqual({ code: 1, stderr: `claudemesh serve: ${refusal(database, join(b, "claudemesh.db"), `${database}.lock`)}; two brokers must not share one database.\n` });
  }, 60_000);

  test("a data directory linking to another's database is refused while that one serves, and holds it from the other side", async () => {
    const { a, b } = layout();
    symlinkSync(join(a, "claudemesh.db"), join(b, "claudemesh.db"));
    {
      await using one = await spawnBroker(a);
      expect(await serveOnce(b)).toEqual({ code: 1, stderr: `claudemesh serve: ${refusal(join(a, "claudemesh.db"), join(b, "claudemesh.db"), join(a, "claudemesh.lock"))}; two brokers must not share one database.\n` });
      expect(one.proc.exitCode).toBeNull();
    }
    await using _two = await spawnBroker(b);
    // B's broker holds A's lock (no PID file of A names it).
    expect(await serveOnce(a)).toEqual({ code: 1, stderr: `claudemesh serve: another broker is serving ${a}; two brokers must not share one database.\n` });
  }, 60_000);
});
