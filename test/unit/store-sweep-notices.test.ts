// Pins the sweep's expiry notices (Store.sweep; protocol §5.8): the notices of the messages whose
// last entries expire undelivered are stored in the transaction that deletes those entries, so a
// crash or a failure between the two can neither drop a notice nor keep a deletion without one.
import { afterEach, describe, expect, test } from "bun:test";
import type { ExpiryNotice, StoredMessage } from "../../src/store/types.ts";
import { BROKER_SENDER as BROKER, expiryNotice } from "../../src/broker/timers.ts";
import { addMember, count, directMessage, seedMesh, TempDirs } from "./store-fixtures.ts";

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());


/** The broker's notice for `m` (src/broker/timers.ts), with the fields `over` returns replaced. */
const noticeOf =
  (expiresAt: number, over: (m: StoredMessage) => object = () => ({})): ExpiryNotice =>
  (m) => ({ ...expiryNotice(m, expiresAt), ...over(m) });

async function expiringMessage() {
  const store = await tmp.open();
  const { mesh, owner } = await seedMesh(store);
  const peer = await addMember(store, owner, "peer");
  const t0 = Date.now();
  const [sent] = await store.commitSends([directMessage(owner, [peer.pubkey], { expiresAt: t0 + 1000 })], 0);
  await store.rememberSignature("old", t0 + 500, 0);
  return { store, mesh, owner, peer, t0, message: sent!.message };
}

describe("sweep with expiry notices", () => {
  test("a notice that fails to stage rolls back the whole sweep: entries, messages, signatures and the index stay", async () => {
    const { store, mesh, peer, owner, t0, message } = await expiringMessage();
    // The entry's deletion ran before the notice failed (an unknown topic): both roll back.
    const failing = noticeOf(t0 + 60_000, () => ({ kind: "topic", topicId: 9999 }));
    await expect(store.sweep(t0 + 2000, 1, failing)).rejects.toMatchObject({ code: "not_found" });
    expect([count(store, "queue"), count(store, "messages"), count(store, "seen_signatures")]).toEqual([1, 1, 1]);
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(1);
    // A builder that throws is the same.
    await expect(
      store.sweep(t0 + 2000, 1, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(count(store, "queue")).toBe(1);

    // The next sweep finds the same expiry and commits it with its notice.
    const { notices, ...swept } = await store.sweep(t0 + 2000, 1, noticeOf(t0 + 60_000));
    expect(swept).toEqual({ expiredRows: 1, expiredNoticeRows: 0, expiredMessages: [message], deletedMessages: 1, seenSignatures: 1, more: false });
    expect(notices).toHaveLength(1);
    const [n] = notices;
    expect(n).toMatchObject({ duplicate: false, recipients: [owner.pubkey], message: { kind: "system", senderPubkey: BROKER.pubkey, replyTo: message.id } });
    expect(n!.message.notice).toEqual({ event: "message_expired", messageId: message.id, clientMessageId: message.clientMessageId, to: peer.pubkey });
    expect(await store.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(0);
    expect(await store.claim(mesh.id, [owner.pubkey], { conn: "c", limit: 10 })).toEqual([n!.message]);
  });

  test("the deletion and its notice are one commit: a reopened store has the notice queued, nothing else", async () => {
    const dir = tmp.make();
    const a = await tmp.open(dir);
    const { mesh, owner } = await seedMesh(a);
    const peer = await addMember(a, owner, "peer");
    const t0 = Date.now();
    const sent = await a.commitSends([directMessage(owner, [peer.pubkey], { expiresAt: t0 + 1000 }), directMessage(owner, [peer.pubkey], { expiresAt: t0 + 1000, kind: "system" })], 0);
    const swept = await a.sweep(t0 + 2000, 60_000, noticeOf(t0 + 60_000));
    // The system message expires without a notice: notices never produce notices.
    expect([swept.expiredRows, swept.expiredNoticeRows]).toEqual([2, 1]);
    expect(swept.notices.map((n) => n.message.replyTo)).toEqual([sent[0]!.message.id]);
    a.close();

    const b = await tmp.open(dir);
    expect(await b.queueDepth({ meshId: mesh.id, pubkey: peer.pubkey })).toBe(0);
    expect((await b.claim(mesh.id, [owner.pubkey], { conn: "c", limit: 10 })).map((m) => m.id)).toEqual([swept.notices[0]!.message.id]);
    // Nothing is left to expire: a second sweep stores no second notice.
    expect((await b.sweep(t0 + 3000, 60_000, noticeOf(t0 + 60_000))).notices).toEqual([]);
    expect(count(b, "queue")).toBe(1);
  });
});
