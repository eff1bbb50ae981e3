// What `admin restore` judges is the copy it installs (docs/operations.md "Restore", decisions.md
// sessions 19 and 24): SQLite never opens the backup itself (its bytes are copied from the one
// descriptor whose kind was checked, src/broker/restore-source.ts); integrity_check and the schema
// version are read once, from the copy, so a backup written while the restore runs cannot pass on
// what the file was a moment before. Spied through Database.prototype.query, whose `this.filename`
// says which file each statement read. A copy that fails integrity_check still refuses in the
// backup's name and leaves the data directory as it was.
import { Database } from "bun:sqlite";
import { afterEach, expect, spyOn, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { restoreDataDir } from "../../src/broker/maintenance.ts";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { tempDir } from "../helpers/broker.ts";
import { editLeaf } from "../helpers/db-pages.ts";

const DB = "claudemesh.db";

async function backupOf(dataDir: string): Promise<string> {
  const file = join(tempDir("cm-restore-copy-"), "b.db");
  expect((await admin(["backup", "--data-dir", dataDir, "--out", file])).code).toBe(0);
  return file;
}

afterEach(() => {
  (Database.prototype.query as { mockRestore?: () => void }).mockRestore?.();
});

test("a restore runs integrity_check and reads the schema version once, on the copy, never on the backup", async () => {
  const backup = await backupOf(await dataDirWithDatabase());
  const read: Record<string, string[]> = { integrity: [], schema: [], backup: [] };
  const query = Database.prototype.query;
  spyOn(Database.prototype, "query").mockImplementation(function (this: Database, sql: string) {
    const file = basename(this.filename).replace(/^\.restoring-.*\.db/, "COPY");
    if (/integrity_check/.test(sql)) read.integrity!.push(file);
    if (/FROM schema_migrations/.test(sql)) read.schema!.push(file);
    if (this.filename === backup) read.backup!.push(sql);
    return query.call(this, sql);
  } as typeof query);
  const restored = await restoreDataDir(tempDir("cm-restore-into-"), backup);
  expect({ read, schemaVersion: restored.schemaVersion > 0 }).toEqual({ read: { integrity: ["COPY"], schema: ["COPY"], backup: [] }, schemaVersion: true });
}, 60_000);

test("a backup whose copy fails integrity_check is refused in its name; the data directory is left byte for byte", async () => {
  const dataDir = await dataDirWithDatabase();
  const backup = await backupOf(dataDir);
  // An index entry changed: VACUUM INTO copies indexes as they are, so the copy fails too.
  editLeaf(backup, "sqlite_autoindex_broker_meta_1", "epoch", 0, (b) => b ^ 0x20);
  const before = readFileSync(join(dataDir, DB));
  const files = readdirSync(dataDir).toSorted();
  const r = await admin(["restore", backup, "--data-dir", dataDir, "--force"]);
  expect({ code: r.code, stderr: r.stderr, files: readdirSync(dataDir).toSorted(), same: readFileSync(join(dataDir, DB)).equals(before) }).toEqual({
    code: 2,
    stderr: `claudemesh: ${backup} fails SQLite's integrity check: row 1 missing from index sqlite_autoindex_broker_meta_1\n`,
    files,
    same: true,
  });
}, 60_000);
