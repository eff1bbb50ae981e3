// Rate-limit semantics (reliability plan T15; protocol.md §8.2 sendRate/sendBurst, §7.1). One
// member floods at ten times its send allowance over 1, 5 and 20 connections (its member key and
// sessions of it, mixed) from several source addresses, while an innocent member keeps sending.
// The flooder is admitted exactly its bucket's allowance (burst + rate × elapsed): the bucket is
// the member's, whatever connection, session key or address a send comes from. Every refusal is
// an `error` frame `rate_limited`, retryable, counted in broker_messages_rejected_total; the
// innocent member is never refused. The bucket's clock is the test's, so the counts are exact.
import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/broker/rate-limit.ts";
import { buildHello } from "../../src/client/credentials.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { ERRORS } from "../../src/protocol/errors.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, envelope, sendText, type TestMember } from "../helpers/mesh.ts";
import { rawSocket, type RawSocket } from "../helpers/raw.ts";
import { fromAddress } from "../helpers/source-address.ts";

const RATE = 4; // sends a second
const BURST = 8;
const SECONDS = 2; // refills after the first burst
const FLOOD = 10; // times the allowance

/** Rejections the broker has counted under `reason` (and `limit`, when given; else over all
 *  limits), as /metrics publishes them. */
async function rejected(b: TestBroker, reason: string, limit?: string): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  const labels = limit === undefined ? `reason="${reason}"(?:,limit="[a-z]+")?` : `reason="${reason}",limit="${limit}"`;
  return [...text.matchAll(new RegExp(`^broker_messages_rejected_total\\{${labels}\\} (\\d+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
}

/** Connection `i` of the flooder: even ones on its member key, odd ones as a session of it. */
async function floodConn(url: string, m: TestMember, i: number): Promise<RawSocket> {
  const s = await rawSocket(url);
  const where = { sessionId: `flood-${i}`, pid: i, cwd: `/flood/${i}` };
  const creds = i % 2 === 0
    ? ({ kind: "member", meshId: m.meshId, memberId: m.memberId, keys: m.keys } as const)
    : ({ kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys: generateSigningKeypair() } as const);
  s.send(buildHello(creds, where, Date.now() + i)); // one timestamp per hello of the member key
  expect((await s.next()).type).toBe("hello_ack");
  return s;
}

/** Sends `n` sends round-robin over `conns` at once; returns each one's answer. */
async function flood(conns: RawSocket[], to: string, n: number): Promise<Record<string, unknown>[]> {
  const sent = conns.map(() => 0);
  for (let i = 0; i < n; i++) {
    const c = i % conns.length;
    conns[c]!.send({ type: "send", id: `f${i}`, to, clientMessageId: randomId(), ...envelope("flood") });
    sent[c]!++;
  }
  const answers = await Promise.all(conns.map((s, c) => answersOn(s, sent[c]!)));
  return answers.flat();
}

/** The next `n` answers (results and errors) on `s`; events (peers joining) are passed over. */
async function answersOn(s: RawSocket, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  while (out.length < n) {
    const f = await s.next();
    if (f.type === "result" || f.type === "error") out.push(f);
  }
  return out;
}

describe("a member flooding at ten times its send allowance", () => {
  test.each([1, 5, 20])("over %i connection(s) from several addresses is admitted its allowance; the innocent member is never refused", async (n) => {
    await using b = await startBroker({ sendRate: RATE, sendBurst: BURST });
    let nowMs = 0;
    (b.ctx as { sendLimiter: RateLimiter }).sendLimiter = new RateLimiter(RATE, BURST, () => nowMs);
    const { owner: flooder } = await createTestMesh(b.url);
    const innocent = await addMember(b.url, flooder, "innocent");
    const sink = await addMember(b.url, flooder, "sink"); // offline: every admitted send is queued
    const addresses = Array.from({ length: Math.min(n, 4) }, (_, i) => `127.0.0.${i + 2}`);
    const proxies = await Promise.all(addresses.map((a) => fromAddress(b.port, a)));
    using _ = { [Symbol.dispose]: () => proxies.forEach((p) => p[Symbol.dispose]()) };
    const conns = await Promise.all(Array.from({ length: n }, (_, i) => floodConn(proxies[i % proxies.length]!.url, flooder, i)));
    const seen = new Set([...b.ctx.hub.allConns()].filter((c) => c.identity?.memberId === flooder.memberId).map((c) => c.transport.remoteAddress));
    expect([...seen].toSorted()).toEqual(addresses); // the broker saw each address
    const calm = await connect(b.url, innocent, { receive: "pull" });

    const answers: Record<string, unknown>[] = [];
    const innocentRefusals: unknown[] = [];
    for (let second = 0; second <= SECONDS; second++) {
      const allowance = second === 0 ? BURST : RATE;
      const calmSends = Promise.allSettled([1, 2, 3].map((k) => sendText(calm, sink.keys.publicKey, `calm ${second}.${k}`)));
      answers.push(...(await flood(conns, sink.keys.publicKey, FLOOD * allowance)));
      for (const r of await calmSends) if (r.status === "rejected") innocentRefusals.push(r.reason);
      nowMs += 1000;
    }

    const admitted = answers.filter((a) => a.type === "result");
    const refusals = answers.filter((a) => a.type !== "result");
    expect(admitted.length).toBe(BURST + RATE * SECONDS);
    const { code, retryable, message } = { code: "rate_limited", retryable: true, message: ERRORS.rate_limited.doc };
    expect(new Set(refusals.map((r) => JSON.stringify({ ...r, id: undefined })))).toEqual(new Set([JSON.stringify({ type: "error", code, message, retryable })]));
    expect(await rejected(b, "rate_limited")).toBe(refusals.length);
    // The limit that refused is a label of its own: the send rate, not status, change or frames.
    expect(await rejected(b, "rate_limited", "send")).toBe(refusals.length);
    expect(innocentRefusals).toEqual([]);
    expect(await b.ctx.store.queueDepth({ meshId: sink.meshId, pubkey: sink.keys.publicKey })).toBe(admitted.length + 3 * (SECONDS + 1));
    calm.close();
    for (const s of conns) s.ws.close();
  });
});
