// What the collector promotes per relayed message (docs/benchmarks.md, "Session 39"): a real broker
// and store in a subprocess (bench/probe-broker.ts --survivors), its connections in memory. An eden
// collection in the middle of a round keeps what is in flight and what still refers to it: 2.9
// cells per message of the rounds since the last full collection. Before this session, 15.5: the
// broker's churned Maps (src/key-table.ts) kept every message's promise, key strings and
// bookkeeping alive across it, and the expiry heap's 1,024 acked entries the entry and its id
// (4.7 with only the first fixed). That filled the old generation and set the pace of full
// collections. The count is of heap cells, not time, so a busy machine does not move it; a window
// in which the collector's own timers started a collection is run again.
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

test("an eden collection keeps fewer than 4 cells per relayed message", async () => {
  const proc = Bun.spawn([process.execPath, "bench/probe-broker.ts", "--survivors", "--warmup", "20000"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as { messages: number; cellsPerMsg: number; byType: Record<string, number> };
  expect(result.messages).toBe(800);
  expect(result.cellsPerMsg).toBeGreaterThan(0);
  if (result.cellsPerMsg >= 4) console.error("cells kept per message, by type:", result.byType);
  expect(result.cellsPerMsg).toBeLessThan(4);
}, 120_000);
