// Storage failures answered `unavailable` are logged at most once per 10 s, with how many more
// there were meanwhile; other errors are not logged here (src/broker/failure-log.ts).
import { expect, test } from "bun:test";
import { FailureLog } from "../../src/broker/failure-log.ts";
import { MeshError } from "../../src/protocol/errors.ts";

test("one warning per 10 s, counting the ones in between; only unavailable errors with a cause", () => {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const log = { warn: (msg: string, fields: Record<string, unknown>) => lines.push({ msg, fields }) } as never;
  let now = 0;
  const failures = new FailureLog(log, "/srv/cm", () => now);
  const full = () => new MeshError("unavailable", "the broker's database is unavailable", { cause: Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" }) });
  failures.note(new MeshError("rate_limited"), "websocket");
  failures.note(new MeshError("unavailable", "The broker is shutting down."), "websocket"); // no cause: not storage
  expect(lines).toEqual([]);
  failures.note(full(), "websocket");
  now = 5_000;
  failures.note(full(), "http");
  failures.note(full(), "websocket");
  expect(lines.length).toBe(1);
  now = 10_000;
  failures.note(full(), "http");
  expect(lines.map((l) => [l.fields.where, l.fields.code, l.fields.notLoggedSinceLast])).toEqual([
    ["websocket", "SQLITE_FULL", 0],
    ["http", "SQLITE_FULL", 2],
  ]);
});
