// Refused handshakes in the log (docs/operations.md "Logs": events that can repeat without bound are
// logged at most once every 10 s). A review flooded a broker with junk hellos, no key needed: one
// info line per refusal, 37,021 lines (5.1 MB) in 10 s. Now each reason has its throttle (the
// first line, then one per LOG_EVERY_MS with notLoggedSinceLast); a refusal only a member's
// signed hello reaches (replayed, revoked, capacity) has one per member, so one member's retries
// do not hide another's. broker_connections_rejected_total still counts every refusal.
import { describe, expect, test } from "bun:test";
import { LOG_EVERY_MS } from "../../src/broker/throttled-log.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { brokerClock, startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { rawSocket } from "../helpers/raw.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

const rejectedLines = (b: TestBroker) => b.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "connection rejected");
const rejected = async (b: TestBroker, reason: string) => {
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  return Number(new RegExp(`broker_connections_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
};

/** Sends `frame` as the first frame of `n` sockets, `parallel` at a time; resolves once all closed. */
async function refuseMany(b: TestBroker, frame: unknown, n: number, parallel = 16): Promise<string[]> {
  const reasons: string[] = [];
  await Promise.all(
    Array.from({ length: parallel }, async (_, k) => {
      for (let i = k; i < n; i += parallel) {
        const s = await rawSocket(b.url);
        s.send(frame);
        reasons.push((await s.closed).reason);
      }
    }),
  );
  return reasons;
}

const helloOf = (m: TestMember) => buildHello({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys }, { sessionId: "s", pid: 1, cwd: "/" }, Date.now());

describe("refused handshakes in the log", () => {
  test("a flood of junk hellos: every one counted, one line per reason per 10 s, with the count left out", async () => {
    await using b = await startBroker();
    const junk = { type: "hello", meshId: "x", memberId: "y", pubkey: "zz", sessionId: "s", pid: 1, cwd: "/", timestamp: Date.now(), signature: "00" };
    expect(new Set(await refuseMany(b, junk, 300))).toEqual(new Set(["malformed"]));
    // Another reason has its own line at once.
    expect(await refuseMany(b, { type: "list_peers", id: 1 }, 5)).toEqual(Array(5).fill("no_hello"));
    expect([await rejected(b, "malformed"), await rejected(b, "no_hello")]).toEqual([300, 5]);
    expect(rejectedLines(b).map((l) => [l.level, l.reason, l.notLoggedSinceLast])).toEqual([
      ["info", "malformed", 0],
      ["info", "no_hello", 0],
    ]);
    brokerClock(b, LOG_EVERY_MS);
    await refuseMany(b, junk, 1);
    expect(rejectedLines(b).map((l) => [l.reason, l.notLoggedSinceLast])).toEqual([
      ["malformed", 0],
      ["no_hello", 0],
      ["malformed", 299],
    ]);
    expect(rejectedLines(b).at(-1)).toMatchObject({ level: "info", ip: "127.0.0.1" });
  });

  test("a member's replayed hello: one line per member, so a flood of one member's does not hide another's", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const bob = await addMember(b.url, owner, "bob");
    const hellos = [helloOf(owner), helloOf(bob)];
    for (const h of hellos) {
      const s = await rawSocket(b.url);
      s.send(h);
      expect((await s.next()).type).toBe("hello_ack");
      s.ws.close();
    }
    const before = rejectedLines(b).length;
    expect(await refuseMany(b, hellos[1], 50)).toEqual(Array(50).fill("replayed"));
    expect(await refuseMany(b, hellos[0], 3)).toEqual(Array(3).fill("replayed"));
    expect(await rejected(b, "replayed")).toBe(53);
    expect(rejectedLines(b).slice(before).map((l) => [l.reason, l.pubkey, l.notLoggedSinceLast])).toEqual([
      ["replayed", bob.keys.publicKey, 0],
      ["replayed", owner.keys.publicKey, 0],
    ]);
    brokerClock(b, LOG_EVERY_MS);
    await refuseMany(b, hellos[1], 1);
    expect(rejectedLines(b).at(-1)).toMatchObject({ reason: "replayed", meshId: bob.meshId, pubkey: bob.keys.publicKey, notLoggedSinceLast: 49 });
  });

  test("a skewed hello's line says by how much; a refused session hello's names the parent key it claimed", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url);
    const skewed = buildHello({ kind: "member", meshId: owner.meshId, memberId: owner.memberId, keys: owner.keys }, { sessionId: "s", pid: 1, cwd: "/" }, Date.now() + 300_000);
    expect(await refuseMany(b, skewed, 1)).toEqual(["timestamp_skew"]);
    const skew = rejectedLines(b).find((l) => l.reason === "timestamp_skew");
    expect(skew.skewMs).toBeGreaterThan(290_000);
    expect(skew.skewMs).toBeLessThanOrEqual(300_000);
    // A session attested by a key that is no member of the mesh.
    const stranger = generateSigningKeypair();
    const session = buildHello({ kind: "session", meshId: owner.meshId, memberId: owner.memberId, memberKeys: stranger, sessionKeys: generateSigningKeypair() }, { sessionId: "s2", pid: 1, cwd: "/" });
    const [reason] = await refuseMany(b, session, 1);
    expect(rejectedLines(b).find((l) => l.reason === reason)).toMatchObject({ meshId: owner.meshId, parentMemberPubkey: stranger.publicKey });
  });
});
