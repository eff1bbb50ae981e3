// The unsent-output cap per client address (address-output.ts, Conn) on fake transports: the
// address's sum follows what is written and what the sockets took, and leaves with a closed
// connection; a connection is held (frames, pushes, answers) only while the address is full and it
// holds its share; an answer refused sends a ping, and the connection's next frame waits for its
// pong (provingRead), which only a client that reads sends.
import { expect, test } from "bun:test";
import { AddressOutput } from "../../src/broker/address-output.ts";
import { Conn } from "../../src/broker/conn.ts";
import type { Transport } from "../../src/broker/ws/transport.ts";

const CAP = 1000;

function setup() {
  const held: string[] = [];
  const limit = { cap: CAP };
  const addresses = new AddressOutput(() => limit.cap, (share, action) => void held.push(`${share.key} ${action}`));
  const conn = (key = "10.0.0.1") => {
    const io = { buffered: 0, pings: [] as string[], paused: [] as boolean[] };
    const transport: Transport = { remoteAddress: key, send: (t) => ((io.buffered += t.length), true), close: () => {}, ping: (p) => void io.pings.push(p), pauseReading: (p) => void io.paused.push(p), buffered: () => io.buffered };
    const c = new Conn(transport, "boot", addresses.open(key));
    c.state = "ready";
    return { c, io };
  };
  return { addresses, held, conn, limit };
}

test("the address's sum follows writes and what the sockets took, and a closed connection leaves it", () => {
  const { addresses, conn } = setup();
  const a = conn();
  const b = conn();
  expect(addresses.connections("10.0.0.1")).toBe(2);
  a.c.sendRaw("x".repeat(300));
  b.c.sendRaw("x".repeat(400));
  expect(a.c.answerRefused(300)).toBe(null); // 700 + 300 is within the cap
  b.io.buffered = 0; // b's client read it all
  b.c.outputMoved();
  expect(a.c.answerRefused(700)).toBe(null); // 300 + 700
  addresses.close(a.c);
  addresses.close(b.c);
  expect(addresses.connections("10.0.0.1")).toBe(0);
  // A new connection of the address starts from nothing: nothing was left counted.
  expect(conn().c.answerRefused(CAP)).toBe(null);
});

test("a full address holds a connection at its share, not one below it, nor another address's", () => {
  const { held, conn } = setup();
  const [a, b] = [conn(), conn()]; // a share of 500 each
  const other = conn("10.0.0.2");
  a.c.sendRaw("x".repeat(CAP));
  expect(a.c.congested()).toBe(true);
  expect(a.io.paused).toEqual([true]);
  expect(b.c.congested()).toBe(false);
  expect(b.c.pushBudget).toBe(500);
  expect(other.c.pushBudget).toBe(CAP); // its own address: the whole cap (under CONGESTED_BYTES here)
  expect(held).toEqual(["10.0.0.1 paused"]);
  // The address has room again once a's client reads: reading resumes.
  a.io.buffered = 400;
  a.c.outputMoved();
  expect(a.io.paused).toEqual([true, false]);
  expect(a.c.congested()).toBe(false);
});

// maxUnsentPerIp changed by a SIGHUP (broker/settings.ts): the cap in force counts from the next
// write of a connection already open, its address's sum kept; nothing already written is dropped.
test("the cap in force is read at each check: lowered, an open connection is held at its next write; raised, it goes on", () => {
  const { held, conn, limit } = setup();
  const a = conn();
  a.c.sendRaw("x".repeat(400));
  expect(a.c.congested()).toBe(false);
  limit.cap = 300;
  a.c.sendRaw("x");
  expect(a.c.congested()).toBe(true);
  expect(held).toEqual(["10.0.0.1 paused"]);
  limit.cap = 1000;
  a.c.outputMoved();
  expect(a.c.congested()).toBe(false);
  expect(a.c.answerRefused(500)).toBe(null);
});

test("a refused answer is rate_limited and retryable; the next frame waits for the pong to the ping it sent", async () => {
  const { held, conn } = setup();
  const [a, b] = [conn(), conn()];
  b.c.sendRaw("x".repeat(900));
  const refused = a.c.answerRefused(600); // 900 + 600 is past the cap, and 600 past a's share
  expect(refused).toMatchObject({ code: "rate_limited", limit: "unsent", retryable: true });
  expect(refused!.message).toContain("have not read");
  expect(held).toEqual(["10.0.0.1 refused"]);
  expect(a.c.provingRead).toBe(true);
  expect(a.io.pings).toHaveLength(1);
  expect(a.c.awaitingPong).toBe(false); // not a liveness ping: the next round does not count it
  let go = false;
  void a.c.proof().then(() => (go = true));
  expect(a.c.pong("made up")).toBe(false);
  await Promise.resolve();
  expect(go).toBe(false);
  expect(a.c.pong(a.io.pings[0]!)).toBe(true);
  await Promise.resolve();
  expect({ go, proving: a.c.provingRead }).toEqual({ go: true, proving: false });
  // Within its share, whatever the address holds, an answer is written.
  expect(a.c.answerRefused(400)).toBe(null);
});
