// Diagnostic, not part of `bun run bench`: the cost of the broker's per-send SQL lookups on the
// broker's own schema, in bun:sqlite, one call at a time. Run: bun run bench/probe-sqlite.ts
// It pins the finding in docs/benchmarks.md ("what limits it"): the duplicate-send lookup
// selects MESSAGE_SELECT (messages LEFT JOIN topics LEFT JOIN members) and costs an order of
// magnitude more than the same unique-index lookup on `messages` alone, even when nothing matches.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS } from "../src/store/migrations.ts";
import { migrate } from "../src/store/sqlite/migrate.ts";
import { openDatabase } from "../src/store/sqlite/open.ts";
import { MESSAGE_SELECT } from "../src/store/sqlite/rows.ts";

const ROWS = 50_000;
const CALLS = 20_000;

const dir = mkdtempSync(join(tmpdir(), "claudemesh-probe-"));
try {
  const db = openDatabase(join(dir, "probe.db"), { synchronous: "full" });
  migrate(db, MIGRATIONS, null);
  db.run("INSERT INTO meshes (id, slug, name, owner_pubkey, created_at) VALUES ('mesh', 'probe', 'probe', 'o', 0)");
  const ins = db.query(
    `INSERT INTO messages (id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target, priority, nonce, ciphertext, created_at, expires_at)
     VALUES (?, 'mesh', 'member', ?, 'n', ?, 'direct', 't', 'now', 'n', ?, 0, 0)`,
  );
  const ciphertext = "x".repeat(300);
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) ins.run(`id${i}`, `pk${i % 100}`, `cid${i}`, ciphertext);
  })();

  const where = "WHERE m.mesh_id = ? AND m.sender_pubkey = ? AND m.client_message_id = ?";
  const variants: Record<string, string> = {
    "MESSAGE_SELECT (as the broker's findSent)": `${MESSAGE_SELECT} ${where}`,
    "same lookup, messages only": `SELECT m.seq FROM messages m ${where}`,
    "same lookup, joins as scalar subqueries": `SELECT m.seq, (SELECT name FROM topics WHERE id = m.topic_id) AS topic,
       (SELECT pubkey FROM members WHERE id = m.sender_member_id) AS sender_member_pubkey FROM messages m ${where}`,
  };
  const out: Record<string, { missUs: number; hitUs: number }> = {};
  for (const [name, sql] of Object.entries(variants)) {
    const q = db.query(sql);
    const time = (cid: (i: number) => string) => {
      const t0 = performance.now();
      for (let i = 0; i < CALLS; i++) q.get("mesh", `pk${i % 100}`, cid(i));
      return Number((((performance.now() - t0) / CALLS) * 1000).toFixed(2));
    };
    out[name] = { missUs: time((i) => `new${i}`), hitUs: time((i) => `cid${i}`) };
  }
  db.close();
  process.stdout.write(JSON.stringify({ sqlite: "bun:sqlite", rows: ROWS, perCallMicroseconds: out }) + "\n");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
