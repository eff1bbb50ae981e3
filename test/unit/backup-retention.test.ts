// backup-retention.ts: which files in backups/ the schedule owns, and the order it deletes them in.
// Real files in a temp directory; the schedule itself is pinned by test/integration/backup-schedule.test.ts.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoBackups, pruneAutoBackups, prunePartials } from "../../src/broker/backup-retention.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const auto = (t: string, hex = "abcd") => `claudemesh-auto-${t}-${hex}.db`;

function dirWith(names: string[]): string {
  const dir = tempDir("cm-retention-");
  for (const n of names) writeFileSync(join(dir, n), "x");
  return dir;
}

test("only claudemesh-auto-<time>-<hex>.db regular files are the schedule's, oldest first, timed by their name", () => {
  const dir = dirWith([auto("20261125T100000.000Z"), auto("20261124T100000.000Z"), "claudemesh-20261120T100000.000Z-abcd.db", "pre-migrate-v3-1.db", `${auto("20261123T100000.000Z")}.partial`, "claudemesh-auto-notes.db"]);
  symlinkSync("/nowhere", join(dir, auto("20261122T100000.000Z")));
  mkdirSync(join(dir, auto("20261121T100000.000Z")));
  expect(autoBackups(dir)).toEqual([
    { path: join(dir, auto("20261124T100000.000Z")), at: Date.parse("2026-11-24T10:00:00.000Z") },
    { path: join(dir, auto("20261125T100000.000Z")), at: Date.parse("2026-11-25T10:00:00.000Z") },
  ]);
  expect(autoBackups(join(dir, "missing"))).toEqual([]);
});

test("retention deletes the oldest beyond keep, and nothing else", () => {
  const others = ["claudemesh-20261120T100000.000Z-abcd.db", "claudemesh-20261120T100000.000Z-abcd.db.partial", "pre-migrate-v3-1.db"];
  const mine = ["20261121", "20261122", "20261123", "20261124"].map((d) => auto(`${d}T100000.000Z`));
  const dir = dirWith([...others, ...mine]);
  expect(pruneAutoBackups(dir, 2)).toEqual({ removed: mine.slice(0, 2).map((n) => join(dir, n)), failed: [] });
  expect(readdirSync(dir).sort()).toEqual([...others, ...mine.slice(2)].sort());
  expect(pruneAutoBackups(dir, 5).removed).toEqual([]);
});

test("its own .partial files: all but the newest before a backup, all after a success; never an operator's", () => {
  const theirs = "claudemesh-20261120T100000.000Z-abcd.db.partial";
  const partials = ["20261121", "20261122", "20261123"].map((d) => `${auto(`${d}T100000.000Z`)}.partial`);
  const dir = dirWith([theirs, ...partials]);
  expect(prunePartials(dir, true).removed).toEqual(partials.slice(0, 2).map((n) => join(dir, n)));
  expect(prunePartials(dir, false).removed).toEqual([join(dir, partials[2]!)]);
  expect(readdirSync(dir)).toEqual([theirs]);
});

test("the backup just taken counts as the newest, whatever its name says (a clock set back)", () => {
  const ahead = ["20261201", "20261202"].map((d) => auto(`${d}T100000.000Z`));
  const taken = auto("20261125T100000.000Z", "0a99");
  const dir = dirWith([...ahead, taken]);
  expect(pruneAutoBackups(dir, 2, join(dir, taken)).removed).toEqual([join(dir, ahead[0]!)]);
  expect(readdirSync(dir).sort()).toEqual([taken, ahead[1]!].sort());
  expect(pruneAutoBackups(dir, 1, join(dir, taken)).removed).toEqual([join(dir, ahead[1]!)]);
});
