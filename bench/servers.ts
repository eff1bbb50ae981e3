// The servers under test as child processes pinned to CPU 0: the broker (`claudemesh serve`, from
// source) and the raw relay baseline. Each is started on port 0 and found through its
// "... listening" JSON log line on stderr; disposing one stops it and removes its data dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
/** How long a server may take to print its listening line. */
const START_TIMEOUT_MS = 20_000;
/** How long a stopped server may take to drain before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** Tail of stderr kept for error reports (the rest is read and dropped so the pipe never fills). */
const STDERR_TAIL_CHARS = 16_384;

/** Lets the broker take the load: by default it rate-limits each member and caps connections. */
export const LOAD_FLAGS = [
  "--send-rate", "1000000", "--send-burst", "1000000",
  "--max-connections-per-ip", "1000000", "--max-connections-per-mesh", "1000000",
  // The load generator's thousand clients stand for as many machines, not one address: their
  // unread output, and the setup's claims (bench/setup.ts enrols every member from here).
  "--max-unsent-per-ip", String(64 * 1024 ** 3), "--claim-burst", "1000000",
  "--queue-quota", "10000000",
];

export type ServerProcess = {
  kind: "broker" | "raw";
  pid: number;
  /** ws://127.0.0.1:PORT/ws */
  wsUrl: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  /** The data dir it removes when disposed (startBroker's holds the database and its -wal);
   *  null when it owns none (the raw relay, a caller's own dir). */
  dataDir: string | null;
  stderrTail(): string;
  /** Settles with the exit code whenever the process ends, signalled or not. */
  exited: Promise<number>;
  /** Sends `signal` and resolves with the exit code (the data dir stays). */
  signal(signal: "SIGKILL" | "SIGTERM"): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** The broker's log line once it listens; its first group is the URL. */
export const BROKER_LISTENING = /"msg":"broker listening","url":"([^"]+)"/;

/** Servers started and not yet disposed, for killAllServers. */
const live = new Set<{ proc: ReturnType<typeof Bun.spawn>; dataDir: string | null }>();

/** Kills every server still running and removes its data dir, synchronously (for a watchdog
 *  that must exit now). */
export function killAllServers(): void {
  for (const s of live) {
    s.proc.kill("SIGKILL");
    if (s.dataDir) rmSync(s.dataDir, { recursive: true, force: true });
  }
  live.clear();
}

/** Set in the re-executed, pinned load generator so it does not pin again. */
const PINNED_ENV = "BENCH_LOADGEN_PINNED";

/** The load generator's own pinning: unless it already runs pinned, re-executes `script` with
 *  `argv` on CPU 1 (servers get CPU 0) and exits with its code. Returns when there is nothing
 *  to do: already pinned, or no taskset. */
export async function runPinnedToCpu1(taskset: string | null, script: string, argv: string[]): Promise<void> {
  if (!taskset || process.env[PINNED_ENV] === "1") return;
  const child = Bun.spawn([taskset, "-c", "1", process.execPath, "run", script, ...argv], {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, [PINNED_ENV]: "1" },
  });
  process.exit(await child.exited);
}

/** The command prefix that pins a child to one CPU, or [] when taskset is missing. */
export function pinTo(cpu: number, taskset: string | null): string[] {
  return taskset ? [taskset, "-c", String(cpu)] : [];
}

/** Starts `argv` (with `env` added to this process's) and resolves once stderr matches `pattern`
 *  (its first group is the URL); rejects with stderr's tail if it exits first or takes longer than
 *  `timeoutMs`. Disposing it stops it and
 *  removes `dataDir` (null: nothing to remove). */
export async function startServer(kind: ServerProcess["kind"], argv: string[], dataDir: string | null, pattern: RegExp, timeoutMs = START_TIMEOUT_MS, env: Record<string, string> = {}): Promise<ServerProcess> {
  const proc = Bun.spawn(argv, { cwd: ROOT, stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info", ...env } });
  const entry = { proc, dataDir };
  live.add(entry);
  let tail = "";
  const decoder = new TextDecoder();
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${kind} did not start within ${timeoutMs} ms:\n${tail}`)), timeoutMs);
    (async () => {
      let found = false;
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
        tail = (tail + decoder.decode(chunk)).slice(-STDERR_TAIL_CHARS);
        const m = !found && pattern.exec(tail);
        if (m) {
          found = true;
          clearTimeout(timer);
          res(m[1]!);
        }
      }
      if (!found) rej(new Error(`${kind} exited before listening (code ${await proc.exited}):\n${tail}`));
    })();
  }).catch(async (err) => {
    live.delete(entry);
    proc.kill("SIGKILL");
    await proc.exited;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    kind,
    pid: proc.pid,
    httpUrl: url,
    dataDir,
    wsUrl: url.replace(/^http/, "ws") + "/ws",
    stderrTail: () => tail,
    exited: proc.exited,
    async signal(signal) {
      live.delete(entry);
      proc.kill(signal);
      return await proc.exited;
    },
    async [Symbol.asyncDispose]() {
      live.delete(entry);
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await proc.exited;
        clearTimeout(t);
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts `claudemesh serve` with a fresh temp data dir and the load flags. */
export function startBroker(opts: { synchronous: "full" | "normal"; taskset: string | null; extraArgs?: string[]; /** e.g. --cpu-prof */ bunArgs?: string[] }): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "claudemesh-bench-"));
  const argv = [
    ...pinTo(0, opts.taskset), process.execPath, ...(opts.bunArgs ?? []), "run", join(ROOT, "src/main.ts"), "serve",
    "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--synchronous", opts.synchronous,
    ...LOAD_FLAGS, ...(opts.extraArgs ?? []),
  ];
  return startServer("broker", argv, dataDir, BROKER_LISTENING);
}

/** Starts the raw relay baseline (bench/raw-relay.ts). */
export function startRawRelay(opts: { taskset: string | null }): Promise<ServerProcess> {
  const argv = [...pinTo(0, opts.taskset), process.execPath, "run", join(ROOT, "bench/raw-relay.ts")];
  return startServer("raw", argv, null, /"msg":"raw relay listening","url":"([^"]+)"/);
}
