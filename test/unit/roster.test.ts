// Pins the roster cache's loading rules: the sends of one tick that find the entry missing share
// one load, a load that raced with an invalidation (or a patch) is used once but never cached,
// and a patch changes a cached entry in place.
import { expect, test } from "bun:test";
import { RosterCache } from "../../src/broker/roster.ts";
import type { Member, Session, Store } from "../../src/store/types.ts";

function fakeStore() {
  const calls = { members: 0 };
  let members: Member[] = [];
  let gate: Promise<void> = Promise.resolve();
  const store = {
    listMembers: async () => {
      calls.members++;
      const snapshot = members;
      await gate;
      return snapshot;
    },
    listSessions: async () => [],
    meshGrants: async () => [],
  } as unknown as Store;
  const member = (id: string) => ({ id, meshId: "m", pubkey: `pk-${id}`, revokedAt: null }) as Member;
  return {
    store,
    calls,
    setMembers: (ids: string[]) => (members = ids.map(member)),
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return release;
    },
  };
}

test("concurrent gets of a missing entry share one load", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  const cache = new RosterCache(f.store, 60_000, () => 1000);
  const rosters = await Promise.all(Array.from({ length: 20 }, () => cache.get("m")));
  expect(f.calls.members).toBe(1);
  expect(new Set(rosters).size).toBe(1);
  await cache.get("m");
  expect(f.calls.members).toBe(1);
});

test("a load that raced with invalidate is not cached; the next get sees the change", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  const cache = new RosterCache(f.store, 60_000, () => 1000);
  const release = f.hold();
  const racing = cache.get("m");
  f.setMembers(["a", "b"]);
  cache.invalidate("m");
  release();
  expect([...(await racing).members.keys()]).toEqual(["a"]);
  expect([...(await cache.get("m")).members.keys()]).toEqual(["a", "b"]);
  expect(f.calls.members).toBe(2);
});

test("an entry is stale after its TTL, and at once when the clock went back (a negative age)", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  let now = 1_000_000;
  const cache = new RosterCache(f.store, 60_000, () => now);
  await cache.get("m");
  now += 29_000;
  await cache.get("m");
  expect(f.calls.members).toBe(1);
  now += 2_000;
  await cache.get("m");
  expect(f.calls.members).toBe(2);
  now -= 3_600_000;
  await cache.get("m");
  expect(f.calls.members).toBe(3);
});

test("a change to one member or session patches a cached entry; one that comes during a load keeps that load out of the cache", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  const cache = new RosterCache(f.store, 60_000, () => 1000);
  const r = await cache.get("m");
  cache.putMember("m", { id: "b", meshId: "m", pubkey: "pk-b", revokedAt: null } as Member);
  cache.putSession("m", { meshId: "m", pubkey: "s1", memberId: "a", endedAt: null, lastSeenAt: 1000 } as Session);
  expect({ same: (await cache.get("m")) === r, members: [...r.members.keys()], mailboxes: RosterCache.mailboxesOf(r, r.members.get("a")!) }).toEqual({ same: true, members: ["a", "b"], mailboxes: ["pk-a", "s1"] });
  cache.dropMember("m", "a");
  expect({ members: [...r.members.keys()], sessions: [...r.sessions.keys()], loads: f.calls.members }).toEqual({ members: ["b"], sessions: [], loads: 1 });

  cache.invalidate("m");
  const release = f.hold();
  const racing = cache.get("m");
  cache.putMember("m", { id: "c", meshId: "m", pubkey: "pk-c", revokedAt: null } as Member);
  release();
  await racing;
  await cache.get("m");
  expect(f.calls.members).toBe(3);
});
