// Damage done the way a failing disk does it: one byte of a database file changed inside a page
// that stays well-formed, so that SQLite opens it and quick_check may pass.
import { Database } from "bun:sqlite";
import { readFileSync, writeFileSync } from "node:fs";

/** Checkpoints the database at `path` (closed by everyone else), then sets the byte `at` characters
 *  into `text` on a leaf page of the b-tree `tree` (a table, an index, or sqlite_schema) to what
 *  `to` makes of it. Copies of `text` elsewhere in the file (unused space, free pages) are left
 *  alone. Throws when no leaf of `tree` holds `text`. */
export function editLeaf(path: string, tree: string, text: string, at: number, to: (byte: number) => number): void {
  const db = new Database(path);
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  const pageSize = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!.page_size;
  const leaves = db.query<{ pageno: number }, [string]>("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'").all(tree);
  db.close();
  const bytes = readFileSync(path);
  const pageOf = (n: number) => bytes.subarray((n - 1) * pageSize, n * pageSize);
  const leaf = leaves.map((l) => pageOf(l.pageno)).find((p) => p.includes(text));
  if (!leaf) throw new Error(`no leaf of ${tree} in ${path} holds ${text}`);
  const i = leaf.indexOf(text) + at;
  leaf[i] = to(leaf[i]!);
  writeFileSync(path, bytes);
}
