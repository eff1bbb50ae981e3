// A system service's user, as root sees it: a data directory that belongs to an otherwise unused
// uid, and the CLI or the broker run as that uid through setpriv (as systemd's User= runs them).
// Only where the tests run as root on Linux with setpriv; elsewhere `canSwitchUser` is false.
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { tempDir } from "./broker.ts";
import { cliEnv, MAIN, type CliResult } from "./cli.ts";
import { spawnBroker, type BrokerProcess } from "./process.ts";

export const SERVICE_UID = 12345;
export const canSwitchUser = process.platform === "linux" && process.getuid?.() === 0 && Bun.which("setpriv") !== null;
/** The command prefix that runs what follows as the service user. */
export const AS_SERVICE = ["setpriv", "--reuid", String(SERVICE_UID), "--regid", String(SERVICE_UID), "--clear-groups"];

/** A new directory (0700) that belongs to the service user, in a parent it may pass through; and
 *  a HOME of its own for the processes run as that user. */
export function serviceDir(): { dataDir: string; home: string } {
  const parent = tempDir("cm-svc-");
  chmodSync(parent, 0o711);
  const [dataDir, home] = [join(parent, "data"), join(parent, "home")];
  for (const d of [dataDir, home]) {
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, SERVICE_UID, SERVICE_UID);
  }
  return { dataDir, home };
}

/** `claudemesh …` run as root (env as cli.ts, plus `opts.env`) or as the service user, to its exit. */
export async function run(who: "root" | "service", args: string[], home: string, opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  const argv = [...(who === "service" ? AS_SERVICE : []), process.execPath, "run", MAIN, ...args];
  const proc = Bun.spawn(argv, { env: cliEnv(home, { HOME: home, ...opts.env }), stdout: "pipe", stderr: "pipe", timeout: opts.timeoutMs ?? 60_000, killSignal: "SIGKILL" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

/** `claudemesh serve` as the service user (process.ts spawnBroker). */
export function serviceBroker(dataDir: string, home: string): Promise<BrokerProcess> {
  return spawnBroker(dataDir, [], ["env", `HOME=${home}`, ...AS_SERVICE, process.execPath, "run", MAIN]);
}

/** Every path under `dir` (relative, sorted) with its owner's uid: what root left behind shows. */
export function owners(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = lstatSync(p);
      out[relative(dir, p)] = st.uid;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return Object.fromEntries(Object.entries(out).toSorted(([a], [b]) => a.localeCompare(b)));
}
