// A damaged database met on upgrade (src/store/sqlite/migrate.ts; docs/operations.md "Upgrading"):
// the copy taken before migrating reads every page, so it is the first to meet the damage. It was
// reported as "cannot write the backup taken before migrating … database disk image is
// malformed", exit 1 (systemd restarted it forever), with no word of restoring a backup. A damaged
// database is refused as one, whatever its schema: exit 65 and the sentence of a damaged
// database at the current schema, and no half-written copy is left in backups/.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../helpers/cli.ts";
import { oldSchemaDatabase } from "../helpers/old-schema.ts";
import { serveOnce } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** A data directory with a database of schema 3 holding 3,000 queued messages, one page of which
 *  (in the middle of the file, inside the messages table) is overwritten with 0xff. */
function damagedOldDatabase(): string {
  const data = tempDir("cm-damaged-upgrade-");
  const path = oldSchemaDatabase(data, 3);
  const db = new Database(path);
  db.run(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
    INSERT INTO messages (id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target, priority, nonce, ciphertext, created_at, expires_at)
    SELECT 'm' || i, 'mesh1', 'owner1', 'ownerkey', 'owner', 'c' || i, 'direct', 'bobkey', 'next', hex(randomblob(12)), hex(randomblob(250)), 1795000000000, 4102444800000 FROM c`);
  const { page_size: size } = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!;
  const { page_count: pages } = db.query<{ page_count: number }, []>("PRAGMA page_count").get()!;
  db.run("PRAGMA journal_mode = DELETE"); // checkpoints and removes the -wal: the page is in the file
  db.close();
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.alloc(size, 0xff), 0, size, Math.floor(pages / 2) * size);
  closeSync(fd);
  return data;
}

describe("a damaged database of an older schema", () => {
  test("serve and serve --check refuse it as damaged (exit 65), say to restore a backup, and leave no copy in backups/", async () => {
    const data = tempDir("cm-damaged-upgrade-cfg-");
    const dir = damagedOldDatabase();
    const said = `${join(dir, "claudemesh.db")} is damaged or not a claudemesh database (database disk image is malformed): restore a backup (claudemesh admin restore FILE --force --data-dir ${dir})`;
    expect(await serveOnce(dir)).toEqual({ code: 65, stderr: `claudemesh serve: cannot start: ${said}\n` });
    const check = await cli(data, ["serve", "--check", "--port", "0", "--data-dir", dir]);
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 65, stderr: `claudemesh serve: cannot open the database in ${dir}: ${said}\n` });
    expect(readdirSync(join(dir, "backups"))).toEqual([]);
  }, 60_000);
});
