// What stops `serve` and `serve --check`, in words: one line on stderr (and a `fix:` line), and an
// exit code that tells a supervisor whether starting again can help. Shared by serve.ts and
// serve-check.ts.
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces, uptime } from "node:os";
import { resolve } from "node:path";
import { processEnv, type BrokerConfig, type ResolvedConfig } from "../config/load.ts";
import { serveCommand } from "../config/command-line.ts";
import { otherUser } from "../local-file/owner.ts";
import type { TlsMaterial } from "../config/tls-files.ts";

/** How `serve` and `serve --check` exit (sysexits.h names where one fits). docs/operations.md
 *  "Exit codes" lists them; the systemd unit restarts on MAY_PASS and STORAGE_FAILED and not on
 *  PERMANENT_EXITS (test/unit/packaging.test.ts checks the unit and the doc against this). */
export const ServeExit = {
  /** May pass by itself: a port another process holds, another broker or a restore holding the
   *  data directory, a full disk, an address not up yet (missingAddress), anything unforeseen. */
  mayPass: 1,
  /** A bad flag or setting (serve.ts orExit2), a host no interface of this machine has or a host
   *  name that does not exist (both past BOOT_SETTLE_S). */
  badSetting: 2,
  /** EX_DATAERR: what the data directory holds cannot be served: a damaged database, one a newer
   *  claudemesh wrote, an audit chain that does not verify. */
  badData: 65,
  /** EX_SOFTWARE: an exception or rejection nothing caught (a bug): logged as JSON, the broker
   *  drained and stopped, since what the code was doing is not known to have finished; a restart
   *  serves again (serve-last-resort.ts). */
  uncaught: 70,
  /** EX_IOERR: the database could not be flushed while serving; a restart serves what the disk
   *  really holds (Store.fatal). */
  storageFailed: 74,
  /** EX_NOPERM: this user may not: root on another user's data directory, a data directory it
   *  cannot write (permissions, ownership, a read-only file system), a port below 1024. */
  notPermitted: 77,
} as const;

/** The exit codes a restart cannot change: the unit's RestartPreventExitStatus=. */
export const PERMANENT_EXITS: readonly number[] = [ServeExit.badSetting, ServeExit.badData, ServeExit.notPermitted];

/** A refusal: the message, its fix (or null) and the exit code. */
export type Refusal = [message: string, fix: string | null, exit: number];

/** Prints `claudemesh serve: <message>` (and the fix) to stderr and exits with `exit`. */
export function fail(message: string, fix: string | null = null, exit: number = ServeExit.mayPass): never {
  process.stderr.write(`claudemesh serve: ${message}\n${fix ? `  fix: ${fix}\n` : ""}`);
  process.exit(exit);
}

/** A full or failing disk, a database another user owns or that is damaged, a lock file that is a
 *  directory, a data directory that cannot be made, a port taken since the check before the start:
 *  what to do, not a stack trace. `doing` leads the message; the fix, when known, is its own line;
 *  the exit code says whether a restart can help (data-dir-errors.ts startFailure's kind). */
export async function storageReason(doing: string, err: unknown, config: BrokerConfig): Promise<Refusal> {
  if ((err as { code?: string })?.code === "EADDRINUSE") return [`${doing}: ${portInUse(config.host, config.port)}`, null, ServeExit.mayPass];
  const { startFailure } = await import("../broker/data-dir-errors.ts");
  // systemd sets INVOCATION_ID for a service.
  const { message, fix, kind } = startFailure(err, config.dataDir, Boolean(processEnv().INVOCATION_ID));
  const exit = kind === "data" ? ServeExit.badData : kind === "access" ? ServeExit.notPermitted : ServeExit.mayPass;
  return [`${doing}: ${message.replace(/^Cannot/, "cannot")}`, fix, exit];
}

export const portInUse = (host: string, port: number) => `port ${port} on ${host} is already in use by another process; stop it, or choose another port with --port`;

/** The first port a user without CAP_NET_BIND_SERVICE may listen on: Linux's
 *  net.ipv4.ip_unprivileged_port_start (1024 unless an operator or a container changed it), else
 *  1024 (the BSDs and macOS before Mojave; Mojave and later let anyone, and never say EACCES). */
function firstUnprivilegedPort(): number {
  try {
    const n = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    return Number.isInteger(n) ? n : 1024;
  } catch {
    return 1024;
  }
}

/** Why `host` cannot be listened on because it is a name that does not resolve, or null (an IP
 *  address, or a name that resolves). Asked before listenProblem by serve and serve --check alike:
 *  Bun's listen says only "Failed to listen at HOST", with no code. */
export async function hostProblem(host: string): Promise<Refusal | null> {
  if (isIP(host)) return null;
  const err: unknown = await lookup(host).then(() => null, (e: unknown) => e ?? new Error("lookup failed"));
  return err ? unresolvedHost(host, (err as { code?: string }).code ?? (err as Error).message, uptime()) : null;
}

/** A host name that did not resolve, with the resolver's `code`. ENOTFOUND (no such name) is a
 *  setting to fix, exit 2, as missingAddress's address no interface has, and with the same grace
 *  after boot (a VPN's DNS, such as Tailscale's, may not answer yet); any other failure (EAI_AGAIN:
 *  no resolver reachable) may pass, exit 1. `uptimeS`: this machine's (passed in for tests). */
export function unresolvedHost(host: string, code: string, uptimeS: number): Refusal {
  const message = `host ${JSON.stringify(host)} does not resolve (${code}); the broker could not listen on it`;
  const fix = "set host (--host, CLAUDEMESH_HOST) to a name that resolves or to an address this machine has: 0.0.0.0 for every interface, 127.0.0.1 for this machine alone";
  if (code !== "ENOTFOUND") return [message, null, ServeExit.mayPass];
  if (uptimeS < BOOT_SETTLE_S) return [message, `${fix}; a resolver that is still coming up after boot may know it, so until ${BOOT_SETTLE_S / 60} minutes after boot this is retried`, ServeExit.mayPass];
  return [message, fix, ServeExit.badSetting];
}

/** Why listening on host:port fails now (a test listen, closed at once), or null. */
export function listenProblem(host: string, port: number): Refusal | null {
  try {
    Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
    return null;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const cannot = `cannot listen on ${host}:${port}`;
    if (code === "EADDRINUSE") return [portInUse(host, port), null, ServeExit.mayPass];
    // Bun's message says only "Failed to listen at HOST"; its code says why.
    const first = code === "EACCES" ? firstUnprivilegedPort() : 0;
    if (port < first) {
      return [
        `${cannot}: permission denied: ports below ${first} need root or the CAP_NET_BIND_SERVICE capability`,
        "listen on a high port (the default is 7900) behind a reverse proxy, or give the broker that capability (under systemd, a drop-in from systemctl edit claudemesh: AmbientCapabilities=CAP_NET_BIND_SERVICE and CapabilityBoundingSet=CAP_NET_BIND_SERVICE)",
        ServeExit.notPermitted,
      ];
    }
    if (code === "EACCES") return [`${cannot}: permission denied (a security policy such as SELinux?)`, null, ServeExit.notPermitted];
    if (code === "EADDRNOTAVAIL") return missingAddress(host, port, { addresses: machineAddresses(), uptimeS: uptime() });
    return [`${cannot}: ${(err as Error).message}`, null, ServeExit.mayPass];
  }
}

/** For this long after boot a missing address may still come: systemd's network-online.target
 *  waits for the network manager's configured interfaces, not for a VPN's (WireGuard, Tailscale)
 *  or a late DHCP lease, so a broker bound to one is restarted (exit 1) until then. */
export const BOOT_SETTLE_S = 300;

/** This machine's addresses (link-local IPv6 left out: it needs a zone to listen on). */
function machineAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address).filter((a) => !a.toLowerCase().startsWith("fe80:")));
}

/** Listening on `host` failed with EADDRNOTAVAIL: no interface has that address. A configuration
 *  error (exit 2, not restarted) with the addresses there are, unless it may still come: it is on
 *  an interface already (an IPv6 address still in duplicate address detection), or the machine
 *  booted less than BOOT_SETTLE_S ago (exit 1, restarted). `addresses` and `uptimeS`: this
 *  machine's (passed in, so a test can give others). */
export function missingAddress(host: string, port: number, machine: { addresses: string[]; uptimeS: number }): Refusal {
  const v6 = host.includes(":");
  const bare = (a: string) => a.replace(/^\[|\]$/g, "").toLowerCase();
  const own = machine.addresses.filter((a) => a.includes(":") === v6);
  const message = `cannot listen on ${host}:${port}: no interface of this machine has that address`;
  const fix = `set host (--host, CLAUDEMESH_HOST) to an address this machine has: ${v6 ? "::" : "0.0.0.0"} for every interface, ${v6 ? "::1" : "127.0.0.1"} for this machine alone${own.length ? `, or one of ${own.slice(0, 8).join(", ")}` : ""}`;
  if (own.some((a) => bare(a) === bare(host))) return [`cannot listen on ${host}:${port}: that address is on an interface of this machine but not usable yet (an IPv6 address still being checked for duplicates?)`, null, ServeExit.mayPass];
  if (machine.uptimeS < BOOT_SETTLE_S) return [message, `${fix}; an interface that is still coming up after boot may bring it, so until ${BOOT_SETTLE_S / 60} minutes after boot this is retried`, ServeExit.mayPass];
  return [message, fix, ServeExit.badSetting];
}

/** The TLS certificate and key (tls-files.ts), or the refusal when they cannot be used, as `serve`
 *  and `serve --check` exit on it: a file to correct exits 2, one this user may not read 77, an
 *  I/O error 1. `doing` leads the message ("cannot start"); `refuse`: how the caller fails
 *  (serve --check adds its JSON report). */
export async function readTls(certFile: string, keyFile: string, doing: string | null, refuse: (...r: Refusal) => never = fail): Promise<TlsMaterial> {
  const { readTlsFiles, TlsFileError } = await import("../config/tls-files.ts");
  try {
    return readTlsFiles(certFile, keyFile);
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    const exit = err.kind === "setting" ? ServeExit.badSetting : err.kind === "access" ? ServeExit.notPermitted : ServeExit.mayPass;
    return refuse(doing ? `${doing}: ${err.message}` : err.message, err.fix, exit);
  }
}

/** Why `serve` must not run here as root, or null: the data directory belongs to another user
 *  (the broker's, under systemd), and a broker run as root would make root's files in it (the
 *  database's -wal and -shm, the lock, the backup taken before a migration) that the broker's user
 *  cannot open afterwards. The admin commands and `serve --check` give what they make to that user
 *  instead (owner.ts); a broker keeps making files for as long as it runs. The fix is this same
 *  `serve` run as that user (command-line.ts serveCommand: the flags and CLAUDEMESH_* settings
 *  given, which sudo would drop, as flags, quoted). */
export function rootProblem(broker: ResolvedConfig): Refusal | null {
  const owner = otherUser(broker.config.dataDir);
  if (!owner) return null;
  const dataDir = resolve(broker.config.dataDir);
  const who = owner.name ? `${owner.name} (uid ${owner.uid})` : `uid ${owner.uid}`;
  return [
    `cannot start as root: ${dataDir} belongs to ${who}, and a broker run as root would leave files there that ${owner.name ?? "its owner"} cannot open`,
    `run the broker as that user: ${serveCommand(broker, owner)} (under systemd: systemctl start claudemesh)`,
    ServeExit.notPermitted,
  ];
}
