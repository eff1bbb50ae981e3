// A connection's line of frames (src/broker/ws/frame-line.ts) on a fake transport: frames are
// handled one at a time in arrival order, none before the enqueue returns, the next only once the
// one before it is done (its promise settled); each is counted in queuedFrames and queuedChars
// until then. A frame whose handling throws or rejects (a bug: handlers answer their own errors)
// stops the line: the frames behind it are counted out unhandled, and the error is left uncaught,
// which stops the broker (cli/serve-last-resort.ts).
import { expect, test } from "bun:test";
import { Conn } from "../../src/broker/conn.ts";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import type { BrokerContext } from "../../src/broker/context.ts";
import { enqueue } from "../../src/broker/ws/frame-line.ts";
import type { Transport } from "../../src/broker/ws/transport.ts";

type Counted = Conn & { queuedFrames: number; queuedChars: number };

function line() {
  const transport: Transport = { remoteAddress: "t", send: () => true, close: () => {}, ping: () => {}, pauseReading: () => {}, buffered: () => 0 };
  const conn = new Conn(transport, "boot") as Counted;
  conn.state = "ready";
  const ctx = { frameAllowance: new RateLimiter(1000, 1000), now: () => 0 } as unknown as BrokerContext;
  const counts = () => ({ frames: conn.queuedFrames, chars: conn.queuedChars });
  return { add: (chars: number, handle: () => void | Promise<void>) => enqueue(ctx, conn, chars, handle), counts };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

test("frames run one at a time, in order, none during the enqueue; each is counted until it is done", async () => {
  const { add, counts } = line();
  const log: string[] = [];
  const held = Promise.withResolvers<void>();
  add(10, () => void log.push("a"));
  add(20, () => (log.push("b start"), held.promise.then(() => void log.push("b end"))));
  add(30, () => void log.push("c"));
  expect({ log, ...counts() }).toEqual({ log: [], frames: 3, chars: 60 });
  await turn();
  expect({ log, ...counts() }).toEqual({ log: ["a", "b start"], frames: 2, chars: 50 });
  add(40, () => void log.push("d"));
  held.resolve();
  await turn();
  expect({ log, ...counts() }).toEqual({ log: ["a", "b start", "b end", "c", "d"], frames: 0, chars: 0 });
  add(5, () => void log.push("e"));
  await turn();
  expect({ log: log.at(-1), ...counts() }).toEqual({ log: "e", frames: 0, chars: 0 });
});

test("a frame whose handling throws or rejects stops the line: the frames behind it are counted out unhandled, the error is uncaught", async () => {
  // In a process of its own: bun:test fails a test on an unhandled rejection whatever it listens.
  const script = `
    const { Conn } = await import(${JSON.stringify(`${import.meta.dir}/../../src/broker/conn.ts`)});
    const { RateLimiter } = await import(${JSON.stringify(`${import.meta.dir}/../../src/broker/rate-limit.ts`)});
    const { enqueue } = await import(${JSON.stringify(`${import.meta.dir}/../../src/broker/ws/frame-line.ts`)});
    const uncaught = [];
    process.on("unhandledRejection", (e) => void uncaught.push(e.message));
    process.on("uncaughtException", (e) => void uncaught.push(e.message));
    const turn = () => new Promise((r) => setImmediate(r));
    const out = [];
    for (const failing of [() => { throw new Error("thrown"); }, () => Promise.reject(new Error("rejected"))]) {
      const conn = new Conn({ remoteAddress: "t", send: () => true, close: () => {}, ping: () => {}, pauseReading: () => {}, buffered: () => 0 }, "boot");
      conn.state = "ready";
      const ctx = { frameAllowance: new RateLimiter(1000, 1000), now: () => 0 };
      const log = [];
      enqueue(ctx, conn, 10, () => void log.push("a"));
      enqueue(ctx, conn, 20, failing);
      enqueue(ctx, conn, 30, () => void log.push("c"));
      await turn();
      enqueue(ctx, conn, 40, () => void log.push("d"));
      await turn();
      out.push({ log, frames: conn.queuedFrames, chars: conn.queuedChars, uncaught: [...new Set(uncaught.splice(0))] });
    }
    console.log(JSON.stringify(out));
  `;
  const run = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(run.stdout.toString())).toEqual([
    { log: ["a"], frames: 0, chars: 0, uncaught: ["thrown"] },
    { log: ["a"], frames: 0, chars: 0, uncaught: ["rejected"] },
  ]);
});
