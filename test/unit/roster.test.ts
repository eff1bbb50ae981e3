// Pins the roster cache's loading rules: the sends of one tick that find the entry missing share
// one load, a load that raced with an invalidation (or a patch) is used once but never cached,
// a patch changes a cached entry in place, and nothing stays for a mesh nobody asks about again.
import { expect, test } from "bun:test";
import { RosterCache } from "../../src/broker/roster.ts";
import type { Member, Session, Store } from "../../src/store/types.ts";

function fakeStore() {
  const calls = { members: 0 };
  let members: Member[] = [];
  let gate: Promise<void> = Promise.resolve();
  const store = {
    listActiveMembers: async () => {
      calls.members++;
      const snapshot = members;
      await gate;
      return snapshot;
    },
    listSessions: async () => [],
    meshGrants: async () => [],
    // One key's row, as read now and answered once `rowGate` opens (an async store's round trip).
    getMemberByPubkey: async (_meshId: string, pubkey: string) => {
      const row = rows.get(pubkey);
      await rowGate;
      return row && "role" in row ? row : null;
    },
    getSession: async (_meshId: string, pubkey: string) => {
      const row = rows.get(pubkey);
      await rowGate;
      return row && !("role" in row) ? row : null;
    },
  } as unknown as Store;
  const rows = new Map<string, Member | Session>();
  let rowGate: Promise<void> = Promise.resolve();
  const member = (id: string) => ({ id, meshId: "m", pubkey: `pk-${id}`, role: "member", revokedAt: null }) as Member;
  return {
    store,
    calls,
    setMembers: (ids: string[]) => (members = ids.map(member)),
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return release;
    },
    setRow: (pubkey: string, row: Member | Session) => rows.set(pubkey, row),
    holdRows: () => {
      let release!: () => void;
      rowGate = new Promise<void>((r) => (release = r));
      return release;
    },
  };
}

test("concurrent gets of a missing entry share one load", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  const cache = new RosterCache(f.store, () => 60_000, () => 1000);
  const rosters = await Promise.all(Array.from({ length: 20 }, () => cache.get("m")));
  expect(f.calls.members).toBe(1);
  expect(new Set(rosters).size).toBe(1);
  await cache.get("m");
  expect(f.calls.members).toBe(1);
});

test("a load that raced with invalidate is not cached; the next get sees the change", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  const cache = new RosterCache(f.store, () => 60_000, () => 1000);
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
  const cache = new RosterCache(f.store, () => 60_000, () => now);
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
  const cache = new RosterCache(f.store, () => 60_000, () => 1000);
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

test("a load's roster is cached before the load stops counting as under way: a change made in between is not lost", async () => {
  // Between the load's answer and the caching of it, a change found no entry to patch and no load
  // to keep out of the cache: the roster read before it was cached, with the removed member in it
  // (for up to ROSTER_TTL_MS). Every point of the microtask queue after the load's answer is tried.
  for (let ticks = 0; ticks < 8; ticks++) {
    const f = fakeStore();
    f.setMembers(["a", "b"]);
    const cache = new RosterCache(f.store, () => 60_000, () => 1000);
    const release = f.hold();
    const racing = cache.get("m");
    release();
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    f.setMembers(["b"]); // a is removed: stored, then the cache is told
    cache.dropMember("m", "a");
    await racing;
    expect({ ticks, a: (await cache.get("m")).members.has("a") }).toEqual({ ticks, a: false });
  }
});

test("a refresh answered after the member was removed, or the session ended, does not bring it back", async () => {
  // The store's reads answer at once today, but the roster is written for one whose reads wait (a
  // shared database): a row read before a removal, answered after it, put the member back.
  const f = fakeStore();
  f.setMembers(["a", "b"]);
  const cache = new RosterCache(f.store, () => 60_000, () => 1000);
  let r = await cache.get("m");
  // b's presence goes (its row is read, not yet removed) and b is removed while the read is out.
  f.setRow("pk-b", r.members.get("b")!);
  let release = f.holdRows();
  let refreshing = cache.refresh("m", "pk-b");
  f.setMembers(["a"]);
  cache.dropMember("m", "b");
  release();
  await refreshing;
  r = await cache.get("m");
  expect([...r.members.keys()]).toEqual(["a"]);
  // The same for a session that ends while its row, read live, is out.
  const live = { meshId: "m", pubkey: "s1", memberId: "a", endedAt: null, lastSeenAt: 1000 } as Session;
  cache.putSession("m", live);
  f.setRow("s1", live);
  release = f.holdRows();
  refreshing = cache.refresh("m", "s1");
  cache.dropSession("m", "s1");
  release();
  await refreshing;
  r = await cache.get("m");
  expect({ sessions: [...r.sessions.keys()], mailboxes: RosterCache.mailboxesOf(r, r.members.get("a")!) }).toEqual({ sessions: [], mailboxes: ["pk-a"] });
  // A refresh with nothing changed meanwhile applies what it read, in place.
  const loads = f.calls.members;
  f.setRow("pk-a", { ...r.members.get("a")!, status: "dnd" } as Member);
  await cache.refresh("m", "pk-a");
  expect({ status: (r.members.get("a") as Member & { status?: string }).status, same: (await cache.get("m")) === r, loads: f.calls.members }).toEqual({ status: "dnd", same: true, loads });
});

test("expired entries are dropped, and nothing is kept per mesh once its load is over", async () => {
  const f = fakeStore();
  f.setMembers(["a"]);
  let now = 1_000_000;
  const cache = new RosterCache(f.store, () => 60_000, () => now);
  await Promise.all(["m1", "m2", "m3"].map((m) => cache.get(m)));
  cache.invalidate("m3");
  expect(cache.size).toBe(2);
  now += 31_000;
  await cache.get("m4");
  expect(cache.size).toBe(1);
});
