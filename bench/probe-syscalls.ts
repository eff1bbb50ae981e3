// Diagnostic, not part of `bun run bench`: the kernel's share of a relayed message. For the broker
// (synchronous=full) and the raw relay, each pinned to CPU 0 as in the suite, it runs the closed
// loop at N=100 and 10,000 msgs/s over N=1,000, and reports per message: user and system CPU µs
// (/proc/<pid>/stat) and, when `perf` can count syscall tracepoints, the system calls made. This
// is the floor no amount of JavaScript tuning removes: the broker's protocol has a sender result
// and a recipient ack on top of the relay's one frame in and one out, plus the WAL writes.
// Run: bun run bench/probe-syscalls.ts [--window 3000]   (needs Linux; perf optional)
import { parseArgs } from "node:util";
import { closedLoop, fixedRate, type LoadResult } from "./load.ts";
import { PeerSet, brokerDialect, rawDialect } from "./peers.ts";
import { cpuSplit } from "./proc.ts";
import { startBroker, startRawRelay, killAllServers, runPinnedToCpu1, type ServerProcess } from "./servers.ts";
import { setupMesh } from "./setup.ts";

const { values } = parseArgs({ options: { window: { type: "string", default: "3000" } } });
const WARMUP_MS = 1000;
const WINDOW_MS = Number(values.window);
const SYSCALLS = ["sendto", "recvfrom", "pwrite64", "fdatasync", "fsync", "madvise", "futex"] as const;
const taskset = Bun.which("taskset");
const perf = Bun.which("perf");
await runPinnedToCpu1(taskset, import.meta.path, process.argv.slice(2));

/** Whether perf may count syscall tracepoints here (needs perf_event_paranoid ≤ 1 or root). */
function perfUsable(): boolean {
  if (!perf) return false;
  const r = Bun.spawnSync([perf, "stat", "-e", "syscalls:sys_enter_getpid", "--", "true"], { stderr: "pipe" });
  return r.exitCode === 0;
}
const countSyscalls = perfUsable();

/** Counts the server's syscalls from now until stop(); null counts when perf cannot. */
function countFrom(pid: number): { stop(): Promise<Record<string, number> | null> } {
  if (!countSyscalls) return { stop: async () => null };
  const out = `/tmp/claudemesh-probe-syscalls-${process.pid}.txt`;
  const events = SYSCALLS.map((s) => `syscalls:sys_enter_${s}`).join(",");
  const p = Bun.spawn([perf!, "stat", "-x", ",", "-e", events, "-p", String(pid), "-o", out], { stderr: "ignore", stdout: "ignore" });
  return {
    async stop() {
      p.kill("SIGINT");
      await p.exited;
      const counts: Record<string, number> = {};
      for (const line of (await Bun.file(out).text()).split("\n")) {
        const [value, , event] = line.split(",");
        const name = event?.replace("syscalls:sys_enter_", "");
        if (name && SYSCALLS.includes(name as never)) counts[name] = Number(value);
      }
      return counts;
    },
  };
}

/** Runs one scenario with CPU split and syscall counts taken over its measurement window (the
 *  count stops at the call's end, which adds the short settle wait: a slight overcount). */
async function measured(srv: ServerProcess, run: (o: { warmupMs: number; windowMs: number; serverPid: number }) => Promise<LoadResult>) {
  const at: { start?: { cpu: { user: number; system: number }; syscalls: ReturnType<typeof countFrom> } } = {};
  const timer = setTimeout(() => (at.start = { cpu: cpuSplit(srv.pid), syscalls: countFrom(srv.pid) }), WARMUP_MS);
  const r = await run({ warmupMs: WARMUP_MS, windowMs: WINDOW_MS, serverPid: srv.pid });
  clearTimeout(timer);
  const s = at.start;
  if (!s) throw new Error("the scenario ended before its warm-up");
  const cpu = cpuSplit(srv.pid);
  const counts = await s.syscalls.stop();
  const messages = r.msgsPerS * (WINDOW_MS / 1000);
  const per = (n: number) => +(n / messages).toFixed(2);
  return {
    msgsPerS: Math.round(r.msgsPerS),
    userUsPerMsg: +(((cpu.user - s.cpu.user) * 1e6) / messages).toFixed(1),
    sysUsPerMsg: +(((cpu.system - s.cpu.system) * 1e6) / messages).toFixed(1),
    ...(counts ? Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${k}/msg`, per(v)])) : {}),
  };
}

async function suite(srv: ServerProcess, ps: PeerSet) {
  await ps.connect(Array.from({ length: 1000 }, (_, i) => i));
  // As in the suite, the broker is warm (JIT, caches) before the rate scenario.
  const closed = await measured(srv, (o) => closedLoop(ps, 100, o));
  await ps.quiesce(300, 10_000);
  const rate = await measured(srv, (o) => fixedRate(ps, 1000, 10_000, o));
  ps.close();
  return { "closed loop N=100": closed, "10k/s N=1000": rate };
}

const rows: Record<string, unknown> = {};
try {
  {
    await using raw = await startRawRelay({ taskset });
    const r = await suite(raw, new PeerSet(rawDialect(), raw.wsUrl));
    for (const [k, v] of Object.entries(r)) rows[`raw ${k}`] = v;
  }
  {
    await using broker = await startBroker({ synchronous: "full", taskset });
    const { members } = await setupMesh(broker.httpUrl, broker.wsUrl, 1000);
    const r = await suite(broker, new PeerSet(brokerDialect(members), broker.wsUrl));
    for (const [k, v] of Object.entries(r)) rows[`broker ${k}`] = v;
  }
} finally {
  killAllServers();
}
if (!countSyscalls) console.error("perf cannot count syscall tracepoints here (missing, or perf_event_paranoid > 1): CPU split only");
console.table(rows);
