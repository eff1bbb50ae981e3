// The dashboard's caps with small numbers and a driven clock: a mesh, a member or the operator at
// its cap loses its own oldest session, never another group's; the broker-wide ceiling refuses
// instead of evicting; stream slots are counted per member, mesh and address; the login throttle
// refills over time. The same rules on a real broker: test/integration/dashboard-limits.test.ts.
import { describe, expect, test } from "bun:test";
import { MAX_SESSIONS, MAX_SESSIONS_PER_MEMBER, MAX_SESSIONS_PER_MESH, SESSION_TTL_MS, SessionStore } from "../../src/broker/dashboard-sessions.ts";
import { StreamSlots } from "../../src/broker/http/dashboard-events.ts";
import { LOGIN_BURST, LOGIN_RATE_PER_SEC, loginThrottle } from "../../src/broker/dashboard-login.ts";
import { addressKey } from "../../src/broker/client-ip.ts";
import { MeshError } from "../../src/protocol/errors.ts";

const member = (meshId: string, memberId: string) => ({ kind: "member" as const, meshId, memberId });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof MeshError ? err.code : String(err);
  }
};

describe("session caps", () => {
  test("the defaults are ordered: member < mesh < broker", () => {
    expect(MAX_SESSIONS_PER_MEMBER).toBeLessThan(MAX_SESSIONS_PER_MESH);
    expect(MAX_SESSIONS_PER_MESH).toBeLessThan(MAX_SESSIONS);
  });

  test("a mesh at its cap loses its own oldest session, never another mesh's", () => {
    const store = new SessionStore(() => 0, { total: 100, perMesh: 3, perMember: 100, operator: 2 });
    const victim = store.open(member("v", "v1")).token;
    const attacker = Array.from({ length: 3 }, (_, i) => store.open(member("a", `a${i}`)).token);
    for (let i = 0; i < 50; i++) store.open(member("a", `x${i}`));
    expect(store.get(victim)).not.toBeNull();
    expect(attacker.map((t) => store.get(t))).toEqual([null, null, null]);
    expect(store.size).toBe(4);
  });

  test("a member at its cap loses its own oldest session, not the rest of its mesh's", () => {
    const store = new SessionStore(() => 0, { total: 100, perMesh: 10, perMember: 2, operator: 10 });
    const colleague = store.open(member("m", "bob")).token;
    const [a1, a2] = [store.open(member("m", "alice")).token, store.open(member("m", "alice")).token];
    const a3 = store.open(member("m", "alice")).token;
    expect([store.get(colleague) !== null, store.get(a1), store.get(a2) !== null, store.get(a3) !== null]).toEqual([true, null, true, true]);
  });

  test("operator sessions are their own group", () => {
    const store = new SessionStore(() => 0, { total: 100, perMesh: 10, perMember: 10, operator: 1 });
    const m = store.open(member("m", "u")).token;
    const op1 = store.open({ kind: "operator", tokenHash: "h" }).token;
    const op2 = store.open({ kind: "operator", tokenHash: "h" }).token;
    expect([store.get(m) !== null, store.get(op1), store.get(op2) !== null]).toEqual([true, null, true]);
  });

  test("at the broker-wide ceiling a login is refused (retryable), nobody is evicted; expired ones make room", () => {
    let now = 0;
    const store = new SessionStore(() => now, { total: 4, perMesh: 2, perMember: 2, operator: 1 });
    const first = [store.open(member("a", "a")), store.open(member("b", "b"))].map((s) => s.token);
    now = 1_000;
    const [d1, d2] = [store.open(member("d", "d1")).token, store.open(member("d", "d2")).token];
    const err = (() => {
      try {
        store.open(member("e", "e"));
      } catch (e) {
        return e as MeshError;
      }
    })();
    expect({ code: err?.code, retryable: err?.retryable, message: err?.message }).toEqual({ code: "unavailable", retryable: true, message: expect.stringContaining("nobody was signed out") });
    expect(codeOf(() => store.checkRoom(member("e", "e")))).toBe("unavailable");
    expect(codeOf(() => store.checkRoom(member("a", "a2")))).toBe("unavailable"); // mesh a is under its cap: no room of its own
    expect([...first, d1, d2].every((t) => store.get(t) !== null)).toBe(true);
    // A mesh at its own cap may still replace its own oldest session.
    expect(codeOf(() => store.checkRoom(member("d", "d3")))).toBeNull();
    store.open(member("d", "d3"));
    expect([store.get(d1), store.get(d2) !== null]).toEqual([null, true]);
    // Once the oldest expire, there is room again.
    now = SESSION_TTL_MS + 1;
    expect(codeOf(() => store.checkRoom(member("e", "e")))).toBeNull();
    expect(store.open(member("e", "e")).token).toBeString();
    expect(first.map((t) => store.get(t))).toEqual([null, null]);
  });

  test("closing and expiry keep the group counts right", () => {
    let now = 0;
    const store = new SessionStore(() => now, { total: 100, perMesh: 2, perMember: 2, operator: 10 });
    const a = store.open(member("m", "u")).token;
    store.close(a);
    const b = store.open(member("m", "u")).token;
    const c = store.open(member("m", "u")).token;
    expect([store.get(b) !== null, store.get(c) !== null]).toEqual([true, true]);
    now = SESSION_TTL_MS;
    expect(store.get(b)).toBeNull();
    expect(store.size).toBe(1);
    expect((store as any).groups.get("mesh:m").size).toBe(1);
  });

  test("sessions nobody signs out of are dropped at the next login once expired, not kept until a cap", () => {
    let now = 0;
    const store = new SessionStore(() => now);
    for (let i = 0; i < 200; i++) store.open(member(`mesh${i % 10}`, `u${i}`));
    now = SESSION_TTL_MS;
    store.open(member("mesh0", "back"));
    expect({ sessions: store.size, groups: (store as any).groups.size }).toEqual({ sessions: 1, groups: 2 });
  });
});

describe("stream slots", () => {
  test("per member, per mesh (503), per address (429), broker-wide (503); a release frees every count", () => {
    const slots = new StreamSlots({ total: 5, perMesh: 3, perMember: 2, perIp: 3 });
    const r1 = slots.take("m", "u", "ip1");
    slots.take("m", "u", "ip1");
    expect(codeOf(() => slots.take("m", "u", "ip2"))).toBe("unavailable");
    slots.take("m", "v", "ip1");
    expect(codeOf(() => slots.take("m", "w", "ip2"))).toBe("unavailable");
    expect(codeOf(() => slots.take("other", "x", "ip2"))).toBeNull();
    expect(codeOf(() => slots.take("other2", "y", "ip1"))).toBe("too_many_connections");
    expect(codeOf(() => slots.take("other2", "y", "ip3"))).toBeNull();
    expect(codeOf(() => slots.take("other3", "z", "ip4"))).toBe("unavailable"); // 5 open: the broker-wide bound
    r1();
    r1(); // twice is harmless
    expect(codeOf(() => slots.take("m", "w", "ip2"))).toBeNull();
  });
});

describe("login throttle", () => {
  test("a burst, then one every 1/rate seconds, per address", () => {
    let now = 0;
    const t = loginThrottle(() => [], () => now);
    for (let i = 0; i < LOGIN_BURST; i++) t.take("10.0.0.1", null);
    expect(codeOf(() => t.take("10.0.0.1", null))).toBe("rate_limited");
    expect(codeOf(() => t.take("10.0.0.2", null))).toBeNull();
    now += 1000 / LOGIN_RATE_PER_SEC;
    expect(codeOf(() => t.take("10.0.0.1", null))).toBeNull();
    expect(codeOf(() => t.take("10.0.0.1", null))).toBe("rate_limited");
  });

  test("a refusal says how long until the address has a login again (the answer's Retry-After)", () => {
    let now = 0;
    const t = loginThrottle(() => [], () => now);
    for (let i = 0; i < LOGIN_BURST; i++) t.take("10.0.0.1", null);
    const waitOf = () => {
      try {
        t.take("10.0.0.1", null);
        return null;
      } catch (err) {
        return (err as MeshError).retryAfterMs;
      }
    };
    expect(waitOf()).toBeCloseTo(1000 / LOGIN_RATE_PER_SEC);
    now += 2_500;
    expect(waitOf()).toBeCloseTo(1000 / LOGIN_RATE_PER_SEC - 2_500);
    now += 1000 / LOGIN_RATE_PER_SEC;
    expect(waitOf()).toBeNull();
  });

  test("X-Forwarded-For names the address only behind a trusted proxy", () => {
    const t = loginThrottle(() => ["127.0.0.1"], () => 0);
    for (let i = 0; i < LOGIN_BURST; i++) t.take("127.0.0.1", "198.51.100.1");
    expect(codeOf(() => t.take("127.0.0.1", "198.51.100.1"))).toBe("rate_limited");
    expect(codeOf(() => t.take("127.0.0.1", "198.51.100.2"))).toBeNull();
    const direct = loginThrottle(() => [], () => 0);
    for (let i = 0; i < LOGIN_BURST; i++) direct.take("10.0.0.1", `198.51.100.${i}`);
    expect(codeOf(() => direct.take("10.0.0.1", "198.51.100.250"))).toBe("rate_limited");
  });

  test("an IPv6 client counts under its /64: other addresses of that network share its allowance", () => {
    const t = loginThrottle(() => [], () => 0);
    for (let i = 0; i < LOGIN_BURST; i++) t.take(`2001:db8:1:2::${i.toString(16)}`, null);
    expect(codeOf(() => t.take("2001:0db8:0001:0002:ffff:ffff:ffff:ffff", null))).toBe("rate_limited");
    expect(codeOf(() => t.take("2001:db8:1:3::1", null))).toBeNull();
  });
});

describe("addressKey", () => {
  test("IPv4 as is; IPv6 as its /64, however it is written; anything else as is", () => {
    expect(addressKey("203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("2001:0DB8:0000:0000:0000:0000:0000:0002")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("64:ff9b::192.0.2.33")).toBe("64:ff9b:0:0::/64");
    expect(addressKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(addressKey("::ffff:0:192.0.2.1")).toBe("0:0:0:0::/64");
    for (const odd of ["unknown", "1::2::3", "2001:db8:1:2:3:4:5:6:7", "gggg::1", "1:2:3:4:5:6:7", "1.2.3.4.5.6::1", "2001:db8::1.2.3", "2001:db8::1.2.3.256", "1.2.3.4::1"]) expect(addressKey(odd)).toBe(odd);
  });
});
