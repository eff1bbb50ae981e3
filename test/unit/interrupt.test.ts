// onInterrupt (src/local-file/interrupt.ts), in a real child process: each of SIGINT, SIGTERM and
// SIGHUP runs the undo and exits 128 + the signal's number, also when the undo throws (its note to
// a terminal that is gone: SIGHUP comes when the terminal closes); after off() the signal has its
// default effect again; a signal the process was started ignoring (nohup) stays ignored; and a
// parent tells such an exit from a failure (interruptedBy). Session 36 (docs/decisions.md, "SIGHUP, the config and the port's other
// listeners").
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runBackup } from "../../src/broker/backup-run.ts";
import { interruptedBy } from "../../src/local-file/interrupt.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const MODULE = resolve(import.meta.dir, "../../src/local-file/interrupt.ts");

/** A process that registers onInterrupt (its undo writes `marker`, then throws if `throws`) and
 *  prints "ready"; with `off`, it calls off() before it is ready. */
async function child(marker: string, opts: { throws?: boolean; off?: boolean; nohup?: boolean } = {}) {
  const script = `
    import { onInterrupt } from ${JSON.stringify(MODULE)};
    const h = onInterrupt(() => { require("node:fs").writeFileSync(${JSON.stringify(marker)}, "undone"); ${opts.throws ? 'throw new Error("stderr is gone");' : ""} });
    ${opts.off ? "h.off();" : ""}
    console.log("ready");
    setInterval(() => {}, 1000);`;
  // nohup: started with SIGHUP ignored (the shell that ignores it becomes the process).
  const nohup = opts.nohup ? ["sh", "-c", 'trap "" HUP; exec "$0" "$@"'] : [];
  const p = Bun.spawn([...nohup, process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const reader = p.stdout.getReader();
  await reader.read(); // "ready"
  return p;
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  test(`${signal}: the undo runs and the exit is ${code}, even when the undo throws`, async () => {
    const dir = tempDir("cm-interrupt-");
    for (const throws of [false, true]) {
      const marker = join(dir, `${signal}-${throws}`);
      const p = await child(marker, { throws });
      p.kill(signal);
      expect({ throws, exit: await p.exited, undone: existsSync(marker) }).toEqual({ throws, exit: code, undone: true });
    }
  });
}

test("after off(), SIGHUP ends the process as it would without the handler, and nothing is undone", async () => {
  const marker = join(tempDir("cm-interrupt-"), "off");
  const p = await child(marker, { off: true });
  p.kill("SIGHUP");
  await p.exited;
  expect({ signal: p.signalCode, undone: existsSync(marker) }).toEqual({ signal: "SIGHUP", undone: false });
});

// `nohup claudemesh upgrade` is meant to outlive its terminal: the SIGHUP of the terminal closing
// is not heard, while SIGTERM still undoes the work. (A handler used to undo nohup's choice.)
test("a SIGHUP ignored when the process started stays ignored; SIGTERM is still heard", async () => {
  const marker = join(tempDir("cm-interrupt-"), "nohup");
  const p = await child(marker, { nohup: true });
  p.kill("SIGHUP");
  await Bun.sleep(300);
  expect({ running: p.exitCode === null, undone: existsSync(marker) }).toEqual({ running: true, undone: false });
  p.kill("SIGTERM");
  expect({ exit: await p.exited, undone: existsSync(marker) }).toEqual({ exit: 143, undone: true });
});

test("interruptedBy names the signal of an exit onInterrupt made, and nothing else", () => {
  expect([129, 130, 143, 1, 0, 137, null].map(interruptedBy)).toEqual(["SIGHUP", "SIGINT", "SIGTERM", null, null, null, null]);
});

// A scheduled backup's child (`admin backup`) that a stop of the service signalled ends through
// its own handler, exit 143 with its copy removed: the broker reports it as ended by that signal,
// not as a failure without a word (src/broker/backup-run.ts).
test("a backup child that exits 143 is reported as ended by SIGTERM, its leftovers removed", async () => {
  const dir = tempDir("cm-interrupt-run-");
  const out = join(dir, "b.db");
  writeFileSync(`${out}.partial`, "half");
  const run = runBackup(["sh", "-c", "exit 143", "sh"], dir, out);
  expect(await run.done).toEqual({ ok: false, code: "killed", message: "the backup process ended by SIGTERM; its unfinished copy was removed", fix: null, cancelled: false });
  expect(existsSync(`${out}.partial`)).toBe(false);
});
