// Scheduled backups of a serving broker (settings backupEvery, backupKeep): every interval, the
// checked copy `admin backup` makes (backup-run.ts: in a child process), into
// <dataDir>/backups/claudemesh-auto-<UTC time>-<4 hex>.db; after each success the oldest of the
// schedule's own beyond backupKeep are deleted (backup-retention.ts). A failure is logged at error
// with its fix and counted, deletes nothing, and is tried again an interval later. The interval
// counts from the newest scheduled backup on disk, so a restart neither takes one at once after a
// recent one nor puts the next one off by a whole interval.
import { statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "../log/log.ts";
import type { Metrics } from "./metrics.ts";
import { formatDurationMs } from "../config/spec.ts";
import { backupName } from "./backup.ts";
import { AUTO_STEM, autoBackups, pruneAutoBackups, prunePartials, type Pruned } from "./backup-retention.ts";
import { runBackup, type BackupRun } from "./backup-run.ts";

/** With no scheduled backup on disk yet, the first waits this long after a start (or one
 *  interval, if shorter): not while a restart's clients reconnect all at once, and not on every
 *  start of a broker in a crash loop. */
export const FIRST_BACKUP_DELAY_MS = 10 * 60_000;

/** The longest delay a timer holds (a signed 32-bit count of milliseconds, ~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ScheduleOptions = {
  dataDir: string;
  everyMs: number;
  keep: number;
  /** How this claudemesh runs (cli launcher()): the child is `command admin backup …`. */
  command: readonly string[];
  log: Log;
  metrics: Pick<Metrics, "backups" | "backupLastSuccess">;
  now?: () => number;
};

export class BackupSchedule {
  private readonly dir: string;
  private readonly now: () => number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: { run: BackupRun; out: string } | null = null;
  private attempt: Promise<void> | null = null;
  private stopped = false;
  /** backupEvery and backupKeep in force (a SIGHUP may change them: retune). */
  private everyMs: number;
  private keep: number;

  private constructor(private readonly o: ScheduleOptions) {
    this.dir = join(o.dataDir, "backups");
    this.now = o.now ?? Date.now;
    this.everyMs = o.everyMs;
    this.keep = o.keep;
  }

  /** Starts the schedule (none is armed while backupEvery is 0, which is said). Never throws: a
   *  backups directory that cannot be read is logged and the first backup says why it fails. */
  static start(o: ScheduleOptions): BackupSchedule {
    const s = new BackupSchedule(o);
    s.schedule();
    return s;
  }

  /** A new backupEvery or backupKeep (SIGHUP). backupKeep counts from the next backup's pruning. A
   *  new interval times the next backup as a start does, from the newest scheduled backup on disk
   *  (at once if that is an interval old); 0 turns the schedule off, and one turned on starts as at
   *  a start. A backup under way is not cancelled: it ends, and the next is armed at the interval
   *  in force then (none at 0). */
  retune(everyMs: number, keep: number): void {
    this.keep = keep;
    if (everyMs === this.everyMs || this.stopped) return;
    this.everyMs = everyMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.attempt === null) return this.schedule();
    if (everyMs === 0) return this.o.log.info("scheduled backups are off (backupEvery 0)", { underWay: "ends as it would have" });
    this.o.log.info("scheduled backups", { every: formatDurationMs(everyMs), keep, dir: this.dir, next: "an interval after the start of the backup under way" });
  }

  /** Arms the next backup an interval after the newest scheduled one on disk, and says when. */
  private schedule(): void {
    const { o, everyMs } = this;
    if (everyMs === 0) return o.log.info("scheduled backups are off (backupEvery 0)");
    let newest: number | null = null;
    try {
      newest = autoBackups(this.dir).at(-1)?.at ?? null;
    } catch (err) {
      o.log.warn("cannot read the backups directory; the first scheduled backup will say why", { dir: this.dir, err });
    }
    if (newest !== null) o.metrics.backupLastSuccess.set(newest / 1000);
    const now = this.now();
    // A newest backup "in the future" (a clock set back) counts as taken now.
    const delay = newest === null ? Math.min(everyMs, FIRST_BACKUP_DELAY_MS) : Math.min(Math.max(newest + everyMs - now, 0), everyMs);
    o.log.info("scheduled backups", { every: formatDurationMs(everyMs), keep: this.keep, dir: this.dir, newest: newest === null ? null : new Date(newest).toISOString(), next: new Date(now + delay).toISOString() });
    this.arm(delay);
  }

  /** Stops the schedule for a drain: no backup starts from here on, and one under way is
   *  cancelled (its process killed, its unfinished .partial removed; earlier backups untouched).
   *  Resolves once it has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running?.run.cancel();
    await this.attempt;
  }

  /** The next backup in `delayMs`, waited for in steps a timer can hold: one set past
   *  MAX_TIMER_MS fires after 1 ms, which made a backupEvery over ~24.8 days (the setting allows
   *  365d) take backup after backup, each deleting the oldest. */
  private arm(delayMs: number): void {
    if (this.stopped || this.everyMs === 0) return;
    const step = Math.min(delayMs, MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (delayMs > step) return this.arm(delayMs - step);
      this.attempt = this.once().finally(() => (this.attempt = null));
    }, step);
    this.timer.unref();
  }

  /** One scheduled backup, then the next one armed an interval after this one started. */
  private async once(): Promise<void> {
    const startedAt = this.now();
    const out = join(this.dir, backupName(new Date(startedAt), AUTO_STEM));
    try {
      this.tidy(prunePartials(this.dir, true));
      const room = roomProblem(this.o.dataDir, this.dir);
      if (room) return this.failed(out, { code: "disk_full", message: room.message, fix: room.fix });
      const run = runBackup(this.o.command, this.o.dataDir, out);
      this.running = { run, out };
      const r = await run.done;
      this.running = null;
      if (!r.ok && r.cancelled) return this.o.log.info("scheduled backup cancelled: the broker is stopping", { file: out });
      if (!r.ok) return this.failed(out, r);
      this.o.metrics.backups.inc({ outcome: "ok" });
      this.o.metrics.backupLastSuccess.set(startedAt / 1000);
      const pruned = pruneAutoBackups(this.dir, this.keep, r.file);
      this.tidy(prunePartials(this.dir, false));
      this.tidy(pruned);
      this.o.log.info("scheduled backup taken", { file: r.file, bytes: r.bytes, sha256: r.sha256, meshes: r.meshes, messages: r.messages, ms: this.now() - startedAt, removed: pruned.removed });
    } catch (err) {
      // Only a directory that cannot be listed or a child that cannot be spawned get here.
      this.failed(out, { code: "internal", message: (err as Error).message, fix: null });
    } finally {
      this.running = null;
      this.arm(Math.max(startedAt + this.everyMs - this.now(), 0));
    }
  }

  private failed(file: string, r: { code: string; message: string; fix: string | null }): void {
    this.o.metrics.backups.inc({ outcome: "failed" });
    const next = this.stopped || this.everyMs === 0 ? null : new Date(this.now() + this.everyMs).toISOString();
    this.o.log.error("scheduled backup failed; earlier backups are kept, and it is tried again at the next interval", { file, code: r.code, error: r.message, fix: r.fix, next });
  }

  private tidy(p: Pruned): void {
    for (const f of p.failed) this.o.log.warn("cannot delete an old scheduled backup file", { file: f.path, error: f.error, fix: `delete it yourself (rm ${f.path}), or give the directory back to the broker's user` });
  }
}

const MIB = 1024 * 1024;

/** Why a backup must not be started now: the disk of `dir` (the backups directory, or the data
 *  directory before it exists) has less free than twice the database, that is, room for the copy
 *  and as much again left to the broker, whose writes on a full disk stop it (fail-stop). Null
 *  when there is room, or when it cannot be told (SQLite then says what fails). */
function roomProblem(dataDir: string, dir: string): { message: string; fix: string } | null {
  let need: number;
  let free: number;
  try {
    const db = join(dataDir, "claudemesh.db");
    need = statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0);
    let fs: ReturnType<typeof statfsSync>;
    try {
      fs = statfsSync(dir);
    } catch {
      fs = statfsSync(dataDir);
    }
    free = fs.bavail * fs.bsize;
  } catch {
    return null;
  }
  if (free >= 2 * need) return null;
  const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`;
  return {
    message: `Not taking the scheduled backup: ${dir} has ${mib(free)} free, and a copy of the ${mib(need)} database would leave the broker less than its size to grow in (a broker whose disk fills stops).`,
    fix: `free space on that disk, lower backupKeep (fewer copies kept), or make ${dir} a link to a larger disk`,
  };
}
