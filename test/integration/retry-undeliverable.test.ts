// docs/protocol.md §5.3 and §5.11: a retried send (the same clientMessageId) is answered with the
// `undeliverable` list of the original, whose answer the sender may never have received, so it
// learns which full mailboxes the message skipped. Whether the original is stored, still being
// committed, or was stored before a restart of the broker.
import { describe, expect, test } from "bun:test";
import { handleSend } from "../../src/broker/router.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText, type TestMember, type TestPeer } from "../helpers/mesh.ts";

/** With queueQuota 1: bob's mailbox full (one DM queued, bob offline), carol's empty; both in
 *  #general. The owner is connected in pull mode, so nothing is pushed to it. */
async function oneFullMailbox(url: string): Promise<{ owner: TestMember; bob: TestMember; o: TestPeer }> {
  const { owner } = await createTestMesh(url);
  const bob = await addMember(url, owner, "bob");
  await addMember(url, owner, "carol");
  const o = await connect(url, owner, { receive: "pull" });
  await sendText(o, bob.keys.publicKey, "fills bob's queue");
  return { owner, bob, o };
}

const frame = (to: string) => ({ to, clientMessageId: randomId(), ...envelope("x") });

describe("a retried send lists the mailboxes its original skipped", () => {
  test.each(["*", "#general"])("to %s: the original and its retry list bob's full mailbox", async (to) => {
    await using b = await startBroker({ queueQuota: 1 });
    const { bob, o } = await oneFullMailbox(b.url);
    const f = frame(to);
    const first = await o.client.request("send", f);
    expect(first.undeliverable).toEqual([{ to: bob.keys.publicKey, code: "quota_exceeded" }]);
    const retry = await o.client.request("send", { ...f, ...envelope("another body") });
    expect(retry).toEqual({ ...first, duplicate: true });
    o.close();
  });

  test("a retry that arrives while its original is still being committed", async () => {
    await using b = await startBroker({ queueQuota: 1 });
    const { bob, o } = await oneFullMailbox(b.url);
    const f = frame("*");
    // One connection: the retry is read while the original waits for its commit (group-commit.ts).
    const [first, retry] = await Promise.all([o.client.request("send", f), o.client.request("send", f)]);
    expect(first).toMatchObject({ duplicate: false, undeliverable: [{ to: bob.keys.publicKey, code: "quota_exceeded" }] });
    expect(retry).toEqual({ ...first, duplicate: true });
    o.close();
  });

  test("two connections of one key sending one id together: both answers list it", async () => {
    await using b = await startBroker({ queueQuota: 1 });
    const { owner, bob, o } = await oneFullMailbox(b.url);
    const o2 = await connect(b.url, owner, { receive: "pull" });
    const f = frame("*");
    const answers = await Promise.all([o.client.request("send", f), o2.client.request("send", f)]);
    expect(answers.map((a) => a.duplicate).toSorted()).toEqual([false, true]);
    expect(answers.map((a) => a.undeliverable)).toEqual([0, 1].map(() => [{ to: bob.keys.publicKey, code: "quota_exceeded" }]));
    expect(answers[1]!.messageId).toBe(answers[0]!.messageId);
    o.close();
    o2.close();
  });

  test("two sends with one id that land in one group commit: the second's answer is the first's", async () => {
    await using b = await startBroker({ queueQuota: 1 });
    const { bob, o } = await oneFullMailbox(b.url);
    const conn = [...b.ctx.hub.allConns()][0]!;
    const f = { type: "send" as const, id: "1", ...frame("*") };
    // Started in one turn, both pass the retry checks before either reaches the group commit,
    // which stores the message once (send-repo.ts) and answers the second as its duplicate.
    const answers = await Promise.all([handleSend(b.ctx, conn, f), handleSend(b.ctx, conn, f)]);
    expect(answers.map((a) => a.duplicate)).toEqual([false, true]);
    expect(answers[1]).toEqual({ ...answers[0]!, duplicate: true });
    expect(answers[0]!.undeliverable).toEqual([{ to: bob.keys.publicKey, code: "quota_exceeded" }]);
    o.close();
  });

  test("after a restart of the broker, from what it stored", async () => {
    const dataDir = tempDir("cm-retry-undeliverable-");
    const f = frame("#general");
    const { owner, first } = await (async () => {
      await using b = await startBroker({ queueQuota: 1 }, { dataDir });
      const { owner, bob, o } = await oneFullMailbox(b.url);
      const first = await o.client.request("send", f);
      expect(first.undeliverable).toEqual([{ to: bob.keys.publicKey, code: "quota_exceeded" }]);
      o.close();
      return { owner, first };
    })();
    await using again = await startBroker({ queueQuota: 1 }, { dataDir });
    const o = await connect(again.url, owner, { receive: "pull" });
    expect(await o.client.request("send", f)).toEqual({ ...first, duplicate: true });
    o.close();
  });
});
