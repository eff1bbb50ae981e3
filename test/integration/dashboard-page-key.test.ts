// The dashboard's page key (docs/protocol.md §6.7, docs/security.md "The web dashboard"): browsers
// send the broker's cookies to every port of its host name, so a cookie opens a session only with
// the page key its login answered with. Pinned against a real broker over HTTP: the cookie alone,
// or with another session's key, gets 401 page_key_required; with its own key (among others, as
// the page sends them) it works, the live view taking it as a query parameter; logout needs none.
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, createTestMesh } from "../helpers/mesh.ts";
import { call, code, loginOf } from "../helpers/dashboard.ts";
import { PAGE_KEY_HEADER, PAGE_KEY_PARAM, PAGE_KEYS_ENDED_HEADER } from "../../src/protocol/dashboard-keys.ts";

type Opened = { cookie: string; key: string };

/** A login answer's cookie pair and page key, read by hand (the helpers would keep the key). */
const opened = (r: { headers: Headers }): Opened => ({ cookie: r.headers.get("set-cookie")!.split(";")[0]!, key: r.headers.get(PAGE_KEY_HEADER)! });

/** The status and error code of GET `path` with `cookie` and the page-key header `key` (none: null). */
const get = async (b: TestBroker, path: string, cookie: string, key: string | null) => code(await call(b, "GET", path, { cookie, pageKey: key }));

/** The status of the live view with `cookie`, the key in the query (and none in the header), and
 *  the start of its stream when it opened. */
async function events(b: TestBroker, cookie: string, query: string): Promise<{ status: number; first?: string }> {
  const res = await fetch(`${b.url}/v1/dashboard/events${query}`, { headers: { cookie }, signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) return (await res.body?.cancel(), { status: res.status });
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  return { status: res.status, first };
}

/** Alice (the owner) and bob, each signed in to the dashboard: alice, and their cookies and page
 *  keys (`a` hers, `other` bob's). */
async function aliceAndBob(b: Parameters<typeof loginOf>[0]) {
  const { owner: alice } = await createTestMesh(b.url, "alice");
  const bob = await addMember(b.url, alice, "bob");
  const a = opened(await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, alice) }));
  return { alice, a, other: opened(await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, bob) })) };
}

describe("the page key", () => {
  test("a member cookie opens its session only with its own page key", async () => {
    await using b = await startBroker();
    const { a, other } = await aliceAndBob(b);
    expect([a.key, other.key]).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)]);
    expect(a.key).not.toBe(other.key);

    // What a service on another port of the broker's host name gets: the cookie, not the key.
    expect(await get(b, "/v1/dashboard/me", a.cookie, null)).toEqual({ status: 401, code: "page_key_required" });
    expect(await get(b, "/v1/dashboard/mesh", a.cookie, other.key)).toEqual({ status: 401, code: "page_key_required" });
    expect(await get(b, "/v1/dashboard/me", a.cookie, "")).toEqual({ status: 401, code: "page_key_required" });
    expect(await get(b, "/v1/dashboard/charts", a.cookie, null)).toEqual({ status: 401, code: "page_key_required" }); // member or operator
    // With its key, alone or among the page's others.
    expect(await get(b, "/v1/dashboard/me", a.cookie, a.key)).toEqual({ status: 200, code: undefined });
    expect(await get(b, "/v1/dashboard/mesh", a.cookie, `${other.key}, ${a.key}`)).toEqual({ status: 200, code: undefined });
    expect(await get(b, "/v1/dashboard/charts", a.cookie, a.key)).toEqual({ status: 200, code: undefined });
    // A post is refused too, before anything is sent.
    const post = await call(b, "POST", "/v1/dashboard/topics/general/messages", { cookie: a.cookie, pageKey: null, body: { clientMessageId: "cmid-nokey-0001", nonce: Buffer.alloc(24).toString("base64"), ciphertext: Buffer.alloc(64).toString("base64") } });
    expect(code(post)).toEqual({ status: 401, code: "page_key_required" });
    expect(post.body.error.message).toContain("X-Dashboard-Page-Key");
    // /session reports a session without its key as not held (the page then shows "Sign in").
    expect((await call(b, "GET", "/v1/dashboard/session", { cookie: a.cookie, pageKey: null })).body).toEqual({ member: false, operator: false });
    expect((await call(b, "GET", "/v1/dashboard/session", { cookie: a.cookie, pageKey: a.key })).body).toEqual({ member: true, operator: false });
  });

  test("the live view takes the key as a query parameter (an EventSource sends no headers)", async () => {
    await using b = await startBroker();
    const { alice, a, other } = await aliceAndBob(b);
    expect(await events(b, a.cookie, "")).toEqual({ status: 401 });
    expect(await events(b, a.cookie, `?${PAGE_KEY_PARAM}=${other.key}`)).toEqual({ status: 401 });
    expect(await events(b, a.cookie, `?${PAGE_KEY_PARAM}=${encodeURIComponent(`${other.key},${a.key}`)}`)).toEqual({ status: 200, first: expect.stringContaining(`event: ready\ndata: {"meshId":"${alice.meshId}","memberId":"${alice.memberId}"}`) });
    // Given twice, which one was meant is not guessed.
    expect(await events(b, a.cookie, `?${PAGE_KEY_PARAM}=${a.key}&${PAGE_KEY_PARAM}=${a.key}`)).toEqual({ status: 400 });
    // The header works here as on any other route; the query parameter only here.
    const byHeader = await fetch(`${b.url}/v1/dashboard/events`, { headers: { cookie: a.cookie, [PAGE_KEY_HEADER]: a.key }, signal: AbortSignal.timeout(5_000) });
    expect(byHeader.status).toBe(200);
    await byHeader.body?.cancel();
    expect(code(await call(b, "GET", `/v1/dashboard/me?${PAGE_KEY_PARAM}=${a.key}`, { cookie: a.cookie, pageKey: null }))).toEqual({ status: 401, code: "page_key_required" });
  });

  test("an operator cookie needs its own key; the Bearer token none; logout ends a session without one", async () => {
    await using b = await startBroker();
    const { owner: alice } = await createTestMesh(b.url, "alice");
    const a = opened(await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, alice) }));
    const op = opened(await call(b, "POST", "/v1/dashboard/operator/login", { body: { token: b.firstRunToken } }));
    const overview = (cookie: string, key: string | null) => get(b, "/v1/dashboard/operator/overview", cookie, key);
    expect(await overview(op.cookie, null)).toEqual({ status: 401, code: "page_key_required" });
    expect(await overview(op.cookie, a.key)).toEqual({ status: 401, code: "page_key_required" });
    expect(await overview(op.cookie, op.key)).toEqual({ status: 200, code: undefined });
    expect(code(await call(b, "GET", "/v1/dashboard/operator/overview", { headers: { authorization: `Bearer ${b.firstRunToken}` } }))).toEqual({ status: 200, code: undefined });
    // Both cookies, as a browser sends them, with both keys: each session finds its own.
    const both = `${a.cookie}; ${op.cookie}`;
    expect((await call(b, "GET", "/v1/dashboard/session", { cookie: both, pageKey: `${a.key},${op.key}` })).body).toEqual({ member: true, operator: true });
    // Signing out needs no key (ending a session gives nothing away) and ends both.
    expect((await call(b, "POST", "/v1/dashboard/logout", { cookie: both, pageKey: null, body: {} })).status).toBe(200);
    expect(await get(b, "/v1/dashboard/me", a.cookie, a.key)).toEqual({ status: 401, code: "unauthorized" });
    expect(await overview(op.cookie, op.key)).toEqual({ status: 401, code: "unauthorized" });
  });

  // Security review, session 22: a page on another port of the host can set one more
  // `cm_dashboard` cookie with a longer Path, which the browser sends first. The broker read only
  // the first value, so the dashboard said "not logged in" until that cookie expired, and a logout
  // ended the planted value, not the session.
  test("a second cookie of the same name, sent first, neither hides the session nor survives logout", async () => {
    await using b = await startBroker();
    const { a, other } = await aliceAndBob(b);
    const planted = `cm_dashboard=planted-by-another-port; ${a.cookie}`;
    expect(await get(b, "/v1/dashboard/me", planted, a.key)).toEqual({ status: 200, code: undefined });
    expect((await events(b, planted, `?${PAGE_KEY_PARAM}=${a.key}`)).status).toBe(200);
    // Another live session first: the one whose key the request shows is the one used.
    const both = `${other.cookie}; ${a.cookie}`;
    expect((await call(b, "GET", "/v1/dashboard/me", { cookie: both, pageKey: a.key })).body.member.displayName).toBe("alice");
    expect(await get(b, "/v1/dashboard/me", planted, null)).toEqual({ status: 401, code: "page_key_required" });
    // A logout ends every session its cookies name.
    expect((await call(b, "POST", "/v1/dashboard/logout", { cookie: planted, pageKey: null, body: {} })).status).toBe(200);
    expect(await get(b, "/v1/dashboard/me", a.cookie, a.key)).toEqual({ status: 401, code: "unauthorized" });
    expect(await get(b, "/v1/dashboard/me", other.cookie, other.key)).toEqual({ status: 200, code: undefined });
  });

  // Session 32: the page kept its last 4 keys, so a few member logins in one origin pushed out the
  // key of the operator session opened before them, which was still open. The broker now names the
  // keys that open nothing any more, and the page forgets those only.
  test("logins, logout and /session name the shown keys whose sessions this browser no longer holds", async () => {
    await using b = await startBroker();
    const { owner: alice } = await createTestMesh(b.url, "alice");
    const ended = (r: { headers: Headers }) => r.headers.get(PAGE_KEYS_ENDED_HEADER);
    const a = opened(await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, alice) }));
    const op = opened(await call(b, "POST", "/v1/dashboard/operator/login", { cookie: a.cookie, pageKey: a.key, body: { token: b.firstRunToken } }));
    const both = `${a.cookie}; ${op.cookie}`;
    const session = (cookie: string, keys: string) => call(b, "GET", "/v1/dashboard/session", { cookie, pageKey: keys });
    // Every shown key is someone's live session: none named. A key of no session, or one whose
    // cookie this request lacks, is named by its position; so is a key not shown at all, never.
    expect(ended(await session(both, `${op.key},${a.key}`))).toBeNull();
    expect(ended(await session(both, `made-up,${op.key},,${a.key}`))).toBe("0,2");
    expect(ended(await session(a.cookie, `${op.key},${a.key}`))).toBe("0");
    expect(ended(await call(b, "GET", "/v1/dashboard/session", { cookie: both, pageKey: null }))).toBeNull();
    // A member login ends the member session its cookie named, and says so; the operator's stays.
    const a2 = await call(b, "POST", "/v1/dashboard/login", { cookie: both, pageKey: `${op.key},${a.key}`, body: loginOf(b, alice) });
    expect({ status: a2.status, ended: ended(a2) }).toEqual({ status: 200, ended: "1" });
    const again = opened(a2);
    // So does an operator login, for the operator session it replaces (its cookie is gone).
    const op2 = await call(b, "POST", "/v1/dashboard/operator/login", { cookie: `${again.cookie}; ${op.cookie}`, pageKey: `${op.key},${again.key}`, body: { token: b.firstRunToken } });
    expect({ status: op2.status, ended: ended(op2) }).toEqual({ status: 200, ended: "0" });
    expect(await get(b, "/v1/dashboard/operator/overview", op.cookie, op.key)).toEqual({ status: 401, code: "unauthorized" });
    const nowBoth = `${again.cookie}; ${opened(op2).cookie}`;
    expect((await session(nowBoth, `${again.key},${opened(op2).key}`)).body).toEqual({ member: true, operator: true });
    // A logout ends both: every key shown is named.
    const out = await call(b, "POST", "/v1/dashboard/logout", { cookie: nowBoth, pageKey: `${again.key},${opened(op2).key},made-up`, body: {} });
    expect({ status: out.status, ended: ended(out) }).toEqual({ status: 200, ended: "0,1,2" });
  });
});
