// Entry point of `bun run bench` (full suite) and `bun run bench -- --quick` (< 60 s).
// Servers run pinned to CPU 0; this process (the load generator) re-executes itself pinned to
// CPU 1 when taskset exists. Progress goes to stderr; the LAST stdout line is one JSON object
// with the headline numbers (see docs/benchmarks.md).
//
// Flags: --quick (1 s warm-up, 3 s windows, 30,000-message drain, no N=100 fixed-rate, no
// synchronous=normal broker), --no-normal (skip the synchronous=normal broker in full mode),
// --broker-cpu-prof=DIR (each broker writes a CPU profile, .cpuprofile and .md, to DIR on exit).
import { machine } from "./machine.ts";
import { killAllServers, runPinnedToCpu1 } from "./servers.ts";
import { brokerSuite, rawSuite, type Failure, type Plan, type SuiteResult } from "./suite.ts";
import { headline } from "./report.ts";

/** Quick mode must finish within 60 s; optional scenarios are skipped past this point. */
const QUICK_BUDGET_MS = 52_000;
/** Past this, quick mode kills the servers and prints what it has (missing numbers are null). */
const QUICK_WATCHDOG_MS = 56_000;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const taskset = Bun.which("taskset");
  await runPinnedToCpu1(taskset, import.meta.path, argv);
  if (!taskset) process.stderr.write("[bench] taskset not found: servers and load generator run UNPINNED\n");

  const t0 = performance.now();
  const profDir = argv.find((a) => a.startsWith("--broker-cpu-prof="))?.slice("--broker-cpu-prof=".length);
  const brokerBunArgs = profDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profDir}`] : [];
  const plan: Plan = quick
    ? { warmupMs: 1000, windowMs: 3000, drainCount: 30_000, rate100: false, taskset, deadline: t0 + QUICK_BUDGET_MS, brokerBunArgs, idleSettle: { steadyMs: 2000, maxMs: 5000 }, jitWarmupMaxMs: 5000 }
    : { warmupMs: 1000, windowMs: 10_000, drainCount: 100_000, rate100: true, taskset, deadline: Infinity, brokerBunArgs, idleSettle: { steadyMs: 5000, maxMs: 15_000 }, jitWarmupMaxMs: 15_000 };
  const guarded = async (fn: () => Promise<SuiteResult>): Promise<SuiteResult | Failure> => {
    try {
      return await fn();
    } catch (err) {
      process.stderr.write(`[bench] suite failed: ${(err as Error).stack}\n`);
      return { error: (err as Error).message };
    }
  };
  // Filled in as scenarios finish, so the watchdog can report a partial run.
  const rawOut: Partial<SuiteResult> = {};
  const brokerOut: Partial<SuiteResult> = {};
  const report = (raw: SuiteResult | Failure, broker: SuiteResult | Failure, normal: SuiteResult | Failure | null) =>
    headline({ quick, broker, raw, normal, plan, pinned: taskset !== null, machine: machine(), wallS: (performance.now() - t0) / 1000 });
  if (quick) {
    setTimeout(() => {
      process.stderr.write(`[bench] quick mode hit its ${QUICK_WATCHDOG_MS / 1000} s watchdog: stopping servers, reporting a partial run\n`);
      killAllServers();
      process.stdout.write(JSON.stringify({ ...report(rawOut as SuiteResult, brokerOut as SuiteResult, null), partial: true }) + "\n");
      process.exit(0);
    }, QUICK_WATCHDOG_MS).unref();
  }
  // The raw relay first: it is quick and predictable, so in quick mode whatever time is left
  // goes to the broker, whose required scenarios come before its optional ones.
  const raw = await guarded(() => rawSuite(plan, rawOut));
  const broker = await guarded(() => brokerSuite("full", plan, brokerOut));
  const normal = quick || argv.includes("--no-normal") ? null : await guarded(() => brokerSuite("normal", plan));
  process.stdout.write(JSON.stringify(report(raw, broker, normal)) + "\n");
}

await main();
