// The load-and-soak bench (bench/soak.ts, reliability plan T8, docs/benchmarks.md "Session 24"):
// its delivery ledger and step judge report what they must; and `bun run soak -- --quick` runs
// 300 members through a short ramp and soak, prints its JSON line with every SLO judged, carries
// DMs and topic fan-out, and loses no acked message.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { DeliveryLedger } from "../../bench/soak-ledger.ts";
import { judgeStep } from "../../bench/soak-phases.ts";
import type { WindowStats } from "../../bench/soak-traffic.ts";
import { leastSquares } from "../../bench/stats.ts";

const ROOT = resolve(import.meta.dir, "../..");

describe("the soak's judges", () => {
  test("the ledger reports an acked send a recipient never got, and nothing else", () => {
    const l = new DeliveryLedger();
    l.sent(1, 11, [5]); // a DM, delivered then acked
    l.pushed(5, 1);
    l.answered(11, true);
    l.sent(2, 12, [1, 2, 3]); // a topic post, acked, recipient 3 never gets it; 2 gets it twice
    l.answered(12, true);
    l.pushed(1, 2);
    l.pushed(2, 2);
    l.pushed(2, 2);
    l.sent(3, 13, [4]); // refused: owed to nobody
    l.answered(13, false);
    l.sent(4, 14, [6]); // never answered
    expect(l.open).toBe(2);
    expect(l.loss()).toEqual({ messages: 1, deliveries: 1, examples: [{ seq: 2, missing: [3] }], unanswered: 1 });
    expect(l.totals).toEqual({ sends: 4, acked: 2, refused: 1, owed: 4, pushes: 4, duplicates: 1, unknown: 0 });
  });

  test("a step fails on tail latency, a short rate, errors and closes", () => {
    const w: WindowStats = { seconds: 10, targetPerS: 100, sends: 1000, offeredPerS: 100, heldBack: 0, pushes: 4800, owedPushes: 4800, latencies: Float64Array.of(1, 2), errors: 0, firstError: "", unexpectedCloses: 0, clientCpuPct: 5 };
    expect(judgeStep(w, 99)).toEqual([]);
    expect(judgeStep(w, 101)).toEqual(["p99 101.0 ms > 100 ms"]);
    expect(judgeStep({ ...w, offeredPerS: 90, heldBack: 100, pushes: 4000, errors: 2, firstError: "{...}", unexpectedCloses: 1 }, 5)).toEqual([
      "offered 90/s < 97% of 100/s (100 held back)",
      "delivered 4000 pushes < 97% of the 4800 owed by the window's sends",
      "2 error frames (first: {...})",
      "1 sockets closed by the broker",
    ]);
  });

  test("the RSS trend is a least-squares line", () => {
    const fit = leastSquares([0, 1, 2, 3], [10, 12, 11, 13]);
    expect(fit.slope).toBeCloseTo(0.8);
    expect(fit.at(0)).toBeCloseTo(10.3);
  });
});

describe("bun run soak -- --quick", () => {
  test("300 members through a ramp and a soak: every SLO judged, DMs and topic fan-out carried, nothing acked lost", async () => {
    const proc = Bun.spawn([process.execPath, "run", "soak", "--", "--quick"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(r).toMatchObject({ bench: "soak", mode: "quick", method: { peers: 300, topic_members: 21, synchronous: "full" }, machine: { nproc: expect.any(Number) } });
    for (const k of ["p99_ms", "p999_ms", "loop_p99_ms", "rss_growth_pct", "wal_mib", "lost"]) expect(r.verdict[k]).toEqual({ value: expect.any(Number), below: expect.any(Number), pass: expect.any(Boolean) });
    expect(r.ramp.length).toBeGreaterThanOrEqual(1);
    expect(r.ramp[0]).toMatchObject({ target_per_s: 50, offered_per_s: expect.any(Number), p99_ms: expect.any(Number), pass: expect.any(Boolean) });
    // Traffic flowed, with the topic's fan-out: 80 % DMs (1 push) and 20 % posts (20 pushes).
    const d = r.delivery;
    expect(d.sends).toBeGreaterThan(500);
    expect(d.owed / d.acked).toBeGreaterThan(4);
    expect(d.owed / d.acked).toBeLessThan(5.5);
    expect(r.soak.series.t_s.length).toBeGreaterThanOrEqual(5);
    for (const series of Object.values(r.soak.series) as number[][]) expect(series.length).toBe(r.soak.series.t_s.length);
    expect(r.soak.connections).toEqual({ min: 300, max: 300 });
    // Nothing acked lost, no error, no socket closed; the broker never idle-collected under load.
    expect({ lost: d.lost_messages, unanswered: d.unanswered, refused: d.refused, acked: d.acked, pushesAtLeastOwed: d.pushes >= d.owed }).toEqual({ lost: 0, unanswered: 0, refused: 0, acked: d.sends, pushesAtLeastOwed: true });
    expect(r.verdict.lost.pass).toBe(true);
    expect(r.checks).toMatchObject({ idle_collections_during_soak: 0, errors: 0, unexpected_closes: 0, drained: true });
  }, 90_000);
});
