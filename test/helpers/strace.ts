// strace attached to a running process (the broker, spawnBroker) to make the kernel fail chosen
// system calls (`-e inject=...`), or to see which it makes. Linux only; needs strace and ptrace
// permission over our own child processes. strace counts calls for `when=` per thread, not per
// process: a call the broker makes on a thread pool (node:fs's fdatasync) is counted on whichever
// thread ran it.
import { readFileSync, readdirSync } from "node:fs";

/** How long a detaching strace may take before it is killed. */
const DETACH_MS = 2000;

export type Strace = {
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  /** strace's output so far (its -o file), one line per traced call: `<tid> <call>(...) = ...`. */
  output(): string;
  /** Detaches (SIGINT: strace lets go of every thread and exits) and waits for it to end; the
   *  process traced runs on untouched. A strace that has not ended within DETACH_MS is killed,
   *  which detaches too: strace 6.1 can hang when the process exits while traced (its threads
   *  left in tracing stop, strace in wait4), which left both stuck for good. */
  detach(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Attaches `strace -f -qq -o <out> -p <pid> <args>` (every thread, present and future) and
 *  resolves once every thread of `pid` is traced, so that the next call the test makes the
 *  process do is seen. `out` is a file path, or "/dev/null" when only the injection matters. */
export async function attachStrace(pid: number, args: string[], out = "/dev/null"): Promise<Strace> {
  const proc = Bun.spawn(["strace", "-f", "-qq", "-o", out, "-p", String(pid), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const detach = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGINT");
    const timer = setTimeout(() => proc.kill("SIGKILL"), DETACH_MS);
    await proc.exited;
    clearTimeout(timer);
  };
  try {
    await attached(pid, proc);
  } catch (err) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw err;
  }
  return { proc, output: () => (out === "/dev/null" ? "" : readFileSync(out, "utf8")), detach, [Symbol.asyncDispose]: detach };
}

/** Waits until every thread of `pid` is traced by `tracer`; throws with strace's own words when
 *  it gives up first (no strace, ptrace not allowed), or after 5 s. */
async function attached(pid: number, tracer: Bun.Subprocess<"ignore", "ignore", "pipe">): Promise<void> {
  const tracers = () => {
    try {
      return readdirSync(`/proc/${pid}/task`).map((t) => /TracerPid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, "utf8"))?.[1]);
    } catch {
      return []; // a thread ended while we read: look again
    }
  };
  for (let i = 0; i < 200; i++) {
    const seen = tracers();
    if (seen.length > 0 && seen.every((t) => t === String(tracer.pid))) return;
    if (tracer.exitCode !== null) throw new Error(`strace exited (${tracer.exitCode}) before it attached to ${pid}: ${await new Response(tracer.stderr).text()}`);
    await Bun.sleep(25);
  }
  throw new Error(`strace did not attach to ${pid} within 5 s: is ptrace allowed here (kernel.yama.ptrace_scope)?`);
}
