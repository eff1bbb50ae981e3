// A one-shot command against a broker whose database cannot take the message. Review found
// `claudemesh send` silent for 15 s, then again for 15 s on a new connection, while the broker's
// disk was full: the client sent the message again every second until its request timeout. Now
// it gives up after UNAVAILABLE_RETRY_MS with exit 6 and the broker's reason; a lock held by
// another process is refused at the hello, at once, and says so (docs/operations.md).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { holdWriteLock } from "../helpers/write-lock.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

test("send exits 6 within seconds, saying the broker's disk is full, and names the id to retry with", async () => {
  await using team = await cliTeam(["alice"]);
  const { b, dirs: [alice] } = team;
  // A real SQLITE_FULL on the broker's own connection: room for a session row, not for a long message.
  const db = (b.ctx.store as SqliteStore).db;
  db.run("VACUUM"); // no free pages left for the message to take
  const pages = db.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
  db.run(`PRAGMA max_page_count = ${pages + 3}`);
  const t0 = performance.now();
  const r = await cli(alice, ["send", "*", "x".repeat(30_000)], { timeoutMs: 20_000 });
  const tookMs = performance.now() - t0;
  expect({ code: r.code, said: r.stderr.split("\n")[0] }).toEqual({ code: 6, said: expect.stringMatching(/^claudemesh: the broker's database is unavailable: its disk is full \(still so after \d+ s of retries\)\.$/) });
  expect(r.stderr).toContain("--client-message-id");
  // Generous for a loaded host, and still well short of the 30 s of silence this replaced.
  expect(tookMs).toBeLessThan(15_000);
}, 30_000);

test("send exits 6 at once while another process holds the database's write lock, and works once it is released", async () => {
  await using team = await cliTeam(["alice"]);
  const { b, dirs: [alice] } = team;
  await using lock = await holdWriteLock(join(b.dataDir, "claudemesh.db"));
  const t0 = performance.now();
  const r = await cli(alice, ["send", "*", "hello"]);
  const tookMs = performance.now() - t0;
  // Refused at the hello, not after UNAVAILABLE_RETRY_MS of sends answered `unavailable` (that
  // line would end "still so after N s of retries").
  expect({ code: r.code, said: r.stderr.split("\n")[0] }).toEqual({ code: 6, said: "claudemesh: Broker closed the connection (1008 unavailable). the broker's database is locked by another process; retry shortly" });
  expect(tookMs).toBeLessThan(15_000);
  await lock.release();
  ok(await cli(alice, ["send", "*", "hello again"]));
}, 30_000);
