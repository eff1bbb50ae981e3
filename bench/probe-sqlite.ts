// Diagnostic, not part of `bun run bench`: the SQLite row work one relayed message costs, on
// schema version 1 (migrations/0001_init.sql alone) and on the current schema, in bun:sqlite,
// group-committed in batches of 50 as the broker does. Run: bun run bench/probe-sqlite.ts
// It pins the finding in docs/benchmarks.md: v1's random-key indexes made each message dirty
// pages all over the file; v2 appends at the right edge of two b-trees.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { MIGRATIONS } from "../src/store/migrations.ts";
import { migrate } from "../src/store/sqlite/migrate.ts";
import { openDatabase } from "../src/store/sqlite/open.ts";

const MESSAGES = 20_000;
const BATCH = 50;
const MAILBOXES = 100;

const hex = () => crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
const mailboxes = Array.from({ length: MAILBOXES }, hex);
const ciphertext = "x".repeat(300);

/** The statements of one schema's hot path: store a DM, then ack it. */
type HotPath = { send(i: number): void; ack(i: number): void };

const INSERT_MESSAGE = `INSERT INTO messages (id, mesh_id, sender_member_id, sender_pubkey, sender_name, client_message_id, kind, target, priority, nonce, ciphertext, created_at, expires_at)
   VALUES (?, 'mesh', 'member', ?, 'sender', ?, 'direct', ?, 'now', 'nonce', ?, ?, ?) RETURNING seq`;

/** Bytes this process has caused to be written to storage (Linux), or null. */
function writtenBytes(): number | null {
  try {
    return Number(/write_bytes: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))![1]);
  } catch {
    return null;
  }
}

function v1(db: Database): HotPath {
  const probe = db.query("SELECT seq FROM messages WHERE mesh_id = 'mesh' AND sender_pubkey = ? AND client_message_id = ?");
  const message = db.query(INSERT_MESSAGE);
  const queue = db.query("INSERT INTO queue (mesh_id, recipient, message_seq, priority, expires_at, claimed_by) VALUES ('mesh', ?, ?, 'now', ?, 'conn')");
  const del = db.query(
    "DELETE FROM queue INDEXED BY queue_message WHERE message_seq = (SELECT seq FROM messages WHERE id = ?) AND mesh_id = 'mesh' AND recipient = ? RETURNING message_seq",
  );
  const delivered = db.query("UPDATE messages SET delivered_at = ? WHERE seq = ? AND delivered_at IS NULL");
  return {
    send(i) {
      const sender = mailboxes[i % MAILBOXES]!;
      probe.get(sender, `c${i}`);
      const { seq } = message.get(`id-${i}`, sender, `c${i}`, mailboxes[(i + 1) % MAILBOXES]!, ciphertext, Date.now(), Date.now() + 3_600_000) as { seq: number };
      queue.run(mailboxes[(i + 1) % MAILBOXES]!, seq, Date.now() + 3_600_000);
    },
    ack(i) {
      for (const r of del.all(`id-${i}`, mailboxes[(i + 1) % MAILBOXES]!) as { message_seq: number }[]) delivered.run(Date.now(), r.message_seq);
    },
  };
}

function v2(db: Database): HotPath {
  const message = db.query(INSERT_MESSAGE);
  const queue = db.query("INSERT INTO queue (message_seq, mesh_id, recipient, priority, expires_at) VALUES (?, 'mesh', ?, 'now', ?)");
  const del = db.query("DELETE FROM queue WHERE message_seq = ? AND mesh_id = 'mesh' AND recipient = ?");
  const seqs: number[] = [];
  return {
    send(i) {
      const sender = mailboxes[i % MAILBOXES]!;
      const { seq } = message.get(`id-${i}`, sender, `c${i}`, mailboxes[(i + 1) % MAILBOXES]!, ciphertext, Date.now(), Date.now() + 3_600_000) as { seq: number };
      queue.run(seq, mailboxes[(i + 1) % MAILBOXES]!, Date.now() + 3_600_000);
      seqs[i] = seq;
    },
    ack(i) {
      del.run(seqs[i]!, mailboxes[(i + 1) % MAILBOXES]!);
    },
  };
}

function measure(name: string, version: number, make: (db: Database) => HotPath) {
  const dir = mkdtempSync(join(tmpdir(), "claudemesh-probe-"));
  try {
    const file = join(dir, "probe.db");
    const db = openDatabase(file, { synchronous: "normal" });
    migrate(db, MIGRATIONS.slice(0, version), null);
    db.run("INSERT INTO meshes (id, slug, name, owner_pubkey, created_at) VALUES ('mesh', 'probe', 'probe', 'o', 0)");
    const path = make(db);
    const timed = (step: (i: number) => void) => {
      const t0 = performance.now();
      for (let i = 0; i < MESSAGES; i += BATCH) db.transaction(() => { for (let j = i; j < i + BATCH; j++) step(j); })();
      return ((performance.now() - t0) * 1000) / MESSAGES;
    };
    const before = writtenBytes();
    const sendUs = timed(path.send);
    const ackUs = timed(path.ack);
    const after = writtenBytes();
    db.close();
    const kib = before === null || after === null ? null : +((after - before) / 1024 / MESSAGES).toFixed(2);
    return { name, "send µs/msg": +sendUs.toFixed(1), "ack µs/msg": +ackUs.toFixed(1), "KiB written/msg": kib };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.table([measure("schema v1 (0001)", 1, v1), measure(`schema v${MIGRATIONS.length} (current)`, MIGRATIONS.length, v2)]);
