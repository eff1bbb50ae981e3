// SettledClock (src/broker/settled-clock.ts): the lowest wall-clock reading of the last SETTLE_MS of
// monotonic time, so that a forward step set right within it never counts; and the sweep judges
// invites' sealed keys by that time, not by its own (protocol.md §8.3).
import { afterEach, expect, test } from "bun:test";
import { SETTLE_MS, SettledClock } from "../../src/broker/settled-clock.ts";
import { invite, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const DAY = 24 * 3600_000;
const SWEEP_MS = 30_000;

/** A SettledClock read every 30 s of monotonic time, at the wall readings `walls`; its answers. */
function sweeps(walls: number[]): (number | null)[] {
  let mono = 0;
  const clock = new SettledClock(SETTLE_MS, () => mono);
  return walls.map((w) => {
    const out = clock.read(w);
    mono += SWEEP_MS;
    return out;
  });
}

const perSweep = SETTLE_MS / SWEEP_MS;
const t0 = 1_800_000_000_000;
const steady = (n: number, from = t0) => Array.from({ length: n }, (_, i) => from + i * SWEEP_MS);

test("nothing counts until the readings span SETTLE_MS; then the reading SETTLE_MS ago", () => {
  const out = sweeps(steady(perSweep + 2));
  expect(out.slice(0, perSweep)).toEqual(Array(perSweep).fill(null));
  expect(out.slice(perSweep)).toEqual([t0, t0 + SWEEP_MS]);
});

test("a step 8 days forward, set right after two sweeps, never counts; one that stays counts after SETTLE_MS", () => {
  const walls = steady(perSweep + 1);
  const at = walls.length;
  walls.push(walls.at(-1)! + 8 * DAY, walls.at(-1)! + 8 * DAY + SWEEP_MS);
  walls.push(...steady(perSweep + 2, walls[at - 1]! + 3 * SWEEP_MS));
  expect(Math.max(...(sweeps(walls).filter((x) => x !== null) as number[]))).toBeLessThan(t0 + DAY);

  const stays = [...steady(perSweep + 1), ...steady(perSweep + 1, t0 + 8 * DAY)];
  expect(sweeps(stays).at(-1)).toBe(t0 + 8 * DAY);
});

test("the sweep takes an invite's sealed keys by the settled time it is given, not by its own clock", async () => {
  const store = await tmp.open();
  const { owner } = await seedMesh(store);
  const week = await invite(store, owner, { expiresAt: Math.floor(t0 / 1000) + 7 * 24 * 3600, keysBlob: "a2V5cw==" });
  const blob = () => store.db.query<{ keys_blob: string | null }, [string]>("SELECT keys_blob FROM invites WHERE id = ?").get(week.id)!.keys_blob;
  await store.sweep(t0 + 8 * DAY, 60_000, () => { throw new Error("no notices here"); }, 0);
  expect(blob()).toBe("a2V5cw==");
  await store.sweep(t0 + 8 * DAY, 60_000, () => { throw new Error("no notices here"); }, t0 + 8 * DAY);
  expect(blob()).toBeNull();
});
