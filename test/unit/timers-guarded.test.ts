// A broker timer's callback never throws (src/broker/timers.ts guarded): what it throws, or the
// promise it returns rejects with, is one JSON line `background task failed` per task per 10 s,
// counting those not logged, and the timer keeps running.
import { expect, test } from "bun:test";
import { guarded } from "../../src/broker/timers.ts";
import { jsonLog } from "../../src/log/log.ts";
import { StoreLocked } from "../../src/store/errors.ts";

function capture() {
  const lines: Record<string, any>[] = [];
  return { log: jsonLog("info", (line) => lines.push(JSON.parse(line))), lines };
}
const emfile = () => Object.assign(new Error("Failed to get memory usage"), { name: "SystemError", code: "EMFILE" });

test("a throw is logged as JSON with the error, once per 10 s with the count left out", () => {
  const { log, lines } = capture();
  let now = 0;
  let runs = 0;
  const tick = guarded(log, "idle collection", () => {
    runs++;
    throw emfile();
  }, () => now);
  for (; now < 10_000; now += 1_000) expect(tick()).toBeUndefined();
  tick(); // now = 10 s
  expect(runs).toBe(11);
  expect(lines.map(({ level, msg, task, err, notLoggedSinceLast }) => ({ level, msg, task, err: [err.name, err.message, err.code], notLoggedSinceLast }))).toEqual([
    { level: "error", msg: "background task failed", task: "idle collection", err: ["SystemError", "Failed to get memory usage", "EMFILE"], notLoggedSinceLast: 0 },
    { level: "error", msg: "background task failed", task: "idle collection", err: ["SystemError", "Failed to get memory usage", "EMFILE"], notLoggedSinceLast: 9 },
  ]);
});

test("a rejected promise is logged; a value the log cannot write still does not escape", async () => {
  const { log, lines } = capture();
  guarded(log, "sweep", () => Promise.reject(new Error("disk I/O error")))();
  guarded(log, "odd", () => {
    throw 1n; // JSON.stringify throws on a BigInt
  })();
  await Bun.sleep(0);
  expect(lines.map((l) => [l.task, l.err.message])).toEqual([["sweep", "disk I/O error"]]);
});

test("as a real interval, a callback that always throws ends nothing: it runs again", async () => {
  const { log, lines } = capture();
  let runs = 0;
  const h = setInterval(guarded(log, "liveness", () => {
    runs++;
    throw emfile();
  }), 5);
  while (runs < 5) await Bun.sleep(5);
  clearInterval(h);
  expect(lines.length).toBe(1);
});

// Review found a sweep that met another process's lock logged `background task failed` at error
// level: a lock is not a bug. The lock is said once, as a warning, by disk-watch.ts (it hears
// every write that meets it); the timer's guard says nothing of it.
test("a sweep refused for another process's lock is not logged as a failed task", async () => {
  const { log, lines } = capture();
  guarded(log, "sweep", () => Promise.reject(new StoreLocked({ cause: new Error("database is locked") })))();
  await Bun.sleep(0);
  expect(lines).toEqual([]);
});
