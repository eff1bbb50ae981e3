// What a restore does to the replay memory (src/store/sqlite/replay-file.ts, signature-repo.ts;
// protocol.md §2.5): the replaced database's signatures, spans and floor are joined into the copy it
// installs; with nothing to read, the floor is the restore's time, and a signature the broker could
// have accepted before it is "before_restore" while one it can only have accepted after is recorded.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { carryReplayMemory, readReplayMemory } from "../../src/store/sqlite/replay-file.ts";
import { DEFAULT_DB_FILE } from "../../src/store/sqlite/open-store.ts";
import { parseFloor } from "../../src/store/sqlite/signature-repo.ts";
import { TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const t0 = 1_800_000_000_000;

/** A closed database file whose replay memory holds `sigs` and what a sweep at `sweptAt` forgot. */
async function database(sigs: [string, number][], sweptAt?: number): Promise<string> {
  const dir = tmp.make();
  const store = await tmp.open(dir);
  for (const [sig, expiresAt] of sigs) expect(await store.rememberSignature(sig, expiresAt, 0)).toBe("recorded");
  if (sweptAt !== undefined) await store.sweep(sweptAt, 60_000);
  store.close();
  return join(dir, DEFAULT_DB_FILE);
}

describe("a restore's replay memory", () => {
  test("the replaced database's signatures and spans are joined into the restored one, which refuses them after a reopen", async () => {
    const backup = await database([["old", t0 + 61_000]]);
    // The replaced database: "old" too, "gone" swept at t0 + 100 s, "late" accepted after the backup.
    const replaced = await database([["old", t0 + 61_000], ["gone", t0 + 70_000], ["late", t0 + 200_000]], t0 + 100_000);
    const memory = readReplayMemory(replaced);
    expect(memory).toEqual({ signatures: [{ signature: "late", expiresAt: t0 + 200_000 }], spans: [[t0 + 61_000, t0 + 70_000]], floor: null });
    expect(carryReplayMemory(backup, memory, t0 + 150_000)).toBeNull();
    const restored = await tmp.open(join(backup, ".."));
    expect(await restored.rememberSignature("late", t0 + 200_000, t0 + 79_000)).toBe("replayed");
    expect(await restored.rememberSignature("gone", t0 + 70_000, t0 - 51_000)).toBe("forgotten");
    expect(await restored.rememberSignature("old", t0 + 61_000, t0 - 60_000)).toBe("forgotten");
    expect(await restored.rememberSignature("new", t0 + 210_000, t0 + 89_000)).toBe("recorded");
  });

  test("with nothing to read, what the broker could have accepted before the restore is refused; the later floor holds", async () => {
    const backup = await database([]);
    const at = t0 + 500_000;
    expect(carryReplayMemory(backup, null, at)).toBe(at);
    // Joining the memory of a database with an earlier floor keeps this one.
    expect(carryReplayMemory(backup, { signatures: [], spans: [], floor: at - 1000 }, at + 1000)).toBe(at);
    const restored = await tmp.open(join(backup, ".."));
    // A hello signed 30 s after the restore passes its skew check from 30 s before it on.
    expect(await restored.rememberSignature("just-after", at + 30_000 + 61_000, at - 30_000)).toBe("before_restore");
    expect(await restored.rememberSignature("a-minute-after", at + 60_000 + 61_000, at)).toBe("recorded");
    restored.close();
    expect(readReplayMemory(backup).floor).toBe(at);
  });

  test("a damaged floor is refused, not read as none", () => {
    expect(parseFloor(null)).toBeNull();
    expect(parseFloor("1800000000000")).toBe(1_800_000_000_000);
    for (const bad of ["", "-1", "1.5", "soon", "1e3"]) expect(() => parseFloor(bad)).toThrow("signatures_forgotten_before");
  });
});
