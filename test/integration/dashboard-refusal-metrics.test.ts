// A dashboard request refused as the signed-in member (invalid input, the change allowance,
// draining, a removal) counts in broker_messages_rejected_total{reason} under its code, as the
// same request refused over the WebSocket does (docs/operations.md "Metrics"); and admission comes
// before the route reads the mesh.
import { expect, spyOn, test } from "bun:test";
import { startBroker, type TestBroker } from "../helpers/broker.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";
import { until } from "../helpers/cli.ts";
import { dashboardSession } from "../helpers/dashboard.ts";

/** broker_messages_rejected_total per reason (`reason:limit` for a rate limit), as /metrics publishes it. */
async function rejected(b: TestBroker): Promise<Record<string, number>> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^broker_messages_rejected_total\{reason="([a-z_]+)"(?:,limit="([a-z]+)")?\} (\d+)$/gm)].map((m) => [m[2] ? `${m[1]}:${m[2]}` : m[1]!, Number(m[3])]));
}

/** Signs `m` in to the dashboard; returns a caller answering with the status of each request. */
async function signIn(b: TestBroker, m: TestMember) {
  const call = await dashboardSession(b, m);
  return async (method: string, path: string, body?: unknown) => (await call(method, path, body)).status;
}

test("refused dashboard requests are counted as the WebSocket counts them", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  const bob = await addMember(b.url, owner, "bob");
  const [call, asBob] = [await signIn(b, owner), await signIn(b, bob)];
  const ws = await connect(b.url, owner);
  expect(await call("GET", "/v1/dashboard/invites")).toBe(200); // not counted
  await ws.client.request("member_revoke", { memberId: bob.memberId, ban: false });
  expect(await asBob("GET", "/v1/dashboard/topics/general/history")).toBe(403);
  expect(await call("POST", "/v1/dashboard/topics/general/messages", { nonsense: true })).toBe(400); // the body's schema
  expect(await call("GET", "/v1/dashboard/topics/NOT%20A%20TOPIC/history")).toBe(400); // the route's own check
  expect(await call("POST", "/v1/dashboard/invites/inv_gone_1/revoke", {})).toBe(404); // the handler
  // The change allowance spent (it refills with time, so it is held empty here): admission refuses.
  const spent = spyOn(b.ctx.changeLimiter, "take").mockReturnValue(false);
  expect(await call("POST", "/v1/dashboard/invites/inv_gone_2/revoke", {})).toBe(429);
  b.ctx.draining = true;
  expect(await call("GET", "/v1/dashboard/mesh")).toBe(503);
  b.ctx.draining = false;
  // Over the WebSocket, the same refusal is counted the same way.
  await expect(ws.client.request("invite_revoke", { inviteId: "inv_gone_ws" })).rejects.toMatchObject({ code: "rate_limited" });
  spent.mockRestore();
  // Each HTTP refusal is counted once its answer is out (a moment after the client may have it).
  const want = { invalid_argument: 2, not_found: 1, "rate_limited:change": 2, unavailable: 1, revoked: 1 };
  await until(async () => Bun.deepEquals(await rejected(b), want), "every refusal counted", 4000);
  expect(await rejected(b)).toEqual(want);
  ws.close();
});

test("a /mesh request refused at admission reads none of the mesh from the store", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "alice");
  const call = await signIn(b, owner);
  const reads = [spyOn(b.ctx.store, "getMesh"), spyOn(b.ctx.store, "listMembers")];
  b.ctx.draining = true;
  expect(await call("GET", "/v1/dashboard/mesh")).toBe(503);
  b.ctx.draining = false;
  expect(reads.map((r) => r.mock.calls.length)).toEqual([0, 0]);
  // Admitted, it reads both (the spies see the store's reads).
  expect(await call("GET", "/v1/dashboard/mesh")).toBe(200);
  expect(reads.map((r) => r.mock.calls.length > 0)).toEqual([true, true]);
});
