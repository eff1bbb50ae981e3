// Replay files written ahead of the machine's replay memory (src/client/local/unmerged-marks.ts):
// a reader marks its file before writing pairs the machine's memory may lack and unmarks it once it
// added them; a new session merges the files whose marks name a process no longer running. Files
// only: real processes killed between the two writes are in
// test/integration/replay-crash-window.test.ts.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "../preload.ts";
import { ReplayGuard } from "../../src/crypto/replay-guard.ts";
import { openSessionMemory } from "../../src/client/local/session-memory.ts";
import { seenPath } from "../../src/client/local/replay-memory.ts";
import { removeMeshLog } from "../../src/client/local/message-log.ts";

const MESH = "mesh-marks-1";
const sender = "d".repeat(64);
const id = (n: number) => `cm-${String(n).padStart(8, "0")}`;
const fail = (err: unknown) => {
  throw err;
};
const A = "a".repeat(16);
const machine = (dir: string) => (JSON.parse(readFileSync(join(dir, "seen", `${MESH}.machine.json`), "utf8")) as { seen: [string, string][]; first: number });
const marks = (dir: string) => readdirSync(join(dir, "seen")).filter((f) => f.endsWith(".unmerged"));
/** A process that has run and ended: its pid runs no more. */
const deadPid = () => Bun.spawnSync(["true"]).pid;

/** The machine's memory made: session z read one pair and added it. */
function machineMade(dir: string): void {
  const z = openSessionMemory(dir, MESH, "f".repeat(16));
  z.guard.check(sender, id(999));
  z.save({});
  z.shareNow(fail);
}

/** Session `scope`'s file holding `ns`, marked by process `pid` in run `run`, as a reader killed
 *  between its own file and the machine's memory leaves it. */
function leftBehind(dir: string, scope: string, ns: number[], pid: number, run = "0123456789ab"): string {
  const g = new ReplayGuard(MESH);
  for (const n of ns) g.check(sender, id(n));
  const file = seenPath(dir, MESH, scope);
  writeFileSync(file, g.exportJson({ seed: null }), { mode: 0o600 });
  writeFileSync(`${file}.${pid}-${run}.unmerged`, "", { mode: 0o600 });
  return file;
}

describe("replay files marked ahead of the machine's memory", () => {
  test("a reader that stopped between its file and the machine's: the next session starts with its pairs, and the mark goes", () => {
    const dir = scratchDir("cm-marks-dead-");
    machineMade(dir);
    leftBehind(dir, A, [1, 2], deadPid());
    const fresh = openSessionMemory(dir, MESH, "b".repeat(16)).guard;
    expect({ seeded: [1, 2].map((n) => fresh.has(sender, id(n))), machine: machine(dir).seen.map((p) => p[1]), marks: marks(dir) }).toEqual({ seeded: [true, true], machine: [id(999), id(1), id(2)], marks: [] });
  });

  test("a mark of this pid from an earlier run (a container's claudemesh gets the same pid) is left behind too", () => {
    const dir = scratchDir("cm-marks-pid-");
    machineMade(dir);
    leftBehind(dir, A, [1], process.pid);
    expect(openSessionMemory(dir, MESH, "b".repeat(16)).guard.has(sender, id(1))).toBe(true);
    expect(marks(dir)).toEqual([]);
  });

  test("a running reader's mark is left to it: its share adds the pairs and removes it", () => {
    const dir = scratchDir("cm-marks-live-");
    machineMade(dir);
    const a = openSessionMemory(dir, MESH, A);
    a.guard.check(sender, id(1));
    a.save({});
    expect(marks(dir)).toEqual([expect.stringMatching(new RegExp(`^${MESH}\\.${A}\\.json\\.${process.pid}-[0-9a-f]{12}\\.unmerged$`))]);
    // Another session starting meanwhile leaves it (a's file may be written again after it is read).
    expect(openSessionMemory(dir, MESH, "b".repeat(16)).guard.has(sender, id(1))).toBe(false);
    expect(marks(dir).length).toBe(1);
    a.shareNow(fail);
    expect({ machine: machine(dir).seen.map((p) => p[1]), marks: marks(dir) }).toEqual({ machine: [id(999), id(1)], marks: [] });
    // A save with nothing new (a reply shown, only) writes no mark.
    a.save({ replies: [] });
    expect(marks(dir)).toEqual([]);
  });

  test("a marked file that is damaged is reported and its mark removed; one that is gone only loses its mark", () => {
    const dir = scratchDir("cm-marks-damaged-");
    machineMade(dir);
    const damaged = leftBehind(dir, A, [1], deadPid());
    writeFileSync(damaged, "{ half a file", { mode: 0o600 });
    const gone = leftBehind(dir, "c".repeat(16), [2], deadPid());
    renameSync(gone, `${gone}.elsewhere`);
    leftBehind(dir, "e".repeat(16), [3], deadPid());
    const notes: string[] = [];
    const fresh = openSessionMemory(dir, MESH, "b".repeat(16), (n) => notes.push(n)).guard;
    expect({ seeded: [1, 2, 3].map((n) => fresh.has(sender, id(n))), marks: marks(dir) }).toEqual({ seeded: [false, false, true], marks: [] });
    expect(notes).toEqual([expect.stringContaining(`The replay memory ${damaged}, which process `)]);
    // The damaged file is its owner's to move aside, when it is resumed.
    expect(readFileSync(damaged, "utf8")).toBe("{ half a file");
  });

  test("a merge that cannot be made now is reported, and its marks stay for the next start", () => {
    const dir = scratchDir("cm-marks-later-");
    machineMade(dir);
    const file = leftBehind(dir, A, [1], deadPid());
    const machineFile = join(dir, "seen", `${MESH}.machine.json`);
    renameSync(machineFile, `${machineFile}.away`);
    mkdirSync(machineFile); // the machine's memory cannot be read
    const notes: string[] = [];
    openSessionMemory(dir, MESH, "b".repeat(16), (n) => notes.push(n));
    expect({ notes, marks: marks(dir).length }).toEqual({ notes: [expect.stringContaining(`The replay files ${file}, which processes that stopped did not add`)], marks: 1 });
    rmSync(machineFile, { recursive: true });
    renameSync(`${machineFile}.away`, machineFile);
    expect(openSessionMemory(dir, MESH, "c".repeat(16)).guard.has(sender, id(1))).toBe(true);
    expect(marks(dir)).toEqual([]);
  });

  test("sessions starting at once merge a left file once, and leave no lock", async () => {
    const dir = scratchDir("cm-marks-race-");
    machineMade(dir);
    leftBehind(dir, A, [1, 2, 3], deadPid());
    const sharer = join(import.meta.dir, "../fixtures/replay-sharer.ts");
    const procs = ["1", "2", "3", "4"].map((c) => Bun.spawn([process.execPath, sharer, dir, MESH, c.repeat(16), sender, "0"], { stderr: "pipe" }));
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0]);
    expect({ machine: machine(dir).seen.map((p) => p[1]), first: machine(dir).first, marks: marks(dir), lock: readdirSync(join(dir, "seen")).filter((f) => f.includes("lock")) }).toEqual({ machine: [id(999), id(1), id(2), id(3)], first: 0, marks: [], lock: [] });
  });

  test("leave deletes the marks with the replay files", () => {
    const dir = scratchDir("cm-marks-leave-");
    machineMade(dir);
    leftBehind(dir, A, [1], deadPid());
    mkdirSync(join(dir, "messages"), { recursive: true });
    removeMeshLog(dir, MESH);
    expect(readdirSync(join(dir, "seen"))).toEqual([]);
  });
});
