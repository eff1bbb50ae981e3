// Scheduled backups (settings backupEvery, backupKeep; docs/operations.md "Scheduled backups"): a
// real `claudemesh serve` process on port 0 with a short interval, on real SQLite files. Pinned:
// - backups appear on schedule as backups/claudemesh-auto-*.db, each one `admin restore` (the
//   real CLI) puts back, and `serve` starts on;
// - retention keeps exactly backupKeep of them and never touches an operator's `admin backup`,
//   its .partial, or any other file;
// - broker_backups_total{outcome} and broker_backup_last_success_timestamp_seconds are served;
// - a restart counts the interval from the newest scheduled backup (no backup at once);
// - a backup into a read-only or full disk is counted and logged at error with a fix, earlier
//   backups stay, and the next interval succeeds once the disk is fixed (root on Linux: mounts);
// - SIGTERM during a backup cancels it: no .partial, no new backup, a clean exit 0; and the
//   broker keeps answering while a backup of a 150 MB database runs (the longest wait printed).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { serveOnce, spawnBroker, type BrokerProcess } from "../helpers/process.ts";
import { until } from "../helpers/until.ts";

const TAKEN = /"msg":"scheduled backup taken"/g;
const FAILED = /"level":"error","msg":"scheduled backup failed[^\n]*/g;
const AUTO = /^claudemesh-auto-\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4}\.db$/;
const asRootOnLinux = process.platform === "linux" && process.getuid?.() === 0;

const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;
const autos = (dir: string) => readdirSync(join(dir, "backups")).filter((n) => AUTO.test(n)).sort();
const metric = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
};
async function stop(b: BrokerProcess): Promise<number> {
  b.proc.kill("SIGTERM");
  return await b.proc.exited;
}

/** `n` MiB of random rows in a table of the test's own, so a backup copies enough to take a while. */
function ballast(dataDir: string, mib: number): void {
  const db = new Database(join(dataDir, "claudemesh.db"));
  db.run("CREATE TABLE test_ballast(b BLOB)");
  const ins = db.prepare("INSERT INTO test_ballast VALUES (randomblob(1048576))");
  db.transaction(() => {
    for (let i = 0; i < mib; i++) ins.run();
  })();
  db.close();
}

test("backups on schedule, each restorable; retention keeps backupKeep and only ever removes its own", async () => {
  const dataDir = await dataDirWithDatabase("cm-sched-data-");
  // An operator's backup, and the .partial of one of theirs: never the schedule's to remove.
  const manual = await admin(["backup", "--data-dir", dataDir, "--json"]);
  expect(manual.code).toBe(0);
  const manualFile: string = manual.json().file;
  const theirPartial = join(dataDir, "backups", "claudemesh-20260101T000000.000Z-abcd.db.partial");
  const theirs = join(dataDir, "backups", "notes.txt");
  writeFileSync(theirPartial, "x");
  writeFileSync(theirs, "x");
  await using b = await spawnBroker(dataDir, ["--backup-every", "1s", "--backup-keep", "2"]);
  await createTestMesh(b.url); // something in the database to restore
  await until(() => count(b.stderr(), TAKEN) >= 4, "four scheduled backups", 30_000);
  expect(await metric(b.url, 'broker_backups_total{outcome="ok"}')).toBeGreaterThanOrEqual(4);
  expect(await metric(b.url, 'broker_backups_total{outcome="failed"}')).toBe(0);
  const last = await metric(b.url, "broker_backup_last_success_timestamp_seconds");
  expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(10);
  expect(await stop(b)).toBe(0);
  const kept = autos(dataDir);
  expect(kept.length).toBe(2);
  for (const f of [manualFile, theirPartial, theirs]) expect(existsSync(f)).toBe(true);
  expect(readdirSync(join(dataDir, "backups")).filter((n) => n.endsWith(".partial")).map((n) => join(dataDir, "backups", n))).toEqual([theirPartial]);

  // Each kept backup is what `admin restore` takes, and what `serve` starts on.
  for (const name of kept) {
    const r = await admin(["restore", join(dataDir, "backups", name), "--force", "--data-dir", dataDir, "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.json().meshes).toBe(1);
  }
  expect(await serveOnce(dataDir, ["--backup-every", "0"])).toBe("started");

  // A restart counts from the newest scheduled backup: none at once, the gauge read from its name.
  await using again = await spawnBroker(dataDir, ["--backup-every", "1h"]);
  const SCHEDULE = /\{[^\n]*"msg":"scheduled backups"[^\n]*\}/;
  await until(() => SCHEDULE.test(again.stderr()), "the schedule's start line");
  const line = JSON.parse(SCHEDULE.exec(again.stderr())![0]);
  const newest = Date.parse(line.newest);
  expect(Date.parse(line.next)).toBe(newest + 3_600_000);
  expect(await metric(again.url, "broker_backup_last_success_timestamp_seconds")).toBe(newest / 1000);
  expect(autos(dataDir)).toEqual(kept);
}, 90_000);

describe.skipIf(!asRootOnLinux)("a backup that cannot be written", () => {
  test("read-only, then full: counted, logged at error with a fix, earlier backups kept; fixed, the next one succeeds", async () => {
    const dataDir = await dataDirWithDatabase("cm-sched-ro-");
    const mnt = join(dataDir, "backups");
    Bun.spawnSync(["mkdir", "-p", mnt]);
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]).exitCode).toBe(0);
    try {
      await using b = await spawnBroker(dataDir, ["--backup-every", "1s", "--backup-keep", "3"]);
      await until(() => count(b.stderr(), TAKEN) >= 1, "a first scheduled backup", 20_000);
      const before = autos(dataDir);
      expect(Bun.spawnSync(["mount", "-o", "remount,ro", mnt]).exitCode).toBe(0);
      await until(() => count(b.stderr(), FAILED) >= 1, "a failed scheduled backup", 20_000);
      const failure = JSON.parse(b.stderr().match(FAILED)![0].replace(/^/, "{"));
      expect(failure.error).toContain("read-only");
      expect(failure.fix).toBeTruthy();
      expect(await metric(b.url, 'broker_backups_total{outcome="failed"}')).toBeGreaterThanOrEqual(1);
      expect(autos(dataDir)).toEqual(before);

      // Writable again but full: refused before a copy could fill the broker's disk.
      expect(Bun.spawnSync(["mount", "-o", "remount,rw", mnt]).exitCode).toBe(0);
      Bun.spawnSync(["sh", "-c", `head -c 3000000 /dev/zero > '${mnt}/filler'`]);
      const failedSoFar = count(b.stderr(), FAILED);
      await until(() => count(b.stderr(), FAILED) > failedSoFar && b.stderr().includes("Not taking the scheduled backup"), "a refusal on a full disk", 20_000);
      expect(b.stderr()).toMatch(/"fix":"free space on that disk, lower backupKeep/);
      expect(autos(dataDir)).toEqual(before);

      Bun.spawnSync(["rm", `${mnt}/filler`]);
      const takenSoFar = count(b.stderr(), TAKEN);
      await until(() => count(b.stderr(), TAKEN) > takenSoFar, "a scheduled backup once the disk is fixed", 20_000);
      expect(autos(dataDir).length).toBe(before.length + 1);
      expect(readdirSync(mnt).filter((n) => n.endsWith(".partial"))).toEqual([]);
      expect(await stop(b)).toBe(0);
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  }, 90_000);
});

test("the broker answers while a backup of 150 MB runs; SIGTERM during one cancels it cleanly", async () => {
  const dataDir = await dataDirWithDatabase("cm-sched-drain-");
  ballast(dataDir, 150);
  await using b = await spawnBroker(dataDir, ["--backup-every", "1s"]);
  // /health polled back to back through the first backup: the longest answer is the event loop's
  // worst stall (an in-process VACUUM INTO of this file alone holds a thread ~0.4 s).
  let longest = 0;
  while (count(b.stderr(), TAKEN) < 1) {
    const t = performance.now();
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    longest = Math.max(longest, performance.now() - t);
  }
  console.log(`longest /health answer during a scheduled backup of 150 MB: ${longest.toFixed(1)} ms`);
  expect(longest).toBeLessThan(250);

  // The next backup's .partial appears: stop the broker while it is being written.
  const partials = () => readdirSync(join(dataDir, "backups")).filter((n) => n.endsWith(".partial"));
  await until(() => partials().length > 0, "a scheduled backup under way", 20_000);
  const doneBefore = autos(dataDir);
  expect(await stop(b)).toBe(0);
  expect(b.stderr()).toContain('"msg":"scheduled backup cancelled: the broker is stopping"');
  expect(b.stderr()).not.toContain("scheduled backup failed");
  expect(partials()).toEqual([]);
  expect(autos(dataDir)).toEqual(doneBefore);
}, 90_000);
