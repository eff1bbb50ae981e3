// Another process on a TLS broker's port (src/broker/port-watch.ts, port-sharers.ts): which other
// listener takes a broker's connections (the kernel's lookup, measured as the table in takesFrom
// says), and what the watch says and counts as one comes, stays, changes and goes. The real
// sockets and /proc: test/integration/tls-port-joined.test.ts.
import { expect, test } from "bun:test";
import { PortWatch, REMIND_MS } from "../../src/broker/port-watch.ts";
import { takesFrom } from "../../src/broker/port-sharers.ts";
import { jsonLog } from "../../src/log/log.ts";

const V6 = "00000000000000000000000001000000"; // ::1 as /proc writes it

test("which listener takes a broker's connections: the same address, or a more precise one than the broker's wildcard", () => {
  const cases: [ours: string, theirs: string, takes: boolean][] = [
    ["127.0.0.1", "127.0.0.1", true],
    ["*4", "*4", true],
    ["*6", "*6", true],
    ["*4", "127.0.0.1", true],
    ["*6", "127.0.0.1", true],
    ["*6", "*4", true],
    ["*6", V6, true],
    ["127.0.0.1", "*4", false],
    ["127.0.0.1", "*6", false],
    ["*4", "*6", false],
    ["*4", V6, false],
    ["127.0.0.1", "10.0.0.1", false],
    [V6, V6, true],
    [V6, "*6", false],
  ];
  expect(cases.map(([ours, theirs]) => [ours, theirs, takesFrom(ours, theirs)])).toEqual(cases);
});

test("a sharer is said at error with the fix when it comes, again when the count changes or every REMIND_MS, and at info when it goes; the gauge follows", () => {
  const lines: Record<string, any>[] = [];
  const gauge: number[] = [];
  let sharers = 0;
  let now = 0;
  const w = new PortWatch(7900, jsonLog("info", (l) => lines.push(JSON.parse(l))), { set: (v: number) => void gauge.push(v) }, () => sharers, () => now);
  const said = () => lines.splice(0).map((l) => `${l.level} ${l.sharers ?? "-"}`);
  w.check();
  expect(said()).toEqual([]);
  sharers = 1;
  w.check();
  expect(lines[0]).toMatchObject({ level: "error", port: 7900, sharers: 1, fix: expect.stringContaining("ss -ltnp 'sport = :7900'") });
  expect(said()).toEqual(["error 1"]);
  now = REMIND_MS - 1;
  w.check();
  expect(said()).toEqual([]);
  sharers = 2;
  w.check();
  expect(said()).toEqual(["error 2"]);
  now += REMIND_MS;
  w.check();
  expect(said()).toEqual(["error 2"]);
  sharers = 0;
  w.check();
  w.check();
  expect(lines[0]).toMatchObject({ level: "info", msg: "the other listeners on port 7900 are gone: every new connection reaches this broker again" });
  expect(said()).toEqual(["info -"]);
  expect(gauge).toEqual([0, 1, 1, 2, 2, 0, 0]);
});
