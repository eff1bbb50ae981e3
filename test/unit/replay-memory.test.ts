// Replay memories on disk (src/client/local/{machine,session,replay}-memory.ts): what a new or
// resumed Claude Code session starts with, the machine's memory's bound and repair, and the
// pruning of sessions unused for SESSION_KEEP_MS (src/client/local/session-keys.ts). Files only:
// the MCP server and the CLI driving them are in test/integration/mcp-seen-files.test.ts.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "../preload.ts";
import { ReplayGuard, REPLAY_GUARD_ENTRIES } from "../../src/crypto/replay-guard.ts";
import { loadReplayGuard, saveReplayGuard } from "../../src/client/local/replay-memory.ts";
import { openSessionMemory } from "../../src/client/local/session-memory.ts";
import { pruneSessions, SESSION_KEEP_MS, sessionKey } from "../../src/client/local/session-keys.ts";

const MESH = "mesh-seen-1";
const sender = "c".repeat(64);
const id = (n: number) => `cm-${String(n).padStart(8, "0")}`;
const fail = (err: unknown) => {
  throw err;
};
const seenFile = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, "seen", name), "utf8")) as { seen: [string, string][]; first?: number; seed?: unknown };

/** A session that reads ids `ns` and saves, as the MCP server does (save, then share). */
function session(dir: string, scope: string, ns: number[]) {
  const s = openSessionMemory(dir, MESH, scope);
  for (const n of ns) s.guard.check(sender, id(n));
  s.save({});
  s.shareNow(fail);
  return s;
}

describe("replay memories on disk", () => {
  test("the machine's memory keeps the newest 20,000 pairs; a new session starts with those", () => {
    const dir = scratchDir("cm-seen-cap-");
    const cli = loadReplayGuard(dir, MESH);
    for (let n = 0; n < REPLAY_GUARD_ENTRIES; n++) cli.check(sender, id(n));
    saveReplayGuard(dir, cli);
    // 50 more: the 50 oldest are forgotten, and the numbers move on past them.
    for (let n = REPLAY_GUARD_ENTRIES; n < REPLAY_GUARD_ENTRIES + 50; n++) cli.check(sender, id(n));
    saveReplayGuard(dir, cli);
    const machine = seenFile(dir, `${MESH}.machine.json`);
    expect({ pairs: machine.seen.length, first: machine.first, oldest: machine.seen[0]![1], newest: machine.seen.at(-1)![1] }).toEqual({ pairs: REPLAY_GUARD_ENTRIES, first: 50, oldest: id(50), newest: id(REPLAY_GUARD_ENTRIES + 49) });
    const fresh = openSessionMemory(dir, MESH, "a".repeat(16)).guard;
    expect([fresh.has(sender, id(49)), fresh.has(sender, id(50)), fresh.has(sender, id(REPLAY_GUARD_ENTRIES + 49)), fresh.size]).toEqual([false, true, true, REPLAY_GUARD_ENTRIES]);
  });

  test("pairs recorded while a share waits for the lock go with the next share", () => {
    const g = new ReplayGuard(MESH);
    g.check(sender, id(1));
    const taken = g.unshared();
    g.check(sender, id(2)); // while that share waited
    g.markShared(taken.through);
    expect({ taken: taken.pairs.map((p) => p[1]), next: g.unshared().pairs.map((p) => p[1]) }).toEqual({ taken: [id(1)], next: [id(2)] });
  });

  test("a session's file holds its own pairs only, however many sessions ran before it", () => {
    const dir = scratchDir("cm-seen-own-");
    const cli = loadReplayGuard(dir, MESH);
    for (let n = 0; n < 300; n++) cli.check(sender, id(n));
    saveReplayGuard(dir, cli);
    const scopes = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(16, "0"));
    scopes.forEach((scope, i) => session(dir, scope, [1000 + i]));
    expect(scopes.map((s) => seenFile(dir, `${MESH}.${s}.json`).seen.length)).toEqual(scopes.map(() => 1));
    expect(seenFile(dir, `${MESH}.machine.json`).seen.length).toBe(320);
    // The 21st knows what the CLI and all 20 read.
    const next = openSessionMemory(dir, MESH, "f".repeat(16)).guard;
    expect([next.has(sender, id(0)), next.has(sender, id(1000)), next.has(sender, id(1019))]).toEqual([true, true, true]);
  });

  test("a resumed session is seeded as it was when new, not with what others read since (its own copies may still be queued)", () => {
    const dir = scratchDir("cm-seen-resume-");
    session(dir, "a".repeat(16), [1]);
    const b = session(dir, "b".repeat(16), [2]); // seeded with 1
    session(dir, "c".repeat(16), [3]); // read while b was away: a broadcast b has queued too
    const resumed = openSessionMemory(dir, MESH, "b".repeat(16)).guard;
    expect([resumed.has(sender, id(1)), resumed.has(sender, id(2)), resumed.has(sender, id(3))]).toEqual([true, true, false]);
    expect(b.guard.has(sender, id(3))).toBe(false);
    expect(seenFile(dir, `${MESH}.${"b".repeat(16)}.json`).seen).toEqual([[sender, id(2)]]);
  });

  test("a damaged machine's memory is moved aside, reported, and made again from the other replay files", () => {
    const dir = scratchDir("cm-seen-damaged-");
    const cli = loadReplayGuard(dir, MESH);
    cli.check(sender, id(1));
    saveReplayGuard(dir, cli);
    session(dir, "a".repeat(16), [2]);
    const machine = join(dir, "seen", `${MESH}.machine.json`);
    writeFileSync(machine, "{ half a file", { mode: 0o600 });
    const notes: string[] = [];
    const fresh = openSessionMemory(dir, MESH, "b".repeat(16), (n) => notes.push(n)).guard;
    expect([fresh.has(sender, id(1)), fresh.has(sender, id(2))]).toEqual([true, true]);
    expect(notes).toEqual([expect.stringContaining(`The replay memory ${machine} was damaged`)]);
    expect(readdirSync(join(dir, "seen")).filter((f) => f.includes("damaged")).length).toBe(1);
    // Made again under another history: a's mark names other pairs there, so a resumed a keeps
    // its own pairs only rather than pairs read after it started.
    expect(seenFile(dir, `${MESH}.machine.json`).seen).toEqual([[sender, id(1)], [sender, id(2)]]);
    const a = openSessionMemory(dir, MESH, "a".repeat(16)).guard;
    expect([a.has(sender, id(1)), a.has(sender, id(2))]).toEqual([false, true]);
  });

  test("from one file per session: the machine's memory is made once from the earlier files, which each held every earlier pair", () => {
    const dir = scratchDir("cm-seen-upgrade-");
    // As sessions before the machine's memory left them: the CLI's, and two sessions' seeded files.
    const old = (name: string, ns: number[]) => {
      const g = new ReplayGuard(MESH);
      for (const n of ns) g.check(sender, id(n));
      writeFileSync(join(dir, "seen", name), g.exportJson({ replies: [] }), { mode: 0o600 });
    };
    mkdirSync(join(dir, "seen"), { mode: 0o700 });
    old(`${MESH}.json`, [1, 2]);
    old(`${MESH}.${"a".repeat(16)}.json`, [1, 2, 3]);
    old(`${MESH}.${"b".repeat(16)}.json`, [1, 2, 3, 4]);
    const fresh = openSessionMemory(dir, MESH, "c".repeat(16)).guard;
    expect([1, 2, 3, 4].map((n) => fresh.has(sender, id(n)))).toEqual([true, true, true, true]);
    expect(seenFile(dir, `${MESH}.machine.json`).seen.map((p) => p[1])).toEqual([1, 2, 3, 4].map(id));
    // An old session resumed keeps its whole file as its own, as before; its next save says it
    // has no mark (seed: null).
    const a = openSessionMemory(dir, MESH, "a".repeat(16));
    expect([a.guard.has(sender, id(3)), a.guard.has(sender, id(4))]).toEqual([true, false]);
    a.save({});
    expect(seenFile(dir, `${MESH}.${"a".repeat(16)}.json`)).toMatchObject({ seed: null, seen: [1, 2, 3].map((n) => [sender, id(n)]) });
  });

  test("sessions unused for SESSION_KEEP_MS lose their key and replay file; one used lately, and the one starting, keep theirs", () => {
    const dir = scratchDir("cm-seen-prune-");
    const now = Date.now();
    const make = (name: string, lastUsed: number, seenUsed = lastUsed) => {
      const k = sessionKey(dir, MESH, name);
      k.save();
      const scope = k.key.publicKey.slice(0, 16);
      session(dir, scope, [name.length]);
      const keyFile = readdirSync(join(dir, "sessions", MESH)).find((f) => !known.has(f))!;
      known.add(keyFile);
      utimesSync(join(dir, "sessions", MESH, keyFile), new Date(lastUsed), new Date(lastUsed));
      utimesSync(join(dir, "seen", `${MESH}.${scope}.json`), new Date(seenUsed), new Date(seenUsed));
      return { scope, keyFile };
    };
    const known = new Set<string>();
    const longAgo = now - SESSION_KEEP_MS - 60_000;
    const gone = make("unused", longAgo);
    const reading = make("read lately", longAgo, now - 60_000); // its server saved lately
    const starting = make("starting now", longAgo);
    const recent = make("recent", now - SESSION_KEEP_MS + 60 * 60_000);
    // A replay file whose key went (a key directory removed by hand), as old.
    writeFileSync(join(dir, "seen", `${MESH}.${"e".repeat(16)}.json`), new ReplayGuard(MESH).exportJson(), { mode: 0o600 });
    utimesSync(join(dir, "seen", `${MESH}.${"e".repeat(16)}.json`), new Date(longAgo), new Date(longAgo));
    pruneSessions(dir, MESH, starting.scope, now);
    const keys = readdirSync(join(dir, "sessions", MESH)).sort();
    const seen = readdirSync(join(dir, "seen")).sort();
    expect(keys).toEqual([reading.keyFile, starting.keyFile, recent.keyFile].sort());
    expect(seen).toEqual([`${MESH}.machine.json`, ...[reading, starting, recent].map((s) => `${MESH}.${s.scope}.json`)].sort());
    expect(existsSync(join(dir, "sessions", MESH, gone.keyFile))).toBe(false);
    // What the pruned session read stays known to new sessions.
    expect(openSessionMemory(dir, MESH, "f".repeat(16)).guard.has(sender, id("unused".length))).toBe(true);
  });
});
