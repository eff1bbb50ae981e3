// Runs bench/chaos.ts as the CI tests do and checks its summary: a run passes, and every part of
// the workload (bench/chaos-exercised.ts) carried traffic, so a part that stops doing so fails
// here rather than passing the judge unexamined.
import { expect } from "bun:test";
import { resolve } from "node:path";
import { exercised } from "../../bench/chaos-exercised.ts";
import { tempDir } from "./broker.ts";

/** Runs the chaos harness with `args` (history to a temp file, returned as its path); expects it to
 *  exit 0 without a VIOLATION and returns its summary. */
export async function passingChaosRun(args: string[]): Promise<{ summary: Record<string, number>; history: string }> {
  const history = `${tempDir()}/history.jsonl`;
  const proc = Bun.spawn([process.execPath, "run", resolve(import.meta.dir, "../../bench/chaos.ts"), ...args, "--history", history], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, err: code === 0 && !err.includes("VIOLATION") ? "" : err }).toEqual({ code: 0, err: "" });
  const summary = JSON.parse(out.trim().split("\n").at(-1)!.replace(/^chaos PASS /, "")) as Record<string, number>;
  expect(summary).toMatchObject({ ok: true, violations: 0 });
  return { summary, history };
}

/** Each count of exercised() is in the summary and above 0 (named, so a failure says which). */
export function expectEveryPartCarried(summary: Record<string, number>): void {
  for (const k of Object.keys(exercised([]))) expect({ [k]: summary[k]! > 0 }).toEqual({ [k]: true });
}
