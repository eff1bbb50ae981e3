// One view's draws one at a time (web/lib/serial-draws.ts): an ask while a draw is under way gets
// one more draw after it, shared by every ask meanwhile; draws never overlap, and the last one
// starts after the last ask.
import { describe, expect, test } from "bun:test";
import { serialDraws } from "../../web/lib/serial-draws.ts";

/** A draw that runs until its turn is ended by hand; records starts and ends. */
function drawsByHand() {
  const log: string[] = [];
  const ends: (() => void)[] = [];
  let n = 0;
  const run = () => {
    const i = ++n;
    log.push(`start ${i}`);
    return new Promise<void>((r) => ends.push(() => (log.push(`end ${i}`), r())));
  };
  return { log, run, end: async () => (ends.shift()!(), await Bun.sleep(0)) };
}

describe("serialDraws", () => {
  test("asks while a draw is under way share one draw after it", async () => {
    const d = drawsByHand();
    const ask = serialDraws(d.run);
    const first = ask();
    const [a, b, c] = [ask(), ask(), ask()];
    expect(d.log).toEqual(["start 1"]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    await d.end();
    expect(d.log).toEqual(["start 1", "end 1", "start 2"]);
    await first;
    const late = ask(); // during draw 2: a third, after it
    await d.end();
    await a;
    expect(d.log).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3"]);
    await d.end();
    await late;
    expect(d.log).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
  });

  test("with nothing under way, an ask draws at once", async () => {
    const d = drawsByHand();
    const ask = serialDraws(d.run);
    const one = ask();
    await d.end();
    await one;
    const two = ask();
    expect(d.log).toEqual(["start 1", "end 1", "start 2"]);
    await d.end();
    await two;
  });
});
