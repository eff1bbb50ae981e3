// `claudemesh admin backup`: an online copy of a broker's database, checked by SQLite's
// integrity_check and by verifying every audit chain in it, made in its own process beside a
// serving broker (VACUUM INTO; WAL lets the broker go on writing). Every failure says which file
// it is about (the database read from, or the copy) and why, with the exit code of what it is: a
// place or a disk the user must change, or history that does not verify, is a local refusal (5),
// a lock held too long may pass (6), a copy that fails integrity_check although SQLite wrote it is
// internal (1).
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, lstatSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MeshError } from "../protocol/errors.ts";
import { DataFileError, snapshotFile } from "../store/sqlite/data-file.ts";
import { SIDE_HOLDS, SIDE_SUFFIXES } from "../store/sqlite/db-path-shape.ts";
import { onFile } from "../local-file/error.ts";
import { giveToDirOwner } from "../local-file/owner.ts";
import { makeDirs, removeMadeDirs } from "../local-file/dirs.ts";
import { onInterrupt, signalsHeard } from "../local-file/interrupt.ts";
import { backupFailure, chainsFailure } from "./backup-errors.ts";
import { existingDatabase, inspect, verifyFileChains, type AuditChains } from "./maintenance.ts";
import { chainBreak } from "./audit-verifier.ts";
import { giveDataDirToOwner } from "./data-dir-owner.ts";
import { removeSideFilesWeMade, sideFiles } from "./side-files.ts";

export type BackupResult = { file: string; bytes: number; sha256: string; schemaVersion: number; auditChains: AuditChains; epoch: string | null; meshes: number; messages: number };

/** `claudemesh-20261122T020355.123Z-3fa9.db`: sortable by time (to the millisecond), and two
 *  backups started in the same millisecond still get different names. Safe on every OS. `stem`
 *  names who made it: the schedule's are `claudemesh-auto-…` (backup-schedule.ts). */
export const backupName = (d: Date, stem = "claudemesh") => `${stem}-${d.toISOString().replace(/[-:]/g, "")}-${randomBytes(2).toString("hex")}.db`;

/** How many default names a backup tries before it gives up (each is new; one in use means
 *  another backup started in the same millisecond). */
const NAME_ATTEMPTS = 5;

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Where an explicit --out goes: refused when it is a directory, exists (a link counts, even to
 *  nothing), has a .partial an earlier backup left, or a -wal, -shm or -journal beside it. */
function checkedOut(out: string, now: Date): string {
  const file = resolve(out);
  // lstat: a link counts as there even when what it names is not; the copy's rename would
  // replace the link itself with a file (existsSync follows it and said "free").
  const there = onFile(file, "write", () => lstatSync(file, { throwIfNoEntry: false }), { what: "the backup" });
  if (there?.isDirectory()) throw new MeshError("invalid_argument", `${file} is a directory; give the backup a file name, like ${join(file, backupName(now))}.`);
  if (there) throw new MeshError("conflict", `${file} exists${there.isSymbolicLink() ? " (a symbolic link)" : ""}; backups never overwrite. Choose another name.`);
  // What a backup to this name left: killed midway, or a copy that failed its check (kept for
  // inspection). Not ours to judge or remove, so say what it is.
  if (existsSync(`${file}.partial`)) {
    throw new MeshError("conflict", `${file}.partial exists: an earlier backup to ${file} was interrupted, or its copy failed its checks (integrity_check, audit chains) and was kept for inspection. Remove it (rm ${file}.partial) or choose another name.`);
  }
  // SQLite pairs these with a database by name alone: opening the backup (a restore copies its
  // -wal too) would play another database's log or journal into it.
  const side = onFile(file, "write", () => SIDE_SUFFIXES.find((suffix) => lstatSync(file + suffix, { throwIfNoEntry: false })), { what: "the backup" });
  if (side) throw new MeshError("conflict", `${file}${side} exists: SQLite would read it as the backup's ${SIDE_HOLDS[side]}. Remove it or choose another name.`);
  return file;
}

/** Writes a consistent, integrity-checked copy of `<dataDir>/claudemesh.db` to `out` (default
 *  `<dataDir>/backups/<backupName>`; missing directories 0700, file 0600). Safe while a broker
 *  serves the directory. As root, what it makes takes the owner of the directory it is made in
 *  (owner.ts). A failure leaves the data directory as it was (no directory, -wal or -shm of its
 *  own) and nothing under the backup's name. Throws MeshError not_found (no database),
 *  invalid_argument (`out` is a directory), conflict (`out` exists), unavailable (the database
 *  stayed locked), internal (a written copy failed integrity_check); LocalFileError for a
 *  database or a place that cannot be used, and for a database whose audit chains do not verify
 *  (all are verified in the copy, however long; it is kept as .partial) (backup-errors.ts). */
export async function backupDataDir(dataDir: string, out?: string, now = new Date()): Promise<BackupResult> {
  const db = existingDatabase(dataDir, "backup");
  let file = out ? checkedOut(out, now) : join(dataDir, "backups", backupName(now));
  const made = onFile(dirname(file), "create", () => makeDirs(dirname(file)));
  const before = sideFiles(db);
  let chains: AuditChains | undefined;
  // The copy's chains, not the live database's: they are what a restore brings back, and the
  // broker may append meanwhile. A copy that fails stays as .partial (snapshotFile), as evidence.
  const checkChains = async (copy: string) => {
    await signalsHeard(); // a signal sent during VACUUM INTO, which does not pause, is honoured here
    // As root: a copy kept as evidence is the directory owner's, as a backup is.
    giveToDirOwner([...made, copy]);
    const found = await verifyFileChains(copy, (why) => chainsFailure(dataDir, db, copy, `its audit chains cannot be read (${why})`));
    if (found.broken) throw chainsFailure(dataDir, db, copy, chainBreak(found.broken));
    chains = { meshes: found.meshes, entries: found.entries };
  };
  const undo = () => {
    removeSideFilesWeMade(dataDir, db, before);
    removeMadeDirs(made);
  };
  // Ctrl-C, SIGTERM or SIGHUP (a closed terminal) while the copy is made or checked: the unfinished
  // copy goes, with what the backup made. Left, it stayed for good: a default name is never used
  // again, and a name given again is refused while its .partial is there.
  const interrupted = onInterrupt(() => {
    for (const f of [`${file}.partial`, `${file}.partial-journal`]) rmSync(f, { force: true });
    undo();
  });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await snapshotFile(db, file, checkChains);
        break;
      } catch (err) {
        // Another backup took this name in the same millisecond: a default name is ours to change.
        const taken = err instanceof DataFileError && err.side === "taken";
        if (out || !taken || attempt === NAME_ATTEMPTS) throw err;
        file = join(dirname(file), backupName(new Date()));
      }
    }
  } catch (err) {
    undo();
    throw backupFailure(err, { db, file, dataDir, out: Boolean(out) });
  } finally {
    interrupted.off();
  }
  giveToDirOwner([...made, file]);
  giveDataDirToOwner(dataDir);
  const info = inspect(file);
  return { file, bytes: statSync(file).size, sha256: await sha256File(file), schemaVersion: info.schemaVersion, auditChains: chains!, epoch: info.epoch, meshes: info.meshes, messages: info.messages };
}
