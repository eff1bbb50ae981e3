// What every message about a damaged broker database tells the operator to do: commands for the
// data directory the message is about (--data-dir unless it is the default one), so that pasted
// as printed they check and restore that database, not the default directory's.
import { dataDirCommand } from "../config/command-line.ts";

/** The step every message about a damaged database in `dataDir` ends with. */
export const restoreBackup = (dataDir: string) => `restore a backup (${dataDirCommand(["admin", "restore", "FILE", "--force"], dataDir)})`;

/** The fix for a database in `dataDir` found damaged by a command that is not `serve`. */
export const damagedFix = (dataDir: string) => `stop the broker, confirm with ${dataDirCommand(["serve", "--check"], dataDir)}, and ${restoreBackup(dataDir)}`;

/** A database `serve` must not open for members: damaged (quick_check, integrity_check, unreadable
 *  chains) or with an audit chain that does not verify. Its message says so and how to restore; a
 *  restart cannot change it (serve exits EX_DATAERR, serve-problems.ts). */
export class DamagedDatabaseError extends Error {
  override readonly name = "DamagedDatabaseError";
}
