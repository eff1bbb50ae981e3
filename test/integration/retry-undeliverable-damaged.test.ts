// A retry's answer repeats its original's `undeliverable` from the stored column (schema v6). A
// damaged value there (not JSON, or JSON that is no list of {to, code}) once reached the client as
// the result's `undeliverable` (null, {}) or answered `internal` on every retry; it is now answered
// as stored with an empty list, and the broker logs what it found (review of session 24).
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText } from "../helpers/mesh.ts";

test.each(["null", "{}", '"quota_exceeded"', "[{\"to\":1}]", "not json"])("a retry whose stored list reads %s: answered as stored, with an empty list, and logged", async (damaged) => {
  await using b = await startBroker({ queueQuota: 1 });
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const o = await connect(b.url, owner, { receive: "pull" });
  await sendText(o, bob.keys.publicKey, "fills bob's queue");
  const f = { to: "*", clientMessageId: randomId(), ...envelope("x") };
  expect((await o.client.request("send", f)).undeliverable).toHaveLength(1);
  const db = new Database(join(b.dataDir, "claudemesh.db"));
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run("UPDATE messages SET undeliverable = ? WHERE client_message_id = ?", [damaged, f.clientMessageId]);
  } finally {
    db.close();
  }
  const retry = await o.client.request("send", f);
  expect({ duplicate: retry.duplicate, undeliverable: retry.undeliverable }).toEqual({ duplicate: true, undeliverable: [] });
  expect(b.logs.some((l) => l.includes("undeliverable list is damaged") && l.includes(retry.messageId))).toBe(true);
  o.close();
});
