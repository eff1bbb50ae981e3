// Diagnostic, not part of `bun run bench`: what a Claude Code session's start spends on the replay
// memory's files (openSessionMemory and pruneSessions, the file work of src/mcp/link-session.ts),
// measured in a fresh process each time, as a new MCP server pays it. The terminal has read
// 20,000 messages; then sessions of 10 reads each run one after another, and a new one is timed
// at the 10th, 50th and 100th. Then the same after readers stopped between their own file and the
// machine's memory (unmerged-marks.ts): one session's 10 pairs, and the terminal's 20,000.
// Run: bun run bench/probe-replay-start.ts   (docs/decisions.md, session 34)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadReplayGuard, saveReplayGuard, seenPath } from "../src/client/local/replay-memory.ts";
import { openSessionMemory } from "../src/client/local/session-memory.ts";
import { pruneSessions } from "../src/client/local/session-keys.ts";

const MESH = "mesh-probe-1";
const sender = "e".repeat(64);
const RUNS = 7;
const scopeOf = (n: number) => n.toString(16).padStart(16, "0");

if (process.argv[2] === "--start") {
  const [dir, scope] = process.argv.slice(3) as [string, string];
  const t = performance.now();
  openSessionMemory(dir, MESH, scope);
  pruneSessions(dir, MESH, scope);
  console.log((performance.now() - t).toFixed(1));
  process.exit(0);
}

let ids = 0;
const nextId = () => `cm-${String(ids++).padStart(10, "0")}`;

/** Median ms of RUNS fresh processes starting a new session (each with a scope of its own). */
function timeStart(dir: string, label: string, leave?: () => void): void {
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    leave?.();
    const p = Bun.spawnSync([process.execPath, import.meta.path, "--start", dir, scopeOf(1_000_000 + ids + r)]);
    ms.push(Number(p.stdout.toString()));
  }
  ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(44)} median ${ms[RUNS >> 1]!.toFixed(1)} ms (min ${ms[0]!.toFixed(1)}, max ${ms.at(-1)!.toFixed(1)})`);
}

/** Marks `file` as left by a process that ended (unmerged-marks.ts names). */
const markLeft = (file: string) => writeFileSync(`${file}.${Bun.spawnSync(["true"]).pid}-000000000000.unmerged`, "", { mode: 0o600 });

const dir = mkdtempSync(join(tmpdir(), "cm-probe-replay-"));
try {
  const cli = loadReplayGuard(dir, MESH);
  for (let i = 0; i < 20_000; i++) cli.check(sender, nextId());
  saveReplayGuard(dir, cli);
  for (let s = 1; s <= 100; s++) {
    const m = openSessionMemory(dir, MESH, scopeOf(s));
    for (let i = 0; i < 10; i++) m.guard.check(sender, nextId());
    m.save({});
    m.shareNow((err) => {
      throw err;
    });
    if (s === 10 || s === 50 || s === 100) timeStart(dir, `a new session after ${s}`);
  }
  // A session that read 10 and stopped before adding them; the next start merges them (once).
  timeStart(dir, "after a session stopped with 10 pairs", () => {
    const m = openSessionMemory(dir, MESH, scopeOf(200));
    for (let i = 0; i < 10; i++) m.guard.check(sender, nextId());
    m.save({});
    markLeft(seenPath(dir, MESH, scopeOf(200)));
  });
  timeStart(dir, "after the terminal stopped with 20,000 pairs", () => markLeft(seenPath(dir, MESH)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
