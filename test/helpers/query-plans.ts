// How SQLite runs the statements a broker request prepares: every statement the store prepares
// while `run` runs (through db.query) whose text names one of `tables`, with its EXPLAIN QUERY
// PLAN, so a test can pin that a request reads through an index rather than a whole table.
import type { Database } from "bun:sqlite";

/** Each distinct statement over `tables` that `run` prepared, as its plan's details joined with
 *  " | " (e.g. "SEARCH invites USING INDEX invites_mesh (mesh_id=?)"). */
export async function plansDuring(db: Database, tables: RegExp, run: () => Promise<unknown>): Promise<string[]> {
  const seen = new Set<string>();
  const query = db.query.bind(db);
  (db as { query: Database["query"] }).query = ((sql: string) => {
    if (tables.test(sql) && !sql.startsWith("EXPLAIN")) seen.add(sql);
    return query(sql);
  }) as Database["query"];
  try {
    await run();
  } finally {
    (db as { query: Database["query"] }).query = query;
  }
  // Prepared apart and finalised: a cached EXPLAIN of a DELETE left "SQL statements in progress",
  // and the broker's next COMMIT failed with SQLITE_BUSY.
  return [...seen].map((sql) => {
    const explain = db.prepare<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`);
    try {
      return explain.all().map((r) => r.detail).join(" | ");
    } finally {
      explain.finalize();
    }
  });
}
