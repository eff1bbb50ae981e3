// What the collector promotes per relayed message (docs/benchmarks.md, "Session 39"): a real broker
// and store in a subprocess (bench/probe-broker.ts --survivors), its connections in memory. An eden
// collection in the middle of a round keeps what is in flight, about 5 cells per message of the
// rounds since the last full collection. Before KeyTable (src/key-table.ts) the broker's churned
// Maps kept every message's promise, key strings and bookkeeping alive across it: 15.5 cells per
// message, which filled the old generation and set the pace of full collections. The count is of
// heap cells, not time, so a busy machine does not move it; the probe reports the fewest of three
// windows, since a collection the collector's timers start inside one only adds to it.
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

test("an eden collection keeps fewer than 8 cells per relayed message", async () => {
  const proc = Bun.spawn([process.execPath, "bench/probe-broker.ts", "--survivors", "--warmup", "20000"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as { messages: number; cellsPerMsg: number; byType: Record<string, number> };
  expect(result.messages).toBe(800);
  expect(result.cellsPerMsg).toBeGreaterThan(0);
  if (result.cellsPerMsg >= 8) console.error("cells kept per message, by type:", result.byType);
  expect(result.cellsPerMsg).toBeLessThan(8);
}, 120_000);
