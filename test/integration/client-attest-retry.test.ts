// A session's attestation renewal (`attest`, docs/protocol.md §2.9) that fails is tried again
// before the attestation the broker holds expires, so the broker does not close the session with
// 4101 attestation_expired (the reconnect would bring a fresh one, but drop what was in flight).
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { createTestMesh } from "../helpers/mesh.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { until } from "../helpers/until.ts";
import { BrokerClient } from "../../src/client/client.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

/** Whether a chunk of the broker's is an attest's result (the only result carrying `expiresAt`). */
const attestResult = (d: Uint8Array) => new TextDecoder().decode(d).includes('"data":{"expiresAt"');

test("a renewal whose answer is lost is tried again, and the session outlives its first attestation", async () => {
  await using b = await startBroker({ pingInterval: 1000 });
  const { owner } = await createTestMesh(b.url);
  // The first renewal's answer never reaches the client, so its request times out.
  let results = 0;
  using proxy = linkProxy(b.port, (d) => !(attestResult(d) && ++results === 1));
  const closes: number[] = [];
  // Renewed at 4.8 s; its answer dropped, it times out at 5.1 s and is tried again at 5.6 s.
  const ttlMs = 6000;
  const client = new BrokerClient({
    url: proxy.url,
    credentials: { kind: "session", meshId: owner.meshId, memberId: owner.memberId, memberKeys: owner.keys, sessionKeys: generateSigningKeypair(), attestationTtlMs: ttlMs },
    where: { sessionId: "claude-1", pid: 1, cwd: "/repo/web" },
    requestTimeoutMs: 300,
    random: () => 0,
    onState: (s, d) => s !== "open" && d.code !== undefined && closes.push(d.code),
  });
  await client.connect();
  const firstExpiry = Date.now() + ttlMs;
  await until(() => results >= 2 || closes.length > 0, "a second renewal answered, or a close", 10_000);
  // No event says that the broker's liveness round after the first attestation's expiry passed
  // without closing: wait for it (one pingInterval past the expiry, and a little slack).
  await Bun.sleep(Math.max(0, firstExpiry + 1500 - Date.now()));
  expect({ state: client.state, closes, results }).toEqual({ state: "open", closes: [], results: 2 });
  client.close();
}, 20_000);
