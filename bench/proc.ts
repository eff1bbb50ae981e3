// Resource use of a server process, read from /proc (Linux only): resident memory from
// /proc/<pid>/status VmRSS, CPU time from /proc/<pid>/stat utime+stime, open descriptors from
// /proc/<pid>/fd.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat times. 100 on every Linux we run on
 *  (USER_HZ is fixed by the kernel ABI on x86 and arm). */
const CLOCK_TICKS_PER_S = 100;

/** Resident set size of `pid` in MiB; NaN if the process is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Descriptors `pid` holds open (sockets, files, pipes): the entries of /proc/<pid>/fd; NaN if
 *  the process is gone. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** utime and stime of one /proc/<pid>/stat (or task stat) line, in seconds. */
function statTimes(stat: string): { user: number; system: number } {
  // Fields after the parenthesised command name (which may contain spaces): state is field 3,
  // utime field 14 and stime field 15, i.e. indexes 11 and 12 after the ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(rest[11]) / CLOCK_TICKS_PER_S, system: Number(rest[12]) / CLOCK_TICKS_PER_S };
}

/** User and system CPU seconds used so far by `pid` (all its threads); NaN if it is gone. */
export function cpuSplit(pid: number): { user: number; system: number } {
  try {
    return statTimes(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** CPU seconds used so far by each of the JavaScript engine's compiler threads of `pid`, by
 *  thread id (JavaScriptCore names them `JITWorker`; they run beside the event loop, on the same
 *  pinned core): how much of a window went to compiling code rather than running it. Empty if
 *  there are none or `pid` is gone. */
export function jitThreadSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    if (!stat.slice(stat.indexOf("(") + 1).startsWith("JIT")) continue;
    const t = statTimes(stat);
    out.set(tid, t.user + t.system);
  }
  return out;
}

/** Compiler-thread CPU seconds between two jitThreadSeconds readings. A thread that started
 *  meanwhile counts from zero; one that ended takes its share with it (the figure can only be low). */
function jitDelta(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [tid, s] of after) total += s - (before.get(tid) ?? 0);
  return total;
}

/** User + system CPU seconds used so far by `pid`; NaN if it is gone. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/** Bytes `pid` caused to be written to storage so far (/proc/<pid>/io write_bytes: the WAL,
 *  checkpoints, the database file); NaN if unreadable. */
export function storageWriteBytes(pid: number): number {
  try {
    const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export type Usage = {
  cpuPct: number;
  /** The share of cpuPct its JIT compiler threads used (see jitThreadSeconds). */
  jitCpuPct: number;
  rssMiB: number;
  rssPeakMiB: number;
  storageWriteMiB: number;
};

/** Samples a process over a window: CPU% (100 = one core) from the CPU-time delta, RSS at the
 *  end and its peak over samples every `everyMs`. Call stop() exactly once. */
export function watchProcess(pid: number, everyMs = 200): { stop(): Usage } {
  const cpu0 = cpuSeconds(pid);
  const jit0 = jitThreadSeconds(pid);
  const written0 = storageWriteBytes(pid);
  const t0 = performance.now();
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      const wallS = (performance.now() - t0) / 1000;
      const rss = rssMiB(pid);
      return {
        cpuPct: ((cpuSeconds(pid) - cpu0) / wallS) * 100,
        jitCpuPct: (jitDelta(jit0, jitThreadSeconds(pid)) / wallS) * 100,
        rssMiB: rss,
        rssPeakMiB: Math.max(peak, rss),
        storageWriteMiB: (storageWriteBytes(pid) - written0) / 2 ** 20,
      };
    },
  };
}

/** CPU% of this process over a window, from process.cpuUsage (the load generator's own core). */
export function watchSelf(): { stop(): number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop() {
      const c = process.cpuUsage(c0);
      return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
    },
  };
}

/** Per-CPU jiffies from /proc/stat: total, busy (not idle or iowait) and steal (time the
 *  hypervisor ran someone else). */
function cpuTimes(): Map<string, { total: number; busy: number; steal: number }> {
  const out = new Map<string, { total: number; busy: number; steal: number }>();
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(m[1]!, { total, busy: total - (v[3] ?? 0) - (v[4] ?? 0) - (v[7] ?? 0), steal: v[7] ?? 0 });
  }
  return out;
}

export type CpuShare = { busyPct: number; stealPct: number };

/** Busy and steal time per CPU over a window, in % of that CPU's time. On this shared VM other
 *  processes can run on the pinned CPUs too: CPU 0 busy well above the server's own CPU% means
 *  foreign load, and high steal means the hypervisor took the CPU away. */
export function watchCpus(): { stop(): Record<string, CpuShare> } {
  const before = cpuTimes();
  return {
    stop() {
      const after = cpuTimes();
      const out: Record<string, CpuShare> = {};
      for (const [cpu, a] of after) {
        const b = before.get(cpu);
        const dt = b ? a.total - b.total : 0;
        if (b && dt > 0) out[cpu] = { busyPct: ((a.busy - b.busy) / dt) * 100, stealPct: ((a.steal - b.steal) / dt) * 100 };
      }
      return out;
    },
  };
}
