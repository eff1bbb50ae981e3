// broker_messages_delivered_total{kind} (docs/operations.md "Metrics"): a member's message its
// recipient acknowledges counts under kind="message", the broker's own expiry notice (protocol
// §5.8) its sender acknowledges under kind="notice", so that the series says how many messages
// were delivered. Also across a restart, where the broker learns what each queued entry is from
// the database rather than from the send that stored it.
import { expect, test } from "bun:test";
import { sweepRound } from "../../src/broker/timers.ts";
import { BROKER_SENDER } from "../../src/protocol/server-frames.ts";
import { brokerClock, startBroker, tempDir, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, type TestMember, type TestPeer } from "../helpers/mesh.ts";

/** broker_messages_delivered_total per label set, as /metrics publishes it. */
async function delivered(b: TestBroker): Promise<Record<string, number>> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^broker_messages_delivered_total(\{[^}]*\})? (\d+)$/gm)].map((m) => [m[1] ?? "", Number(m[2])]));
}

/** Waits for the `n`th push to `p` and acknowledges it, as a client does once it has it. */
async function ackNth(p: TestPeer, n: number): Promise<string> {
  const m = (await p.waitMessages(n)).at(-1)!;
  expect(await p.client.request("ack", { messageIds: [m.messageId] })).toEqual({ acked: 1 });
  return m.from.memberId;
}

/** A mesh where alice's DM to bob expired unread (bob never connects): its notice waits for her. */
async function noticeWaiting(b: TestBroker): Promise<TestMember> {
  const { owner: alice } = await createTestMesh(b.url, "alice");
  const bob = await addMember(b.url, alice, "bob");
  const a = await connect(b.url, alice);
  await a.client.request("send", { to: bob.keys.publicKey, clientMessageId: "expiring-bob-0001", ttlMs: 1000, ...envelope("to bob") });
  a.close(); // away when the notice is stored
  brokerClock(b, 1100);
  await sweepRound(b.ctx);
  return alice;
}

test("a member's message and an expiry notice, each acknowledged, are counted apart", async () => {
  await using b = await startBroker({ messageTtl: 60_000 });
  // Both series are there before anything is acknowledged, so that a rate over them starts at 0.
  expect(await delivered(b)).toEqual({ '{kind="message"}': 0, '{kind="notice"}': 0 });
  const alice = await noticeWaiting(b);
  const carol = await addMember(b.url, alice, "carol");
  const c = await connect(b.url, carol);
  const a = await connect(b.url, alice);
  expect(await ackNth(a, 1)).toBe(BROKER_SENDER.memberId); // the notice
  expect(await delivered(b)).toEqual({ '{kind="message"}': 0, '{kind="notice"}': 1 });
  await a.client.request("send", { to: carol.keys.publicKey, clientMessageId: "to-carol-00000001", ...envelope("to carol") });
  expect(await ackNth(c, 1)).toBe(alice.memberId);
  expect(await delivered(b)).toEqual({ '{kind="message"}': 1, '{kind="notice"}': 1 });
  a.close();
  c.close();
});

test("a notice queued before a restart is still counted as a notice when acknowledged after it", async () => {
  const dataDir = tempDir("cm-delivered-");
  let alice: TestMember;
  {
    await using first = await startBroker({ messageTtl: 60_000 }, { dataDir });
    alice = await noticeWaiting(first);
  }
  await using b = await startBroker({ messageTtl: 60_000 }, { dataDir });
  const a = await connect(b.url, alice);
  expect(await ackNth(a, 1)).toBe(BROKER_SENDER.memberId);
  expect(await delivered(b)).toEqual({ '{kind="message"}': 0, '{kind="notice"}': 1 });
  a.close();
});
