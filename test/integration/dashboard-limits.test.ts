// Dashboard limits that keep one mesh from denying the dashboard to another (docs/security.md,
// "The web dashboard"; protocol.md §6.7). Mesh creation is open, so an attacker always has a mesh
// of its own: its logins may evict only its own sessions, its live streams may fill only its own
// mesh's slots, and logins are throttled per client address (429 rate_limited). A live stream whose
// client stops reading is dropped at MAX_UNSENT_BYTES instead of growing the broker's memory.
import { describe, expect, test } from "bun:test";
import { connect as tcp, type Socket } from "node:net";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createInvite, createTestMesh, joinWithInvite, type TestMember } from "../helpers/mesh.ts";
import { until } from "../helpers/until.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { LOGIN_BURST } from "../../src/broker/dashboard-login.ts";
import { MAX_STREAMS_PER_MEMBER, MAX_STREAMS_PER_MESH, MAX_UNSENT_BYTES } from "../../src/broker/http/dashboard-events.ts";
import { MAX_SUMMARY_LEN } from "../../src/protocol/limits.ts";
import { keepPageKey, withKey } from "../helpers/dashboard.ts";
import { RateLimiter } from "../../src/broker/rate-limit.ts";

const LOCAL_PROXY = ["127.0.0.1", "::1", "::ffff:127.0.0.1"];

const loginBody = (b: TestBroker, m: TestMember) => dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).login;

/** One login; `from` is sent as X-Forwarded-For (believed only from a trusted proxy). */
async function login(b: TestBroker, m: TestMember, from?: string): Promise<{ status: number; body: any; cookie: string; retryAfter: string | null }> {
  const res = await fetch(`${b.url}/v1/dashboard/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(from ? { "x-forwarded-for": from } : {}) },
    body: JSON.stringify(loginBody(b, m)),
  });
  return { status: res.status, body: await res.json(), cookie: res.headers.get("set-cookie") ? keepPageKey(res) : "", retryAfter: res.headers.get("retry-after") };
}

const me = async (b: TestBroker, cookie: string) => (await fetch(`${b.url}/v1/dashboard/me`, { headers: withKey(cookie) })).status;

/** Opens /v1/dashboard/events on a raw socket (held open; fetch would cap parallel connections)
 *  and resolves with the status code and, for a refusal, the error body. */
function openStream(b: TestBroker, cookie: string, held: Socket[]): Promise<{ status: number; code?: string }> {
  const u = new URL(b.url);
  return new Promise((resolve, reject) => {
    const s = tcp(Number(u.port), u.hostname, () => s.write(`GET /v1/dashboard/events HTTP/1.1\r\nHost: ${u.host}\r\n${Object.entries(withKey(cookie)).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`));
    held.push(s);
    let text = "";
    s.on("error", reject);
    s.on("data", (d) => {
      text += String(d);
      const status = Number(text.split(" ")[1]);
      if (status === 200 && text.includes("event: ready")) resolve({ status });
      else if (status !== 200 && text.includes("}}")) resolve({ status, code: /"code":"([a-z_]+)"/.exec(text)?.[1] });
    });
  });
}

describe("dashboard sessions", () => {
  test("10,000 logins into another mesh never sign a member out", async () => {
    await using b = await startBroker({ trustedProxies: LOCAL_PROXY });
    const victim = (await createTestMesh(b.url, "victim")).owner;
    const { cookie } = await login(b, victim);
    expect(await me(b, cookie)).toBe(200);
    const attacker = (await createTestMesh(b.url, "attacker")).owner;
    const first = await login(b, attacker, "10.9.0.1");
    // From many addresses (each under the login throttle), as a distributed attacker would.
    let n = 1;
    const statuses = new Set<number>();
    for (let batch = 0; n < 10_001; batch++) {
      const from = `10.${10 + (batch >> 8)}.${batch & 255}.1`;
      const rs = await Promise.all(Array.from({ length: 20 }, () => login(b, attacker, from)));
      for (const r of rs) statuses.add(r.status);
      n += rs.length;
    }
    expect([...statuses]).toEqual([200]);
    expect(await me(b, cookie)).toBe(200);
    // The attacker's own oldest session made room for its newer ones.
    expect(await me(b, first.cookie)).toBe(401);
  }, 120_000);

  test("wrong operator tokens as Bearer headers use up the same per-address allowance; the right one still works", async () => {
    await using b = await startBroker();
    const overview = (token: string) => fetch(`${b.url}/v1/dashboard/operator/overview`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < LOGIN_BURST; i++) expect((await overview(`cmo_wrong_${i}`)).status).toBe(401);
    const refused = await overview("cmo_wrong_again");
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, expect.stringMatching(/^[1-6]$/)]);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    expect((await overview(b.firstRunToken!)).status).toBe(200);
  });

  test("logins are throttled per client address; X-Forwarded-For counts only from a trusted proxy", async () => {
    await using direct = await startBroker();
    const m = (await createTestMesh(direct.url, "alice")).owner;
    for (let i = 0; i < LOGIN_BURST; i++) expect((await login(direct, m)).status).toBe(200);
    const refused = await login(direct, m);
    // Retry-After: whole seconds until this address has a login again (one every 6 s).
    expect({ status: refused.status, body: refused.body, retryAfter: refused.retryAfter }).toEqual({ status: 429, body: { error: { code: "rate_limited", message: expect.stringContaining("Too many dashboard logins from this address"), retryable: true } }, retryAfter: expect.stringMatching(/^[1-6]$/) });
    // A made-up forwarded address from an untrusted peer changes nothing.
    expect((await login(direct, m, "203.0.113.7")).status).toBe(429);
    // The throttle comes before any check: an expired link gets 429, not `expired`.
    const stale = dashboardLink({ brokerUrl: direct.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() - 600_000 }).login;
    const res = await fetch(`${direct.url}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(stale) });
    expect(res.status).toBe(429);

    await using proxied = await startBroker({ trustedProxies: LOCAL_PROXY });
    const p = (await createTestMesh(proxied.url, "bob")).owner;
    for (let i = 0; i < LOGIN_BURST; i++) expect((await login(proxied, p, "198.51.100.1")).status).toBe(200);
    expect((await login(proxied, p, "198.51.100.1")).status).toBe(429);
    expect((await login(proxied, p, "198.51.100.2")).status).toBe(200);
    // The operator login shares the throttle.
    const op = await fetch(`${proxied.url}/v1/dashboard/operator/login`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.1" }, body: JSON.stringify({ token: proxied.firstRunToken }) });
    expect(op.status).toBe(429);
  }, 60_000);
});

describe("dashboard live streams", () => {
  test("one mesh filling its streams does not refuse another mesh's", async () => {
    await using b = await startBroker({ maxConnectionsPerIp: 100_000 });
    const held: Socket[] = [];
    try {
      const victim = (await createTestMesh(b.url, "victim")).owner;
      const victimCookie = (await login(b, victim)).cookie;
      const atk = (await createTestMesh(b.url, "atk")).owner;
      const perMesh = MAX_STREAMS_PER_MESH / MAX_STREAMS_PER_MEMBER; // members that fill the mesh
      const inv = await createInvite(b.url, atk, { maxUses: perMesh });
      const members = [atk, ...(await Promise.all(Array.from({ length: perMesh }, (_, i) => joinWithInvite(b.url, inv, `s${i}`))))];
      const cookies = [];
      for (const m of members) cookies.push((await login(b, m)).cookie);
      const opened = [];
      for (const c of cookies.slice(0, perMesh)) for (let i = 0; i < MAX_STREAMS_PER_MEMBER; i++) opened.push(await openStream(b, c, held));
      expect(opened.filter((s) => s.status === 200)).toHaveLength(MAX_STREAMS_PER_MESH);
      // The mesh is full: its next member is refused, and only that mesh.
      expect(await openStream(b, cookies[perMesh]!, held)).toEqual({ status: 503, code: "unavailable" });
      expect(await openStream(b, victimCookie, held)).toEqual({ status: 200 });
    } finally {
      for (const s of held) s.destroy();
    }
  }, 60_000);

  test("streams from one client address are bounded by maxConnectionsPerIp (429 too_many_connections)", async () => {
    await using b = await startBroker({ maxConnectionsPerIp: 3 });
    const held: Socket[] = [];
    try {
      const m = (await createTestMesh(b.url, "alice")).owner;
      const cookie = (await login(b, m)).cookie;
      for (let i = 0; i < 3; i++) expect(await openStream(b, cookie, held)).toEqual({ status: 200 });
      expect(await openStream(b, cookie, held)).toEqual({ status: 429, code: "too_many_connections" });
      held.shift()!.destroy();
      let again = { status: 0 } as { status: number };
      for (let i = 0; i < 50 && again.status !== 200; i++) {
        await Bun.sleep(20);
        again = await openStream(b, cookie, held);
      }
      expect(again.status).toBe(200);
    } finally {
      for (const s of held) s.destroy();
    }
  }, 30_000);

  test("a stream whose client stops reading is dropped once MAX_UNSENT_BYTES wait unsent; a reading one stays", async () => {
    // Thousands of summary changes on one connection: its frame allowance (§2.2) is lifted, as the
    // status allowance is below; neither is what this test is about.
    await using b = await startBroker({ requestRate: 1_000_000, requestBurst: 1_000_000 });
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const cookie = (await login(b, owner)).cookie;
    const held: Socket[] = [];
    try {
      // The stalled client: it read `ready`, then reads nothing (the kernel's buffers fill, then the
      // broker's queue for this stream grows).
      expect(await openStream(b, cookie, held)).toEqual({ status: 200 });
      const stalled = held[0]!;
      let stalledText = "";
      stalled.on("data", (d) => (stalledText += String(d)));
      const stalledClosed = new Promise((resolve) => stalled.once("close", resolve));
      stalled.pause();
      // A browser that keeps up.
      const res = await fetch(`${b.url}/v1/dashboard/events`, { headers: withKey(cookie) });
      const reader = res.body!.getReader();
      let readText = "";
      let readEnded = false;
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return void (readEnded = true);
          readText = (readText + new TextDecoder().decode(value)).slice(-4096);
        }
      })();

      // Events from a real peer: summary changes of bob's, ~700 bytes each on the stream (as
      // many as it takes: bob's status allowance, §8.1, is not what this test is about).
      (b.ctx as { statusLimiter: RateLimiter }).statusLimiter = new RateLimiter(1e9, 1e9);
      const peer = await connect(b.url, bob);
      const summary = (tag: string) => tag.padEnd(MAX_SUMMARY_LEN, ".");
      const dropLine = () => b.logs.find((l) => l.includes("dashboard stream dropped"));
      let n = 0;
      while (!dropLine() && n < 40_000) await Promise.all(Array.from({ length: 200 }, () => peer.client.request("set_summary", { summary: summary(`before-${n++}`) })));
      expect(dropLine()).toContain("dashboard stream dropped");
      const drop = JSON.parse(dropLine()!);
      // The stream's own count of unsent bytes, when the broker gave up on it: just past the bound.
      expect({ meshId: drop.meshId, memberId: drop.memberId }).toEqual({ meshId: owner.meshId, memberId: owner.memberId });
      expect(drop.unsentBytes).toBeGreaterThan(MAX_UNSENT_BYTES);
      expect(drop.unsentBytes).toBeLessThan(MAX_UNSENT_BYTES + 2 * MAX_SUMMARY_LEN);

      // Nothing more is queued for it: what the stalled client finally reads ends before these.
      for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 200 }, (_, j) => peer.client.request("set_summary", { summary: summary(`after-${i * 200 + j}`) })));
      stalled.resume();
      await stalledClosed; // the broker closed the connection
      expect(stalledText).not.toContain("after-");
      // The reading client got everything and is still connected.
      await until(() => readEnded || readText.includes(summary("after-999")), "the reading client to get the last summary");
      expect({ readEnded, last: readText.includes(summary("after-999")) }).toEqual({ readEnded: false, last: true });
      await reader.cancel();
      peer.close();
    } finally {
      for (const s of held) s.destroy();
    }
  }, 90_000);
});
