// The copy taken before migrating (src/store/sqlite/migrate.ts backupBeforeMigrating) is created
// under `<backups>/pre-migrate-v<N>-<ms>.db.partial` exclusively and without following a symbolic
// link (own-file.ts openOwnFile). The stale-partial cleanup before it removes leftovers, so a link
// can only be there if it was planted after that cleanup: the test plants one at that moment
// (readdirSync spied: the link is made once the directory has been listed). Before: the start
// opened it with "w", emptied what it pointed to, and VACUUM INTO wrote the database copy into it.
// Now: NotOurFileError naming the .partial, nothing migrated, the target's bytes and mode as they were.
import { Database } from "bun:sqlite";
import { afterEach, expect, setSystemTime, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { migrate } from "../../src/store/sqlite/migrate.ts";
import { openDatabase } from "../../src/store/sqlite/open.ts";
import { TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => {
  (fs.readdirSync as { mockRestore?: () => void }).mockRestore?.();
  setSystemTime();
  tmp.cleanup();
});

const versions = (db: Database) => db.query<{ version: number }, []>("SELECT version FROM schema_migrations ORDER BY version").all().map((r) => r.version);
const seen = (file: string) => ({ bytes: readFileSync(file, "utf8"), mode: (statSync(file).mode & 0o777).toString(8) });

test("a link planted at the .partial name after the cleanup is refused, never followed", () => {
  const dir = tmp.make();
  const backups = join(dir, "backups");
  mkdirSync(backups);
  const db = openDatabase(join(dir, "claudemesh.db"), { synchronous: "normal" });
  migrate(db, MIGRATIONS.slice(0, 1), backups); // a database at version 1, so the next start backs it up
  const target = join(tmp.make(), "precious.txt");
  writeFileSync(target, "not claudemesh's: keep these bytes\n");
  chmodSync(target, 0o644);
  const before = seen(target);

  // The copy's name holds the clock: held still, so that the name planted is the one it takes.
  setSystemTime(new Date(1_700_000_000_000));
  const planted = join(backups, "pre-migrate-v1-1700000000000.db.partial");
  const list = fs.readdirSync;
  spyOn(fs, "readdirSync").mockImplementation(((path: string) => {
    const names = list(path);
    if (path === backups) symlinkSync(target, planted);
    return names;
  }) as typeof list);
  let failed: Error | null = null;
  try {
    migrate(db, MIGRATIONS, backups);
  } catch (err) {
    failed = err as Error;
  }
  const result = { name: failed?.name, message: failed?.message, target: seen(target), link: lstatSync(planted, { throwIfNoEntry: false })?.isSymbolicLink() ?? false, versions: versions(db) };
  db.close();
  expect(result).toEqual({
    name: "NotOurFileError",
    message: `${planted} is a symbolic link, not a file claudemesh made: remove it and start again`,
    target: before,
    link: true,
    versions: [1],
  });
});
