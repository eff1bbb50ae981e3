// What a member's mailbox keeps for the member's next session (docs/protocol.md §5.1, "The next
// session"): entries marked when no session was around, copied into a session's mailbox at its
// hello and unmarked, marked again when a session ends holding them; all of it durable.
import { afterEach, describe, expect, test } from "bun:test";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { Member } from "../../src/store/types.ts";
import { addMember, directMessage, pubkey, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

/** Sends `n` DMs from owner to bob's member key, marked for bob's next session unless `marked` is false. */
async function dms(store: SqliteStore, owner: Member, bob: Member, n: number, marked = true, over: { expiresAt?: number } = {}) {
  const msgs = Array.from({ length: n }, () => directMessage(owner, [bob.pubkey], { forNextSession: new Set(marked ? [bob.pubkey] : []), ...over }));
  return (await store.commitSends(msgs, 0)).map((o) => o.message.id);
}

/** Hands over to `session`; how many it copied. */
const handOver = async (store: SqliteStore, bob: Member, session: string, quota = 1000, nowMs = Date.now()) =>
  (await handOverIds(store, bob, session, quota, nowMs)).copied.length;
const handOverIds = (store: SqliteStore, bob: Member, session: string, quota = 1000, nowMs = Date.now()) =>
  store.handOverToSession({ meshId: bob.meshId, memberPubkey: bob.pubkey, sessionPubkey: session, quota, nowMs });

/** Claims everything in the mailbox (ids in queue order), then gives the claims back. */
async function ids(store: SqliteStore, meshId: string, box: string): Promise<string[]> {
  const got = (await store.claim(meshId, [box], { conn: "peek", limit: 10_000 })).map((m) => m.id);
  await store.releaseClaims("peek");
  return got;
}

const marks = (store: SqliteStore, box: string) =>
  store.db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM queue WHERE recipient = ? AND for_next_session = 1").get(box)!.n;

async function setup() {
  const dir = tmp.make();
  const store = await tmp.open(dir);
  const { owner } = await seedMesh(store);
  const bob = await addMember(store, owner, "bob");
  const s1 = pubkey();
  await store.upsertSession({ meshId: bob.meshId, pubkey: s1, memberId: bob.id, displayName: "bob/s1", cwd: "/", hostname: "h", lastSeenAt: Date.now(), attestation: null });
  return { dir, store, owner, bob, s1 };
}

describe("the member mailbox's entries for the next session", () => {
  test("a hello copies the marked ones in queue order, once; the member key keeps them all", async () => {
    const { store, owner, bob, s1 } = await setup();
    const marked1 = await dms(store, owner, bob, 2);
    const unmarked = await dms(store, owner, bob, 1, false);
    const marked2 = await dms(store, owner, bob, 1);

    expect(await handOver(store, bob, s1)).toBe(3);
    expect(await ids(store, bob.meshId, s1)).toEqual([...marked1, ...marked2]);
    expect(await ids(store, bob.meshId, bob.pubkey)).toEqual([...marked1, ...unmarked, ...marked2]);
    expect(marks(store, bob.pubkey)).toBe(0);
    // A second session, or this one again, gets nothing more.
    expect(await handOver(store, bob, pubkey())).toBe(0);
    expect(await handOver(store, bob, s1)).toBe(0);
    // Acked by the session, the copy goes; the member key's entry stays for the terminal.
    expect(await store.ack(bob.meshId, [s1], marked1, Date.now())).toBe(2);
    expect(await store.queueDepth({ meshId: bob.meshId, pubkey: bob.pubkey })).toBe(4);
  });

  test("an entry the session holds already is unmarked, not copied twice", async () => {
    const { store, owner, bob, s1 } = await setup();
    // Queued for the member key (marked) and for its offline session alike.
    const [both] = (await store.commitSends([directMessage(owner, [bob.pubkey, s1], { forNextSession: new Set([bob.pubkey]) })], 0)).map((o) => o.message.id);
    expect(await handOver(store, bob, s1)).toBe(0);
    expect(await ids(store, bob.meshId, s1)).toEqual([both!]);
    expect(marks(store, bob.pubkey)).toBe(0);
  });

  test("copies take their place in queue order among what the session's mailbox already holds", async () => {
    const { store, owner, bob, s1 } = await setup();
    const marked = await dms(store, owner, bob, 2);
    const [toSession] = (await store.commitSends([directMessage(owner, [s1])], 0)).map((o) => o.message.id);
    const later = await dms(store, owner, bob, 1);
    expect(await handOver(store, bob, s1)).toBe(3);
    expect(await ids(store, bob.meshId, s1)).toEqual([...marked, toSession!, ...later]);
  });

  test("copies stop when the session's mailbox holds `quota`, oldest first; the rest stay marked for the next hello", async () => {
    const { store, owner, bob, s1 } = await setup();
    const sent = await dms(store, owner, bob, 5);
    expect(await handOver(store, bob, s1, 3)).toBe(3);
    expect(await ids(store, bob.meshId, s1)).toEqual(sent.slice(0, 3));
    expect(marks(store, bob.pubkey)).toBe(2);
    // The mailbox holds 3 already: a quota of 3 (or less) leaves no room.
    expect(await handOver(store, bob, s1, 3)).toBe(0);
    expect(await handOver(store, bob, s1, -4)).toBe(0);
    expect(await handOver(store, bob, s1, 4)).toBe(1);
    expect(await handOver(store, bob, s1, 10)).toBe(1);
    expect(await ids(store, bob.meshId, s1)).toEqual(sent);
  });

  test("the quota counts what the session's mailbox holds of its own", async () => {
    const { store, owner, bob, s1 } = await setup();
    const own = (await store.commitSends([directMessage(owner, [s1]), directMessage(owner, [s1])], 0)).map((o) => o.message.id);
    const sent = await dms(store, owner, bob, 3);
    expect(await handOver(store, bob, s1, 3)).toBe(1);
    expect(await ids(store, bob.meshId, s1)).toEqual([...own, sent[0]!]);
    expect(marks(store, bob.pubkey)).toBe(2);
  });

  test("expired entries are not copied", async () => {
    const { store, owner, bob, s1 } = await setup();
    const now = Date.now();
    await dms(store, owner, bob, 1, true, { expiresAt: now + 1000 });
    const fresh = await dms(store, owner, bob, 1, true, { expiresAt: now + 3_600_000 });
    expect(await handOver(store, bob, s1, 100, now + 2000)).toBe(1);
    expect(await ids(store, bob.meshId, s1)).toEqual(fresh);
  });

  test("a session that ends holding them marks them again; what it acked stays unmarked", async () => {
    const { store, owner, bob, s1 } = await setup();
    const sent = await dms(store, owner, bob, 3);
    expect(await handOver(store, bob, s1)).toBe(3);
    await store.ack(bob.meshId, [s1], [sent[0]!], Date.now());
    await store.endSession(bob.meshId, s1, Date.now());
    expect(marks(store, bob.pubkey)).toBe(2);
    const s2 = pubkey();
    expect(await handOver(store, bob, s2)).toBe(2);
    expect(await ids(store, bob.meshId, s2)).toEqual(sent.slice(1));
  });

  test("marks and copies survive a restart (the index is rebuilt from the rows)", async () => {
    const { dir, store, owner, bob, s1 } = await setup();
    const sent = await dms(store, owner, bob, 4);
    expect(await handOver(store, bob, s1, 1)).toBe(1);
    store.close();

    const again = await tmp.open(dir);
    expect(await ids(again, bob.meshId, s1)).toEqual(sent.slice(0, 1));
    expect(await handOver(again, bob, s1)).toBe(3);
    expect(await ids(again, bob.meshId, s1)).toEqual(sent);
    expect(marks(again, bob.pubkey)).toBe(0);
  });

  test("a session whose own mailbox the send skipped (full) is not given a copy; the mark stays for a new session", async () => {
    const { store, owner, bob, s1 } = await setup();
    // s1 was a recipient, offline and full: the send skipped it (its sender was told so, §5.3)
    // and marked the member key's entry, no session being connected.
    const skipped = (await store.commitSends([directMessage(owner, [bob.pubkey], { forNextSession: new Set([bob.pubkey]), undeliverable: [{ to: s1, code: "quota_exceeded" }] })], 0)).map((o) => o.message.id);
    const other = await dms(store, owner, bob, 1);
    // A later hello of s1, its mailbox emptied meanwhile: a copy of the skipped one would come
    // after what s1 was given since. The other marked entry is copied as before.
    expect(await handOverIds(store, bob, s1)).toEqual({ copied: other, took: [] });
    expect(marks(store, bob.pubkey)).toBe(1);
    expect(await handOver(store, bob, pubkey())).toBe(1);
    expect(marks(store, bob.pubkey)).toBe(0);
  });

  test("the terminal's ack removes the entry and its mark: no session is given what was read", async () => {
    const { store, owner, bob, s1 } = await setup();
    const sent = await dms(store, owner, bob, 2);
    await store.ack(bob.meshId, [bob.pubkey], [sent[0]!], Date.now());
    expect(await handOver(store, bob, s1)).toBe(1);
    expect(await ids(store, bob.meshId, s1)).toEqual(sent.slice(1));
  });
});

describe("what a retired session gives back", () => {
  // Only what it was given in its member's name: a session's own fan-out entries reached the
  // member's other sessions as well, and marking them again re-showed them to the next session.
  test("a session retired holding what reached it in its own right marks nothing again", async () => {
    const { store, owner, bob, s1 } = await setup();
    // s1 is offline (not ended): queued for it and for the member key, marked since no session is around.
    const [msg] = (await store.commitSends([directMessage(owner, [bob.pubkey, s1], { forNextSession: new Set([bob.pubkey]) })], 0)).map((o) => o.message.id);
    // The next session is given it and shows it.
    const s2 = pubkey();
    expect(await handOver(store, bob, s2)).toBe(1);
    await store.ack(bob.meshId, [s2], [msg!], Date.now());
    // s1, never back, is ended to make room (or by session_end): nothing is handed out again.
    await store.endSession(bob.meshId, s1, Date.now());
    expect(marks(store, bob.pubkey)).toBe(0);
    expect(await handOver(store, bob, pubkey())).toBe(0);
  });

  test("a session that took the mark by holding the entry already gives it back, after a restart too", async () => {
    const { dir, store, owner, bob, s1 } = await setup();
    await store.commitSends([directMessage(owner, [bob.pubkey, s1], { forNextSession: new Set([bob.pubkey]) })], 0);
    expect(await handOver(store, bob, s1)).toBe(0);
    expect(marks(store, bob.pubkey)).toBe(0);
    store.close();
    const again = await tmp.open(dir);
    await again.endSession(bob.meshId, s1, Date.now());
    expect(marks(again, bob.pubkey)).toBe(1);
    expect(await handOver(again, bob, pubkey())).toBe(1);
  });

  test("a refused hello's copies go back; what it held in its own right and what a live connection claimed stay", async () => {
    const { store, owner, bob, s1 } = await setup();
    const [own] = (await store.commitSends([directMessage(owner, [s1])], 0)).map((o) => o.message.id);
    const sent = await dms(store, owner, bob, 2);
    const given = await handOverIds(store, bob, s1);
    expect(given).toEqual({ copied: sent, took: [] });
    // An older connection of the session still holds the first copy claimed.
    await store.claim(bob.meshId, [s1], { conn: "older", limit: 2 });
    const giveBack = () => store.giveBackFromSession({ meshId: bob.meshId, memberPubkey: bob.pubkey, sessionPubkey: s1, given });
    expect(await giveBack()).toBe(1);
    await store.releaseClaims("older");
    expect(await ids(store, bob.meshId, s1)).toEqual([own!, sent[0]!]);
    expect(marks(store, bob.pubkey)).toBe(1);
    expect(await giveBack()).toBe(1);
    expect(await giveBack()).toBe(0);
    expect(await handOver(store, bob, pubkey())).toBe(2);
  });

  test("a refused hello gives back only what it took: what an earlier hello took stays with the session", async () => {
    const { store, owner, bob, s1 } = await setup();
    const [earlier] = await dms(store, owner, bob, 1);
    expect(await handOver(store, bob, s1)).toBe(1); // an earlier hello of s1, attached and running
    const [later] = await dms(store, owner, bob, 1);
    const given = await handOverIds(store, bob, s1); // a second hello of s1, then refused
    expect(given).toEqual({ copied: [later!], took: [] });
    expect(await store.giveBackFromSession({ meshId: bob.meshId, memberPubkey: bob.pubkey, sessionPubkey: s1, given })).toBe(1);
    expect(await ids(store, bob.meshId, s1)).toEqual([earlier!]);
    expect(marks(store, bob.pubkey)).toBe(1);
    expect(await handOver(store, bob, pubkey())).toBe(1);
  });

  test("a refused hello that took the mark of an entry its session held gives the mark back and keeps the entry", async () => {
    const { store, owner, bob, s1 } = await setup();
    const [id] = (await store.commitSends([directMessage(owner, [bob.pubkey, s1], { forNextSession: new Set([bob.pubkey]) })], 0)).map((o) => o.message.id);
    const given = await handOverIds(store, bob, s1);
    expect(given).toEqual({ copied: [], took: [id!] });
    expect(marks(store, bob.pubkey)).toBe(0);
    expect(await store.giveBackFromSession({ meshId: bob.meshId, memberPubkey: bob.pubkey, sessionPubkey: s1, given })).toBe(1);
    expect(await ids(store, bob.meshId, s1)).toEqual([id!]);
    expect(marks(store, bob.pubkey)).toBe(1);
    expect(marks(store, s1)).toBe(0); // unflagged, as before the hello: ending it now re-marks nothing
  });
});
