// Closes the broker initiates (docs/operations.md "Metrics": broker_connections_closed_total). The
// on-call review saw a session closed 4101 at its attestation's expiry with no log line and no
// metric: only the client's reconnect showed it. Now every close the broker decides is counted by
// reason, and an attestation's expiry is logged, naming whose session it was.
import { expect, test } from "bun:test";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { livenessRound } from "../../src/broker/timers.ts";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";

async function closed(b: TestBroker, reason: string): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Number(new RegExp(`broker_connections_closed_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

test("a session closed at its attestation's expiry is logged and counted; a kick is counted", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const sessionKeys = generateSigningKeypair();
  const s = await connect(b.url, owner, {}, { reconnect: false, credentials: { kind: "session", meshId: owner.meshId, memberId: owner.memberId, memberKeys: owner.keys, sessionKeys } });
  const o = await connect(b.url, owner);
  const bb = await connect(b.url, bob, {}, { reconnect: false });
  brokerClock(b, 13 * 3600_000); // past the default 12 h attestation
  livenessRound(b.ctx);
  await until(async () => (await closed(b, "attestation_expired")) === 1, "the expiry counted");
  const line = b.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "closing a session whose attestation expired");
  expect(line).toMatchObject({ level: "info", meshId: owner.meshId, memberId: owner.memberId, kind: "session", pubkey: sessionKeys.publicKey.slice(0, 12), ip: "127.0.0.1", notLoggedSinceLast: 0 });
  brokerClock(b, 0);
  await o.client.request("member_revoke", { memberId: bob.memberId, ban: false });
  await until(async () => (await closed(b, "kicked")) === 1, "the kick counted");
  for (const p of [s, o, bb]) p.close();
});
