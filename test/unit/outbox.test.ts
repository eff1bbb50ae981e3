// The outbox's contract, on a fake socket (the real one is exercised by every integration test):
// frames of one turn leave together and in order, a close writes what is queued first, and
// nothing is written to a socket that is no longer open.
import { describe, expect, test } from "bun:test";
import { Outbox } from "../../src/broker/ws/outbox.ts";

type Write = string | { corked: string[] };

function fakeSocket() {
  const writes: Write[] = [];
  let corking: string[] | null = null;
  const ws = {
    readyState: 1,
    buffered: 0,
    closed: null as null | [number, string],
    send(text: string) {
      if (corking) corking.push(text);
      else writes.push(text);
      return text.length;
    },
    cork(fn: () => void) {
      corking = [];
      fn();
      writes.push({ corked: corking });
      corking = null;
    },
    close(code: number, reason: string) {
      ws.closed = [code, reason];
      ws.readyState = 3;
    },
    ping() {},
    getBufferedAmount: () => ws.buffered,
  };
  return { ws, writes };
}

const turn = () => new Promise((r) => setImmediate(r));

describe("Outbox", () => {
  test("frames queued in one turn leave at its end, corked into one write, in order", async () => {
    const outbox = new Outbox();
    const a = fakeSocket();
    const b = fakeSocket();
    const ta = outbox.transport(a.ws as never, "a");
    const tb = outbox.transport(b.ws as never, "b");
    expect(ta.send("1")).toBe(true);
    ta.send("2");
    tb.send("x");
    ta.send("3");
    expect(a.writes).toEqual([]);
    await turn();
    expect(a.writes).toEqual([{ corked: ["1", "2", "3"] }]);
    expect(b.writes).toEqual(["x"]); // a single frame needs no cork
    ta.send("4");
    await turn();
    expect(a.writes).toEqual([{ corked: ["1", "2", "3"] }, "4"]);
  });

  test("a close writes the queued frames first; later sends are refused", async () => {
    const outbox = new Outbox();
    const a = fakeSocket();
    const t = outbox.transport(a.ws as never, "a");
    t.send("last words");
    t.close(1008, "bye");
    expect(a.writes).toEqual(["last words"]);
    expect(a.ws.closed).toEqual([1008, "bye"]);
    expect(t.send("after")).toBe(false);
    await turn();
    expect(a.writes).toEqual(["last words"]);
  });

  test("frames queued for a socket that closed meanwhile are not written", async () => {
    const outbox = new Outbox();
    const a = fakeSocket();
    const t = outbox.transport(a.ws as never, "a");
    t.send("1");
    a.ws.readyState = 3; // the peer went away before the end of the turn
    await turn();
    expect(a.writes).toEqual([]);
  });

  test("buffered() reports the socket's unsent bytes while it is open", () => {
    const a = fakeSocket();
    const t = new Outbox().transport(a.ws as never, "a");
    a.ws.buffered = 5000;
    expect(t.buffered()).toBe(5000);
    a.ws.readyState = 3;
    expect(t.buffered()).toBe(0);
  });
});
