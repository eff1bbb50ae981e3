// How fast one member may start sessions (docs/protocol.md §8.1, SESSION_START_BURST and
// SESSION_START_RATE_PER_SEC), against a real broker on port 0 over raw sockets. A session ended
// (session_end, or to make room past MAX_SESSIONS_PER_MEMBER) keeps its row for the message TTL,
// seven days by default; before this allowance one member's loop of session hellos, each with a
// new key, wrote ~210 rows a second (16 sockets from the test's own process), 50 MB of database
// in 10 s: the broker's disk filled at the pace of one member's hellos.
import { expect, test } from "bun:test";
import { makeAttestation } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair, signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";
import { sessionHelloCanonical } from "../../src/protocol/canonical.ts";
import { SESSION_START_BURST } from "../../src/protocol/limits.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { startBroker } from "../helpers/broker.ts";
import { addMember, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { rawSocket } from "../helpers/raw.ts";

/** One session hello of `m` with `keys`, answered; the socket closed again. */
async function hello(url: string, m: TestMember, keys: SigningKeypair): Promise<{ type: string; code?: string; retryable?: boolean; message?: string }> {
  const now = Date.now();
  const s = await rawSocket(url);
  s.send({
    type: "session_hello", meshId: m.meshId, parentMemberId: m.memberId, parentMemberPubkey: m.keys.publicKey, sessionPubkey: keys.publicKey, sessionId: randomId(), pid: 1, cwd: "/w/app", timestamp: now, events: [],
    attestation: makeAttestation(m.keys, keys.publicKey, now + 3_600_000), signature: signDetached(sessionHelloCanonical(m.meshId, m.keys.publicKey, keys.publicKey, now), keys.secretKey),
  });
  const f = await s.next();
  s.ws.close();
  await s.closed;
  return f;
}

test("a member's new sessions past its allowance are refused rate_limited and store nothing; its sessions' reconnects and other members are not", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url);
  const mallory = await addMember(b.url, owner, "mallory");
  const rows = (memberId: string) => ((b.ctx.store as SqliteStore).db.query("SELECT count(*) AS n FROM sessions WHERE member_id = ?").get(memberId) as { n: number }).n;
  const keys = Array.from({ length: SESSION_START_BURST + 20 }, () => generateSigningKeypair());
  const answers: string[] = [];
  for (const k of keys) answers.push((await hello(b.url, mallory, k)).type === "hello_ack" ? "ack" : "refused");
  expect({ acks: answers.filter((a) => a === "ack").length, firstRefusal: answers.indexOf("refused"), rows: rows(mallory.memberId) }).toEqual({ acks: SESSION_START_BURST, firstRefusal: SESSION_START_BURST, rows: SESSION_START_BURST });
  const refused = await hello(b.url, mallory, generateSigningKeypair());
  expect({ type: refused.type, code: refused.code, retryable: refused.retryable, says: /^This member started sessions faster than one every 10 s \(after a burst of \d+\); wait \d+ s and connect again\.$/.test(refused.message ?? "") }).toEqual({ type: "error", code: "rate_limited", retryable: true, says: true });
  expect(rows(mallory.memberId)).toBe(SESSION_START_BURST);
  // A session already started says hello again (a reconnect): not a start.
  expect((await hello(b.url, mallory, keys[SESSION_START_BURST - 1]!)).type).toBe("hello_ack");
  // Other members start theirs.
  expect((await hello(b.url, owner, generateSigningKeypair())).type).toBe("hello_ack");
}, 120_000);
