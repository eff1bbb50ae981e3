// A signed POST /hook/set-status that admission refuses (the broker draining, the member's removal
// under way) is refused before its signature is recorded against replay: it costs no write, and
// the same signed bytes are accepted once admitted, then refused as `replayed` (protocol.md §6.5).
import { expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { signDetached } from "../../src/crypto/sign.ts";
import { sha256Hex } from "../../src/crypto/hash.ts";
import { requestCanonical } from "../../src/protocol/canonical.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

/** One signed hook request by `m`, which each call sends again byte for byte. */
function signedHook(b: TestBroker, m: TestMember) {
  const body = JSON.stringify({ status: "working", meshId: m.meshId });
  const ts = Date.now();
  const signature = signDetached(requestCanonical("POST", "/hook/set-status", ts, sha256Hex(body)), m.keys.secretKey);
  const headers = { "content-type": "application/json", "x-claudemesh-pubkey": m.keys.publicKey, "x-claudemesh-timestamp": String(ts), "x-claudemesh-signature": signature };
  return async () => {
    const res = await fetch(`${b.url}/hook/set-status`, { method: "POST", headers, body });
    const json = (await res.json()) as { error?: { code: string } };
    return `${res.status} ${json.error?.code ?? "ok"}`;
  };
}

const seen = (b: TestBroker) => ((b.ctx.store as SqliteStore).db.query("SELECT count(*) AS n FROM seen_signatures").get() as { n: number }).n;

test.each([
  ["the broker draining", (b: TestBroker) => void (b.ctx.draining = true), (b: TestBroker) => void (b.ctx.draining = false), "503 unavailable"],
  ["a removal under way", (b: TestBroker, m: TestMember) => b.ctx.hub.markRemoved(m.meshId, m.memberId, Date.now()), (b: TestBroker, m: TestMember) => b.ctx.hub.unmarkRemoved(m.meshId, m.memberId), "403 revoked"],
] as const)("%s: a refused signed hook request is not recorded, and is accepted once later", async (_, enter, leave, refused) => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  const bob = await addMember(b.url, owner, "bob");
  const carol = await addMember(b.url, owner, "carol"); // offline: her hook stores the status
  const peer = await connect(b.url, bob);
  const requests = { online: signedHook(b, bob), offline: signedHook(b, carol) };
  const before = seen(b);
  for (const m of [bob, carol]) enter(b, m);
  expect({ online: await requests.online(), offline: await requests.offline(), recorded: seen(b) - before }).toEqual({ online: refused, offline: refused, recorded: 0 });
  for (const m of [bob, carol]) leave(b, m);
  // Sent twice at once: accepted once, whichever copy gets there first.
  const twice = async (send: () => Promise<string>) => (await Promise.all([send(), send()])).sort();
  expect({ online: await twice(requests.online), offline: await twice(requests.offline) }).toEqual({ online: ["200 ok", "401 replayed"], offline: ["200 ok", "401 replayed"] });
  peer.close();
});
