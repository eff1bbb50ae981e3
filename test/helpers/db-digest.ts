// "The database is unchanged": a digest of every row of every table, for the fuzz tests that send
// hostile input to a real broker and check that what it refused wrote nothing.
import { createHash } from "node:crypto";
import type { TestBroker } from "./broker.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

/** A digest of every row of every table but those named in `except`. */
export function dbDigest(b: TestBroker, except: readonly string[] = []): string {
  const db = (b.ctx.store as SqliteStore).db;
  const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  const h = createHash("sha256");
  for (const { name } of tables) {
    if (except.includes(name)) continue;
    const rows = db.query(`SELECT * FROM "${name}"`).all().map((r) => JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v)));
    h.update(name + rows.sort().join("\n"));
  }
  return h.digest("hex");
}
