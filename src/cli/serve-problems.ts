// What stops `serve` and `serve --check`, in words: one line on stderr (and a `fix:` line) and
// exit 1. Shared by serve.ts and serve-check.ts.
import { resolve } from "node:path";
import type { BrokerConfig } from "../config/load.ts";
import { otherUser, sudoUser } from "../local-file/owner.ts";

/** Prints `claudemesh serve: <message>` (and the fix) to stderr and exits 1. */
export function fail(message: string, fix: string | null = null): never {
  process.stderr.write(`claudemesh serve: ${message}\n${fix ? `  fix: ${fix}\n` : ""}`);
  process.exit(1);
}

/** A full or failing disk, a database another user owns or that is damaged, a lock file that is a
 *  directory, a data directory that cannot be made, a port taken since the check before the start:
 *  what to do, not a stack trace. `doing` leads the message; the fix, when known, is its own line. */
export async function storageReason(doing: string, err: unknown, config: BrokerConfig): Promise<[message: string, fix: string | null]> {
  if ((err as { code?: string })?.code === "EADDRINUSE") return [`${doing}: ${portInUse(config.host, config.port)}`, null];
  const { dataDirFileError, startProblem } = await import("../broker/data-dir-errors.ts");
  // The file system's errors (and the lock file's) first; startProblem words SQLite's.
  const local = dataDirFileError(err, config.dataDir);
  if (local) return [`${doing}: ${local.message.replace(/^Cannot/, "cannot")}`, local.fix];
  return [`${doing}: ${startProblem(err, config.dataDir) ?? (err as Error)?.message ?? String(err)}`, null];
}

export const portInUse = (host: string, port: number) => `port ${port} on ${host} is already in use by another process; stop it, or choose another port with --port`;

/** Why listening on host:port fails now (a test listen, closed at once), as one sentence, or null. */
export function listenProblem(host: string, port: number): string | null {
  try {
    Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
    return null;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE") return portInUse(host, port);
    return `cannot listen on ${host}:${port}: ${code === "EADDRNOTAVAIL" ? "no interface of this machine has that address" : (err as Error).message}`;
  }
}

/** Why `serve` must not run here as root, with the fix, or null: the data directory belongs to
 *  another user (the broker's, under systemd), and a broker run as root would make root's files in
 *  it (the database's -wal and -shm, the lock, the backup taken before a migration) that the
 *  broker's user cannot open afterwards. The admin commands and `serve --check` give what they
 *  make to that user instead (owner.ts); a broker keeps making files for as long as it runs. */
export function rootProblem(dataDir: string): [message: string, fix: string] | null {
  const owner = otherUser(dataDir);
  if (!owner) return null;
  dataDir = resolve(dataDir);
  const who = owner.name ? `${owner.name} (uid ${owner.uid})` : `uid ${owner.uid}`;
  return [
    `cannot start as root: ${dataDir} belongs to ${who}, and a broker run as root would leave files there that ${owner.name ?? "its owner"} cannot open`,
    `run the broker as that user: sudo -u ${sudoUser(owner)} claudemesh serve --data-dir ${dataDir} (under systemd: systemctl start claudemesh)`,
  ];
}
