// The dashboard HTTP routes as another client would use them (§3.7, §6.7): a signed login link
// exchanged for a cookie, the member's view, and a #general post sealed by §11.3.
import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { dashboardLoginCanonical, randomId, sign } from "./wire.ts";
import { postJson, type Member } from "./transport.ts";
import { encodeInner, openMessage, sealFanout } from "./envelopes.ts";
import { closeAll, meshWith } from "./fixture.ts";

function loginBody(m: Member, expiresAt = Date.now() + 120_000) {
  const nonce = randomId("nonce");
  return { meshId: m.meshId, memberId: m.memberId, nonce, expiresAt, signature: sign(dashboardLoginCanonical(m.meshId, m.memberId, nonce, expiresAt), m.key) };
}

test("dashboard: login once with a §3.7 link, read the mesh, post to #general", async () => {
  await using b = await startBroker();
  const { mesh, owner: alice, ownerConn: aliceConn, others } = await meshWith(b.url, ["bob"]);
  const { conn: bobConn, meshKeys: bobKeys } = others[0]!;

  const body = loginBody(alice);
  const res = await fetch(b.url + "/v1/dashboard/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  const cookie = res.headers.get("set-cookie")!;
  expect(cookie).toMatch(/^cm_dashboard=[^;]+;/);
  expect(cookie).toContain("HttpOnly");
  expect(cookie).toContain("SameSite=Strict");
  const login = await res.json();
  expect(login.member).toMatchObject({ memberId: alice.memberId, role: "owner" });
  expect(login.meshId).toBe(mesh.meshId);
  // The cookie counts only with the page key the login answered with (§6.7).
  const pageKey = res.headers.get("x-dashboard-page-key")!;
  expect(pageKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const jar = { cookie: cookie.split(";")[0]!, "x-dashboard-page-key": pageKey };

  // the same link again is a replay; an expired one is `expired`; another origin is forbidden
  const again = await postJson(b.url, "/v1/dashboard/login", body);
  expect([again.status, again.body.error.code]).toEqual([401, "replayed"]);
  const old = await postJson(b.url, "/v1/dashboard/login", loginBody(alice, Date.now() - 1000));
  expect([old.status, old.body.error.code]).toEqual([401, "expired"]);
  const far = await postJson(b.url, "/v1/dashboard/login", loginBody(alice, Date.now() + 10 * 60_000));
  expect([far.status, far.body.error.code]).toEqual([400, "ttl_too_long"]);
  const cross = await postJson(b.url, "/v1/dashboard/login", loginBody(alice), { origin: "https://evil.example" });
  expect([cross.status, cross.body.error.code]).toEqual([403, "forbidden"]);

  const me = await (await fetch(b.url + "/v1/dashboard/me", { headers: jar })).json();
  expect(me).toMatchObject({ admin: true, member: { memberId: alice.memberId }, mesh: { id: mesh.meshId, keyEpoch: 0 } });
  expect((await fetch(b.url + "/v1/dashboard/me")).status).toBe(401);
  expect(await (await fetch(b.url + "/v1/dashboard/session", { headers: jar })).json()).toEqual({ member: true, operator: false });
  const keyless = await fetch(b.url + "/v1/dashboard/me", { headers: { cookie: jar.cookie } });
  expect([keyless.status, ((await keyless.json()) as any).error.code]).toEqual([401, "page_key_required"]);

  // a post sealed in "the page" reaches bob over the WebSocket and opens with his keys
  const id = randomId("cm");
  const inner = encodeInner({ v: 1, mesh: mesh.meshId, from: alice.key.pub, to: "#general", id, ts: Date.now(), kind: "text", body: "from the dashboard" });
  const posted = await postJson(b.url, "/v1/dashboard/topics/general/messages", { clientMessageId: id, ...sealFanout(alice.key, mesh.meshKeys.get(0)!, 0, mesh.meshId, "#general", inner) }, jar);
  expect(posted.status).toBe(201);
  expect(posted.body).toMatchObject({ duplicate: false, topicOffset: 1, undeliverable: [] });
  const m = await bobConn.message((x) => x.messageId === posted.body.messageId);
  expect(openMessage(m as any, [], bobKeys).body).toBe("from the dashboard");
  const hist = await (await fetch(b.url + "/v1/dashboard/topics/general/history?after=0", { headers: jar })).json();
  expect(hist).toMatchObject({ topic: "general", lastOffset: 1, historyLost: false });
  expect(hist.messages.map((x: any) => x.messageId)).toEqual([posted.body.messageId]);
  const badTopic = await fetch(b.url + "/v1/dashboard/topics/Not_A_Topic!/history", { headers: jar });
  expect(badTopic.status).toBe(400);
  await closeAll(aliceConn, bobConn);
});
