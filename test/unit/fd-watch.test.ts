// The broker's count of open file descriptors (src/broker/fd-watch.ts): a warning naming the
// limit and its fix at 90 % of the soft limit, or when counting fails because none is left; at
// most one per 10 s each; a line once back under 75 %; never an exception.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FD_FIX, FdWatch, systemProbe, type FdProbe } from "../../src/broker/fd-watch.ts";
import { jsonLog } from "../../src/log/log.ts";

const fail = (code: string) => {
  throw Object.assign(new Error(`${code}: too many open files`), { code });
};

/** A process whose open count and limit the test sets; null throws that code instead. */
function fake() {
  const state = { open: 10 as number | string, limit: 100 as number | string | null, floors: [] as number[] };
  const probe: FdProbe = {
    count: (floor) => (state.floors.push(floor), typeof state.open === "string" ? fail(state.open) : state.open),
    limit: () => (typeof state.limit === "string" ? fail(state.limit) : state.limit),
  };
  return { state, probe };
}

function watch(probe: FdProbe) {
  const lines: Record<string, any>[] = [];
  let now = 0;
  const w = new FdWatch(jsonLog("info", (l) => lines.push(JSON.parse(l))), probe, () => now);
  return { w, lines, at: (ms: number) => (now = ms), said: (): Record<string, unknown>[] => lines.map(({ level, msg, ts, ...rest }) => ({ level, msg: msg.split(":")[0], ...rest })) };
}

test("near the limit, out of descriptors, back under: one line each, throttled, naming limit and fix", () => {
  const { state, probe } = fake();
  const { w, at, said, lines } = watch(probe);
  w.check(); // 10 of 100
  state.open = 90;
  w.check();
  at(5_000);
  w.check(); // within 10 s: counted, not logged
  at(6_000);
  state.open = "EMFILE"; // counting needs a descriptor: none left
  state.limit = "EMFILE";
  w.check();
  at(7_000);
  w.check();
  state.open = 80;
  state.limit = 100;
  w.check(); // 80 %: still warned, no "back" yet
  at(12_000);
  state.open = 91;
  w.check();
  state.open = 74;
  w.check();
  expect(said()).toEqual([
    { level: "warn", msg: "open file descriptors near the limit", open: 90, limit: 100, fix: FD_FIX, notLoggedSinceLast: 0 },
    { level: "warn", msg: "out of file descriptors", limit: 100, code: "EMFILE", fix: FD_FIX, notLoggedSinceLast: 0 },
    { level: "warn", msg: "open file descriptors near the limit", open: 91, limit: 100, fix: FD_FIX, notLoggedSinceLast: 1 },
    { level: "info", msg: "open file descriptors back under the limit", open: 74, limit: 100 },
  ]);
  expect(FD_FIX).toContain("LimitNOFILE=");
  expect(FD_FIX).toContain("ulimit -n");
  // docs/operations.md "Open files" shows each line as logged.
  const doc = readFileSync(join(import.meta.dir, "../../docs/operations.md"), "utf8");
  expect(lines.map((l) => l.msg).filter((m) => !doc.includes(JSON.stringify(m)))).toEqual([]);
  expect(doc).toContain(JSON.stringify(FD_FIX));
});

test("below the threshold the probe may answer with a bound; an exact count is asked only above it", () => {
  const { state, probe } = fake();
  const { w } = watch(probe);
  w.check();
  state.open = 95;
  w.check();
  w.check();
  expect(state.floors).toEqual([90, 90, 75]);
});

test("an unknown limit (macOS) warns only when counting fails with EMFILE or ENFILE; other failures say nothing", () => {
  const { state, probe } = fake();
  state.limit = null;
  const { w, said } = watch(probe);
  state.open = 5_000;
  w.check();
  state.open = "ENOENT";
  w.check();
  state.open = "ENFILE";
  w.check();
  state.open = 10;
  w.check(); // without a limit it cannot say it is back
  expect(said()).toEqual([{ level: "warn", msg: "out of file descriptors", limit: null, code: "ENFILE", fix: FD_FIX, notLoggedSinceLast: 0 }]);
});

test("this process: a limit from /proc/self/limits and a count near the real one (Linux)", () => {
  if (process.platform !== "linux") return;
  const probe = systemProbe();
  const limit = probe.limit()!;
  const listed = Number(Bun.spawnSync(["sh", "-c", `ls /proc/${process.pid}/fd | wc -l`]).stdout.toString().trim());
  const exact = probe.count(0); // at or above 0: the exact count
  expect(limit).toBeGreaterThan(0);
  expect(Math.abs(exact - listed)).toBeLessThanOrEqual(5); // the sh pipe's descriptors come and go
  expect(probe.count(Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(exact); // a bound: the table's size
});
