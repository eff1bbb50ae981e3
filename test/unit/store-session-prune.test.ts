// store/sqlite/session-prune.ts: which rows of old sessions a prune deletes (ended a message TTL
// ago, or unseen for two, with nothing in their mailbox), and how a pass goes over them in bounded
// steps without kept rows holding up those behind them.
import type { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { pruneSessions } from "../../src/store/sqlite/session-prune.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { Member, SessionPrunePlace } from "../../src/store/types.ts";
import { addMember, directMessage, pubkey, seedMesh, sweepAll, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const TTL = 7 * 86_400_000;
const T0 = 1_800_000_000_000;

/** A session of `m` last seen at `seenAt`, ended at `endedAt` unless null; returns its key. */
async function session(store: SqliteStore, m: Member, seenAt: number, endedAt: number | null = null): Promise<string> {
  const key = pubkey();
  await store.upsertSession({ meshId: m.meshId, pubkey: key, memberId: m.id, displayName: "s", cwd: "/", hostname: "h", lastSeenAt: seenAt, attestation: null });
  if (endedAt !== null) await store.endSession(m.meshId, key, endedAt);
  return key;
}

const keys = (db: Database) => new Set(db.query<{ pubkey: string }, []>("SELECT pubkey FROM sessions").all().map((r) => r.pubkey));

/** A whole pass at `now`: the steps' deletions, and how many steps it took. */
async function pass(store: SqliteStore, now: number) {
  let place: SessionPrunePlace | null = null;
  const deleted: number[] = [];
  do {
    const r = await store.pruneSessions(now, TTL, place);
    deleted.push(r.deleted);
    place = r.next;
  } while (place);
  return deleted;
}

describe("what a prune deletes", () => {
  test("an ended session's row goes a TTL after its end, an unended one's two TTLs after it was last seen", async () => {
    const store = await tmp.open();
    const { owner } = await seedMesh(store);
    const ended = await session(store, owner, T0, T0 + 1_000);
    const unseen = await session(store, owner, T0);
    const recent = await session(store, owner, T0 + TTL);
    const has = () => [ended, unseen, recent].map((k) => keys(store.db).has(k));
    await pass(store, T0 + 1_000 + TTL - 1);
    expect(has()).toEqual([true, true, true]);
    await pass(store, T0 + 1_000 + TTL);
    expect(has()).toEqual([false, true, true]);
    await pass(store, T0 + 2 * TTL - 1);
    expect(has()).toEqual([false, true, true]);
    await pass(store, T0 + 2 * TTL);
    expect(has()).toEqual([false, false, true]);
  });

  test("a row stays while its mailbox holds an entry, whatever its age; the member's removal then finds that mailbox", async () => {
    const store = await tmp.open();
    const { owner } = await seedMesh(store);
    const bob = await addMember(store, owner, "bob");
    // An entry that reached the session after its end (an expiry notice of what it sent, say).
    const [kept, alsoKept] = [await session(store, bob, T0, T0), await session(store, bob, T0, T0)];
    await store.commitSends([directMessage(owner, [kept, alsoKept], { expiresAt: T0 + 3 * TTL })], 0);
    await pass(store, T0 + 2 * TTL);
    expect([keys(store.db).has(kept), keys(store.db).has(alsoKept)]).toEqual([true, true]);
    // Acked by nobody, it expires: the next sweep takes it, and the pass after it the row.
    await sweepAll(store, T0 + 3 * TTL, 0);
    await pass(store, T0 + 3 * TTL);
    expect(keys(store.db).has(kept)).toBe(false);

    const later = await session(store, bob, T0, T0);
    await store.commitSends([directMessage(owner, [later], { expiresAt: T0 + 3 * TTL })], 0);
    await pass(store, T0 + 2 * TTL);
    await store.revokeMember(owner.meshId, bob.id, { actor: owner.id, ban: false, reason: null, self: false });
    expect(await store.queueDepth({ meshId: owner.meshId, pubkey: later })).toBe(0);
  });
});

describe("a pass in steps", () => {
  test("each step looks at a bounded batch of each kind; kept rows at the front do not hold up those behind them", async () => {
    const store = await tmp.open();
    const { owner } = await seedMesh(store);
    // Oldest first: three ended rows whose mailbox holds an entry, then five that can go, and four
    // unseen ones.
    const held = [await session(store, owner, T0, T0 + 1), await session(store, owner, T0, T0 + 2), await session(store, owner, T0, T0 + 3)];
    await store.commitSends([directMessage(owner, held, { expiresAt: T0 + 9 * TTL })], 0);
    for (let i = 0; i < 5; i++) await session(store, owner, T0, T0 + 10 + i);
    for (let i = 0; i < 4; i++) await session(store, owner, T0 - i);
    const steps: { deleted: number; next: SessionPrunePlace | null }[] = [];
    let place: SessionPrunePlace | null = null;
    do {
      const r = pruneSessions(store.db, (store as unknown as { index: Parameters<typeof pruneSessions>[1] }).index, T0 + 2 * TTL, TTL, place, 2);
      steps.push(r);
      place = r.next;
    } while (place);
    // Ended: [held, held] [held, go] [go, go] [go, go] [] — unseen: [go, go] [go, go] [] (done).
    expect(steps.map((s) => s.deleted)).toEqual([2, 3, 2, 2, 0]);
    expect(steps.at(-2)!.next).toMatchObject({ unseen: "done" });
    expect(keys(store.db)).toEqual(new Set(held));
  });

  test("with nothing old, one step and nothing deleted", async () => {
    const store = await tmp.open();
    const { owner } = await seedMesh(store);
    await session(store, owner, T0);
    expect(await store.pruneSessions(T0 + TTL, TTL, null)).toEqual({ deleted: 0, next: null });
  });
});
