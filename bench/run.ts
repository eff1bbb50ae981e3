// Entry point of `bun run bench` (full suite) and `bun run bench -- --quick` (< 60 s).
// Servers run pinned to CPU 0; this process (the load generator) re-executes itself pinned to
// CPU 1 when taskset exists. Progress goes to stderr; the LAST stdout line is one JSON object
// with the headline numbers (see docs/benchmarks.md).
//
// Flags: --quick (1 s warm-up, 3 s windows, 30,000-message drain, no N=100 fixed-rate, no
// synchronous=normal broker), --no-normal (skip the synchronous=normal broker in full mode).
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import { brokerSuite, rawSuite, type Failure, type Plan, type SuiteResult } from "./suite.ts";
import { headline } from "./report.ts";

/** Set in the re-executed, pinned child so it does not pin again. */
const PINNED_ENV = "BENCH_LOADGEN_PINNED";

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    nproc: availableParallelism(),
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    ramMiB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    bun: Bun.version,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const taskset = Bun.which("taskset");
  if (taskset && process.env[PINNED_ENV] !== "1") {
    const child = Bun.spawn([taskset, "-c", "1", process.execPath, "run", import.meta.path, ...argv], {
      stdio: ["inherit", "inherit", "inherit"],
      env: { ...process.env, [PINNED_ENV]: "1" },
    });
    process.exit(await child.exited);
  }
  if (!taskset) process.stderr.write("[bench] taskset not found: servers and load generator run UNPINNED\n");

  const plan: Plan = quick
    ? { warmupMs: 1000, windowMs: 3000, drainCount: 30_000, rate100: false, taskset }
    : { warmupMs: 1000, windowMs: 10_000, drainCount: 100_000, rate100: true, taskset };
  const t0 = performance.now();
  const guarded = async (fn: () => Promise<SuiteResult>): Promise<SuiteResult | Failure> => {
    try {
      return await fn();
    } catch (err) {
      process.stderr.write(`[bench] suite failed: ${(err as Error).stack}\n`);
      return { error: (err as Error).message };
    }
  };
  const broker = await guarded(() => brokerSuite("full", plan));
  const raw = await guarded(() => rawSuite(plan));
  const normal = quick || argv.includes("--no-normal") ? null : await guarded(() => brokerSuite("normal", plan));

  const result = headline({ quick, broker, raw, normal, plan, pinned: taskset !== null, machine: machine(), wallS: (performance.now() - t0) / 1000 });
  process.stdout.write(JSON.stringify(result) + "\n");
}

await main();
