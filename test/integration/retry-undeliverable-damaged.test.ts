// Review of session 24 (a retry repeats its original's `undeliverable`, schema v6): the stored
// column is read back with a bare JSON.parse (rows.ts sentFromRow). A value that is not JSON is
// answered `internal` (the SyntaxError reaches replyError); but a damaged value that is JSON and not
// a list (`null`, `{}`) is sent to the client as the result's `undeliverable`, which the protocol
// says is a list (§5.2) and which the CLI and MCP read with `.length` (send.ts, tools.ts).
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { randomId } from "../../src/crypto/hash.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText } from "../helpers/mesh.ts";

test.each(["null", "{}", '"quota_exceeded"'])("a retry whose stored list reads %s: answered with a list, or refused, never with that value", async (damaged) => {
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
  const retry = await o.client.request("send", f).then(
    (r) => Array.isArray(r.undeliverable),
    (err: Error) => err.name,
  );
  expect([true, "MeshError"]).toContain(retry);
  o.close();
});
