// The processes around a claudemesh process, as /proc (Linux) or `ps` (macOS) show them: who
// started it, and which of its ancestors is the Claude Code that runs it. Each answer degrades to
// "not known" (null, false) where neither can be read, never to an error.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** Fields 3… of /proc/<pid>/stat (state, ppid, …; starttime is [19]), or null off Linux. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name, which is in parentheses and may itself hold spaces or ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** `ps [flags] -o <field>= -p <pid>` (macOS and other systems without /proc), or null. */
function psField(pid: number, field: string, flags: string[] = []): string | null {
  if (process.platform === "linux") return null;
  try {
    const r = Bun.spawnSync(["ps", ...flags, "-o", `${field}=`, "-p", String(pid)], { stdout: "pipe", stderr: "ignore" });
    const out = r.stdout.toString().trim();
    return r.exitCode === 0 && out ? out : null;
  } catch {
    return null;
  }
}

/** The parent of `pid`, or null: /proc on Linux, `ps` elsewhere (macOS); null if neither works. */
function parentOf(pid: number): number | null {
  const ppid = Number(procStat(pid)?.[1] ?? psField(pid, "ppid"));
  return ppid > 0 ? ppid : null;
}

/** An identity for the parent process that a later process reusing its pid does not share:
 *  `ppid-<pid>-<start time>` (clock ticks since boot on Linux, the start date elsewhere), or
 *  `ppid-<pid>` when the start time cannot be read. */
export function parentProcessId(pid = process.ppid): string {
  const start = stateAndStart(pid)?.start;
  return start ? `ppid-${pid}-${start}` : `ppid-${pid}`;
}

/** This process's ancestors, nearest first, at most `max` (Claude Code runs hooks through a shell). */
function ancestorPids(max = 8): number[] {
  const out: number[] = [];
  for (let pid: number | null = process.ppid; pid && pid > 1 && out.length < max; pid = parentOf(pid)) out.push(pid);
  return out;
}

/** The shells a hook's command may run through (Claude Code's `/bin/sh -c`, a user's wrapper). */
const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox"]);

/** Whether `pid` runs a shell, by its command name (a login shell's leading "-" dropped). */
function isShell(pid: number): boolean {
  let comm: string | null = null;
  try {
    comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    comm = psField(pid, "comm");
  }
  return comm !== null && SHELLS.has(basename(comm).replace(/^-/, ""));
}

/** The Claude Code process running this hook: its nearest ancestor that is not a shell, or null.
 *  Only its MCP server is this session's: one further up belongs to another Claude Code, in whose
 *  Bash tool this one runs (`claude -p` in a script), whose messages and meshes are not ours. */
export function hookHostPid(): number | null {
  return ancestorPids().find((pid) => !isShell(pid)) ?? null;
}

/** `pid`'s state letters and start time, in one read: /proc on Linux, one `ps` elsewhere; null
 *  when neither can be read. */
function stateAndStart(pid: number): { state: string; start: string } | null {
  const st = procStat(pid);
  if (st) return { state: st[0] ?? "", start: st[19] ?? "" };
  const shown = psField(pid, "lstart", ["-o", "stat="]);
  const at = shown?.search(/\s/) ?? -1;
  return shown && at > 0 ? { state: shown.slice(0, at), start: shown.slice(at).replace(/[^A-Za-z0-9]+/g, "") } : null;
}

/** Whether process `pid` runs: it exists and is not a zombie (one that ended and was not reaped
 *  yet, which a signal 0 still reaches). True when that cannot be told (EPERM: another user's). */
export function processAlive(pid: number): boolean {
  return processWatch(pid, null)();
}

/** A check of process `pid`, to call again and again: true while it runs (processAlive) and is
 *  the process that had the pid when the watch was made. A process that reuses the pid later (a
 *  wait lasts days; pids come round on a busy machine) starts at another time, and is not it.
 *  `start`: the start time to hold it to; by default the one read now (none when unreadable). */
export function processWatch(pid: number, start: string | null = stateAndStart(pid)?.start ?? null): () => boolean {
  return () => {
    try {
      process.kill(pid, 0);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
    const now = stateAndStart(pid);
    return now === null || (!now.state.startsWith("Z") && (start === null || now.start === start));
  };
}

/** Whether process `pid` holds `name=value` in its own environment: this process, its child, then
 *  inherited the variable rather than was given it. /proc on Linux, `ps eww` (the command line,
 *  then the environment) elsewhere; false when it cannot be read. */
export function parentEnvHas(name: string, value: string, pid = process.ppid): boolean {
  const entry = `${name}=${value}`;
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry);
  } catch {
    const shown = psField(pid, "command", ["eww"]);
    return shown !== null && ` ${shown} `.includes(` ${entry} `);
  }
}
