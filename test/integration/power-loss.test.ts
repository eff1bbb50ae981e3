// The power-loss chaos run (bench/chaos.ts --power-loss, bench/power-loss.ts): its model of a
// disk drops the writes no fsync or fdatasync covered, and a few kill-and-lose-power
// cycles of a real `serve` lose nothing acked and show no recipient anything it then takes back
// (while with synchronous=normal, which answers before syncing, answers are taken back).
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PowerLoss } from "../../bench/power-loss.ts";
import { parseHistory } from "../../bench/chaos-check.ts";
import { tempDir } from "../helpers/broker.ts";
import { expectEveryPartCarried, passingChaosRun } from "../helpers/chaos-run.ts";

/** Writes as the broker does: SQLite in WAL mode with synchronous=NORMAL (its commits do not
 *  sync the WAL) and the WAL flusher's fdatasync on the thread pool; then dies on the spot. */
const WRITER = `
import { Database } from "bun:sqlite";
import { fdatasync, openSync } from "node:fs";
const [db] = process.argv.slice(2);
const d = new Database(db);
d.run("PRAGMA journal_mode = WAL");
d.run("PRAGMA synchronous = NORMAL");
d.run("CREATE TABLE t (x TEXT)");
d.run("INSERT INTO t VALUES ('flushed')");
const wal = openSync(db + "-wal", "a");
await new Promise((r, j) => fdatasync(wal, (e) => (e ? j(e) : r())));
d.run("INSERT INTO t VALUES ('committed, never flushed')");
process.kill(process.pid, "SIGKILL");
`;

describe("the power-loss model", () => {
  test("after a kill, the database holds what was flushed and nothing committed after", async () => {
    const dir = tempDir();
    const db = join(dir, "claudemesh.db");
    const loss = new PowerLoss(dir, tempDir());
    loss.settled();
    const script = join(tempDir(), "writer.ts");
    writeFileSync(script, WRITER);
    const proc = Bun.spawn([process.execPath, script, db], { env: { ...process.env, ...loss.env() }, stderr: "pipe" });
    expect(await proc.exited).toBe(137);
    const rows = () => {
      const d = new Database(db, { readonly: false });
      try {
        return d.query<{ x: string }, []>("SELECT x FROM t").all().map((r) => r.x);
      } finally {
        d.close();
      }
    };
    // A process crash keeps both commits (they reached the page cache) ...
    copyFileSync(db, `${db}.crash`);
    copyFileSync(`${db}-wal`, `${db}.crash-wal`);
    expect(rows()).toEqual(["flushed", "committed, never flushed"]);
    // ... a power loss only the one the fdatasync covered.
    copyFileSync(`${db}.crash`, db);
    copyFileSync(`${db}.crash-wal`, `${db}-wal`);
    loss.fail();
    expect(rows()).toEqual(["flushed"]);
  });
});

describe("power-loss chaos", () => {
  test("a few kill-and-lose-power cycles under mixed traffic pass every check of the kill -9 run", async () => {
    const { summary, history } = await passingChaosRun(["--power-loss", "--cycles", "5", "--seed", "20261123"]);
    expect(summary.kills).toBe(5);
    expect(summary.acked).toBeGreaterThan(100);
    expect(parseHistory(readFileSync(history, "utf8")).filter((s) => s.kind === "power-loss")).toHaveLength(5);
    expectEveryPartCarried(summary);
  }, 90_000);

  test("with synchronous=normal, which does not flush before answering, the same run finds answers taken back", async () => {
    // The model and the judge together can see a real loss: the broker's answers then come before
    // the WAL is synced, and a power cut takes back what they promised (docs/protocol.md §5.4).
    const proc = Bun.spawn([process.execPath, "run", resolve(import.meta.dir, "../../bench/chaos.ts"), "--power-loss", "--cycles", "4", "--seed", "20261123", "--drain-ms", "3000"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, CLAUDEMESH_SYNCHRONOUS: "normal" } });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(1);
    expect(out.trim().split("\n").at(-1)).toStartWith("chaos FAIL ");
    // An answer taken back: a result whose message is gone (lost, or missing from the topic's
    // history), or a confirmed ack whose message came again.
    const takenBack = err.split("\n").filter((l) => /^chaos: VIOLATION (lost: .* acked to its sender but never delivered|redelivered: .* after its ack was confirmed|offsets: .* acked at offset \d+ but missing from the history)/.test(l));
    expect(takenBack.length).toBeGreaterThan(0);
  }, 90_000);
});
