// What a bench run measured on: the machine (CPU, RAM, kernel, Bun) and the broker source (commit,
// and whether src/ or migrations/ had uncommitted changes). Both go into the last JSON line of
// `bun run bench` and `bun run soak`.
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";

/** The broker source measured: commit and whether src/ had uncommitted changes; null outside git. */
function source(): { commit: string; srcDirty: boolean } | null {
  const git = (args: string[]) => Bun.spawnSync(["git", ...args], { cwd: import.meta.dir, stderr: "ignore" });
  const head = git(["rev-parse", "--short", "HEAD"]);
  if (head.exitCode !== 0) return null;
  return { commit: head.stdout.toString().trim(), srcDirty: git(["status", "--porcelain", "--", "../src", "../migrations"]).stdout.toString().trim() !== "" };
}

export function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    // Not availableParallelism(): this process is pinned to one CPU.
    nproc: cpus().length,
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    ramMiB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    bun: Bun.version,
    source: source(),
  };
}
