// IdleCollector (src/broker/idle-collect.ts): one full collection when a broker whose memory grew
// goes a tick without a frame or request; none while busy, none again without new growth.
import { expect, test } from "bun:test";
import { COLLECT_AFTER_GROWTH, IdleCollector } from "../../src/broker/idle-collect.ts";

const MiB = 1024 * 1024;

function collector(start: number) {
  let heap = start;
  let collections = 0;
  const idle = new IdleCollector(
    () => heap,
    () => {
      collections++;
      heap = start; // what is resident after the collection
    },
  );
  return { idle, grow: (bytes: number) => (heap += bytes), collections: () => collections };
}

test("a burst, then a tick without work: one collection, and none while idle after it", () => {
  const c = collector(50 * MiB);
  c.grow(COLLECT_AFTER_GROWTH);
  c.idle.busy();
  expect(c.idle.tick()).toBe(false); // frames were handled during this tick
  expect(c.idle.tick()).toBe(true);
  expect(c.collections()).toBe(1);
  for (let i = 0; i < 5; i++) expect(c.idle.tick()).toBe(false);
  expect(c.collections()).toBe(1);
});

test("growth below the threshold, or work in every tick: no collection", () => {
  const c = collector(50 * MiB);
  c.grow(COLLECT_AFTER_GROWTH - 1);
  expect(c.idle.tick()).toBe(false);
  c.grow(1);
  for (let i = 0; i < 5; i++) {
    c.idle.busy();
    expect(c.idle.tick()).toBe(false);
  }
  expect(c.idle.tick()).toBe(true);
  expect(c.collections()).toBe(1);
});

test("growth is measured from what was resident after the last collection", () => {
  const c = collector(50 * MiB);
  c.grow(COLLECT_AFTER_GROWTH);
  expect(c.idle.tick()).toBe(true);
  c.grow(COLLECT_AFTER_GROWTH / 2);
  expect(c.idle.tick()).toBe(false);
  c.grow(COLLECT_AFTER_GROWTH / 2);
  expect(c.idle.tick()).toBe(true);
  expect(c.collections()).toBe(2);
});

test("a reading that fails (out of descriptors: Bun reads /proc) skips the tick instead of throwing", () => {
  const emfile = () => Object.assign(new Error("Failed to get memory usage"), { code: "EMFILE" });
  let heap: number | null = null; // unreadable at start too
  let collections = 0;
  const read = () => {
    if (heap === null) throw emfile();
    return heap;
  };
  const idle = new IdleCollector(read, () => void collections++);
  expect(idle.tick()).toBe(false);
  heap = 50 * MiB; // readable again: the first reading is the baseline
  expect(idle.tick()).toBe(false);
  heap += COLLECT_AFTER_GROWTH;
  const grown = heap;
  heap = null;
  expect(idle.tick()).toBe(false);
  heap = grown;
  expect(idle.tick()).toBe(true);
  expect(collections).toBe(1);
});
