// Hostile requests to the broker's HTTP routes (docs/protocol.md §6; the frames' counterpart is
// test/integration/fuzz-frames.test.ts). Bodies are the `json http-body` examples mutated at the
// text level, with the live values (ids, keys, timestamps, signatures) put in where the mutation
// left the example's, so that a body still valid after its mutation really succeeds; path
// segments, query strings, Content-Type and the headers each route reads are fuzzed too, and each
// signed route is also signed by a stranger's key. Every answer is a success the route documents
// or a refusal in the §6.1 shape with a code of the catalog and its status, never `internal`:
// exactly the code of §6.1's checks when the body fails them, else one the route documents. A
// refusal changes nothing in the database (a read changes nothing at all), the broker stays up and
// nothing reaches Object.prototype (test/helpers/http-fuzz.ts, fuzzRoutes). FUZZ_SEED replays a
// run; FUZZ_SCALE multiplies the runs.
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { connect, createInvite, createTestMesh } from "../helpers/mesh.ts";
import { dbDigest } from "../helpers/db-digest.ts";
import { fuzzRoutes, hostileBody, httpBodyExamples, refusalCode, send, signedHeaders, strayBody, swap, type Route, type Tally } from "../helpers/http-fuzz.ts";
import { ClaimInviteBody, CreateMeshBody, DashboardInviteBody, DashboardLoginBody, DashboardPostBody, HookStatusBody, OperatorLoginBody } from "../../src/protocol/http-bodies.ts";
import { dashboardLoginCanonical, inviteCanonical, inviteClaimCanonical, inviteKeyCanonical } from "../../src/protocol/canonical.ts";
import type { ErrorCode } from "../../src/protocol/errors.ts";
import { generateSigningKeypair, signDetached, type SigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { PAGE_KEY_HEADER } from "../../src/protocol/dashboard-keys.ts";

const EX = httpBodyExamples();
const SCALE = Number(process.env.FUZZ_SCALE) || 1;
/** Throttled routes count per client address; each request comes "from" its own, through a proxy
 *  the broker trusts, so that the throttles do not turn the whole run into 429s. */
const LOOPBACK = ["127.0.0.1", "::1", "::ffff:127.0.0.1"];
const SIGNED = ["x-claudemesh-pubkey", "x-claudemesh-timestamp", "x-claudemesh-signature"];
const DASHBOARD_POST = ["cookie", PAGE_KEY_HEADER, "origin", "x-dashboard-member", "x-forwarded-host", "x-forwarded-proto"];

/** A broker with a mesh, its owner connected (for a hook token), an invite with many uses, and a
 *  member and an operator dashboard session. Each lives well under a minute: the sweep (every
 *  30 s) deletes replay records over 61 s old, which would read as a write. */
async function world() {
  const b = await startBroker({ trustedProxies: LOOPBACK });
  const { owner } = await createTestMesh(b.url, "alice");
  const peer = await connect(b.url, owner);
  const invite = await createInvite(b.url, owner, { maxUses: 10_000 });
  const revocable = await createInvite(b.url, owner);
  /** A session's cookie and its page key, as the page would send them. */
  const cookieOf = async (path: string, body: unknown) => {
    const { headers } = await fetch(`${b.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { cookie: headers.get("set-cookie")!.split(";")[0]!, [PAGE_KEY_HEADER]: headers.get(PAGE_KEY_HEADER)! };
  };
  const login = dashboardLink({ brokerUrl: b.url, meshId: owner.meshId, memberId: owner.memberId, secretKey: owner.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).login;
  const memberHeaders = await cookieOf("/v1/dashboard/login", login);
  const operatorHeaders = await cookieOf("/v1/dashboard/operator/login", { token: b.firstRunToken });
  return {
    b, owner, peer, invite, revocable, memberHeaders, operatorHeaders,
    async [Symbol.asyncDispose]() {
      peer.close();
      await b[Symbol.asyncDispose]();
    },
  };
}
type World = Awaited<ReturnType<typeof world>>;

const fuzz = async (w: World, routes: Record<string, Route>, numRuns: number): Promise<Tally> => {
  const tally = await fuzzRoutes(w.b, routes, numRuns * SCALE, Number(process.env.FUZZ_SEED) || undefined);
  if (process.env.FUZZ_TALLY) console.log(Object.keys(routes).join(), JSON.stringify(tally));
  return tally;
};

let slugs = 0;

/** The routes with a body; each `signer` signs what the route has signed (by its owner, or by a
 *  stranger whose every request is refused). */
const bodyRoutes = (w: World) => {
  const { owner, invite } = w;
  const [mesh, claim, login, inv, hook] = [EX.CreateMeshBody!, EX.ClaimInviteBody!, EX.DashboardLoginBody!, EX.DashboardInviteBody!, EX.HookStatusBody!];
  const post = (path: string, schema: Route["schema"], seed: typeof mesh, more: Omit<Route, "method" | "path" | "schema" | "body">): Route => ({ method: "POST", path: () => path, schema, body: hostileBody(seed), ...more });
  return {
    createMesh: (signer: SigningKeypair) =>
      post("/v1/meshes", CreateMeshBody, mesh, {
        live: (text) => {
          const body = swap(text, [[mesh.meshId, randomId()], [mesh.slug, `fuzz-${++slugs}`], [mesh.ownerPubkey, owner.keys.publicKey]])!;
          return { body, headers: signedHeaders("POST", "/v1/meshes", body, signer) };
        },
        headers: SIGNED,
        ok: [200, 201],
        codes: ["malformed", "unauthorized", "timestamp_skew", "bad_signature", "replayed", "conflict", "rate_limited", "invalid_argument"],
        afterSignature: ["conflict"],
      }),
    claim: (inviteKey: SigningKeypair): Route => ({
      ...post("", ClaimInviteBody, claim, {
        live: (text) => {
          const joiner = generateSigningKeypair();
          const ts = Date.now();
          const canonical = inviteClaimCanonical(invite.inviteId, joiner.publicKey, ts);
          const signatures: [unknown, unknown][] = [[claim.inviteSignature, signDetached(canonical, inviteKey.secretKey)], [claim.signature, signDetached(canonical, joiner.secretKey)]];
          return { body: swap(text, [[claim.meshId, owner.meshId], [claim.pubkey, joiner.publicKey], [claim.timestamp, ts], ...signatures]) };
        },
        ok: [200, 201],
        // invalid_argument: a hostile `{inviteId}` segment that is not an Id (§6.4).
        codes: ["invalid_argument", "timestamp_skew", "invite_not_found", "bad_invite", "bad_signature", "replayed", "invite_revoked", "invite_expired", "invite_exhausted", "conflict"],
        afterSignature: ["invite_revoked", "invite_expired", "invite_exhausted", "conflict"],
      }),
      path: (s) => `/v1/invites/${s}/claim`,
      segment: invite.inviteId,
    }),
    hookToken: post("/hook/set-status", HookStatusBody, hook, {
      live: (body) => ({ body, headers: { authorization: `Bearer ${w.peer.ack.hookToken}` } }),
      headers: ["authorization"],
      ok: [200],
      // Without its token, the request is an unsigned one (§6.2, §6.5). rate_limited: past the
      // member's status allowance (§8.1), which hundreds of valid requests in a second exceed.
      codes: ["unauthorized", "invalid_argument", "malformed", "rate_limited"],
    }),
    hookSigned: (signer: SigningKeypair) =>
      post("/hook/set-status", HookStatusBody, { ...hook, meshId: mesh.meshId! }, {
        live: (text) => {
          const body = swap(text, [[mesh.meshId, owner.meshId]])!;
          return { body, headers: signedHeaders("POST", "/hook/set-status", body, signer) };
        },
        headers: [...SIGNED, "authorization"],
        ok: [200],
        codes: ["unauthorized", "invalid_argument", "malformed", "timestamp_skew", "bad_signature", "replayed", "rate_limited"],
      }),
    login: (signer: SigningKeypair) =>
      post("/v1/dashboard/login", DashboardLoginBody, login, {
        live: (text) => {
          const [nonce, expiresAt] = [randomId(), Date.now() + 120_000];
          const signature = signDetached(dashboardLoginCanonical(owner.meshId, owner.memberId, nonce, expiresAt), signer.secretKey);
          return { body: swap(text, [[login.meshId, owner.meshId], [login.memberId, owner.memberId], [login.nonce, nonce], [login.expiresAt, expiresAt], [login.signature, signature]]) };
        },
        headers: ["origin", "cookie", "x-forwarded-host", "x-forwarded-proto"],
        ok: [200],
        codes: ["invalid_argument", "forbidden", "rate_limited", "expired", "ttl_too_long", "unauthorized", "bad_signature", "replayed"],
      }),
    operatorLogin: post("/v1/dashboard/operator/login", OperatorLoginBody, EX.OperatorLoginBody!, {
      live: (text) => ({ body: swap(text, [[EX.OperatorLoginBody!.token, w.b.firstRunToken]]) }),
      headers: ["origin", "cookie"],
      ok: [200],
      codes: ["invalid_argument", "forbidden", "rate_limited", "unauthorized"],
    }),
    invite: (signer: SigningKeypair) =>
      post("/v1/dashboard/invites", DashboardInviteBody, inv, {
        live: (text) => {
          const [inviteId, expiresAt] = [randomId(), Math.floor(Date.now() / 1000) + 3600];
          const signature = signDetached(inviteCanonical(owner.meshId, inviteId, expiresAt, "member", owner.keys.publicKey), signer.secretKey);
          const invitePubkey = generateSigningKeypair().publicKey;
          const keySignature = signDetached(inviteKeyCanonical(owner.meshId, inviteId, invitePubkey, Number(inv.maxUses)), signer.secretKey);
          return { body: swap(text, [[inv.inviteId, inviteId], [inv.expiresAt, expiresAt], [inv.invitePubkey, invitePubkey], [inv.signature, signature], [inv.keySignature, keySignature]]), headers: w.memberHeaders };
        },
        headers: DASHBOARD_POST,
        ok: [201],
        codes: ["invalid_argument", "forbidden", "unauthorized", "page_key_required", "rate_limited", "conflict", "bad_invite", "unsupported_version"],
      }),
    post: {
      ...post("", DashboardPostBody, EX.DashboardPostBody!, {
        live: (text) => ({ body: swap(text, [[EX.DashboardPostBody!.clientMessageId, `fuzz-${randomId()}`]]), headers: w.memberHeaders }),
        headers: DASHBOARD_POST,
        ok: [201],
        codes: ["invalid_argument", "forbidden", "unauthorized", "page_key_required", "rate_limited", "unknown_recipient"],
      }),
      path: (s: string) => `/v1/dashboard/topics/${s}/messages`,
      segment: "general",
    },
  };
};

/** The routes whose input is their path, query and headers. */
function headerRoutes(w: World): Record<string, Route> {
  const asMember = (path: string, codes: ErrorCode[] = []): Route => ({ method: "GET", path: () => path, live: () => ({ headers: w.memberHeaders }), headers: ["cookie", PAGE_KEY_HEADER, "x-dashboard-member", "authorization"], ok: [200], codes: ["unauthorized", "page_key_required", ...codes], readOnly: true });
  const pub = (path: string): Route => ({ method: "GET", path: () => path, ok: [200], codes: [], readOnly: true });
  return {
    ...Object.fromEntries(["me", "mesh", "topics", "grants", "audit"].map((p) => [p, asMember(`/v1/dashboard/${p}`)])),
    // Its query names a page (after, limit, open: §4.3.23), which a mutated one can get wrong.
    invites: asMember("/v1/dashboard/invites", ["invalid_argument"]),
    history: { ...asMember("", ["invalid_argument", "forbidden", "not_found"]), path: (s) => `/v1/dashboard/topics/${s}/history`, segment: "general" },
    charts: asMember("/v1/dashboard/charts", ["rate_limited"]),
    events: asMember("/v1/dashboard/events", ["unavailable", "too_many_connections"]),
    session: { ...asMember("/v1/dashboard/session"), codes: [] },
    // The broker's health is a committed write (as /health/ready's probe and /metrics' refresh).
    overview: { ...asMember("/v1/dashboard/operator/overview", ["rate_limited"]), live: () => ({ headers: w.operatorHeaders }), readOnly: false },
    logout: { method: "POST", path: () => "/v1/dashboard/logout", body: strayBody, headers: ["cookie", "origin"], ok: [200], codes: ["invalid_argument", "forbidden"] },
    revoke: {
      method: "POST",
      path: (s) => `/v1/dashboard/invites/${s}/revoke`,
      segment: w.revocable.inviteId,
      body: strayBody,
      live: (body) => ({ body, headers: w.memberHeaders }),
      headers: DASHBOARD_POST,
      ok: [200],
      codes: ["invalid_argument", "forbidden", "unauthorized", "page_key_required", "rate_limited", "not_found", "invite_not_found"],
    },
    health: pub("/health"),
    openapi: pub("/docs/json"),
    ready: { ...pub("/health/ready"), readOnly: false },
    metrics: { ...pub("/metrics"), readOnly: false },
  };
}

/** The counter of hook requests by outcome (§6.6), as a tally. */
async function hookOutcomes(w: World): Promise<Record<string, number>> {
  const { values } = await w.b.ctx.metrics.hookRequests.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

const stranger = generateSigningKeypair();

describe("fuzzed HTTP requests", () => {
  test("mesh creation, by the owner it names or by a stranger; invite claims, signed with the invite key or another", async () => {
    await using w = await world();
    const r = bodyRoutes(w);
    const meshes = await fuzz(w, { createMesh: r.createMesh(w.owner.keys), createMeshByStranger: { ...r.createMesh(stranger), ok: [] } }, 600);
    expect({ created: meshes.ok > 10, unauthorized: meshes.codes.unauthorized! > 10 }).toEqual({ created: true, unauthorized: true });
    const claims = await fuzz(w, { claim: r.claim(w.invite.inviteKeys), claimByStranger: { ...r.claim(stranger), ok: [] } }, 600);
    expect({ claimed: claims.ok > 10, badInvite: claims.codes.bad_invite! > 10 }).toEqual({ claimed: true, badInvite: true });
  }, 60_000 * SCALE);

  test("the hook, by token, signed, and signed by a stranger; each request counted under the code it was answered with", async () => {
    await using w = await world();
    const r = bodyRoutes(w);
    const t = await fuzz(w, { hookToken: r.hookToken, hookSigned: r.hookSigned(w.owner.keys), hookByStranger: { ...r.hookSigned(stranger), ok: [] } }, 900);
    expect({ ok: t.ok > 50, unauthorized: t.codes.unauthorized! > 10 }).toEqual({ ok: true, unauthorized: true });
    expect(await hookOutcomes(w)).toEqual({ ok: t.ok, ...t.codes });
  }, 60_000 * SCALE);

  test("dashboard and operator logins", async () => {
    await using w = await world();
    const r = bodyRoutes(w);
    const t = await fuzz(w, { login: r.login(w.owner.keys), loginByStranger: { ...r.login(stranger), ok: [] }, operatorLogin: r.operatorLogin }, 600);
    expect({ ok: t.ok > 20, badSignature: t.codes.bad_signature! > 5 }).toEqual({ ok: true, badSignature: true });
  }, 60_000 * SCALE);

  test("dashboard invites and topic posts", async () => {
    await using w = await world();
    const r = bodyRoutes(w);
    const t = await fuzz(w, { invite: r.invite(w.owner.keys), inviteByStranger: { ...r.invite(stranger), ok: [] }, post: r.post }, 600);
    expect({ ok: t.ok > 10, badInvite: t.codes.bad_invite! > 5, forbidden: t.codes.forbidden! > 0 }).toEqual({ ok: true, badInvite: true, forbidden: true });
  }, 60_000 * SCALE);

  test("routes whose input is the path, query and headers: the dashboard's reads, logout, revoke, operations", async () => {
    await using w = await world();
    const t = await fuzz(w, headerRoutes(w), 1_000);
    expect({ ok: t.ok > 300, unauthorized: t.codes.unauthorized! > 20 }).toEqual({ ok: true, unauthorized: true });
  }, 60_000 * SCALE);
});

/** A request as `signer` signs it, and its answer's status and code. */
async function signedPost(url: string, path: string, body: unknown, signer: SigningKeypair) {
  const text = JSON.stringify(body);
  const a = await send(`${url}${path}`, "POST", text, { "content-type": "application/json", ...signedHeaders("POST", path, text, signer) });
  return { status: a.status, code: refusalCode(a) };
}

describe("regressions found by the fuzzing", () => {
  test("a mesh creation refused for its signer or its reserved id records nothing, not even its signature", async () => {
    await using b = await startBroker();
    const owner = generateSigningKeypair();
    const body = { meshId: randomId(), slug: "regression", name: "R", ownerPubkey: owner.publicKey, ownerDisplayName: "o" };
    const before = dbDigest(b);
    expect(await signedPost(b.url, "/v1/meshes", body, generateSigningKeypair())).toEqual({ status: 401, code: "unauthorized" });
    expect(await signedPost(b.url, "/v1/meshes", { ...body, meshId: "claudemesh-0001" }, owner)).toEqual({ status: 400, code: "invalid_argument" });
    expect(dbDigest(b)).toBe(before);
  });

  test("a string field given an object with its own toString is a 400 naming it, never a 500, on every route", async () => {
    await using w = await world();
    const post = async (path: string, body: string) => {
      const a = await send(`${w.b.url}${path}`, "POST", body, { "content-type": "application/json", ...w.memberHeaders });
      return { status: a.status, code: refusalCode(a), message: (JSON.parse(a.text) as { error: { message: string } }).error.message };
    };
    const refused = (field: string) => ({ status: 400, code: "invalid_argument" as const, message: `Invalid request: ${field}: unexpected property` });
    const before = dbDigest(w.b);
    expect(await post("/v1/meshes", JSON.stringify({ ...EX.CreateMeshBody, meshId: { toString: 1 } }))).toEqual(refused("/meshId/toString"));
    expect(await post("/v1/dashboard/login", '{"meshId":{"to\\u0053tring":[]}}')).toEqual(refused("/meshId/toString"));
    expect(await post("/hook/set-status", '{"status":"idle","summary":{"toString":null}}')).toEqual(refused("/summary/toString"));
    expect(await post("/v1/dashboard/logout", '[{"a":{"toString":"x"}}]')).toEqual(refused("/0/a/toString"));
    expect(w.b.logs.filter((l) => l.includes("http request failed"))).toEqual([]);
    expect(dbDigest(w.b)).toBe(before);
  });
});
