// `claudemesh admin backup|restore` against a real `serve` process: an online backup taken while
// a client keeps sending holds every message acknowledged before it began and restores to a
// database that passes integrity_check and audit-chain verification, with a new epoch that
// clients see; restore refuses while a broker serves the directory, and refuses unsound or newer
// files; the PID file keeps a second broker off a data directory.
import { LATEST_VERSION } from "../../src/store/migrations.ts";
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { restoreDataDir } from "../../src/broker/maintenance.ts";
import { verifyChain } from "../../src/protocol/audit-chain.ts";
import { auditFromRow, type AuditRow } from "../../src/store/sqlite/rows.ts";
import { admin } from "../helpers/admin.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";
import { spawnBroker } from "../helpers/process.ts";

const dir = (prefix = "cm-ops-") => tempDir(prefix);

/** Opens a restored database read-only and checks what the tests promise about it. */
function examine(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check).join("; ");
    const meshes = db.query<{ id: string }, []>("SELECT id FROM meshes").all().map((r) => r.id);
    const chains = meshes.map((m) => verifyChain(db.query<AuditRow, [string]>("SELECT * FROM audit_log WHERE mesh_id = ? ORDER BY seq").all(m).map(auditFromRow)));
    const ids = new Set(db.query<{ id: string }, []>("SELECT id FROM messages").all().map((r) => r.id));
    const epoch = db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'epoch'").get()!.value;
    return { integrity, meshes, chains, ids, epoch };
  } finally {
    db.close();
  }
}

/** A backup file of a fresh broker's database (the broker is stopped again). */
async function backupOfFreshBroker(): Promise<string> {
  const src = dir();
  await using _ = await spawnBroker(src);
  const file = join(dir(), "backup.db");
  expect((await admin(["backup", "--data-dir", src, "--out", file])).code).toBe(0);
  return file;
}

describe("admin backup and restore", () => {
  test("an online backup taken while a client sends holds every message acked before it began, verifies, and restores with a new epoch", async () => {
    const data = dir();
    await using broker = await spawnBroker(data, ["--send-rate", "100000", "--send-burst", "100000"]);
    const { owner } = await createTestMesh(broker.url);
    const bob = await addMember(broker.url, owner, "bob");
    const alice = await connect(broker.url, owner, {}, { reconnect: false });
    const oldEpoch = alice.ack.epoch;

    const acked: string[] = [];
    const sendBatch = async (n: number, tag: string) => {
      const results = await Promise.all(Array.from({ length: n }, (_, i) => sendText(alice, bob.keys.publicKey, `${tag}-${i}`)));
      return results.map((r) => r.messageId);
    };
    acked.push(...(await sendBatch(300, "before")));

    // Keep writing while the backup runs in another process.
    let writing = true;
    let during = 0;
    const writer = (async () => {
      while (writing) during += (await sendBatch(20, `during-${during}`)).length;
    })();
    const out = join(dir(), "cm.db");
    const backup = await admin(["backup", "--data-dir", data, "--out", out, "--json"]);
    writing = false;
    await writer;
    expect(backup.code).toBe(0);
    const b = backup.json();
    expect(b).toMatchObject({ file: out, schemaVersion: LATEST_VERSION, meshes: 1, epoch: oldEpoch });
    expect(b.sha256).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(out)).digest("hex"));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(during).toBeGreaterThan(0);

    // Restore into a fresh data directory (no --force needed: nothing to replace).
    const fresh = join(dir(), "restored");
    const restored = await admin(["restore", out, "--data-dir", fresh, "--json"]);
    expect(restored.code).toBe(0);
    const r = restored.json();
    expect(r).toMatchObject({ file: out, database: join(fresh, "claudemesh.db"), previous: null, schemaVersion: LATEST_VERSION, backupEpoch: oldEpoch });
    expect(r.epoch).not.toBe(oldEpoch);

    const x = examine(join(fresh, "claudemesh.db"));
    expect(x.integrity).toBe("ok");
    expect(x.meshes).toEqual([owner.meshId]);
    expect(x.chains.map((c) => [c.valid, c.reason])).toEqual([[true, null]]);
    expect(x.chains[0]!.entries).toBeGreaterThan(1);
    expect(acked.filter((id) => !x.ids.has(id))).toEqual([]);
    expect(x.epoch).toBe(r.epoch);
    expect(readdirSync(fresh).filter((f) => f.startsWith(".restoring"))).toEqual([]);
    alice.close();
  }, 60_000);

  test("restore refuses while a broker serves the directory; once stopped it replaces the database (kept aside) and clients see the new epoch", async () => {
    const data = dir();
    await using first = await spawnBroker(data);
    const { owner } = await createTestMesh(first.url);
    const a = await connect(first.url, owner, {}, { reconnect: false });
    const oldEpoch = a.ack.epoch;
    a.close();
    const backup = await admin(["backup", "--data-dir", data, "--json"]);
    expect(backup.code).toBe(0);
    const file: string = backup.json().file;
    expect(file).toMatch(new RegExp(`^${data}/backups/claudemesh-\\d{8}T\\d{6}\\.\\d{3}Z-[0-9a-f]{4}\\.db$`));

    const busy = await admin(["restore", file, "--data-dir", data, "--force"]);
    expect(busy.code).toBe(5);
    expect(busy.stderr).toContain(`A broker (PID ${first.proc.pid}) is serving ${data}`);
    // A second broker on the same directory is refused too.
    const second = Bun.spawnSync(["bun", "run", join(import.meta.dir, "../../src/main.ts"), "serve", "--port", "0", "--data-dir", data]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr.toString()).toContain(`another broker (PID ${first.proc.pid}) is serving ${data}`);
    // Without its PID file the directory is still held: the lock dies only with the process.
    rmSync(join(data, "claudemesh.pid"));
    const third = Bun.spawnSync(["bun", "run", join(import.meta.dir, "../../src/main.ts"), "serve", "--port", "0", "--data-dir", data]);
    expect(third.exitCode).toBe(1);
    expect(third.stderr.toString()).toContain(`another broker is serving ${data}`);
    const stillBusy = await admin(["restore", file, "--data-dir", data, "--force"]);
    expect(stillBusy.code).toBe(5);
    expect(stillBusy.stderr).toContain(`A broker is serving ${data}`);

    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    expect(existsSync(join(data, "claudemesh.pid"))).toBe(false);
    const noForce = await admin(["restore", file, "--data-dir", data]);
    expect(noForce.code).toBe(5);
    expect(noForce.stderr).toContain("Pass --force to replace it");
    const done = await admin(["restore", file, "--data-dir", data, "--force"]);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`Restored ${file} → ${join(data, "claudemesh.db")}`);
    expect(done.stdout).toMatch(/the previous database was kept as .*claudemesh\.db\.before-restore-\d{8}T\d{6}Z/);
    expect(readdirSync(data).filter((f) => f.includes("before-restore")).length).toBe(1);

    await using again = await spawnBroker(data);
    const b = await connect(again.url, owner, {}, { reconnect: false });
    expect(b.ack.epoch).not.toBe(oldEpoch);
    expect(b.ack.epoch).toBe(examine(join(data, "claudemesh.db")).epoch);
    b.close();
  }, 60_000);

  test("restore refuses a file that is not a sound claudemesh database, or one from a newer claudemesh, and changes nothing", async () => {
    const data = dir();
    const junk = join(data, "junk.db");
    writeFileSync(junk, "this is not a database".repeat(100));
    const bad = await admin(["restore", junk, "--data-dir", join(data, "target"), "--json"]);
    expect(bad.code).toBe(2);
    expect(bad.json().error.message).toContain("cannot be read as a database");

    // A real database whose schema is newer than this binary knows.
    const src = dir();
    await using b = await spawnBroker(src);
    const made = await admin(["backup", "--data-dir", src, "--out", join(data, "newer.db"), "--json"]);
    expect(made.code).toBe(0);
    const db = new Database(join(data, "newer.db"));
    db.run("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, '0999_future.sql', 'x', 0)");
    db.close();
    const newer = await admin(["restore", join(data, "newer.db"), "--data-dir", join(data, "target")]);
    expect(newer.code).toBe(5);
    expect(newer.stderr).toContain(`written by a newer claudemesh (schema version 999; this binary knows up to ${LATEST_VERSION})`);
    expect(existsSync(join(data, "target", "claudemesh.db"))).toBe(false);

    const missing = await admin(["backup", "--data-dir", join(data, "nothing-here")]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("No broker database at");
    copyFileSync(join(data, "junk.db"), join(data, "exists.db"));
    const exists = await admin(["backup", "--data-dir", src, "--out", join(data, "exists.db")]);
    expect(exists.code).toBe(5);
    expect(exists.stderr).toContain("backups never overwrite");
    // A backup killed midway left its .partial: the next one to that name says what it is.
    writeFileSync(join(data, "killed.db.partial"), "half a copy");
    const killed = await admin(["backup", "--data-dir", src, "--out", join(data, "killed.db")]);
    expect({ code: killed.code, stderr: killed.stderr }).toEqual({ code: 5, stderr: expect.stringContaining(`killed.db.partial exists: an earlier backup to ${join(data, "killed.db")} was interrupted`) });
    expect(readFileSync(join(data, "killed.db.partial"), "utf8")).toBe("half a copy");
  }, 60_000);

  test("restore takes what the source's -wal holds too (a copy of a killed broker's files)", async () => {
    // A file copy of the main database alone left it out, while the counts printed included it.
    const clean = await backupOfFreshBroker();
    // Rows committed to the WAL and never checkpointed, then the files copied as a crash leaves them.
    const live = new Database(clean);
    live.run("PRAGMA journal_mode = WAL");
    live.run("PRAGMA wal_autocheckpoint = 0");
    for (let i = 0; i < 50; i++) live.query("INSERT INTO broker_meta (key, value) VALUES (?, 'only in the wal')").run(`wal-${i}`);
    const crashed = join(dir(), "crashed.db");
    for (const suffix of ["", "-wal"]) copyFileSync(clean + suffix, crashed + suffix);
    live.close();
    expect(statSync(`${crashed}-wal`).size).toBeGreaterThan(0);
    const target = join(dir(), "target");
    expect((await admin(["restore", crashed, "--data-dir", target])).code).toBe(0);
    const db = new Database(join(target, "claudemesh.db"), { readonly: true });
    expect(db.query("SELECT COUNT(*) AS n FROM broker_meta WHERE value = 'only in the wal'").get()).toEqual({ n: 50 });
    db.close();
    expect(statSync(`${crashed}-wal`).size).toBeGreaterThan(0); // the source is left as it was
  }, 60_000);

  test.skipIf(process.getuid?.() !== 0)("restore run as root leaves the database to the data directory's owner (the broker's user)", async () => {
    const file = await backupOfFreshBroker();
    const target = join(dir(), "owned");
    mkdirSync(target, { mode: 0o700 });
    chownSync(target, 65534, 65534);
    expect((await admin(["restore", file, "--data-dir", target])).code).toBe(0);
    const st = statSync(join(target, "claudemesh.db"));
    expect({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o777).toString(8) }).toEqual({ uid: 65534, gid: 65534, mode: "600" });
  }, 60_000);

  test.skipIf(process.getuid?.() !== 0)("a backup that does not fit its target says so and leaves no file under its name", async () => {
    const src = dir();
    await using b = await spawnBroker(src);
    const peer = await connect(b.url, (await createTestMesh(b.url)).owner);
    await Promise.all(Array.from({ length: 40 }, (_, i) => sendText(peer, "#general", "x".repeat(30_000) + i)));
    peer.close();
    const small = dir();
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small]).exitCode).toBe(0);
    try {
      const out = join(small, "nightly.db");
      const r = await admin(["backup", "--data-dir", src, "--out", out]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`is full`);
      expect(r.stderr).not.toContain("broker's database");
      expect(readdirSync(small)).toEqual([]);
    } finally {
      Bun.spawnSync(["umount", small]);
    }
  }, 60_000);

  test("admin backup and restore find the data directory through --config, as serve does", async () => {
    const src = dir();
    await using b = await spawnBroker(src);
    const config = join(dir(), "broker.json");
    writeFileSync(config, JSON.stringify({ dataDir: src }));
    const out = join(dir(), "via-config.db");
    const made = await admin(["backup", "--config", config, "--out", out, "--json"]);
    expect({ code: made.code, file: made.json().file }).toEqual({ code: 0, file: out });
    const target = dir();
    writeFileSync(config, JSON.stringify({ dataDir: target }));
    expect((await admin(["restore", out, "--config", config])).code).toBe(0);
    expect(existsSync(join(target, "claudemesh.db"))).toBe(true);
  }, 60_000);

  test("admin backup --out into directories that do not exist yet creates them 0700, as claudemesh backup does", async () => {
    // It used to fail with "Backup failed: ENOENT …" and exit 6, as if the broker were down.
    await using b = await startBroker({}, { dataDir: dir() });
    const out = join(dir(), "nightly", "2026", "claudemesh.db");
    const made = await admin(["backup", "--data-dir", b.dataDir, "--out", out, "--json"]);
    const parent = join(out, "..");
    expect({ code: made.code, json: made.json(), mode: existsSync(parent) ? (statSync(parent).mode & 0o777).toString(8) : null }).toEqual({ code: 0, json: expect.objectContaining({ file: out }), mode: "700" });
  }, 60_000);

  test("two restores in the same second keep both replaced databases aside", async () => {
    const file = await backupOfFreshBroker();
    const target = dir();
    const now = new Date("2026-11-22T12:00:00Z");
    await restoreDataDir(target, file, { now });
    const first = await restoreDataDir(target, file, { force: true, now });
    const second = await restoreDataDir(target, file, { force: true, now });
    expect(second.previous).not.toBe(first.previous);
    expect(readdirSync(target).filter((f) => f.includes("before-restore")).toSorted()).toEqual([basename(first.previous!), basename(second.previous!)].toSorted());
  }, 60_000);
});
