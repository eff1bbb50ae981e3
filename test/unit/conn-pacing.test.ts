// Conn's liveness and pacing state on a fake transport (protocol §2.2, §2.8): a pong counts only
// when it echoes a ping the broker sent; frames wait, and the socket is not read, while the
// output is at PAUSE_BYTES; a paused socket that drains is alive, one that does not is stalled; a
// pace for the frame allowance leaves the socket read until told otherwise.
import { describe, expect, test } from "bun:test";
import { Conn, PAUSE_BYTES } from "../../src/broker/conn.ts";
import type { Transport } from "../../src/broker/ws/transport.ts";

function fakeConn() {
  const io = { buffered: 0, pings: [] as string[], paused: [] as boolean[] };
  const transport: Transport = { remoteAddress: "t", send: () => true, close: () => {}, ping: (p) => void io.pings.push(p), pauseReading: (p) => void io.paused.push(p), buffered: () => io.buffered };
  const conn = new Conn(transport, "boot");
  conn.state = "ready";
  return { conn, io };
}

describe("pongs", () => {
  test("each ping carries a fresh payload; an unsolicited pong, or one echoing nothing owed, counts for nothing", () => {
    const { conn, io } = fakeConn();
    conn.ping(1000);
    conn.ping(2000);
    expect(new Set(io.pings).size).toBe(2);
    expect(io.pings.every((p) => p.length >= 12)).toBe(true);
    expect(conn.pong("")).toBe(false);
    expect(conn.pong("alive")).toBe(false);
    expect({ awaiting: conn.awaitingPong, owedSince: conn.pongOwedSince }).toEqual({ awaiting: true, owedSince: 1000 });
  });

  test("an echo of an older ping answers it and those before; of the latest, all of them; never twice", () => {
    const { conn, io } = fakeConn();
    conn.ping(1000);
    conn.ping(2000);
    conn.ping(3000);
    expect(conn.pong(io.pings[1]!)).toBe(true);
    expect({ awaiting: conn.awaitingPong, owedSince: conn.pongOwedSince }).toEqual({ awaiting: false, owedSince: 3000 });
    expect(conn.pong(io.pings[0]!)).toBe(false);
    expect(conn.pong(io.pings[2]!)).toBe(true);
    expect(conn.pongOwedSince).toBe(null);
    expect(conn.pong(io.pings[2]!)).toBe(false);
  });
});

describe("pacing by unsent output", () => {
  test("below PAUSE_BYTES nothing waits; at it, reading pauses and a frame waits until the output moves below", async () => {
    const { conn, io } = fakeConn();
    io.buffered = PAUSE_BYTES - 1;
    expect(conn.congested()).toBe(false);
    io.buffered = PAUSE_BYTES;
    expect(conn.congested()).toBe(true);
    expect(conn.congested()).toBe(true);
    expect(io.paused).toEqual([true]);
    let handled = false;
    const waiting = conn.room().then(() => (handled = true));
    conn.outputMoved(); // still at the bound
    await Bun.sleep(0);
    expect({ handled, paused: conn.readingIsPaused }).toEqual({ handled: false, paused: true });
    io.buffered = PAUSE_BYTES / 2;
    conn.drained();
    await waiting;
    expect({ handled, paused: conn.readingIsPaused, calls: io.paused }).toEqual({ handled: true, paused: false, calls: [true, false] });
  });

  test("a close releases a waiting frame without reading the socket again", async () => {
    const { conn, io } = fakeConn();
    io.buffered = PAUSE_BYTES;
    conn.congested();
    const waiting = conn.room();
    conn.state = "closed";
    conn.outputMoved();
    await waiting;
    expect(io.paused).toEqual([true]);
  });

  test("stalled: paused at two checks in a row with no drain between; a drain, or a check not paused, is not", () => {
    const { conn, io } = fakeConn();
    expect(conn.stalled()).toBe(false);
    io.buffered = PAUSE_BYTES * 2;
    conn.congested();
    expect(conn.stalled()).toBe(false); // paused since this check only
    conn.drained(); // the kernel took some; still above the bound
    expect({ stalled: conn.stalled(), paused: conn.readingIsPaused }).toEqual({ stalled: false, paused: true });
    expect(conn.stalled()).toBe(true);
  });
});

describe("pacing by the frame allowance", () => {
  test("a pace leaves the socket read (a client that goes away is heard) until unreadWhilePaced; its end resumes reading", async () => {
    const { conn, io } = fakeConn();
    const waited = conn.pace(5);
    expect({ pacing: conn.pacing, calls: io.paused }).toEqual({ pacing: true, calls: [] });
    conn.unreadWhilePaced();
    conn.unreadWhilePaced();
    expect(io.paused).toEqual([true]);
    await waited;
    expect({ pacing: conn.pacing, calls: io.paused }).toEqual({ pacing: false, calls: [true, false] });
    conn.unreadWhilePaced(); // not pacing: nothing to hold
    expect(io.paused).toEqual([true, false]);
  });

  test("unread for both a pace and congested output, reading resumes only once neither holds", async () => {
    const { conn, io } = fakeConn();
    const waited = conn.pace(5);
    conn.unreadWhilePaced();
    io.buffered = PAUSE_BYTES;
    conn.congested();
    await waited;
    expect(io.paused).toEqual([true]); // still congested
    io.buffered = 0;
    conn.drained();
    expect(io.paused).toEqual([true, false]);
  });

  test("a close ends the pace at once and does not read the socket again", async () => {
    const { conn, io } = fakeConn();
    const waited = conn.pace(60_000);
    conn.unreadWhilePaced();
    conn.state = "closed";
    conn.endPace();
    await waited;
    expect({ pacing: conn.pacing, calls: io.paused }).toEqual({ pacing: false, calls: [true] });
  });
});
