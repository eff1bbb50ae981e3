// The dashboard's pure parts: the login link (§3.7 signed by the member key, everything in the
// fragment), cookie sessions (expiry, hashing, attributes) and the chart sampler's rates and bound.
import { describe, expect, test } from "bun:test";
import { dashboardLink, parseDashboardFragment, FRAGMENT_PREFIX, type PageKeys } from "../../src/client/dashboard-link.ts";
import { dashboardLoginCanonical } from "../../src/protocol/canonical.ts";
import { DASHBOARD_LINK_TTL_MS } from "../../src/protocol/limits.ts";
import { generateSigningKeypair, verifyDetached } from "../../src/crypto/sign.ts";
import { toBase64Url } from "../../src/crypto/encoding.ts";
import { SessionStore, SESSION_TTL_MS, cookieHeader, readCookies, showsPageKey } from "../../src/broker/dashboard-sessions.ts";
import { MAX_SHOWN_PAGE_KEYS } from "../../src/protocol/dashboard-keys.ts";
import { sha256Hex } from "../../src/crypto/hash.ts";
import { MetricSampler, SAMPLE_CAPACITY } from "../../src/broker/dashboard-samples.ts";
import { createMetrics } from "../../src/broker/metrics.ts";
import type { Store } from "../../src/store/types.ts";

const kp = generateSigningKeypair();
const member = { brokerUrl: "https://mesh.example.com", meshId: "mesh_unit_0001", memberId: "mbr_unit_0001", secretKey: kp.secretKey };
const keys: PageKeys = { publicKey: kp.publicKey, secretKey: kp.secretKey, meshKeys: [{ epoch: 0, key: "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=" }], brokerUrl: member.brokerUrl, slug: "unit", name: "Unit", ownerPubkey: generateSigningKeypair().publicKey };

describe("login link", () => {
  test("signs §3.7 with the member key, expires after the TTL, and carries everything in the fragment", () => {
    const { url, login } = dashboardLink(member, { nonce: "nonce_unit_0001", nowMs: 1_767_225_600_000, keys });
    expect(login.expiresAt).toBe(1_767_225_600_000 + DASHBOARD_LINK_TTL_MS);
    expect(verifyDetached(login.signature, dashboardLoginCanonical(member.meshId, member.memberId, "nonce_unit_0001", login.expiresAt), kp.publicKey)).toBe(true);
    const u = new URL(url);
    expect({ origin: u.origin, path: u.pathname, search: u.search }).toEqual({ origin: member.brokerUrl, path: "/", search: "" });
    expect(parseDashboardFragment(u.hash)).toEqual({ v: 1, login, keys });
  });

  test("a link from before ownerPubkey was added still opens, without it", () => {
    const { ownerPubkey: _, ...older } = keys;
    const { url, login } = dashboardLink(member, { nonce: "nonce_unit_0004", nowMs: 1, keys: older });
    expect(parseDashboardFragment(new URL(url).hash)).toEqual({ v: 1, login, keys: older });
  });

  test("a member's link (no keys) round-trips without keys", () => {
    const { url, login } = dashboardLink(member, { nonce: "nonce_unit_0002", nowMs: 1 });
    expect(parseDashboardFragment(new URL(url).hash)).toEqual({ v: 1, login });
  });

  test("anything else in the fragment is refused before the page uses it", () => {
    const good = parseDashboardFragment(new URL(dashboardLink(member, { nonce: "nonce_unit_0003", nowMs: 1, keys }).url).hash)!;
    const frag = (p: unknown) => FRAGMENT_PREFIX + toBase64Url(new TextEncoder().encode(JSON.stringify(p)));
    for (const bad of [
      "",
      "#other",
      `${FRAGMENT_PREFIX}%%%`,
      `${FRAGMENT_PREFIX}bm90IGpzb24`,
      frag({ ...good, v: 2 }),
      frag({ ...good, login: { ...good.login, meshId: "x|y" } }),
      frag({ ...good, login: { ...good.login, expiresAt: "soon" } }),
      frag({ ...good, login: { ...good.login, signature: "00" } }),
      frag({ ...good, keys: { ...keys, secretKey: "nope" } }),
      frag({ ...good, keys: { ...keys, meshKeys: "all" } }),
      frag({ ...good, keys: { ...keys, ownerPubkey: "not-a-key" } }),
    ]) {
      expect(parseDashboardFragment(bad)).toBeNull();
    }
  });
});

describe("sessions", () => {
  test("a cookie value opens its session until it expires; only its hash is kept", () => {
    let now = 1_000;
    const store = new SessionStore(() => now);
    const { token, pageKey, session } = store.open({ kind: "member", meshId: "m", memberId: "u" });
    expect(session).toEqual({ kind: "member", meshId: "m", memberId: "u", endsAt: 1_000 + SESSION_TTL_MS, pageKeyHash: sha256Hex(pageKey) });
    expect([token, pageKey]).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)]);
    expect(JSON.stringify([...(store as any).byHash])).not.toContain(token);
    expect(JSON.stringify([...(store as any).byHash])).not.toContain(pageKey);
    expect(store.get(token)).toEqual(session);
    expect(store.get(undefined)).toBeNull();
    expect(store.get(token + "x")).toBeNull();
    now += SESSION_TTL_MS;
    expect(store.get(token)).toBeNull();
  });

  test("a session's page key is shown alone or in a comma-separated list; another's is not", () => {
    const store = new SessionStore(() => 0);
    const [a, b] = [store.open({ kind: "member", meshId: "m", memberId: "u" }), store.open({ kind: "operator", tokenHash: "h" })];
    const shows = (shown: string | null) => showsPageKey(a.session, shown);
    expect([shows(a.pageKey), shows(`${b.pageKey}, ${a.pageKey}`), shows(b.pageKey), shows(null), shows(""), shows(`${a.pageKey}x`)]).toEqual([true, true, false, false, false, false]);
    // Only the first MAX_SHOWN_PAGE_KEYS count.
    expect(shows([...Array(MAX_SHOWN_PAGE_KEYS).fill(b.pageKey), a.pageKey].join(","))).toBe(false);
  });

  test("close ends a session at once", () => {
    const store = new SessionStore(() => 0);
    const { token } = store.open({ kind: "operator", tokenHash: "h" });
    store.close(token);
    expect(store.get(token)).toBeNull();
  });

  test("cookies: HttpOnly, SameSite=Strict, Path=/, Secure only over https; parsing", () => {
    expect(cookieHeader("cm_dashboard", "abc", 28800, false)).toBe("cm_dashboard=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800");
    expect(cookieHeader("cm_dashboard", "", 0, true)).toBe("cm_dashboard=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure");
    expect(readCookies("a=1; cm_dashboard=xyz; b=2", "cm_dashboard")).toEqual(["xyz"]);
    expect(readCookies("cm_dashboard=a; x=1; cm_dashboard=b", "cm_dashboard")).toEqual(["a", "b"]);
    expect(readCookies(Array.from({ length: 20 }, (_, i) => `cm_dashboard=v${i}`).join("; "), "cm_dashboard")).toHaveLength(8);
    expect(readCookies("xcm_dashboard=1", "cm_dashboard")).toEqual([]);
    expect(readCookies(null, "cm_dashboard")).toEqual([]);
  });
});

describe("chart sampler", () => {
  const storeWithDepth = (depth: () => number) => ({ totalQueueDepth: async () => depth() }) as unknown as Store;

  test("counters become per-second rates between samples; gauges are taken as they are", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let now = 0;
    let depth = 0;
    const sampler = new MetricSampler(metrics, storeWithDepth(() => depth), () => now);
    await sampler.sample();
    now = 5_000;
    metrics.messagesRouted.inc({ priority: "next" }, 40);
    metrics.messagesRouted.inc({ priority: "now" }, 10);
    metrics.connectionsRejected.inc({ reason: "bad_signature" }, 5);
    metrics.messagesRejected.inc({ reason: "rate_limited" }, 5);
    metrics.connectionsActive.set(3);
    depth = 7;
    await sampler.sample();
    now = 5_500; // the current reading is within a second of the last sample: not repeated
    expect(await sampler.points()).toEqual([{ t: 5_000, connections: 3, queueDepth: 7, messagesPerS: 10, rejectionsPerS: 2 }]);
  });

  test("the ring keeps at most SAMPLE_CAPACITY samples", async () => {
    let now = 0;
    const sampler = new MetricSampler(createMetrics({ defaultMetrics: false }), storeWithDepth(() => 0), () => (now += 5_000));
    for (let i = 0; i < SAMPLE_CAPACITY + 10; i++) await sampler.sample();
    expect((await sampler.points()).length).toBe(SAMPLE_CAPACITY);
  });
});
