// What claudemesh keeps in a broker's data directory, given to the directory's owner when a
// command runs as root (the rule is local-file/owner.ts's: what claudemesh makes takes the owner
// of the directory it is made in). Under systemd the broker runs as its own user, which could not
// open a database, take a lock or write a PID file that `sudo claudemesh admin …` left root's.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE } from "../store/sqlite/dir-lock.ts";
import { DEFAULT_DB_FILE } from "../store/sqlite/open-store.ts";
import { giveToDirOwner, runsAsRoot } from "../local-file/owner.ts";
import { PID_FILE, RESTORE_PID_FILE } from "./pid-file.ts";

/** Names claudemesh gives the files it writes in backups/ (admin backup's default, the copy taken
 *  before a migration, and their .partial while written). */
const BACKUP_NAME = /^(claudemesh-|pre-migrate-v)[^/]*\.db(\.partial)?$/;

/** As root on a data directory that belongs to another user (the broker's, under systemd): gives
 *  that user what claudemesh keeps there that root owns (the lock and PID files, the database and
 *  its -wal/-shm, backups/ and the backups in it), so that the broker can open them and its own
 *  backups can write in backups/. Repairs what an earlier command run as root left too. A no-op
 *  for any other user (owner.ts). Throws the file system's error. */
export function giveDataDirToOwner(dataDir: string): void {
  if (!runsAsRoot()) return;
  const names = [LOCK_FILE, PID_FILE, RESTORE_PID_FILE, DEFAULT_DB_FILE, `${DEFAULT_DB_FILE}-wal`, `${DEFAULT_DB_FILE}-shm`, "backups"];
  const backups = join(dataDir, "backups");
  const inBackups = statSync(backups, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(backups).filter((f) => BACKUP_NAME.test(f)) : [];
  giveToDirOwner([...names.map((n) => join(dataDir, n)), ...inBackups.map((f) => join(backups, f))]);
}
