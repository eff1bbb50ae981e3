// broker_messages_expired_total{kind} (docs/operations.md "Metrics"): queue entries of members'
// messages that expire unread count under kind="message", and entries of the broker's own expiry
// notices (protocol §5.8) that their sender never came back for under kind="notice", so that an
// operator reads how many user messages the TTL took without the notices in the same number.
import { expect, test } from "bun:test";
import { sweepRound } from "../../src/broker/timers.ts";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope } from "../helpers/mesh.ts";

const TTL_MS = 60_000; // the broker's messageTtl: what a notice lives

/** broker_messages_expired_total per label set, as /metrics publishes it. */
async function expired(b: TestBroker): Promise<Record<string, number>> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^broker_messages_expired_total(\{[^}]*\})? (\d+)$/gm)].map((m) => [m[1] ?? "", Number(m[2])]));
}

test("entries of messages and of expiry notices are counted apart", async () => {
  await using b = await startBroker({ messageTtl: TTL_MS });
  const { owner } = await createTestMesh(b.url, "alice");
  const bob = await addMember(b.url, owner, "bob"); // bob and carol never connect
  await addMember(b.url, owner, "carol");
  // Both series are there before anything expired, so that a rate over them starts at 0.
  expect(await expired(b)).toEqual({ '{kind="message"}': 0, '{kind="notice"}': 0 });
  const a = await connect(b.url, owner);
  await a.client.request("send", { to: "*", clientMessageId: "expiring-all-0001", ttlMs: 1000, ...envelope("to all") }); // two entries
  await a.client.request("send", { to: bob.keys.publicKey, clientMessageId: "expiring-bob-0001", ttlMs: 1000, ...envelope("to bob") });
  a.close(); // alice is away when the notices come, and does not come back for them

  brokerClock(b, 1100); // past the messages' TTL: three entries expire, two notices are stored
  await sweepRound(b.ctx);
  expect(await expired(b)).toEqual({ '{kind="message"}': 3, '{kind="notice"}': 0 });

  brokerClock(b, 1100 + TTL_MS + 100); // past the notices' TTL: they expire too, and tell nobody
  await sweepRound(b.ctx);
  expect(await expired(b)).toEqual({ '{kind="message"}': 3, '{kind="notice"}': 2 });
  expect(await b.ctx.store.totalQueueDepth()).toBe(0);
});
