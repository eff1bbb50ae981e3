// Refused sends in the log (docs/operations.md "Logs"). The on-call review saw
// broker_queue_refused_total and broker_messages_rejected_total move with no line naming the mesh or
// the member: a full mailbox, a rate limit, an expiry were invisible in the log. Now each (mesh,
// reason) gets a throttled info line (the first, then one per LOG_EVERY_MS with notLoggedSinceLast),
// naming the mesh, the sender and a prefix of the recipient's key, and never the body.
import { expect, test } from "bun:test";
import { LOG_EVERY_MS } from "../../src/broker/throttled-log.ts";
import { sweepRound } from "../../src/broker/timers.ts";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, sendText } from "../helpers/mesh.ts";

const lines = (b: TestBroker, msg: string) => b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === msg);
const refusedWith = (p: Promise<unknown>) => p.then(() => "sent", (e: { code?: string }) => e.code);

test("a full mailbox, the send rate and an expiry each log a throttled line per mesh naming the sender, never the body", async () => {
  await using b = await startBroker({ queueQuota: 1, sendRate: 1, sendBurst: 8, messageTtl: 60_000 });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob"); // offline: his mailbox fills
  const tx = await connect(b.url, owner);
  expect(await refusedWith(sendText(tx, bob.keys.publicKey, "secret-body-0"))).toBe("sent");
  for (let i = 1; i <= 3; i++) expect(await refusedWith(sendText(tx, bob.keys.publicKey, `secret-body-${i}`))).toBe("quota_exceeded");
  expect(lines(b, "send refused").map((l) => [l.level, l.reason, l.notLoggedSinceLast])).toEqual([["info", "mailbox", 0]]);
  expect(lines(b, "send refused")[0]).toMatchObject({ meshId: owner.meshId, memberId: owner.memberId, to: bob.keys.publicKey.slice(0, 12), count: 1 });
  brokerClock(b, LOG_EVERY_MS);
  expect(await refusedWith(sendText(tx, bob.keys.publicKey, "secret-body-4"))).toBe("quota_exceeded");
  expect(lines(b, "send refused").at(-1)).toMatchObject({ reason: "mailbox", notLoggedSinceLast: 2 });

  // The send allowance: 8 in a burst, the 5 above spent some.
  const codes: unknown[] = [];
  for (let i = 0; i < 8; i++) codes.push(await refusedWith(sendText(tx, "*", `secret-body-b${i}`)));
  expect(codes).toContain("rate_limited");
  expect(lines(b, "send refused").filter((l) => l.reason === "rate_limited")).toEqual([expect.objectContaining({ limit: "send", meshId: owner.meshId, memberId: owner.memberId, to: "*", notLoggedSinceLast: 0 })]);

  // The one queued message expires undelivered.
  brokerClock(b, 120_000);
  await sweepRound(b.ctx);
  expect(lines(b, "message expired undelivered")).toEqual([expect.objectContaining({ level: "info", reason: "expired", meshId: owner.meshId, memberId: owner.memberId, to: bob.keys.publicKey.slice(0, 12) })]);
  expect(b.logs.some((l) => l.includes("secret-body") || l.includes(Buffer.from("secret-body").toString("base64").slice(0, 12)))).toBe(false);
  tx.close();
});
