// A request is admitted the same whatever carries it (docs/protocol.md §6.7, §8.1): the dashboard's
// HTTP routes and the status hook go through the checks a WebSocket request does: one change
// allowance per member (429 `rate_limited` over HTTP), no request for a member whose removal is
// under way (`revoked`), none while the broker drains (`unavailable`), and the frame's bounds on
// the ids in a path.
import { describe, expect, test } from "bun:test";
import { CHANGE_BURST } from "../../src/protocol/limits.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { buildInvite } from "../../src/client/invite-build.ts";
import { signedPost } from "../../src/client/http.ts";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { keepPageKey, withKey } from "../helpers/dashboard.ts";
import { addMember, connect, createInvite, createTestMesh, joinWithInvite, type TestMember } from "../helpers/mesh.ts";

type Answer = { status: number; code: string | undefined; retryAfter?: string };

/** A dashboard API call as the member of `cookie`; answers the status and the error code if any. */
async function dash(b: TestBroker, cookie: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${b.url}${path}`, { method, headers: { ...withKey(cookie), "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code, retryAfter: res.headers.get("retry-after") ?? undefined };
}

async function login(b: TestBroker, m: TestMember): Promise<string> {
  const link = dashboardLink({ brokerUrl: b.url, meshId: m.meshId, memberId: m.memberId, secretKey: m.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() });
  const res = await fetch(`${b.url}/v1/dashboard/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(link.login) });
  expect(res.status).toBe(200);
  return keepPageKey(res);
}

/** A signed invite as the dashboard page makes it, for `m`. */
const inviteBody = (b: TestBroker, m: TestMember) =>
  buildInvite(
    { brokerUrl: b.url, meshId: m.meshId, slug: "s", name: "n", publicKey: m.keys.publicKey, secretKey: m.keys.secretKey, meshKeys: [{ epoch: 0, key: "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=" }] },
    { inviteId: randomId(), role: "member", maxUses: 1, expiresAt: Math.floor(Date.now() / 1000) + 3600 },
  ).frame;

const codesOf = (answers: Answer[]) => [...new Set(answers.map((a) => `${a.status} ${a.code ?? ""}`.trim()))].sort();

/** More than the allowance refills in several seconds (CHANGE_RATE_PER_SEC is 5), so some of
 *  these are refused however slowly a loaded machine runs them. */
const OVER = 30;

describe("the change allowance", () => {
  test("spent over the WebSocket, it refuses dashboard invite changes with 429 rate_limited, which record nothing", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const cookie = await login(b, owner);
    const a = await connect(b.url, owner);
    // Each invite_revoke takes from the allowance, found or not.
    await Promise.allSettled(Array.from({ length: CHANGE_BURST }, () => a.client.request("invite_revoke", { inviteId: randomId() })));
    const answers = await Promise.all(Array.from({ length: OVER }, () => dash(b, cookie, "POST", "/v1/dashboard/invites", inviteBody(b, owner))));
    // Refused, but for the few the allowance refilled meanwhile.
    expect(codesOf(answers).filter((c) => c !== "201")).toEqual(["429 rate_limited"]);
    // Each says when to try again: a change comes back every 1/CHANGE_RATE_PER_SEC s.
    expect([...new Set(answers.filter((x) => x.status === 429).map((x) => x.retryAfter))]).toEqual(["1"]);
    const created = answers.filter((x) => x.status === 201).length;
    expect((await a.client.request("invite_list", {})).invites.length).toBe(created);
    a.close();
  });

  test("spent over the dashboard, it refuses the member's WebSocket changes", async () => {
    await using b = await startBroker();
    const { owner } = await createTestMesh(b.url, "alice");
    const bob = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "bob");
    const cookie = await login(b, bob);
    const revokes = await Promise.all(Array.from({ length: CHANGE_BURST }, () => dash(b, cookie, "POST", `/v1/dashboard/invites/${randomId()}/revoke`, {})));
    expect(codesOf(revokes)).toEqual(["404 not_found"]);
    const a = await connect(b.url, bob);
    const results = await Promise.allSettled(Array.from({ length: OVER }, () => a.client.request("invite_revoke", { inviteId: randomId() })));
    // Refused, but for the few the allowance refilled meanwhile (those find no such invite).
    const codes = new Set(results.map((r) => (r.status === "rejected" ? (r.reason as { code: string }).code : "ok")));
    expect([...codes].filter((c) => c !== "not_found")).toEqual(["rate_limited"]);
    a.close();
  });
});

/** Between a removal's mark and its commit the store still says active: only the mark refuses. */
const removing = (b: TestBroker, members: TestMember[]) => {
  for (const m of members) b.ctx.hub.markRemoved(m.meshId, m.memberId, Date.now());
  return () => members.forEach((m) => b.ctx.hub.unmarkRemoved(m.meshId, m.memberId));
};
const draining = (b: TestBroker) => {
  b.ctx.draining = true;
  return () => void (b.ctx.draining = false);
};

test.each([
  ["a removal under way", removing, { status: 403, code: "revoked" }],
  ["draining", draining, { status: 503, code: "unavailable" }],
] as const)("%s: the dashboard and the hook refuse as a WebSocket request is refused", async (_, state, refused) => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  const bob = await joinWithInvite(b.url, await createInvite(b.url, owner, { role: "admin" }), "bob");
  const carol = await addMember(b.url, owner, "carol"); // offline: her signed hook stores the status
  const cookie = await login(b, bob);
  const peer = await connect(b.url, bob);
  const hook = async (): Promise<Answer> => {
    const res = await fetch(`${b.url}/hook/set-status`, { method: "POST", headers: { authorization: `Bearer ${peer.ack.hookToken}`, "content-type": "application/json" }, body: JSON.stringify({ status: "working" }) });
    return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code, retryAfter: res.headers.get("retry-after") ?? undefined };
  };
  const attempts = async () => ({
    invite: await dash(b, cookie, "POST", "/v1/dashboard/invites", inviteBody(b, bob)),
    peers: await dash(b, cookie, "GET", "/v1/dashboard/mesh"),
    hook: await hook(),
    offlineHook: await signedPost(b.url, "/hook/set-status", { status: "working", meshId: carol.meshId }, carol.keys).then(
      () => "ok",
      (e: { code: string }) => e.code,
    ),
  });
  const restore = state(b, [bob, carol]);
  expect(await attempts()).toEqual({ invite: refused, peers: refused, hook: refused, offlineHook: refused.code });
  restore();
  const ok = { status: 200, code: undefined };
  expect(await attempts()).toEqual({ invite: { status: 201, code: undefined }, peers: ok, hook: ok, offlineHook: "ok" });
  peer.close();
});

test("revoking an invite from the dashboard checks the id as the invite_revoke frame does", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  await addMember(b.url, owner, "bob");
  const cookie = await login(b, owner);
  for (const id of ["short", "x".repeat(65), "has.dot.in.it", "%zz"]) {
    expect({ id, ...(await dash(b, cookie, "POST", `/v1/dashboard/invites/${id}/revoke`, {})) }).toEqual({ id, status: 400, code: "invalid_argument" });
  }
  expect(await dash(b, cookie, "POST", `/v1/dashboard/invites/${randomId()}/revoke`, {})).toEqual({ status: 404, code: "not_found" });
});
