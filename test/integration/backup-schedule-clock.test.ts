// Scheduled backups against timer limits and the wall clock, on a real `claudemesh serve` (port 0)
// with real `admin backup` copies on disk. Pinned:
// - an interval longer than a timer can hold (2^31−1 ms, ~24.8 days; backupEvery allows 365d)
//   waits that long, instead of firing at once, over and over (a timer past the limit fires in 1 ms);
// - the backup just taken is kept even when the clock was set back since the newest ones were
//   named (retention orders by the time in the name, which put the fresh one first to delete).
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { spawnBroker } from "../helpers/process.ts";
import { until } from "../helpers/until.ts";

const TAKEN = /\{[^\n]*"msg":"scheduled backup taken"[^\n]*\}/g;
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "");

/** A real, checked backup under the schedule's own name, as if taken at `ms`. */
async function autoBackupAt(dataDir: string, ms: number): Promise<string> {
  const file = join(dataDir, "backups", `claudemesh-auto-${stamp(ms)}-abcd.db`);
  const r = await admin(["backup", "--data-dir", dataDir, "--out", file, "--json"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return file;
}

test("backupEvery 30d after a backup a minute ago: none for now, not one backup after another", async () => {
  const dataDir = await dataDirWithDatabase("cm-sched-long-");
  await autoBackupAt(dataDir, Date.now() - 60_000);
  await using b = await spawnBroker(dataDir, ["--backup-every", "30d"]);
  const SCHEDULE = /\{[^\n]*"msg":"scheduled backups"[^\n]*\}/;
  await until(() => SCHEDULE.test(b.stderr()), "the schedule's start line");
  const line = JSON.parse(SCHEDULE.exec(b.stderr())![0]);
  expect(Date.parse(line.next) - Date.now()).toBeGreaterThan(29 * 24 * 3_600_000);
  await Bun.sleep(4_000);
  expect({ taken: b.stderr().match(TAKEN)?.length ?? 0, files: readdirSync(join(dataDir, "backups")).length }).toEqual({ taken: 0, files: 1 });
}, 60_000);

test("a clock set back since the newest backups were named: the backup just taken stays", async () => {
  const dataDir = await dataDirWithDatabase("cm-sched-back-");
  const day = 24 * 3_600_000;
  const ahead = [await autoBackupAt(dataDir, Date.now() + day), await autoBackupAt(dataDir, Date.now() + 2 * day)];
  await using b = await spawnBroker(dataDir, ["--backup-every", "1s", "--backup-keep", "2"]);
  await until(() => (b.stderr().match(TAKEN)?.length ?? 0) >= 1, "a scheduled backup", 30_000);
  const taken = JSON.parse(b.stderr().match(TAKEN)![0]);
  expect({ kept: existsSync(taken.file), removed: taken.removed }).toEqual({ kept: true, removed: [ahead[0]] });
}, 60_000);
