// The dashboard's HTTP surface without a browser (docs/dashboard.md, protocol.md §3.7 and §6.7):
// login links are single-use, short-lived and bound to an active member's key; cookies are
// HttpOnly + SameSite=Strict, one member session per browser; every response carries the CSP; a session sees only its own mesh;
// invites need owner/admin; topic posts stay ciphertext; the live stream carries hub events.
// Broker-wide views (the operator token) are in dashboard-operator.test.ts.
import { describe, expect, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { cliMesh, dashboardOnce, dashboardServing, identities, ok, until } from "../helpers/cli.ts";
import { dashboardLink, parseDashboardFragment } from "../../src/client/dashboard-link.ts";
import { dashboardLoginCanonical } from "../../src/protocol/canonical.ts";
import { generateSigningKeypair, signDetached } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { buildInvite } from "../../src/client/invite-build.ts";
import { openEnvelope, sealEnvelope } from "../../src/crypto/envelope.ts";
import { readdirSync, readFileSync } from "node:fs";
import { call, code, loginOf, session, withKey } from "../helpers/dashboard.ts";
import { connectSession } from "../helpers/next-session.ts";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { PAGE_SLASH_SCRIPT } from "../../src/broker/dashboard-assets.ts";

describe("login links", () => {
  test("a link works once; the cookie is HttpOnly, SameSite=Strict, Path=/, 8 h, not Secure over http", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const login = loginOf(b, owner);
    const first = await call(b, "POST", "/v1/dashboard/login", { body: login });
    expect(first.status).toBe(200);
    expect(first.body.member).toMatchObject({ memberId: owner.memberId, role: "owner" });
    const cookie = first.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^cm_dashboard=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(code(await call(b, "POST", "/v1/dashboard/login", { body: login }))).toEqual({ status: 401, code: "replayed" });
    const me = await call(b, "GET", "/v1/dashboard/me", { cookie: cookie.split(";")[0] });
    expect(me.body).toMatchObject({ member: { memberId: owner.memberId }, admin: true, mesh: { id: owner.meshId } });
  });

  test("X-Forwarded-Proto and -Host count only from a trusted proxy: Secure cookie, the proxy's origin", async () => {
    const headers = { origin: "https://mesh.example.com", "x-forwarded-host": "mesh.example.com", "x-forwarded-proto": "https" };
    const login = async (b: TestBroker) => call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, (await createTestMesh(b.url, "alice")).owner), headers });
    await using proxied = await startBroker({ trustedProxies: ["127.0.0.1", "::1", "::ffff:127.0.0.1"] });
    const r = await login(proxied);
    expect({ status: r.status, secure: r.headers.get("set-cookie")!.endsWith("; Secure") }).toEqual({ status: 200, secure: true });
    await using direct = await startBroker();
    expect(code(await login(direct))).toEqual({ status: 403, code: "forbidden" });
    const { owner } = await createTestMesh(direct.url, "bob");
    const plain = await call(direct, "POST", "/v1/dashboard/login", { body: loginOf(direct, owner), headers: { "x-forwarded-proto": "https" } });
    expect(plain.headers.get("set-cookie")).not.toContain("Secure");
    // Reached over https: a page served over plain http on the same host may not act on it.
    const { owner: carol } = await createTestMesh(proxied.url, "carol");
    const fromHttp = await call(proxied, "POST", "/v1/dashboard/login", { body: loginOf(proxied, carol), headers: { ...headers, origin: "http://mesh.example.com" } });
    expect(code(fromHttp)).toEqual({ status: 403, code: "forbidden" });
    // A proxy that writes the scheme's default port out, or the host in capitals: the same origin.
    for (const forwarded of ["mesh.example.com:443", "Mesh.Example.COM"]) {
      const { owner: dave } = await createTestMesh(proxied.url, "dave");
      const r = await call(proxied, "POST", "/v1/dashboard/login", { body: loginOf(proxied, dave), headers: { ...headers, "x-forwarded-host": forwarded } });
      expect({ forwarded, status: r.status }).toEqual({ forwarded, status: 200 });
    }
    // Another port is another origin.
    const { owner: erin } = await createTestMesh(proxied.url, "erin");
    const elsewhere = await call(proxied, "POST", "/v1/dashboard/login", { body: loginOf(proxied, erin), headers: { ...headers, "x-forwarded-host": "mesh.example.com:8443" } });
    expect(code(elsewhere)).toEqual({ status: 403, code: "forbidden" });
  });

  test("expired, too long-lived, another key's signature, unknown member, revoked member: refused", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const post = (body: unknown) => call(b, "POST", "/v1/dashboard/login", { body });
    expect(code(await post(loginOf(b, owner, Date.now() - 6 * 60_000)))).toEqual({ status: 401, code: "expired" });
    const far = Date.now() + 60 * 60_000;
    const long = { meshId: owner.meshId, memberId: owner.memberId, nonce: randomId(), expiresAt: far, signature: signDetached(dashboardLoginCanonical(owner.meshId, owner.memberId, "x", far), owner.keys.secretKey) };
    expect(code(await post(long))).toEqual({ status: 400, code: "ttl_too_long" });
    const stranger = generateSigningKeypair();
    const forged = loginOf(b, { ...owner, keys: stranger });
    expect(code(await post(forged))).toEqual({ status: 401, code: "bad_signature" });
    const otherMember = loginOf(b, { ...owner, memberId: bob.memberId });
    expect(code(await post(otherMember))).toEqual({ status: 401, code: "bad_signature" });
    expect(code(await post({ ...loginOf(b, owner), memberId: "no-such-member" }))).toEqual({ status: 401, code: "unauthorized" });
    expect(code(await post({ ...loginOf(b, owner), extra: 1 }))).toEqual({ status: 400, code: "invalid_argument" });

    const bobCookie = await session(b, bob);
    const peer = await connect(b.url, owner);
    await peer.client.request("member_revoke", { memberId: bob.memberId, ban: false });
    peer.close();
    expect(code(await post(loginOf(b, bob)))).toEqual({ status: 403, code: "revoked" });
    // An open session ends with the membership.
    expect(code(await call(b, "GET", "/v1/dashboard/mesh", { cookie: bobCookie }))).toEqual({ status: 403, code: "revoked" });
  });

  test("a cross-origin or non-JSON POST is refused and changes nothing; logout ends the session", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const link = loginOf(b, owner);
    expect(code(await call(b, "POST", "/v1/dashboard/login", { body: link, headers: { origin: "https://evil.example" } }))).toEqual({ status: 403, code: "forbidden" });
    // The right host under a scheme that is not a web origin.
    expect(code(await call(b, "POST", "/v1/dashboard/login", { body: link, headers: { origin: b.url.replace("http:", "ftp:") } }))).toEqual({ status: 403, code: "forbidden" });
    // What a cross-site form or a "simple" fetch can send without a preflight.
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"]) {
      const r = await call(b, "POST", "/v1/dashboard/login", { body: link, headers: { "content-type": type, origin: b.url } });
      expect({ type, ...code(r), message: r.body.error.message }).toEqual({ type, status: 400, code: "invalid_argument", message: expect.stringContaining("Content-Type: application/json") });
    }
    // None of them used the link up.
    const first = await call(b, "POST", "/v1/dashboard/login", { body: link, headers: { origin: b.url, "content-type": "application/json; charset=utf-8" } });
    expect(first.status).toBe(200);
    const cookie = await session(b, owner);
    const out = await call(b, "POST", "/v1/dashboard/logout", { cookie, body: {} });
    expect(out.headers.get("set-cookie")).toContain("cm_dashboard=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    expect(code(await call(b, "GET", "/v1/dashboard/me", { cookie }))).toEqual({ status: 401, code: "unauthorized" });
  });

  test("one member session per browser: a login ends the session it replaces; a tab naming another member is refused", async () => {
    await using b = await startBroker();
    const shop = (await createTestMesh(b.url, "alice", "shop")).owner;
    const home = (await createTestMesh(b.url, "carol", "home")).owner;
    const shopCookie = await session(b, shop);
    // The second login in the same browser sends the first cookie along, and replaces it.
    const second = await call(b, "POST", "/v1/dashboard/login", { cookie: shopCookie, body: loginOf(b, home) });
    const homeCookie = second.headers.get("set-cookie")!.split(";")[0]!;
    expect(code(await call(b, "GET", "/v1/dashboard/me", { cookie: shopCookie }))).toEqual({ status: 401, code: "unauthorized" });
    // A tab still showing alice's mesh names her on every request: refused, nothing is posted.
    const asShop = { "x-dashboard-member": `${shop.meshId}/${shop.memberId}` };
    expect(code(await call(b, "GET", "/v1/dashboard/mesh", { cookie: homeCookie, headers: asShop }))).toEqual({ status: 401, code: "unauthorized" });
    const sealed = sealEnvelope({ mesh: shop.meshId, from: shop.keys.publicKey, to: "#general", id: "cmid-shop-0001", ts: Date.now(), kind: "text", body: "meant for shop only" }, { mySecret: shop.keys.secretKey, meshKey: { epoch: 0, key: new Uint8Array(32) } });
    const posted = await call(b, "POST", "/v1/dashboard/topics/general/messages", { cookie: homeCookie, headers: asShop, body: { clientMessageId: "cmid-shop-0001", ...sealed } });
    expect({ ...code(posted), message: posted.body.error.message }).toEqual({ status: 401, code: "unauthorized", message: expect.stringContaining("another tab") });
    expect((await call(b, "GET", "/v1/dashboard/topics/general/history", { cookie: homeCookie })).body.messages).toEqual([]);
    // Naming the cookie's own member, or nobody (scripts), works.
    const asHome = { "x-dashboard-member": `${home.meshId}/${home.memberId}` };
    expect((await call(b, "GET", "/v1/dashboard/me", { cookie: homeCookie, headers: asHome })).body.member.memberId).toBe(home.memberId);
    expect((await call(b, "GET", "/v1/dashboard/me", { cookie: homeCookie })).status).toBe(200);
    // The live stream says whose it is, so that a tab can tell when a reconnect brought another member's.
    const ctl = new AbortController();
    const res = await fetch(`${b.url}/v1/dashboard/events`, { headers: withKey(homeCookie), signal: ctl.signal });
    const first = new TextDecoder().decode((await res.body!.getReader().read()).value);
    expect(first).toBe(`event: ready\ndata: ${JSON.stringify({ meshId: home.meshId, memberId: home.memberId })}\n\n`);
    ctl.abort();
  });

  test("behind a proxy that rewrites Host, the origin of publicUrl is accepted", async () => {
    await using b = await startBroker({ publicUrl: "https://mesh.example.com" });
    const { owner } = await createTestMesh(b.url, "alice");
    expect((await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, owner), headers: { origin: "https://mesh.example.com" } })).status).toBe(200);
    expect(code(await call(b, "POST", "/v1/dashboard/login", { body: loginOf(b, owner), headers: { origin: "https://other.example.com" } }))).toEqual({ status: 403, code: "forbidden" });
  });

  test("the CLI makes the link: claudemesh dashboard --json --no-open, to the page it serves itself", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const m = await cliMesh(b.url, [
      [ids.dirs[0]!, "alice"],
      [ids.dirs[1]!, "bob"],
    ]);
    await using servedOwner = await dashboardServing(ids.dirs[0]!);
    const owner = servedOwner.json;
    expect(owner).toMatchObject({ meshId: m.meshId, memberId: m.members.alice!.memberId, role: "owner", withKeys: true, opened: false, broker: b.url });
    expect(owner.local).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(owner.url).toStartWith(`${owner.local}#login=`);
    expect(owner.expiresAt - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    const link = parseDashboardFragment(new URL(owner.url).hash)!;
    expect(link.keys).toMatchObject({ publicKey: m.members.alice!.pubkey, brokerUrl: b.url }); // invites name the broker
    expect((await call(b, "POST", "/v1/dashboard/login", { body: link.login })).status).toBe(200);
    // A plain member's link carries their own keys (for #general in the page), nobody else's.
    await using servedMember = await dashboardServing(ids.dirs[1]!);
    expect(parseDashboardFragment(new URL(servedMember.json.url).hash)).toMatchObject({ v: 1, login: { memberId: m.members.bob!.memberId }, keys: { publicKey: m.members.bob!.pubkey } });
    const human = await dashboardOnce(ids.dirs[1]!, ["--no-open"]);
    expect(human.code).toBe(0);
    expect(human.stdout.split("\n")[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#login=/);
  }, 30_000);
});

describe("what a session may see and do", () => {
  test("dashboard answers are never cached; a HEAD of the live stream answers at once", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const cookie = await session(b, owner);
    for (const [path, c] of [["/v1/dashboard/me", cookie], ["/v1/dashboard/me", undefined], ["/v1/dashboard/mesh", cookie], ["/v1/dashboard/nothing", cookie]] as const) {
      expect({ path, c, cache: (await call(b, "GET", path, c ? { cookie: c } : {})).headers.get("cache-control") }).toEqual({ path, c, cache: "no-store" });
    }
    const head = await fetch(`${b.url}/v1/dashboard/events`, { method: "HEAD", headers: withKey(cookie), signal: AbortSignal.timeout(5000) });
    expect({ status: head.status, type: head.headers.get("content-type"), cache: head.headers.get("cache-control") }).toEqual({ status: 200, type: "text/event-stream; charset=utf-8", cache: "no-store" });
  });

  test("every response carries the CSP and friends; the page and its bundle are served", async () => {
    await using b = await startBroker();
    const page = await fetch(`${b.url}/`);
    const html = await page.text();
    expect(page.status).toBe(200);
    const noUpgrade = await fetch(`${b.url}/ws`); // /ws answers HTTP itself, outside the app
    expect(noUpgrade.status).toBe(426);
    for (const r of [page, await fetch(`${b.url}/v1/dashboard/me`), await fetch(`${b.url}/no-such-thing`), noUpgrade]) {
      const csp = r.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    }
    const assets = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    // One inline script, the trailing-slash fix, allowed by its own hash and by nothing wider.
    const inline = [...html.matchAll(/<script(?: [^>]*)?>([^<]+)<\/script>/g)].map((m) => m[1]!);
    expect(inline).toEqual([PAGE_SLASH_SCRIPT]);
    expect(page.headers.get("content-security-policy")).toContain(`'sha256-${createHash("sha256").update(PAGE_SLASH_SCRIPT).digest("base64")}'`);
    for (const a of assets) {
      const r = await fetch(`${b.url}/${a}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-security-policy")).toContain("default-src 'self'");
      // A Node built-in in the page's code would stay an unresolved import in the compiled binary.
      expect(await r.text()).not.toMatch(/["'`]node:[a-z]/);
    }
    expect((await fetch(`${b.url}/join`)).headers.get("content-type")).toStartWith("text/html");
  });

  test("a member sees their own mesh only; the views need a session", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const other = await createTestMesh(b.url, "mallory");
    const cookie = await session(b, bob);
    for (const path of ["/v1/dashboard/me", "/v1/dashboard/mesh", "/v1/dashboard/topics", "/v1/dashboard/grants", "/v1/dashboard/audit", "/v1/dashboard/events", "/v1/dashboard/charts"]) {
      expect(code(await call(b, "GET", path))).toEqual({ status: 401, code: "unauthorized" });
    }
    const views = await Promise.all(["/v1/dashboard/mesh", "/v1/dashboard/topics", "/v1/dashboard/grants", "/v1/dashboard/audit"].map((p) => call(b, "GET", p, { cookie })));
    for (const v of views) expect(v.status).toBe(200);
    const [mesh, , grants, audit] = views.map((v) => v.body);
    expect(mesh.mesh.id).toBe(owner.meshId);
    expect(mesh.members.map((m: any) => m.displayName).sort()).toEqual(["alice", "bob"]);
    expect(audit.verification).toMatchObject({ valid: true, brokenAt: null });
    expect(audit.entries.every((e: any) => e.meshId === owner.meshId)).toBe(true);
    expect(grants).toMatchObject({ admin: false, removed: [] });
    const everything = JSON.stringify(views.map((v) => v.body));
    expect(everything).not.toContain(other.mesh.id);
    expect(everything).not.toContain("mallory");
    // A link for the other mesh signed with bob's key is not a way in.
    const cross = dashboardLink({ brokerUrl: b.url, meshId: other.owner.meshId, memberId: other.owner.memberId, secretKey: bob.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).login;
    expect(code(await call(b, "POST", "/v1/dashboard/login", { body: cross }))).toEqual({ status: 401, code: "bad_signature" });
  });

  test("grants: an admin sees every active member's, by joining order then peer key; a member only their own; a session's entry by its name, marked where its member's entry overrides it", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const [bob, carol, dave] = [await addMember(b.url, owner, "bob"), await addMember(b.url, owner, "carol"), await addMember(b.url, owner, "dave")];
    const stranger = generateSigningKeypair().publicKey;
    // A Claude Code session of alice's: carol's entry for it is overridden by hers for alice
    // (§5.9, the member key first), bob's is not (he has none for alice).
    const shopKeys = generateSigningKeypair();
    const shop = await connectSession(b.url, owner, shopKeys);
    const shopKey = shopKeys.publicKey;
    const shopName = (await shop.client.request("list_peers", {})).peers.find((p) => p.pubkey === shopKey)!.displayName;
    const grant = async (m: TestMember, sets: [string, string[]][]) => {
      const p = await connect(b.url, m);
      for (const [peer, caps] of sets) await p.client.request("grant_set", { peer, caps: caps as never });
      p.close();
    };
    // An entry for a key the mesh no longer knows (a session long gone): grant_set refuses new
    // ones, so it is written the way an older broker stored it.
    await b.ctx.store.setGrant(owner.meshId, carol.memberId, stranger, ["dm"], carol.memberId);
    await grant(carol, [[owner.keys.publicKey, []], [shopKey, ["topic"]]]);
    await grant(bob, [[carol.keys.publicKey, ["broadcast"]], [shopKey, []]]);
    await grant(dave, [[owner.keys.publicKey, []]]);
    const a = await connect(b.url, owner);
    await a.client.request("member_revoke", { memberId: dave.memberId, ban: false });
    a.close();
    const row = (r: TestMember, peer: string, peerName: string | null, caps: string[], overriddenBy: string | null = null) => ({
      recipient: r.memberId,
      recipientName: r.displayName,
      peer,
      peerName,
      peerKind: peer === stranger ? null : peer === shopKey ? "session" : "member",
      caps,
      overriddenBy,
    });
    const byKey = (x: { peer: string }, y: { peer: string }) => (x.peer < y.peer ? -1 : 1);
    const carolRows = [row(carol, owner.keys.publicKey, "alice", []), row(carol, stranger, null, ["dm"]), row(carol, shopKey, shopName, ["topic"], owner.keys.publicKey)].sort(byKey);
    const byOwner = (await call(b, "GET", "/v1/dashboard/grants", { cookie: await session(b, owner) })).body;
    expect({ admin: byOwner.admin, grants: byOwner.grants, removed: byOwner.removed.map((m: any) => m.memberId) }).toEqual({
      admin: true,
      grants: [...[row(bob, carol.keys.publicKey, "carol", ["broadcast"]), row(bob, shopKey, shopName, [])].sort(byKey), ...carolRows],
      removed: [dave.memberId],
    });
    shop.close();
    expect((await call(b, "GET", "/v1/dashboard/grants", { cookie: await session(b, carol) })).body.grants).toEqual(carolRows);
  });

  test("invites: a member may not list, create or revoke; the owner may, with the frame's checks", async () => {
    await using b = await startBroker();
    const { mesh, owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const ownerCookie = await session(b, owner);
    const bobCookie = await session(b, bob);
    const inviter = (m: TestMember) => ({ brokerUrl: b.url, meshId: m.meshId, slug: mesh.slug, name: mesh.name, publicKey: m.keys.publicKey, secretKey: m.keys.secretKey, meshKeys: [{ epoch: 0, key: "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=" }] });
    const spec = () => ({ inviteId: randomId(), role: "member" as const, maxUses: 2, expiresAt: Math.floor(Date.now() / 1000) + 3600 });

    const byBob = buildInvite(inviter(bob), spec());
    expect(code(await call(b, "GET", "/v1/dashboard/invites", { cookie: bobCookie }))).toEqual({ status: 403, code: "forbidden" });
    expect(code(await call(b, "POST", "/v1/dashboard/invites", { cookie: bobCookie, body: byBob.frame }))).toEqual({ status: 403, code: "forbidden" });

    const good = buildInvite(inviter(owner), spec());
    expect(code(await call(b, "POST", "/v1/dashboard/invites", { body: good.frame }))).toEqual({ status: 401, code: "unauthorized" });
    // Signed by someone else's key: the broker checks the signature against the viewer's key.
    expect(code(await call(b, "POST", "/v1/dashboard/invites", { cookie: ownerCookie, body: byBob.frame }))).toEqual({ status: 400, code: "bad_invite" });
    const created = await call(b, "POST", "/v1/dashboard/invites", { cookie: ownerCookie, body: good.frame });
    expect(created.status).toBe(201);
    expect(created.body.invite).toMatchObject({ inviteId: good.frame.inviteId, maxUses: 2, usedCount: 0, revokedAt: null });

    expect(code(await call(b, "POST", `/v1/dashboard/invites/${good.frame.inviteId}/revoke`, { cookie: bobCookie, body: {} }))).toEqual({ status: 403, code: "forbidden" });
    expect((await call(b, "POST", `/v1/dashboard/invites/${good.frame.inviteId}/revoke`, { cookie: ownerCookie, body: {} })).body).toEqual({ inviteId: good.frame.inviteId, revoked: true });
    const list = await call(b, "GET", "/v1/dashboard/invites", { cookie: ownerCookie });
    expect(list.body.invites.find((i: any) => i.inviteId === good.frame.inviteId).revokedAt).toBeNumber();
    expect(code(await call(b, "POST", "/v1/dashboard/invites/nope-nope-nope/revoke", { cookie: ownerCookie, body: {} }))).toEqual({ status: 404, code: "not_found" });

    // In pages (§4.3.23): the query's after, limit and open are the frame's afterInviteId, limit and
    // open; without any of them, the plain request.
    const open = buildInvite(inviter(owner), spec());
    expect((await call(b, "POST", "/v1/dashboard/invites", { cookie: ownerCookie, body: open.frame })).status).toBe(201);
    const ids = (await call(b, "GET", "/v1/dashboard/invites", { cookie: ownerCookie })).body.invites.map((i: any) => i.inviteId);
    expect(ids).toEqual([expect.any(String), good.frame.inviteId, open.frame.inviteId]); // bob's, used up, first
    const page = async (query: string) => {
      const r = await call(b, "GET", `/v1/dashboard/invites?${query}`, { cookie: ownerCookie });
      return r.status === 200 ? { ids: r.body.invites.map((i: any) => i.inviteId), next: r.body.next } : code(r);
    };
    expect(await page("limit=2")).toEqual({ ids: ids.slice(0, 2), next: ids[1] });
    expect(await page(`limit=2&after=${ids[1]}`)).toEqual({ ids: ids.slice(2), next: null });
    expect(await page("open=true")).toEqual({ ids: [open.frame.inviteId], next: null });
    expect(await page("open=false&limit=500")).toEqual({ ids, next: null });
    for (const bad of ["limit=0", "limit=501", "limit=1e2", "limit=", "open=yes", "open=1", "after=no!", "after=", `open=true&open=false`]) {
      expect({ bad, answer: await page(bad) }).toEqual({ bad, answer: { status: 400, code: "invalid_argument" } });
    }
    // A place that is no invite of the mesh: the frame's own refusal.
    expect(await page("after=inv_nobody_has")).toEqual({ status: 400, code: "invalid_argument" });
  });

  test("topic posts: sealed by the client, stored and returned as ciphertext, as the signed-in member", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const cookie = await session(b, bob);
    const meshKey = new Uint8Array(32).fill(5);
    const sealed = sealEnvelope({ mesh: bob.meshId, from: bob.keys.publicKey, to: "#general", id: "cmid-dash-0001", ts: Date.now(), kind: "text", body: "posted from the dashboard" }, { mySecret: bob.keys.secretKey, meshKey: { epoch: 0, key: meshKey } });
    const body = { clientMessageId: "cmid-dash-0001", ...sealed };
    expect(code(await call(b, "POST", "/v1/dashboard/topics/general/messages", { body }))).toEqual({ status: 401, code: "unauthorized" });
    expect(code(await call(b, "POST", "/v1/dashboard/topics/Bad|Name/messages", { cookie, body }))).toEqual({ status: 400, code: "invalid_argument" });
    // A segment that is not valid percent-encoding reaches the route as null, once read as "#null".
    for (const bad of ["%", "%zz", "%E0%A4%A"]) {
      expect(code(await call(b, "POST", `/v1/dashboard/topics/${bad}/messages`, { cookie, body }))).toEqual({ status: 400, code: "invalid_argument" });
      expect(code(await call(b, "GET", `/v1/dashboard/topics/${bad}/history`, { cookie }))).toEqual({ status: 400, code: "invalid_argument" });
    }
    expect(code(await call(b, "POST", "/v1/dashboard/topics/general/messages", { cookie, body: { ...body, to: "#general" } }))).toEqual({ status: 400, code: "invalid_argument" });
    const sent = await call(b, "POST", "/v1/dashboard/topics/general/messages", { cookie, body });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ duplicate: false, topicOffset: 1 });
    const history = await call(b, "GET", "/v1/dashboard/topics/general/history?after=0", { cookie });
    const [m] = history.body.messages;
    expect(m).toMatchObject({ from: { pubkey: bob.keys.publicKey, memberId: bob.memberId }, to: "#general", nonce: sealed.nonce, ciphertext: sealed.ciphertext });
    const opened = openEnvelope({ nonce: m.nonce, ciphertext: m.ciphertext, meshId: m.meshId, fromPubkey: m.from.pubkey, to: m.to, fromMemberPubkey: m.from.memberPubkey }, { mySecret: owner.keys.secretKey, meshKeys: new Map([[0, meshKey]]) });
    expect(opened.ok && opened.inner.body).toBe("posted from the dashboard");
    // The owner's socket gets it pushed like any post.
    const peer = await connect(b.url, owner);
    expect((await peer.waitMessages(1))[0]!.ciphertext).toBe(sealed.ciphertext);
    peer.close();
    const db = Buffer.concat(readdirSync(b.dataDir).filter((f) => f.startsWith("claudemesh.db")).map((f) => readFileSync(join(b.dataDir, f))));
    expect(db.includes("posted from the dashboard")).toBe(false);
    expect(code(await call(b, "GET", "/v1/dashboard/topics/nosuchtopic/history", { cookie }))).toEqual({ status: 404, code: "not_found" });
    // An offset not in decimal digits is refused, not read as 0 (absent, it is 0: above).
    for (const after of ["abc", "", "0x1", "1e1", "-1", "1".repeat(16)]) {
      expect({ after, ...code(await call(b, "GET", `/v1/dashboard/topics/general/history?after=${after}`, { cookie })) }).toEqual({ after, status: 400, code: "invalid_argument" });
    }
    expect((await call(b, "GET", "/v1/dashboard/topics/general/history", { cookie })).body.messages).toHaveLength(1);
  });

  test("the live stream carries the mesh's events, including a peer's own status change", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await addMember(b.url, owner, "bob");
    const cookie = await session(b, owner);
    const ctl = new AbortController();
    const res = await fetch(`${b.url}/v1/dashboard/events`, { headers: withKey(cookie), signal: ctl.signal });
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const until = async (needle: string) => {
      while (!text.includes(needle)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until("event: ready");
    const peer = await connect(b.url, bob);
    await until("event: peer_joined");
    await peer.client.request("set_status", { status: "working" });
    await until('"status":"working"');
    expect(text).toContain("event: peer_status");
    peer.close();
    ctl.abort();
  });

  test("a stop ends open live streams at once: it waits for HTTP answers under way, not for streams", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const cookie = await session(b, owner);
    const res = await fetch(`${b.url}/v1/dashboard/events`, { headers: withKey(cookie) });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("event: ready");
    const started = performance.now();
    await b.stop();
    expect(performance.now() - started).toBeLessThan(2_000); // the drain timeout is 10 s
    await expect((async () => {
      while (!(await reader.read()).done);
    })()).resolves.toBeUndefined();
  });

  test("signing out ends the session's live streams in other tabs too (by the next heartbeat)", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const cookie = await session(b, owner);
    const res = await fetch(`${b.url}/v1/dashboard/events`, { headers: withKey(cookie) });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("event: ready");
    expect((await call(b, "POST", "/v1/dashboard/logout", { cookie, body: {} })).status).toBe(200);
    const started = performance.now();
    while (!(await reader.read()).done); // heartbeats until the stream ends
    expect(performance.now() - started).toBeLessThan(12_000);
  }, 20_000);

  test("live streams are bounded per member, and a closed one frees its place", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const cookie = await session(b, owner);
    const open = async () => {
      const ctl = new AbortController();
      const res = await fetch(`${b.url}/v1/dashboard/events`, { headers: withKey(cookie), signal: ctl.signal });
      if (res.ok) await res.body!.getReader().read(); // the `ready` event: the stream is registered
      return { status: res.status, close: () => ctl.abort() };
    };
    const streams = await Promise.all(Array.from({ length: 16 }, open));
    expect(streams.map((s) => s.status)).toEqual(Array(16).fill(200));
    expect((await open()).status).toBe(503);
    for (const s of streams) s.close();
    await until(async () => (await open().then((s) => (s.close(), s.status))) === 200, "a stream slot freed by the closes");
    const again = await open();
    expect(again.status).toBe(200);
    again.close();
  });
});
